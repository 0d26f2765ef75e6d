"""Registers as data: one declaration per register drives decode, reset, logs and traces.

A device lists its registers once as :class:`Reg`: offset, width in bytes,
datasheet name, reset value, access mode, named :class:`Field` s, ``tagged``
bits (known but not modelled: a write setting them is logged as
unimplemented), ``reserved`` bits (a write setting them is a guest error) and
optionally the names of device methods that handle a read or a write.
:class:`RegisterFile` keeps the values of registers without handlers and
applies reset values; :class:`RegisterBlock` decodes accesses through the
table (no offset switch in the device) and emits the ``register_read`` /
``register_write`` trace events naming the register.

Access modes: ``rw`` read/write, ``ro`` read-only (writes are guest errors),
``wo`` write-only (reads return ``read_value``), ``w1c`` write-one-to-clear,
``w1s`` write-one-to-set, ``rc`` cleared by a read.

Handlers: ``read="name"`` calls ``device.name(sub, size)`` and ``write="name"``
calls ``device.name(sub, value, size)``, where ``sub`` is the byte offset of
the access inside the register; a register declaring ``index=N`` passes N
first (``device.name(N, sub, size)``), so a bank of like registers shares one
handler. A field's ``on_write`` names a method called as
``device.name(old, new)`` with the field's values when a stored write changes it.
Masks come from the field declarations: ``reg.mask("FEN")``, never a
second constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qemu_py.system import trace
from qemu_py.system.log import guest_error, unimp

ACCESS_MODES = ("rw", "ro", "wo", "w1c", "w1s", "rc")


@dataclass(frozen=True)
class Field:
    name: str
    shift: int
    width: int = 1
    desc: str = ""
    on_write: str | None = None    # device method (old, new) called when a write changes it

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.shift

    def get(self, value: int) -> int:
        return (value >> self.shift) & ((1 << self.width) - 1)

    def set(self, value: int, fv: int) -> int:
        return (value & ~self.mask) | ((fv << self.shift) & self.mask)


@dataclass(frozen=True)
class Reg:
    offset: int
    name: str
    reset: int = 0
    access: str = "rw"
    fields: tuple[Field, ...] = ()
    width: int = 1                 # bytes
    desc: str = ""
    read_value: int = 0            # what a read of a write-only register returns
    tagged: int = 0                # bits known but not modelled (writes logged as unimp)
    reserved: int = 0              # bits a guest must not set (writes logged as guest errors)
    read: str | None = None        # device method (sub, size) -> value
    write: str | None = None       # device method (sub, value, size)
    index: int | None = None       # passed first to the handlers (registers sharing them)

    def __post_init__(self):
        if self.access not in ACCESS_MODES:
            raise ValueError(f"register {self.name}: unknown access mode {self.access!r}")

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def mask(self, *names: str) -> int:
        """The OR of the named fields' masks."""
        m = 0
        for n in names:
            m |= self.field(n).mask
        return m

    @property
    def all_ones(self) -> int:
        return (1 << (8 * self.width)) - 1


@dataclass
class RegisterFile:
    """Values of a declared register set, keyed by register name."""

    device: str
    regs: tuple[Reg, ...]
    values: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.by_offset = {r.offset: r for r in self.regs}
        self.by_name = {r.name: r for r in self.regs}
        self.reset()

    def reset(self):
        for r in self.regs:
            self.values[r.name] = r.reset

    def __getitem__(self, name: str) -> int:
        return self.values[name]

    def __setitem__(self, name: str, value: int):
        r = self.by_name[name]
        self.values[name] = value & r.all_ones

    def lookup(self, offset: int, what: str) -> Reg | None:
        r = self.by_offset.get(offset)
        if r is None:
            guest_error(f"{self.device}: {what} of unknown register offset 0x{offset:x}")
        return r


class RegisterBlock:
    """Table-driven decode of one register window of DEVICE.

    ``offset_mask`` folds aliases (a window whose registers repeat);
    ``unknown_read`` is what an access matching no register reads (a guest
    error worded by ``unknown_fmt`` is logged and writes are dropped).
    """

    def __init__(self, device, name: str, regs: tuple[Reg, ...], offset_mask: int = -1,
                 unknown_read: int = 0,
                 unknown_fmt: str = "{name}: {what} of unknown register offset 0x{offset:x}"):
        self.device = device
        self.name = name
        self.regs = regs
        self.offset_mask = offset_mask
        self.unknown_read = unknown_read
        self.unknown_fmt = unknown_fmt
        self.file = RegisterFile(name, tuple(r for r in regs if r.read is None
                                             or r.write is None))
        self.decode: dict[int, Reg] = {}
        for r in regs:
            for b in range(r.width):
                if r.offset + b in self.decode:
                    raise ValueError(f"{name}: registers {self.decode[r.offset + b].name} "
                                     f"and {r.name} overlap at 0x{r.offset + b:x}")
                self.decode[r.offset + b] = r

    def reset(self):
        self.file.reset()

    def __getitem__(self, name: str) -> int:
        return self.file[name]

    def __setitem__(self, name: str, value: int):
        self.file[name] = value

    def _find(self, offset: int, what: str) -> Reg | None:
        offset &= self.offset_mask
        r = self.decode.get(offset)
        if r is None:
            guest_error(self.unknown_fmt.format(name=self.name, what=what, offset=offset))
        return r

    def read(self, offset: int, size: int) -> int:
        r = self._find(offset, "read")
        if r is None:
            return self.unknown_read
        sub = (offset & self.offset_mask) - r.offset
        if r.read is not None:
            fn = getattr(self.device, r.read)
            value = fn(sub, size) if r.index is None else fn(r.index, sub, size)
        elif r.access == "wo":
            value = r.read_value
        else:
            value = (self.file[r.name] >> (8 * sub)) & ((1 << (8 * size)) - 1)
            if r.access == "rc":
                self.file[r.name] = 0
        if "register_read" in trace.ACTIVE:
            trace.emit("register_read", device=self.name, reg=r.name, offset=offset,
                       value=value, size=size)
        return value

    def write(self, offset: int, value: int, size: int):
        r = self._find(offset, "write")
        if r is None:
            return
        sub = (offset & self.offset_mask) - r.offset
        if "register_write" in trace.ACTIVE:
            trace.emit("register_write", device=self.name, reg=r.name, offset=offset,
                       value=value, size=size)
        bits = (value << (8 * sub)) & r.all_ones
        if bits & r.reserved:
            guest_error(f"{self.name}: write 0x{value:x} to {r.name} sets reserved bits "
                        f"0x{bits & r.reserved:x}")
        if bits & r.tagged:
            unimp(f"{self.name}: {r.name} bits 0x{bits & r.tagged:x} not modelled")
        if r.write is not None:
            fn = getattr(self.device, r.write)
            if r.index is None:
                fn(sub, value, size)
            else:
                fn(r.index, sub, value, size)
            return
        if r.access in ("ro", "rc"):
            guest_error(f"{self.name}: write 0x{value:x} to read-only register {r.name}")
            return
        old = self.file[r.name]
        if r.access == "w1c":
            new = old & ~bits
        elif r.access == "w1s":
            new = old | bits
        else:
            lane = (((1 << (8 * size)) - 1) << (8 * sub)) & r.all_ones
            new = (old & ~lane) | bits
        self.file[r.name] = new
        for f in r.fields:
            if f.on_write is not None and f.get(old) != f.get(new):
                getattr(self.device, f.on_write)(f.get(old), f.get(new))
