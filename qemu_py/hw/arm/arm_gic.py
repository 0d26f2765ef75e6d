"""Arm Generic Interrupt Controller, GICv2 (``arm_gic``) and GICv3 (``arm-gicv3``)
distributor state for one CPU, as the ``virt`` board wires them.

Models the interrupt state machine of IHI 0048 (v2) / IHI 0069 (v3) that a
qtest-driven board needs: per-interrupt input level, enable, pending, active,
group, priority, target and edge/level configuration, with the memory-mapped
distributor (v2: GICD + GICC CPU interface; v3: GICD + one redistributor)
and the resulting IRQ/FIQ outputs towards the CPU. Inputs are QEMU's order:
GPIO 0..N-33 are SPIs 32..N-1, then 32 PPIs/SGIs of CPU 0 (so the PL011 on
SPI 1 is input 1, as ``irq_intercept_in`` reports it).

Not modelled: security extensions and group-0 FIQ routing details, binary
point preemption, SGIs between several CPUs, the GICv3 CPU system-register
interface (there is no CPU model yet), LPIs and the ITS, GICv2m.
"""

from __future__ import annotations

from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import Device, DeviceProp, register_type
from qemu_py.system.log import guest_error

GIC_INTERNAL = 32
SPURIOUS = 1023
ID_V2 = (0x04, 0x00, 0x00, 0x00, 0x90, 0xB4, 0x2B, 0x00, 0x0D, 0xF0, 0x05, 0xB1)

# Distributor bit-per-interrupt banks: (offset, name, state attribute, set/clear)
BIT_BANKS = (
    (0x080, "IGROUPR", "group", None),
    (0x100, "ISENABLER", "enabled", True),
    (0x180, "ICENABLER", "enabled", False),
    (0x200, "ISPENDR", "pending", True),
    (0x280, "ICPENDR", "pending", False),
    (0x300, "ISACTIVER", "active", True),
    (0x380, "ICACTIVER", "active", False),
)


class GICState:
    """Per-interrupt state shared by the v2 and v3 front ends (one CPU)."""

    def __init__(self, num_irq: int):
        self.num_irq = num_irq
        self.reset()

    def reset(self):
        n = self.num_irq
        self.level = [0] * n
        self.enabled = [0] * n
        self.pending = [0] * n
        self.active = [0] * n
        self.group = [0] * n
        self.edge = [0] * n
        self.priority = [0] * n
        self.target = [1 if i < GIC_INTERNAL else 0 for i in range(n)]
        for i in range(16):                           # SGIs are always enabled, edge
            self.enabled[i] = 1
            self.edge[i] = 1
        self.dist_enabled = 0
        self.cpu_enabled = 0
        self.pmr = 0
        self.bpr = 0
        self.running = []

    def is_pending(self, irq: int) -> bool:
        return bool(self.pending[irq] or (not self.edge[irq] and self.level[irq]))

    def best(self) -> int:
        best, prio = SPURIOUS, 0x100
        for irq in range(self.num_irq):
            if self.enabled[irq] and self.is_pending(irq) and not self.active[irq] \
                    and self.priority[irq] < prio:
                best, prio = irq, self.priority[irq]
        return best

    def running_priority(self) -> int:
        return self.priority[self.running[-1]] if self.running else 0x100


