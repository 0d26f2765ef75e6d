"""``edu``: QEMU's educational PCI device (1234:11e8), as in QEMU 7.2 ``hw/misc/edu.c``.

Models the documented interface (docs/specs/edu.rst) on BAR0 (1 MiB, 32-bit
memory; 4-byte accesses below 0x80, 4 or 8 bytes from 0x80):

====== ================ ==== ==================================================
offset name             mode meaning
====== ================ ==== ==================================================
0x00   ID               ro   0x010000ed (major 1, minor 0, "ed")
0x04   LIVENESS         rw   reads back the bitwise inverse of what was written
0x08   FACTORIAL        rw   write n: computes n! (32-bit); reads the result
0x20   STATUS           rw   bit 0 computing (ro), bit 7 raise IRQ 0x1 when done
0x24   IRQ_STATUS       ro   pending interrupt bits
0x60   IRQ_RAISE        wo   OR the value into IRQ_STATUS and interrupt
0x64   IRQ_ACK          wo   clear these IRQ_STATUS bits
0x80   DMA_SRC          rw   source bus address (64-bit)
0x88   DMA_DST          rw   destination bus address (64-bit)
0x90   DMA_COUNT        rw   bytes to move
0x98   DMA_CMD          rw   bit 0 start/running, bit 1 direction (1: buffer to
                             RAM), bit 2 raise IRQ 0x100 when done
====== ================ ==== ==================================================

The 4 KiB DMA buffer sits at device address 0x40000. A DMA starts 100 ms of
virtual time after the command write; RAM addresses are masked with
``dma_mask`` (28 bits by default) and go through the device's bus-master
address space, so an IOMMU in front of the bus translates them (requester ID
= bus << 8 | devfn). Interrupts go out as MSI vector 0 when MSI is enabled,
else on INTA.

The factorial: QEMU's worker thread runs ``fact *= val--`` on 32-bit
integers while STATUS.computing is set, and FACTORIAL reads back the written
value until the thread stores the result. Here the same value is computed in
closed form (n! mod 2^32 is 0 for every n >= 34, since 34! holds 2^32), so
no write can stall the main loop, and the "thread" finishes as a bottom half:
from the write until the main loop's next iteration (zero virtual time)
STATUS bit 0 reads 1 and FACTORIAL reads the operand; then the result is
stored, the bit clears and IRQ 0x1 is raised if STATUS bit 7 is set. Without
a main loop (a bare device) the work completes at once.

Deliberate difference: a DMA range outside the buffer is a guest error that
drops the transfer instead of QEMU's ``hw_error`` abort of the whole emulator.
"""

from __future__ import annotations

from qemu_py.hw.misc.registers import Field, Reg
from qemu_py.hw.pci.constants import PCI_INTERRUPT_PIN
from qemu_py.hw.pci.msi import MSI
from qemu_py.hw.pci.pci import PCIDevice
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import DeviceProp, register_type
from qemu_py.system.log import guest_error

ID = 0x010000ED
STATUS_COMPUTING, STATUS_IRQFACT = 0x01, 0x80
DMA_RUN, DMA_DIR_TO_PCI, DMA_IRQ = 0x1, 0x2, 0x4
FACT_IRQ, DMA_IRQ_BIT = 0x1, 0x100
DMA_START, DMA_SIZE = 0x40000, 4096
DMA_DELAY_NS = 100_000_000

REGS = (
    Reg(0x00, "ID", reset=ID, access="ro", width=4),
    Reg(0x04, "LIVENESS", width=4),
    Reg(0x08, "FACTORIAL", width=4),
    Reg(0x20, "STATUS", width=4, fields=(Field("COMPUTING", 0), Field("IRQFACT", 7))),
    Reg(0x24, "IRQ_STATUS", access="ro", width=4),
    Reg(0x60, "IRQ_RAISE", access="wo", width=4),
    Reg(0x64, "IRQ_ACK", access="wo", width=4),
    Reg(0x80, "DMA_SRC", width=8),
    Reg(0x88, "DMA_DST", width=8),
    Reg(0x90, "DMA_COUNT", width=8),
    Reg(0x98, "DMA_CMD", width=8, fields=(Field("RUN", 0), Field("TO_PCI", 1), Field("IRQ", 2))),
)
BY_OFFSET = {r.offset: r for r in REGS}
ALL_ONES = (1 << 64) - 1
FACT_ZERO_FROM = 34                  # v2(34!) = 32: every n! from here is 0 mod 2^32


def factorial32(n: int) -> int:
    """QEMU's ``while (val > 0) ret *= val--;`` on 32-bit integers, in O(1) steps."""
    n &= 0xFFFF_FFFF
    if n >= FACT_ZERO_FROM:
        return 0
    result = 1
    for k in range(2, n + 1):
        result = (result * k) & 0xFFFF_FFFF
    return result


