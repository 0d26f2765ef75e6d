"""qtest command handlers: one function per request, table-driven.

Each handler takes (server, words) and returns the reply line (ending in
``\\n``) or None when it already sent something itself. Number arguments use
the parsers QEMU uses for each argument (see specs: unsigned long, uint64,
int64, int).
"""

from __future__ import annotations

from qemu_py.system.numbers import NumberError, strtoi, strtou

from .codec import b64encode, decode_write_hex, glib_b64_decode_inplace, printable

MAX_BULK = 1 << 28          # largest read/write/memset qemu-py accepts in one request


class QTestFail(Exception):
    def __init__(self, msg: str):
        super().__init__(msg)
        self.msg = msg

    def text(self) -> str:
        return printable(self.msg)


def require_arg(words, i, what):
    if i >= len(words):
        raise QTestFail(f"{words[0]}: missing argument {what}")
    return words[i]


def parse_number(words, i, what, kind="u64"):
    tok = require_arg(words, i, what)
    try:
        if kind == "u64" or kind == "ulong":
            return strtou(tok, 64)
        if kind == "i64":
            return strtoi(tok, 64)
        return strtoi(tok, 32)
    except NumberError:
        raise QTestFail(f"{words[0]}: invalid {what} '{tok}'") from None


def _port(words):
    addr = parse_number(words, 1, "ADDR", "ulong")
    if addr > 0xFFFF:
        raise QTestFail(f"{words[0]}: port address {addr:#x} out of range (max 0xffff)")
    return addr


def _size(words, i, allow_zero=True):
    size = parse_number(words, i, "SIZE")
    if size == 0 and not allow_zero:
        raise QTestFail(f"{words[0]}: SIZE must not be 0")
    if size > MAX_BULK:
        raise QTestFail(f"{words[0]}: SIZE {size:#x} too large (max {MAX_BULK:#x})")
    return size


# -- port I/O -------------------------------------------------------------------------
def _out(size):
    def handler(s, words):
        addr = _port(words)
        val = parse_number(words, 2, "VALUE", "ulong") & ((1 << (8 * size)) - 1)
        s.vm.machine.io_as.write_value(addr, val, size)
        return "OK\n"
    return handler


def _in(size):
    def handler(s, words):
        addr = _port(words)
        val, _ = s.vm.machine.io_as.read_value(addr, size)
        return f"OK 0x{val:04x}\n"
    return handler


# -- memory ----------------------------------------------------------------------------
def _write(size):
    def handler(s, words):
        addr = parse_number(words, 1, "ADDR")
        val = parse_number(words, 2, "VALUE") & ((1 << (8 * size)) - 1)
        s.vm.machine.qtest_as.write_value(addr, val, size)
        return "OK\n"
    return handler


def _read(size):
    def handler(s, words):
        addr = parse_number(words, 1, "ADDR")
        val, _ = s.vm.machine.qtest_as.read_value(addr, size)
        return f"OK 0x{val:016x}\n"
    return handler


def cmd_read(s, words):
    addr = parse_number(words, 1, "ADDR")
    size = _size(words, 2, allow_zero=False)
    data, _ = s.vm.machine.qtest_as.read(addr, size)
    return "OK 0x" + data.hex() + "\n"


def cmd_write(s, words):
    addr = parse_number(words, 1, "ADDR")
    size = _size(words, 2)
    token = require_arg(words, 3, "DATA").encode("latin-1")
    if len(token) < 3:
        s.send_err("ERR invalid argument size\n")
        return None
    s.vm.machine.qtest_as.write(addr, decode_write_hex(token, size))
    return "OK\n"


def cmd_b64read(s, words):
    addr = parse_number(words, 1, "ADDR")
    size = _size(words, 2)
    data, _ = s.vm.machine.qtest_as.read(addr, size) if size else (b"", 0)
    return "OK " + b64encode(data) + "\n"


def cmd_b64write(s, words):
    addr = parse_number(words, 1, "ADDR")
    size = _size(words, 2)
    token = require_arg(words, 3, "B64_DATA").encode("latin-1")
    if len(token) < 3:
        s.send_err("ERR invalid argument size\n")
        return None
    decoded, buf = glib_b64_decode_inplace(token)
    if len(decoded) != size:
        s.log.sent(f"b64write: data length mismatch (told {size}, found {len(decoded)})\n")
    data = (buf + bytes(max(0, size - len(buf))))[:size]
    if size:
        s.vm.machine.qtest_as.write(addr, data)
    return "OK\n"


