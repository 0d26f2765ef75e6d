"""The ACPI fixed-hardware PM block: PM1a event and control registers and the PM timer.

Models the register layout of the PIIX4 power-management function (Intel
82371AB datasheet, section 7.2; ACPI 6.4 section 4.8) at a fixed I/O base
(0x600, where SeaBIOS puts QEMU's):

* ``PM1_STS`` (+0, 16 bit, write one to clear): TMR_STS (bit 0, set when bit
  23 of the timer changes), PWRBTN_STS (bit 8, set by ``system_powerdown``),
  WAK_STS (bit 15);
* ``PM1_EN`` (+2, 16 bit): TMR_EN (bit 0), PWRBTN_EN (bit 8); the SCI (ISA
  IRQ 9, level) is raised while ``PM1_STS & PM1_EN`` and SCI_EN are set;
* ``PM1_CNT`` (+4, 16 bit): SCI_EN (bit 0, set at reset since there is no SMI
  command port), SLP_TYP (bits 10-12) and the write-only SLP_EN (bit 13):
  SLP_TYP 0 with SLP_EN is S5, a guest shutdown;
* ``PM_TMR`` (+8, 32 bit, read-only): a 24-bit counter at 3.579545 MHz
  derived from the virtual clock.

Not modelled: sleep states other than S5 (other SLP_TYP values are logged
as unimplemented), GPE blocks, the global lock, SMI.
"""

from __future__ import annotations

from qemu_py.hw.isa.isa_bus import ISADevice
from qemu_py.hw.misc.registers import Field, Reg
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import DeviceProp, register_type
from qemu_py.system.log import guest_error, unimp

PM_TIMER_FREQUENCY = 3579545
NANOSECONDS_PER_SECOND = 1_000_000_000
TMR_MASK = 0xFFFFFF
TMR_OVERFLOW_BIT = 1 << 23
PM_BLOCK_SIZE = 12

TMR_STS, PWRBTN_STS, WAK_STS = 1 << 0, 1 << 8, 1 << 15
STS_BITS = TMR_STS | PWRBTN_STS | WAK_STS
EN_BITS = TMR_STS | PWRBTN_STS
SCI_EN, SLP_EN = 1 << 0, 1 << 13
SLP_TYP_SHIFT, SLP_TYP_MASK = 10, 7
SLP_TYP_S5 = 0

REGS = (
    Reg(0, "PM1_STS", access="w1c", width=2, fields=(
        Field("TMR_STS", 0), Field("PWRBTN_STS", 8), Field("WAK_STS", 15))),
    Reg(2, "PM1_EN", width=2, fields=(Field("TMR_EN", 0), Field("PWRBTN_EN", 8))),
    Reg(4, "PM1_CNT", reset=SCI_EN, width=2, fields=(
        Field("SCI_EN", 0), Field("SLP_TYP", 10, 3), Field("SLP_EN", 13))),
    Reg(8, "PM_TMR", access="ro", width=4, desc="24-bit counter at 3.579545 MHz"),
)


def ns_to_pm_ticks(ns: int) -> int:
    return ns * PM_TIMER_FREQUENCY // NANOSECONDS_PER_SECOND


def pm_ticks_to_ns(ticks: int) -> int:
    """The first nanosecond at which the counter reaches TICKS."""
    return -(-ticks * NANOSECONDS_PER_SECOND // PM_TIMER_FREQUENCY)


@register_type("acpi-pm-block", "isa-device", desc="ACPI PM1a event/control block and PM timer",
               user_creatable=False)
class ACPIPMBlock(ISADevice):
    PROPS = [DeviceProp("iobase", "uint32", 0x600), DeviceProp("sci-irq", "uint32", 9)]

    def __init__(self):
        super().__init__()
        self.sts = 0
        self.en = 0
        self.cnt = SCI_EN
        self.sci = None
        self.overflow_timer = None

    def realize(self):
        self.sci = self.isa_get_irq(self.prop("sci-irq"))
        self.overflow_timer = self.clock.new_timer(self._on_overflow, "acpi-pm-tmr")
        self.io = MemoryRegion.io("acpi-pm", PM_BLOCK_SIZE, MemoryRegionOps(
            read=self._read, write=self._write, endianness=Endian.LITTLE,
            valid_min=1, valid_max=4, impl_min=1, impl_max=4), owner=self)
        self.isa_register_ioport(self.io, self.prop("iobase"))

    def reset(self):
        self.sts = 0
        self.en = 0
        self.cnt = SCI_EN
        self._arm_overflow()
        self._update_sci()

    # -- PM timer ---------------------------------------------------------------------
    def timer_value(self) -> int:
        return ns_to_pm_ticks(self.clock.now()) & TMR_MASK

    def _arm_overflow(self):
        if self.overflow_timer is None:
            return
        ticks = ns_to_pm_ticks(self.clock.now())
        nxt = (ticks | (TMR_OVERFLOW_BIT - 1)) + 1
        self.overflow_timer.mod(pm_ticks_to_ns(nxt))

    def _on_overflow(self):
        self.sts |= TMR_STS
        self._arm_overflow()
        self._update_sci()

    # -- power button (system_powerdown) ------------------------------------------------
    def power_button(self):
        self.sts |= PWRBTN_STS
        self._update_sci()

    def _update_sci(self):
        if self.sci is None:
            return
        level = bool(self.cnt & SCI_EN) and bool(self.sts & self.en & EN_BITS)
        self.sci.set(1 if level else 0)

    # -- port I/O ---------------------------------------------------------------------
    def _reg_value(self, off: int) -> int:
        if off < 2:
            return self.sts
        if off < 4:
            return self.en
        if off < 6:
            return self.cnt
        if 8 <= off < 12:
            return self.timer_value()
        return 0

    def _read(self, addr: int, size: int) -> int:
        val = 0
        for i in range(size):
            off = addr + i
            base = off & ~1 if off < 8 else 8
            byte = (self._reg_value(off) >> (8 * (off - base))) & 0xFF
            val |= byte << (8 * i)
        return val

    def _write(self, addr: int, val: int, size: int):
        for i in range(size):
            off = addr + i
            byte = (val >> (8 * i)) & 0xFF
            if off < 2:
                self.sts &= ~((byte << (8 * off)) & STS_BITS)
            elif off < 4:
                self.en = _set_byte(self.en, off - 2, byte) & EN_BITS
            elif off < 6:
                self._write_cnt(_set_byte(self.cnt, off - 4, byte))
            elif off >= 8:
                guest_error(f"acpi-pm: write 0x{byte:02x} to read-only PM_TMR byte {off - 8}")
        self._update_sci()

    def _write_cnt(self, val: int):
        self.cnt = val & ~SLP_EN
        if not val & SLP_EN:
            return
        typ = (val >> SLP_TYP_SHIFT) & SLP_TYP_MASK
        if typ == SLP_TYP_S5:
            self.vm.request_shutdown("guest-shutdown", guest=True)
        else:
            unimp(f"acpi-pm: sleep state SLP_TYP={typ} is not modelled")


def _set_byte(value: int, index: int, byte: int) -> int:
    shift = 8 * index
    return (value & ~(0xFF << shift)) | (byte << shift)
