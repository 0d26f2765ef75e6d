"""Local APIC (xAPIC, memory-mapped at the APIC base, 0xFEE00000 by default).

Models what a single-CPU guest uses: ID, version (0x50014: version 0x14,
six LVT entries), TPR/PPR, EOI (with the broadcast to the I/O APIC for
level-triggered vectors), LDR/DFR, SVR, ISR/TMR/IRR, ESR, ICR (fixed IPIs to
self, "self" and "all" shorthands, NMI), the LVT entries, and the timer in
one-shot and periodic modes on the virtual clock (1 GHz bus clock, so one
count is ``divide`` nanoseconds, as QEMU). LINT0 in ExtINT mode passes the
8259's INTR through; MSI writes (from the I/O APIC) arrive via
:meth:`LocalAPIC.deliver_msi`.

The model is accelerator-neutral: it talks to its CPU only through
``cpu.set_irq_request(bits)``/``cpu.clear_irq_request(bits)`` with
:data:`CPU_INTERRUPT_HARD` (an interrupt is deliverable: acknowledge it with
:meth:`LocalAPIC.get_interrupt`, or the 8259 when :meth:`extint_pending`) and
:data:`CPU_INTERRUPT_NMI`; TCG's ``X86CPU`` and KVM's ``KVMCPU`` both provide
them. :meth:`LocalAPIC.map_into` places the register page at the base in
IA32_APIC_BASE and moves it when the guest relocates or disables the APIC
(KVM uses it; TCG maps the page at 0xFEE00000 itself).

Not modelled: x2APIC (not advertised), TSC-deadline mode (not advertised),
the thermal and performance counters (their LVT entries are storage only),
logical destination arbitration among several CPUs, the error register's
error sources.
"""

from __future__ import annotations

from qemu_py.memory import MemoryRegion, MemoryRegionOps
from qemu_py.system.log import guest_error, unimp

# interrupt_request bits the APIC raises on its CPU (the values of
# qemu_py.target.i386.cpu, which the KVM accelerator does not import)
CPU_INTERRUPT_HARD = 1
CPU_INTERRUPT_NMI = 2
APIC_MMIO_PRIORITY = 0x1000     # above RAM and devices, as in QEMU

APIC_DEFAULT_BASE = 0xFEE00000


def drive_intr(cpu, level) -> None:
    """The 8259's INTR output into CPU (a TCG CPU or KVM's interrupt state, both with
    ``apic``, ``set_irq_request`` and ``clear_irq_request``): through LINT0 of the
    local APIC when there is one, else straight to the hard interrupt request."""
    if cpu.apic is not None:
        cpu.apic.set_lint0(level)
    elif level:
        cpu.set_irq_request(CPU_INTERRUPT_HARD)
    else:
        cpu.clear_irq_request(CPU_INTERRUPT_HARD)
BASE_BSP = 1 << 8
BASE_ENABLE = 1 << 11

LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR = range(6)
LVT_MASKED = 1 << 16
DM_FIXED, DM_LOWPRI, DM_SMI, DM_NMI, DM_INIT, DM_SIPI, DM_EXTINT = 0, 1, 2, 4, 5, 6, 7
SV_ENABLE = 1 << 8
DIVIDES = (2, 4, 8, 16, 32, 64, 128, 1)          # by ((conf >> 1) & 4) | (conf & 3)


