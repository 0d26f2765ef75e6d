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


def memory_dump(count: int, fmt: str, size: int, addr: int, *, read, big_endian: bool) -> str:
    """The dump text. READ(addr, n) -> (bytes, MemTxResult) reads one line."""
    length = size * count
    line_size = 8 if size == 1 else 16
    if fmt == "o":
        width = (size * 8 + 2) // 3
    elif fmt in ("u", "d"):
        width = (size * 8 * 10 + 32) // 33
    elif fmt == "c":
        width = 0
        size = 1
    else:
        width = size * 2
    order = "big" if big_endian else "little"
    out = []
    addr &= MASK64
    while length > 0:
        line = [f"{addr:016x}:"]
        n = min(length, line_size)
        data, result = read(addr, n)
        if result != MemTxResult.OK:
            line.append(" Cannot access memory\n")
            out.append("".join(line))
            break
        for i in range(0, n, size):
            value = int.from_bytes(data[i:i + size], order)
            line.append(" " + format_item(fmt, value, size, width))
        line.append("\n")
        out.append("".join(line))
        addr = (addr + n) & MASK64
        length -= n
    return "".join(out)
