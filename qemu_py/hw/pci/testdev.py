"""``pci-testdev``: a PCI function for exercising the PCI core from qtest.

IDs as QEMU's pci-testdev (1b36:0005, class 00ff) but a register set of
its own, made for tests of BAR sizing and mapping, INTx, MSI, MSI-X and bus
mastering (it is not QEMU's ioeventfd test header):

* BAR0: 4 KiB 32-bit memory, the registers below; BAR1: 256-byte I/O, the
  same registers; BAR2: 64 KiB 64-bit prefetchable memory backed by RAM;
  BAR4: 4 KiB 32-bit memory holding the MSI-X table (8 vectors, offset 0)
  and PBA (offset 0x800).
* Capabilities: MSI (64-bit, per-vector masking, 4 vectors) and MSI-X.
* Interrupt pin INTA.

Registers (4 bytes each, little-endian):

====== ========== ==== =================================================
offset name       mode meaning
====== ========== ==== =================================================
0x00   MAGIC      ro   0x54534554 ("TEST")
0x04   SCRATCH    rw   free for the test
0x08   INTX       rw   bit 0 drives the INTx pin
0x0c   NOTIFY     wo   send vector V: MSI-X if enabled, else MSI
0x10   DMA_LO     rw   bus address, low half
0x14   DMA_HI     rw   bus address, high half
0x18   DMA_LEN    rw   bytes to move, at most 256
0x1c   DMA_CMD    wo   1: buffer -> memory, 2: memory -> buffer
0x20   DMA_STATUS ro   MemTxResult of the last transfer (0 = OK)
0x100  BUFFER     rw   256 bytes, any access size
====== ========== ==== =================================================
"""

from __future__ import annotations

from qemu_py.hw.misc.registers import Reg
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import register_type
from qemu_py.system.log import guest_error

from .constants import (
    PCI_BASE_ADDRESS_MEM_PREFETCH,
    PCI_BASE_ADDRESS_MEM_TYPE_64,
    PCI_BASE_ADDRESS_SPACE_IO,
    PCI_INTERRUPT_PIN,
    PCI_VENDOR_ID_REDHAT,
)
from .msi import MSI
from .msix import MSIX
from .pci import PCIDevice

MAGIC = 0x54534554
BUF_OFF, BUF_SIZE = 0x100, 0x100

REGS = (
    Reg(0x00, "MAGIC", reset=MAGIC, access="ro", width=4),
    Reg(0x04, "SCRATCH", width=4),
    Reg(0x08, "INTX", width=4),
    Reg(0x0c, "NOTIFY", access="wo", width=4),
    Reg(0x10, "DMA_LO", width=4),
    Reg(0x14, "DMA_HI", width=4),
    Reg(0x18, "DMA_LEN", width=4),
    Reg(0x1c, "DMA_CMD", access="wo", width=4),
    Reg(0x20, "DMA_STATUS", access="ro", width=4),
)


@register_type("pci-testdev", "pci-device", desc="PCI Test Device")
class PCITestDev(PCIDevice):
    VENDOR_ID = PCI_VENDOR_ID_REDHAT
    DEVICE_ID = 0x0005
    CLASS_ID = 0x00ff

    def __init__(self):
        super().__init__()
        self.values = {r.name: r.reset for r in REGS}
        self.buffer = bytearray(BUF_SIZE)
        self.by_offset = {r.offset: r for r in REGS}

    def pci_realize(self):
        self.config[PCI_INTERRUPT_PIN] = 1
        ops = MemoryRegionOps(read=self._read, write=self._write, endianness=Endian.LITTLE,
                              valid_min=1, valid_max=4, impl_min=1, impl_max=4)
        self.mmio = MemoryRegion.io("pci-testdev-mmio", 0x1000, ops, owner=self)
        self.portio = MemoryRegion.io("pci-testdev-portio", 0x100, ops, owner=self)
        self.ram = MemoryRegion.ram("pci-testdev-ram", 0x10000, owner=self)
        self.msix_bar = MemoryRegion("pci-testdev-msix", 0x1000, owner=self)
        self.register_bar(0, 0, self.mmio)
        self.register_bar(1, PCI_BASE_ADDRESS_SPACE_IO, self.portio)
        self.register_bar(2, PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH, self.ram)
        self.register_bar(4, 0, self.msix_bar)
        MSI(self, 0, 4, True, True)
        MSIX(self, 8, 4, self.msix_bar, 0, 4, self.msix_bar, 0x800)

    def pci_reset(self):
        self.values = {r.name: r.reset for r in REGS}
        self.buffer[:] = bytes(BUF_SIZE)

    def _read(self, addr: int, size: int) -> int:
        if BUF_OFF <= addr < BUF_OFF + BUF_SIZE:
            off = addr - BUF_OFF
            return int.from_bytes(self.buffer[off:off + size].ljust(size, b"\0"), "little")
        r = self.by_offset.get(addr & ~3)
        if r is None or addr & 3 or size != 4:
            guest_error(f"pci-testdev: read of size {size} at unknown or unaligned offset 0x{addr:x}")
            return 0
        if r.access == "wo":
            return 0
        if r.name == "INTX":
            return self.irq_state
        return self.values[r.name]

    def _write(self, addr: int, val: int, size: int):
        if BUF_OFF <= addr < BUF_OFF + BUF_SIZE:
            off = addr - BUF_OFF
            n = min(size, BUF_SIZE - off)
            self.buffer[off:off + n] = val.to_bytes(size, "little")[:n]
            return
        r = self.by_offset.get(addr & ~3)
        if r is None or addr & 3 or size != 4:
            guest_error(f"pci-testdev: write of size {size} at unknown or unaligned offset 0x{addr:x}")
            return
        if r.access == "ro":
            guest_error(f"pci-testdev: write 0x{val:x} to read-only {r.name}")
            return
        if r.name == "INTX":
            self.set_irq(val & 1)
        elif r.name == "NOTIFY":
            self._notify(val)
        elif r.name == "DMA_CMD":
            self._dma(val)
        else:
            self.values[r.name] = val & 0xffffffff

    def _notify(self, vector: int):
        if self.msix.enabled():
            self.msix.notify(vector)
        elif self.msi.enabled():
            self.msi.notify(vector)
        else:
            guest_error("pci-testdev: NOTIFY with neither MSI nor MSI-X enabled")

    def _dma(self, cmd: int):
        addr = self.values["DMA_LO"] | (self.values["DMA_HI"] << 32)
        length = self.values["DMA_LEN"]
        if length > BUF_SIZE:
            guest_error(f"pci-testdev: DMA length {length} larger than the {BUF_SIZE}-byte buffer")
            length = BUF_SIZE
        if cmd == 1:
            res = self.dma_write(addr, bytes(self.buffer[:length]))
        elif cmd == 2:
            data, res = self.dma_read(addr, length)
            self.buffer[:length] = data
        else:
            guest_error(f"pci-testdev: unknown DMA command {cmd}")
            return
        self.values["DMA_STATUS"] = int(res)