class GICBase(Device):
    VERSION = 2
    PROPS = [DeviceProp("num-irq", "uint32", 288), DeviceProp("num-cpu", "uint32", 1)]

    def __init__(self):
        super().__init__()
        self.state = None
        self.cpu_irq = self.init_irq()
        self.cpu_fiq = self.init_irq()

    def realize(self):
        n = self.prop("num-irq")
        self.state = GICState(n)
        self.init_gpio_in(self._set_irq, n - GIC_INTERNAL + GIC_INTERNAL)
        self.build_regions()

    def reset(self):
        if self.state is not None:
            self.state.reset()
            self._update()

    def _set_irq(self, n: int, level: int):
        s = self.state
        spis = s.num_irq - GIC_INTERNAL
        irq = n + GIC_INTERNAL if n < spis else n - spis
        level = 1 if level else 0
        if level == s.level[irq]:
            return
        s.level[irq] = level
        if level and s.edge[irq]:
            s.pending[irq] = 1
        self._update()

    def _update(self):
        s = self.state
        best = s.best() if s.dist_enabled and s.cpu_enabled else SPURIOUS
        fire = best != SPURIOUS and s.priority[best] < s.pmr and \
            s.priority[best] < s.running_priority()
        self.cpu_irq.set(1 if fire else 0)

    # -- the distributor, common to both versions ---------------------------------------------
    def dist_read(self, off: int, size: int) -> int:
        s = self.state
        for base, _name, attr, _sc in BIT_BANKS:
            if base <= off < base + s.num_irq // 8:
                first = (off - base) * 8
                vals = getattr(s, attr) if attr != "pending" else \
                    [int(s.is_pending(i)) for i in range(s.num_irq)]
                return sum(vals[first + i] << i for i in range(8 * size)
                           if first + i < s.num_irq)
        if 0x400 <= off < 0x400 + s.num_irq:
            return sum(s.priority[off - 0x400 + i] << (8 * i) for i in range(size)
                       if off - 0x400 + i < s.num_irq)
        if 0xC00 <= off < 0xC00 + s.num_irq // 4:
            first = (off - 0xC00) * 4
            return sum((s.edge[first + i] << 1) << (2 * i) for i in range(4 * size)
                       if first + i < s.num_irq)
        return self.dist_read_other(off, size)

    def dist_write(self, off: int, value: int, size: int):
        s = self.state
        for base, _name, attr, setclear in BIT_BANKS:
            if base <= off < base + s.num_irq // 8:
                first = (off - base) * 8
                vec = getattr(s, attr)
                for i in range(8 * size):
                    irq = first + i
                    if irq >= s.num_irq or (attr == "enabled" and irq < 16):
                        continue
                    bit = value >> i & 1
                    if setclear is None:
                        vec[irq] = bit
                    elif bit:
                        vec[irq] = 1 if setclear else 0
                self._update()
                return
        if 0x400 <= off < 0x400 + s.num_irq:
            for i in range(size):
                if off - 0x400 + i < s.num_irq:
                    s.priority[off - 0x400 + i] = value >> (8 * i) & 0xFF
            self._update()
            return
        if 0xC00 <= off < 0xC00 + s.num_irq // 4:
            first = (off - 0xC00) * 4
            for i in range(4 * size):
                irq = first + i
                if GIC_INTERNAL // 2 <= irq < s.num_irq:
                    s.edge[irq] = value >> (2 * i + 1) & 1
            self._update()
            return
        self.dist_write_other(off, value, size)

    # -- CPU interface behaviour (GICC in v2) --------------------------------------------------
    def acknowledge(self) -> int:
        s = self.state
        irq = s.best() if s.dist_enabled and s.cpu_enabled else SPURIOUS
        if irq == SPURIOUS or s.priority[irq] >= s.pmr:
            return SPURIOUS
        s.pending[irq] = 0
        s.active[irq] = 1
        s.running.append(irq)
        self._update()
        return irq

    def end_of_interrupt(self, irq: int):
        s = self.state
        if irq >= s.num_irq:
            return
        s.active[irq] = 0
        if irq in s.running:
            s.running.remove(irq)
        self._update()