def cmd_memset(s, words):
    addr = parse_number(words, 1, "ADDR")
    size = _size(words, 2)
    val = parse_number(words, 3, "VALUE", "ulong") & 0xFF
    if size:
        s.vm.machine.qtest_as.write(addr, bytes([val]) * size)
    return "OK\n"


def cmd_endianness(s, words):
    return "OK big\n" if s.vm.machine.big_endian else "OK little\n"


# -- clock -----------------------------------------------------------------------------
def _wrap_i64(v: int) -> int:
    """now + ns as QEMU computes it (int64 arithmetic built with -fwrapv): a
    destination past INT64_MAX wraps negative, so the clock does not move."""
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def cmd_clock_step(s, words):
    clock = s.vm.clock
    if len(words) > 1:
        ns = parse_number(words, 1, "NS", "i64")
    else:
        ns = clock.deadline()
    clock.warp(_wrap_i64(clock.now() + ns))
    return f"OK {clock.now()}\n"


def cmd_clock_set(s, words):
    ns = parse_number(words, 1, "NS", "i64")
    s.vm.clock.warp(ns)
    return f"OK {s.vm.clock.now()}\n"


# -- IRQs --------------------------------------------------------------------------------
def _device(s, words):
    from qemu_py.qom import Device, resolve_path
    path = require_arg(words, 1, "QOM_PATH")
    obj, _ = resolve_path(s.vm.qom_root, path)
    if not isinstance(obj, Device):
        return None
    return obj


def _intercept(outbound: bool):
    def handler(s, words):
        from qemu_py.qom import IRQ
        dev = _device(s, words)
        if dev is None:
            return "FAIL Unknown device\n"
        if s.intercepted is not None:
            return "OK\n" if s.intercepted is dev else "FAIL IRQ intercept already enabled\n"
        if outbound:
            for line_no, line in enumerate(dev.gpio_out.get(None, [])):
                old = line.target
                line.target = IRQ(_forwarding_reporter(s, old), line_no)
        else:
            for irq in dev.gpio_in.get(None, []):
                irq.handler = _reporting_handler(s, irq.handler)
        s.intercepted = dev
        return "OK\n"
    return handler


def _reporting_handler(s, old):
    def handler(n, level):
        old(n, level)
        s.report_irq(n, level)
    return handler


def _forwarding_reporter(s, old_target):
    def handler(n, level):
        if old_target is not None:
            old_target.set(level)
        s.report_irq(n, level)
    return handler


def cmd_set_irq_in(s, words):
    for i, what in enumerate(("QOM_PATH", "NAME", "NUM", "LEVEL"), 1):
        require_arg(words, i, what)
    dev = _device(s, words)
    if dev is None:
        return "FAIL Unknown device\n"
    name = words[2]
    num = parse_number(words, 3, "NUM", "int")
    level = parse_number(words, 4, "LEVEL", "int")
    key = None if name == "unnamed-gpio-in" else name
    lst = dev.gpio_in.get(key)
    if lst is None:
        raise QTestFail(f"set_irq_in: device has no gpio-in '{name}'")
    if not 0 <= num < len(lst):
        raise QTestFail(f"set_irq_in: gpio-in '{name}' line {num} out of range "
                        f"({len(lst)} lines)")
    lst[num].set(level)
    return "OK\n"


def cmd_module_load(s, words):
    require_arg(words, 1, "PREFIX")
    require_arg(words, 2, "LIBNAME")
    import sys
    print(f"qemu-py: failed to load module {words[1]}-{words[2]}: qemu-py has no loadable modules",
          file=sys.stderr)
    return "FAIL\n"


COMMANDS = {
    "outb": _out(1), "outw": _out(2), "outl": _out(4),
    "inb": _in(1), "inw": _in(2), "inl": _in(4),
    "writeb": _write(1), "writew": _write(2), "writel": _write(4), "writeq": _write(8),
    "readb": _read(1), "readw": _read(2), "readl": _read(4), "readq": _read(8),
    "read": cmd_read, "write": cmd_write, "b64read": cmd_b64read, "b64write": cmd_b64write,
    "memset": cmd_memset, "endianness": cmd_endianness,
    "clock_step": cmd_clock_step, "clock_set": cmd_clock_set,
    "irq_intercept_in": _intercept(False), "irq_intercept_out": _intercept(True),
    "set_irq_in": cmd_set_irq_in, "module_load": cmd_module_load,
}