@register_type("edu", "pci-device", desc="QEMU educational PCI device")
class EduDevice(PCIDevice):
    VENDOR_ID = 0x1234
    DEVICE_ID = 0x11E8
    REVISION = 0x10
    CLASS_ID = 0x00FF
    PROPS = [DeviceProp("dma_mask", "uint64", (1 << 28) - 1, "mask applied to DMA addresses")]

    def __init__(self):
        super().__init__()
        self.buffer = bytearray(DMA_SIZE)
        self.timer = None
        self._clear()

    def _clear(self):
        self.addr4 = 0
        self.fact = 0
        self.status = 0
        self.irq_status = 0
        self.dma = {"DMA_SRC": 0, "DMA_DST": 0, "DMA_COUNT": 0, "DMA_CMD": 0}

    def pci_realize(self):
        self.config[PCI_INTERRUPT_PIN] = 1
        MSI(self, 0, 1, True, False)
        ops = MemoryRegionOps(read=self._read, write=self._write, endianness=Endian.LITTLE,
                              valid_min=4, valid_max=8, impl_min=4, impl_max=8)
        self.mmio = MemoryRegion.io("edu-mmio", 1 << 20, ops, owner=self)
        self.register_bar(0, 0, self.mmio)
        clock = self.machine.vm.clock if self.machine is not None else None
        if clock is not None:
            self.timer = clock.new_timer(self._dma_timer, "edu-dma")

    def pci_reset(self):
        if self.timer is not None:
            self.timer.delete()

    # -- interrupts ------------------------------------------------------------------------
    def _msi_enabled(self) -> bool:
        return self.msi is not None and self.msi.enabled()

    def raise_irq(self, bits: int):
        self.irq_status |= bits
        if self.irq_status:
            if self._msi_enabled():
                self.msi.notify(0)
            else:
                self.set_irq(1)

    def lower_irq(self, bits: int):
        self.irq_status &= ~bits & 0xFFFF_FFFF
        if not self.irq_status and not self._msi_enabled():
            self.set_irq(0)

    # -- registers -----------------------------------------------------------------------------
    def _read(self, addr: int, size: int) -> int:
        if (addr < 0x80 and size != 4) or (addr >= 0x80 and size not in (4, 8)):
            return ALL_ONES
        reg = BY_OFFSET.get(addr)
        if reg is None or reg.access == "wo":
            return ALL_ONES
        name = reg.name
        if name == "ID":
            return ID
        if name == "LIVENESS":
            return self.addr4
        if name == "FACTORIAL":
            return self.fact
        if name == "STATUS":
            return self.status
        if name == "IRQ_STATUS":
            return self.irq_status
        return self.dma[name]

    def _write(self, addr: int, value: int, size: int):
        if (addr < 0x80 and size != 4) or (addr >= 0x80 and size not in (4, 8)):
            return
        reg = BY_OFFSET.get(addr)
        if reg is None:
            return
        name = reg.name
        if name == "LIVENESS":
            self.addr4 = ~value & 0xFFFF_FFFF
        elif name == "FACTORIAL":
            if self.status & STATUS_COMPUTING:
                return
            self.fact = value & 0xFFFF_FFFF
            self.status |= STATUS_COMPUTING
            loop = getattr(self.machine.vm, "loop", None) if self.machine is not None else None
            if loop is None:
                self._fact_done()
            else:
                loop.call_soon(self._fact_done)
        elif name == "STATUS":
            if value & STATUS_IRQFACT:
                self.status |= STATUS_IRQFACT
            else:
                self.status &= ~STATUS_IRQFACT
        elif name == "IRQ_RAISE":
            self.raise_irq(value & 0xFFFF_FFFF)
        elif name == "IRQ_ACK":
            self.lower_irq(value & 0xFFFF_FFFF)
        elif name in self.dma:
            if name == "DMA_CMD" and not value & DMA_RUN:
                return
            if self.dma["DMA_CMD"] & DMA_RUN:
                return                       # registers are locked while a DMA runs
            self.dma[name] = value
            if name == "DMA_CMD" and self.timer is not None:
                now_ms = self.timer.clock.now() // 1_000_000
                self.timer.mod(now_ms * 1_000_000 + DMA_DELAY_NS)

    def _fact_done(self):
        if not self.status & STATUS_COMPUTING:
            return                            # a reset came first
        self.fact = factorial32(self.fact)
        self.status &= ~STATUS_COMPUTING
        if self.status & STATUS_IRQFACT:
            self.raise_irq(FACT_IRQ)

    # -- DMA ------------------------------------------------------------------------------------
    def _in_buffer(self, addr: int, count: int) -> bool:
        end = addr + count
        ok = DMA_START <= addr <= DMA_START + DMA_SIZE and DMA_START <= end <= DMA_START + DMA_SIZE
        if not ok:
            guest_error(f"EDU: DMA range 0x{addr:016x}-0x{end:016x} out of bounds "
                        f"(0x{DMA_START:016x}-0x{DMA_START + DMA_SIZE:016x})!")
        return ok

    def _dma_timer(self):
        cmd = self.dma["DMA_CMD"]
        if not cmd & DMA_RUN:
            return
        count = self.dma["DMA_COUNT"]
        mask = self.prop("dma_mask")
        if cmd & DMA_DIR_TO_PCI:
            src = self.dma["DMA_SRC"]
            if self._in_buffer(src, count):
                off = src - DMA_START
                self.dma_write(self.dma["DMA_DST"] & mask, bytes(self.buffer[off:off + count]))
        else:
            dst = self.dma["DMA_DST"]
            if self._in_buffer(dst, count):
                off = dst - DMA_START
                data, _res = self.dma_read(self.dma["DMA_SRC"] & mask, count)
                self.buffer[off:off + count] = data
        self.dma["DMA_CMD"] = cmd & ~DMA_RUN
        if cmd & DMA_IRQ:
            self.raise_irq(DMA_IRQ_BIT)