@register_type("arm_gic", "device", desc="Arm GICv2", user_creatable=False)
class GICv2(GICBase):
    def build_regions(self):
        self.dist_mmio = MemoryRegion.io("gic_dist", 0x1000, MemoryRegionOps(
            read=self.dist_read, write=self.dist_write, endianness=Endian.LITTLE,
            valid_min=1, valid_max=4), owner=self)
        self.cpu_mmio = MemoryRegion.io("gic_cpu", 0x2000, MemoryRegionOps(
            read=self._cpu_read, write=self._cpu_write, endianness=Endian.LITTLE,
            valid_min=4, valid_max=4), owner=self)

    def dist_read_other(self, off: int, size: int) -> int:
        s = self.state
        if off == 0x000:
            return s.dist_enabled
        if off == 0x004:
            return (s.num_irq // 32 - 1) | (self.prop("num-cpu") - 1) << 5
        if off == 0x008:
            return 0x0200_043B
        if 0x800 <= off < 0x800 + s.num_irq:
            return sum(s.target[off - 0x800 + i] << (8 * i) for i in range(size)
                       if off - 0x800 + i < s.num_irq)
        if 0xFD0 <= off < 0x1000 and not off & 3:
            return ID_V2[(off - 0xFD0) >> 2]
        guest_error(f"gic_dist_read: Bad offset 0x{off:x}")
        return 0

    def dist_write_other(self, off: int, value: int, size: int):
        s = self.state
        if off == 0x000:
            s.dist_enabled = value & 1
            self._update()
        elif 0x800 + GIC_INTERNAL <= off < 0x800 + s.num_irq:
            for i in range(size):
                s.target[off - 0x800 + i] = value >> (8 * i) & 0xFF
        elif off == 0xF00:
            irq = value & 0xF
            s.pending[irq] = 1
            self._update()
        else:
            guest_error(f"gic_dist_write: Bad offset 0x{off:x}")

    def _cpu_read(self, off: int, size: int) -> int:
        s = self.state
        if off == 0x00:
            return s.cpu_enabled
        if off == 0x04:
            return s.pmr
        if off == 0x08:
            return s.bpr
        if off == 0x0C:
            return self.acknowledge()
        if off == 0x14:
            return s.running_priority() if s.running else 0xFF
        if off == 0x18:
            return s.best()
        if off == 0xFC:
            return 0x0202_143B
        guest_error(f"gic_cpu_read: Bad offset 0x{off:x}")
        return 0

    def _cpu_write(self, off: int, value: int, size: int):
        s = self.state
        if off == 0x00:
            s.cpu_enabled = value & 1
        elif off == 0x04:
            s.pmr = value & 0xFF
        elif off == 0x08:
            s.bpr = value & 7
        elif off in (0x10, 0x1000):
            self.end_of_interrupt(value & 0x3FF)
            return
        else:
            guest_error(f"gic_cpu_write: Bad offset 0x{off:x}")
            return
        self._update()


@register_type("arm-gicv3", "device", desc="Arm GICv3", user_creatable=False)
class GICv3(GICBase):
    VERSION = 3

    def build_regions(self):
        self.dist_mmio = MemoryRegion.io("gicv3_dist", 0x10000, MemoryRegionOps(
            read=self.dist_read, write=self.dist_write, endianness=Endian.LITTLE,
            valid_min=1, valid_max=8), owner=self)
        self.redist_mmio = MemoryRegion.io("gicv3_redist_region[0]", 0x20000, MemoryRegionOps(
            read=self._redist_read, write=self._redist_write, endianness=Endian.LITTLE,
            valid_min=1, valid_max=8), owner=self)
        self.waker = 0x6

    def reset(self):
        super().reset()
        self.waker = 0x6
        if self.state is not None:
            self.state.cpu_enabled = 1              # no CPU: the interface is always on
            self.state.pmr = 0xFF

    def dist_read_other(self, off: int, size: int) -> int:
        s = self.state
        if off == 0x000:
            return s.dist_enabled | 0x10            # ARE_NS
        if off == 0x004:
            return (s.num_irq // 32 - 1) | (9 << 19)   # ITLinesNumber, IDbits = 16 bits
        if off == 0x008:
            return 0x0300_043B
        if 0x6000 <= off < 0x6000 + 8 * s.num_irq:
            return 0                                # IROUTER: every SPI to CPU 0
        if off == 0xFFE8:
            return 0x3B
        guest_error(f"gicv3_dist_read: Bad offset 0x{off:x}")
        return 0

    def dist_write_other(self, off: int, value: int, size: int):
        if off == 0x000:
            self.state.dist_enabled = 1 if value & 0x3 else 0
            self._update()
        elif not 0x6000 <= off < 0x6000 + 8 * self.state.num_irq:
            guest_error(f"gicv3_dist_write: Bad offset 0x{off:x}")

    def _redist_read(self, off: int, size: int) -> int:
        if off >= 0x10000:                          # SGI/PPI frame: banked registers
            sgi = off - 0x10000
            if 0x080 <= sgi < 0x400 and (sgi & 0x7F) < 4 or 0x400 <= sgi < 0x420 \
                    or sgi in (0xC00, 0xC04):
                return self.dist_read(sgi, size)
            return 0
        if off == 0x0008:
            return 1 << 4 if size == 4 else 1 << 4  # TYPER.Last
        if off == 0x0004:
            return 0x0300_043B
        if off == 0x0014:
            return self.waker
        if off == 0xFFE8:
            return 0x3B
        return 0

    def _redist_write(self, off: int, value: int, size: int):
        if off >= 0x10000:
            sgi = off - 0x10000
            if 0x080 <= sgi < 0x400 and (sgi & 0x7F) < 4 or 0x400 <= sgi < 0x420 \
                    or sgi in (0xC00, 0xC04):
                self.dist_write(sgi, value, size)
            return
        if off == 0x0014:
            sleep = value & 2
            self.waker = sleep | (4 if sleep else 0)
