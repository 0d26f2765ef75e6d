"""Arm PrimeCell Real Time Clock PL031 (``pl031``), as QEMU 7.2's ``hw/rtc/pl031.c``.

Models ARM DDI 0224: a 1 Hz counter (DR) derived from the virtual clock plus
an offset set at realize from the host time (or moved by writes to LR), the
match register and its alarm interrupt, interrupt mask/raw/masked status and
clear, CR reading 1 (always started), and the PrimeCell ID bytes (part 0x031).
Not modelled: the trim registers of later revisions, migration of the offset.
"""

from __future__ import annotations

import time

from qemu_py.hw.misc.registers import Reg
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import Device, register_type
from qemu_py.system.log import guest_error

NS = 1_000_000_000
ID = (0x31, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1)

REGS = (
    Reg(0x00, "RTCDR", access="ro", width=4),
    Reg(0x04, "RTCMR", width=4),
    Reg(0x08, "RTCLR", width=4),
    Reg(0x0C, "RTCCR", reset=1, width=4),
    Reg(0x10, "RTCIMSC", width=4),
    Reg(0x14, "RTCRIS", access="ro", width=4),
    Reg(0x18, "RTCMIS", access="ro", width=4),
    Reg(0x1C, "RTCICR", access="wo", width=4),
) + tuple(Reg(0xFE0 + 4 * i, f"ID{i}", reset=v, access="ro", width=4) for i, v in enumerate(ID))
BY_OFFSET = {r.offset: r for r in REGS}


@register_type("pl031", "device", desc="Arm PrimeCell PL031 RTC", user_creatable=False)
class PL031(Device):
    def __init__(self):
        super().__init__()
        self.irq = self.init_irq()
        self.clock = None
        self.timer = None
        ops = MemoryRegionOps(read=self._read, write=self._write, endianness=Endian.LITTLE)
        self.mmio = MemoryRegion.io("pl031", 0x1000, ops, owner=self)
        self.tick_offset = int(time.time())
        self.mr = self.lr = self.im = self.is_ = 0

    def realize(self):
        if self.clock is not None:
            self.timer = self.clock.new_timer(self._alarm, "pl031")

    def _now_ns(self) -> int:
        return self.clock.now() if self.clock is not None else 0

    def count(self) -> int:
        return (self.tick_offset + self._now_ns() // NS) & 0xFFFF_FFFF

    def _update(self):
        self.irq.set(1 if self.is_ & self.im else 0)

    def _alarm(self):
        self.is_ = 1
        self._update()

    def _set_alarm(self):
        if self.timer is None:
            return
        ticks = (self.mr - self.count()) & 0xFFFF_FFFF
        if ticks == 0:
            self.timer.delete()
            self._alarm()
        else:
            now = self._now_ns()
            self.timer.mod(now - now % NS + ticks * NS)

    def _read(self, offset: int, size: int) -> int:
        reg = BY_OFFSET.get(offset)
        if reg is None or reg.access == "wo":
            guest_error(f"pl031: read of bad register 0x{offset:x}")
            return 0
        return {
            "RTCDR": self.count, "RTCMR": lambda: self.mr, "RTCLR": lambda: self.lr,
            "RTCCR": lambda: 1, "RTCIMSC": lambda: self.im, "RTCRIS": lambda: self.is_,
            "RTCMIS": lambda: self.is_ & self.im,
        }.get(reg.name, lambda: reg.reset)()

    def _write(self, offset: int, value: int, size: int):
        reg = BY_OFFSET.get(offset)
        if reg is None or reg.access == "ro":
            guest_error(f"pl031: write to bad register 0x{offset:x}")
            return
        if reg.name == "RTCLR":
            self.tick_offset += value - self.count()
            self.lr = value
            self._set_alarm()
        elif reg.name == "RTCMR":
            self.mr = value
            self._set_alarm()
        elif reg.name == "RTCIMSC":
            self.im = value & 1
            self._update()
        elif reg.name == "RTCICR":
            self.is_ &= ~value
            self._update()
        # RTCCR: the counter is always enabled; writes have no effect
