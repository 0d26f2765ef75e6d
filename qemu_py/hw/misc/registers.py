"""Registers as data: one declaration per register, used for decode, reset and logs.

A device lists its registers once as :class:`Reg` (offset, datasheet name,
reset value, access mode, named fields). :class:`RegisterFile` keeps the
values, applies reset values, and names registers in guest-error messages;
behaviour stays in the device's small per-register methods.

Access modes: ``rw`` read/write, ``ro`` read-only (writes are logged as guest
errors), ``wo`` write-only (reads return the declared ``read_value``), ``w1c``
write-one-to-clear, ``rc`` cleared by a read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qemu_py.system.log import guest_error


@dataclass(frozen=True)
class Field:
    name: str
    shift: int
    width: int = 1
    desc: str = ""

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

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


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
        self.values[name] = value & ((1 << (8 * r.width)) - 1)

    def lookup(self, offset: int, what: str) -> Reg | None:
        r = self.by_offset.get(offset)
        if r is None:
            guest_error(f"{self.device}: {what} of unknown register offset 0x{offset:x}")
        return r