class LocalAPIC:
    def __init__(self, cpu, clock, apic_id: int = 0):
        self.cpu = cpu
        self.clock = clock
        self.initial_id = apic_id
        self.timer = clock.new_timer(self._timer_expired, "apic-timer") if clock else None
        self.eoi_hook = None          # fn(vector): level-triggered EOI broadcast (I/O APIC)
        self.lint0_level = False
        self.container = None         # the memory the page is mapped into (map_into)
        self.mapped_at = None
        self.mmio = MemoryRegion.io("apic", 0x1000, MemoryRegionOps(
            read=self._read, write=self._write, valid_min=1, valid_max=4, impl_min=4,
            impl_max=4))
        self.reset()

    # -- state --------------------------------------------------------------------------
    def reset(self):
        self.id = self.initial_id
        self.base_msr = APIC_DEFAULT_BASE | BASE_ENABLE | (BASE_BSP if self.initial_id == 0
                                                           else 0)
        self.tpr = 0
        self.ldr = 0
        self.dfr = 0xFFFFFFFF
        self.svr = 0xFF
        self.irr = 0
        self.isr = 0
        self.tmr = 0
        self.esr = 0
        self.icr = 0
        self.lvt = [LVT_MASKED] * 6
        self.initial_count = 0
        self.divide_conf = 0
        self.count_start = 0
        if self.timer is not None:
            self.timer.delete()
        self._remap()

    @property
    def enabled(self) -> bool:
        return bool(self.base_msr & BASE_ENABLE)

    @property
    def sw_enabled(self) -> bool:
        return self.enabled and bool(self.svr & SV_ENABLE)

    def set_base(self, value: int):
        self.base_msr = (value & 0xFFFFF000 & ~0xFFF) | (value & (BASE_ENABLE | BASE_BSP))
        if not value & BASE_ENABLE:
            self.irr = self.isr = 0
        self._remap()
        self._update()

    @property
    def base_address(self) -> int:
        return self.base_msr & 0xFFFFF000

    def map_into(self, container: MemoryRegion):
        """Map the register page into CONTAINER (system memory) at the base in
        IA32_APIC_BASE, and keep it there: :meth:`set_base` moves it, and a
        globally disabled APIC decodes no page at all."""
        self.container = container
        self._remap()

    def _remap(self):
        if self.container is None:
            return
        want = self.base_address if self.enabled else None
        if want == self.mapped_at:
            return
        if self.mapped_at is not None:
            self.container.del_subregion(self.mmio)
        if want is not None:
            self.container.add_subregion_overlap(want, self.mmio, APIC_MMIO_PRIORITY)
        self.mapped_at = want

    def set_tpr(self, value: int):
        self.tpr = value & 0xFF
        self._update()

    # -- priority and delivery ------------------------------------------------------------
    def _ppr(self) -> int:
        isrv = self.isr.bit_length() - 1 if self.isr else 0
        if (self.tpr >> 4) >= (isrv >> 4):
            return self.tpr
        return isrv & 0xF0

    def has_interrupt(self) -> bool:
        if not self.sw_enabled or not self.irr:
            return self.extint_pending()
        v = self.irr.bit_length() - 1
        return (v & 0xF0) > (self._ppr() & 0xF0) or self.extint_pending()

    def get_interrupt(self):
        """Acknowledge the highest deliverable vector (IRR -> ISR), or None."""
        if not self.sw_enabled or not self.irr:
            return None
        v = self.irr.bit_length() - 1
        if (v & 0xF0) <= (self._ppr() & 0xF0):
            return None
        self.irr &= ~(1 << v)
        self.isr |= 1 << v
        self._update()
        return v

    def extint_pending(self) -> bool:
        """INTR from the 8259 reaches the CPU (LINT0 ExtINT or the APIC disabled)."""
        if not self.lint0_level:
            return False
        if not self.enabled:
            return True
        lvt0 = self.lvt[LVT_LINT0]
        return not lvt0 & LVT_MASKED and ((lvt0 >> 8) & 7) == DM_EXTINT

    def set_lint0(self, level: bool):
        self.lint0_level = bool(level)
        lvt0 = self.lvt[LVT_LINT0]
        if level and self.enabled and not lvt0 & LVT_MASKED and ((lvt0 >> 8) & 7) == DM_FIXED:
            self.accept(lvt0 & 0xFF, level_triggered=bool(lvt0 & (1 << 15)))
            return
        self._update()

    def accept(self, vector: int, level_triggered: bool = False):
        if not self.enabled:
            return
        if vector < 16:
            self.esr |= 1 << 6                    # received illegal vector
            return
        self.irr |= 1 << vector
        if level_triggered:
            self.tmr |= 1 << vector
        else:
            self.tmr &= ~(1 << vector)
        self._update()

    def _update(self):
        if self.has_interrupt():
            self.cpu.set_irq_request(CPU_INTERRUPT_HARD)
        else:
            self.cpu.clear_irq_request(CPU_INTERRUPT_HARD)

    def deliver_msi(self, addr: int, data: int):
        """A message from the I/O APIC or an MSI-capable device."""
        dest = (addr >> 12) & 0xFF
        logical = bool(addr & 4)
        mode = (data >> 8) & 7
        vector = data & 0xFF
        level = bool(data & (1 << 15))
        if not self._matches(dest, logical):
            return
        self._deliver(mode, vector, level)

    def _matches(self, dest: int, logical: bool) -> bool:
        if dest == 0xFF:
            return True
        if not logical:
            return dest == self.id
        if (self.dfr >> 28) == 0xF:                  # flat model
            return bool(dest & (self.ldr >> 24))
        return (dest >> 4) == (self.ldr >> 28) and bool(dest & (self.ldr >> 24) & 0xF)

    def _deliver(self, mode: int, vector: int, level: bool):
        if mode in (DM_FIXED, DM_LOWPRI):
            self.accept(vector, level)
        elif mode == DM_NMI:
            self.cpu.set_irq_request(CPU_INTERRUPT_NMI)
        elif mode == DM_EXTINT:
            self._update()
        else:
            unimp(f"apic: delivery mode {mode} not modelled")

    def eoi(self):
        if not self.isr:
            return
        v = self.isr.bit_length() - 1
        self.isr &= ~(1 << v)
        if self.tmr & (1 << v):
            self.tmr &= ~(1 << v)
            if self.eoi_hook is not None:
                self.eoi_hook(v)
        self._update()

    # -- timer ----------------------------------------------------------------------------------
    def _divide(self) -> int:
        return DIVIDES[((self.divide_conf >> 1) & 4) | (self.divide_conf & 3)]

    def _timer_start(self):
        if self.timer is None:
            return
        self.count_start = self.clock.now()
        if self.initial_count == 0:
            self.timer.delete()
            return
        self.timer.mod(self.count_start + self.initial_count * self._divide())

    def _timer_expired(self):
        lvt = self.lvt[LVT_TIMER]
        if not lvt & LVT_MASKED:
            self.accept(lvt & 0xFF)
        if (lvt >> 17) & 3 == 1 and self.initial_count:       # periodic
            period = self.initial_count * self._divide()
            self.count_start += period
            self.timer.mod(self.count_start + period)
        else:
            self.count_start = -1

    def current_count(self) -> int:
        if self.initial_count == 0 or self.timer is None or self.count_start < 0:
            return 0
        elapsed = (self.clock.now() - self.count_start) // self._divide()
        if (self.lvt[LVT_TIMER] >> 17) & 3 == 1:
            return self.initial_count - elapsed % self.initial_count
        return max(0, self.initial_count - elapsed)

    # -- registers --------------------------------------------------------------------------------
    def _read(self, offset: int, size: int) -> int:
        v = self._read_reg(offset & 0xFF0)
        return (v >> (8 * (offset & 3))) & ((1 << (8 * size)) - 1)

    def _read_reg(self, off: int) -> int:
        if off == 0x20:
            return self.id << 24
        if off == 0x30:
            return 0x00050014
        if off == 0x80:
            return self.tpr
        if off == 0x90:
            return 0
        if off == 0xA0:
            return self._ppr()
        if off == 0xB0:
            return 0
        if off == 0xD0:
            return self.ldr
        if off == 0xE0:
            return self.dfr
        if off == 0xF0:
            return self.svr
        if 0x100 <= off < 0x180:
            return (self.isr >> (32 * ((off - 0x100) >> 4))) & 0xFFFFFFFF
        if 0x180 <= off < 0x200:
            return (self.tmr >> (32 * ((off - 0x180) >> 4))) & 0xFFFFFFFF
        if 0x200 <= off < 0x280:
            return (self.irr >> (32 * ((off - 0x200) >> 4))) & 0xFFFFFFFF
        if off == 0x280:
            return self.esr
        if off == 0x300:
            return self.icr & 0xFFFFFFFF
        if off == 0x310:
            return self.icr >> 32
        if 0x320 <= off <= 0x370:
            return self.lvt[(off - 0x320) >> 4]
        if off == 0x380:
            return self.initial_count
        if off == 0x390:
            return self.current_count()
        if off == 0x3E0:
            return self.divide_conf
        guest_error(f"apic: read of unknown register 0x{off:03x}")
        return 0

    def _write(self, offset: int, value: int, size: int):
        off = offset & 0xFF0
        value &= 0xFFFFFFFF
        if off == 0x20:
            self.id = value >> 24
        elif off == 0x80:
            self.set_tpr(value)
        elif off == 0xB0:
            self.eoi()
        elif off == 0xD0:
            self.ldr = value & 0xFF000000
        elif off == 0xE0:
            self.dfr = value | 0x0FFFFFFF
        elif off == 0xF0:
            self.svr = value & 0x1FFF
            if not self.svr & SV_ENABLE:
                self.lvt = [x | LVT_MASKED for x in self.lvt]
            self._update()
        elif off == 0x280:
            self.esr = 0
        elif off == 0x300:
            self.icr = (self.icr & ~0xFFFFFFFF) | value
            self._send_ipi()
        elif off == 0x310:
            self.icr = (self.icr & 0xFFFFFFFF) | (value << 32)
        elif 0x320 <= off <= 0x370:
            n = (off - 0x320) >> 4
            if not self.svr & SV_ENABLE:
                value |= LVT_MASKED
            self.lvt[n] = value & 0x7A7FF      # vector, mode, polarity, trigger, mask, timer mode
            if n == LVT_TIMER and self.initial_count:
                self._timer_start()
            if n == LVT_LINT0:
                self._update()
        elif off == 0x380:
            self.initial_count = value
            self._timer_start()
        elif off == 0x3E0:
            self.divide_conf = value & 0xB
        elif off in (0x30, 0x90, 0xA0, 0x390) or 0x100 <= off < 0x280:
            guest_error(f"apic: write to read-only register 0x{off:03x}")
        else:
            guest_error(f"apic: write of unknown register 0x{off:03x}")

    def _send_ipi(self):
        icr = self.icr
        vector = icr & 0xFF
        mode = (icr >> 8) & 7
        shorthand = (icr >> 18) & 3
        dest = icr >> 56
        if shorthand == 1 or shorthand == 2:
            self._deliver(mode, vector, False)
        elif shorthand == 0 and self._matches(dest, bool(icr & (1 << 11))):
            self._deliver(mode, vector, False)
        elif shorthand == 3:
            pass                                # all excluding self: no other CPU
