"""``x`` and ``xp`` output (QEMU 7.2 monitor/misc.c memory_dump).

A dump of COUNT items of SIZE bytes is printed in lines of 16 bytes (8 for
byte items). Each line is one read of the line's length: physical reads go
to the machine's first-CPU address space (``qtest_as``), so the memory core,
not the item size, chooses the access widths a device sees. A failed read
prints ``Cannot access memory`` and ends the dump. Items are loaded in the
target's byte order, zero-extended, and printed as:

* ``x``: ``0x`` and 2*SIZE hex digits;
* ``u``/``d``: right-aligned to ceil(SIZE*80/33) columns (``d`` is signed
  only for 8-byte items);
* ``o``: C's ``%#*o`` with width ceil(SIZE*8/3);
* ``c``: one byte per item, quoted, after the length was already counted
  with the previous size.
"""

from __future__ import annotations

from qemu_py.memory import MemTxResult

MASK64 = (1 << 64) - 1


def printc(byte: int) -> str:
    if byte == 0x27:
        return "'\\''"
    if byte == 0x5C:
        return "'\\\\'"
    if byte == 0x0A:
        return "'\\n'"
    if byte == 0x0D:
        return "'\\r'"
    if 32 <= byte <= 126:
        return f"'{chr(byte)}'"
    return f"'\\x{byte:02x}'"


def format_item(fmt: str, value: int, size: int, width: int) -> str:
    if fmt == "x":
        return f"0x{value:0{width}x}"
    if fmt == "o":
        text = f"0{value:o}" if value else "0"
        return text.rjust(width)
    if fmt == "u":
        return str(value).rjust(width)
    if fmt == "d":
        if size == 8 and value >> 63:
            value -= 1 << 64
        return str(value).rjust(width)
    return printc(value)


def dump_length(count: int, size: int) -> int:
    """QEMU's ``int len = wsize * count``: a C int, so ``/2147483647gx`` wraps to -8 (no output)."""
    length = (size * count) & 0xFFFF_FFFF
    return length - (1 << 32) if length >> 31 else length


def dump_chars(count: int, fmt: str, size: int) -> int:
    """At most how many characters the dump prints (before ``\n`` becomes ``\r\n``)."""
    length = dump_length(count, size)
    if length <= 0:
        return 0
    if fmt == "c":
        item, items = 6, length                 # '\\x00'
    else:
        item = len(format_item(fmt, (1 << size * 8) - 1, size, _width(fmt, size)))
        items = length // size
    lines = -(-length // (8 if size == 1 else 16))
    return lines * 18 + items * (item + 1)


def _width(fmt: str, size: int) -> int:
    if fmt == "o":
        return (size * 8 + 2) // 3
    if fmt in ("u", "d"):
        return (size * 8 * 10 + 32) // 33
    if fmt == "c":
        return 0
    return size * 2


def memory_dump_lines(count: int, fmt: str, size: int, addr: int, *, read, big_endian: bool):
    """The dump, one text line at a time. READ(addr, n) -> (bytes, MemTxResult) reads one line."""
    length = dump_length(count, size)
    line_size = 8 if size == 1 else 16
    width = _width(fmt, size)
    if fmt == "c":
        size = 1
    order = "big" if big_endian else "little"
    addr &= MASK64
    while length > 0:
        n = min(length, line_size)
        data, result = read(addr, n)
        if result != MemTxResult.OK:
            yield f"{addr:016x}: Cannot access memory\n"
            return
        items = [format_item(fmt, int.from_bytes(data[i:i + size], order), size, width)
                 for i in range(0, n, size)]
        yield f"{addr:016x}: " + " ".join(items) + "\n"
        addr = (addr + n) & MASK64
        length -= n


def memory_dump(count: int, fmt: str, size: int, addr: int, *, read, big_endian: bool) -> str:
    """The whole dump text (see memory_dump_lines)."""
    return "".join(memory_dump_lines(count, fmt, size, addr, read=read, big_endian=big_endian))
