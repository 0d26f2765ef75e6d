"""PCI MSI-X (PCI 3.0 section 6.8.2): capability, vector table and PBA in BARs.

Models the capability (table size, function mask, enable; table and PBA
offset/BIR), the vector table (16 bytes per entry: address, upper address,
data, vector control with the mask bit; entries reset masked) and the
pending-bit array, as MMIO regions that accept 4- and 8-byte accesses
(8-byte ones split in two, as QEMU's). :meth:`MSIX.notify` sends the entry's
message with the device's requester ID when MSI-X is enabled and neither the
function nor the vector is masked, and otherwise sets the pending bit;
unmasking sends a pending message. The PBA is read-only.
"""

from __future__ import annotations

from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.system.log import guest_error

from .constants import PCI_CAP_ID_MSIX

CTRL_ENABLE, CTRL_MASKALL = 0x8000, 0x4000
ENTRY_SIZE = 16
VECTOR_CTRL_MASKBIT = 1


class MSIX:
    def __init__(self, dev, nentries: int, table_bar: int, table_container: MemoryRegion,
                 table_offset: int, pba_bar: int, pba_container: MemoryRegion, pba_offset: int,
                 cap_pos: int = 0):
        if not 1 <= nentries <= 2048:
            raise ValueError(f"MSI-X table size {nentries} out of range")
        self.dev = dev
        self.nentries = nentries
        self.table = bytearray(nentries * ENTRY_SIZE)
        self.pba = bytearray((nentries + 63) // 64 * 8)
        self.cap = cap = dev.add_capability(PCI_CAP_ID_MSIX, cap_pos, 12)
        self._w(cap + 2, 2, nentries - 1)
        self._w(cap + 4, 4, table_offset | table_bar)
        self._w(cap + 8, 4, pba_offset | pba_bar)
        dev.wmask[cap + 3] |= (CTRL_ENABLE | CTRL_MASKALL) >> 8
        ops = dict(endianness=Endian.LITTLE, valid_min=4, valid_max=8, impl_min=4, impl_max=4)
        self.table_mmio = MemoryRegion.io("msix-table", len(self.table), MemoryRegionOps(
            read=self._table_read, write=self._table_write, **ops), owner=dev)
        self.pba_mmio = MemoryRegion.io("msix-pba", len(self.pba), MemoryRegionOps(
            read=self._pba_read, write=self._pba_write, **ops), owner=dev)
        table_container.add_subregion(table_offset, self.table_mmio)
        pba_container.add_subregion(pba_offset, self.pba_mmio)
        self.reset()
        dev.msix = self

    def _w(self, off, n, v):
        self.dev.config[off:off + n] = (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")

    @property
    def control(self) -> int:
        return int.from_bytes(self.dev.config[self.cap + 2:self.cap + 4], "little")

    def enabled(self) -> bool:
        return bool(self.control & CTRL_ENABLE)

    def function_masked(self) -> bool:
        return bool(self.control & CTRL_MASKALL)

    def _entry(self, vector: int, word: int) -> int:
        off = vector * ENTRY_SIZE + 4 * word
        return int.from_bytes(self.table[off:off + 4], "little")

    def vector_masked(self, vector: int) -> bool:
        return bool(self._entry(vector, 3) & VECTOR_CTRL_MASKBIT)

    def is_masked(self, vector: int) -> bool:
        return not self.enabled() or self.function_masked() or self.vector_masked(vector)

    def pending(self, vector: int) -> bool:
        return bool(self.pba[vector // 8] & (1 << (vector % 8)))

    def _set_pending(self, vector: int, on: bool):
        if on:
            self.pba[vector // 8] |= 1 << (vector % 8)
        else:
            self.pba[vector // 8] &= ~(1 << (vector % 8)) & 0xff

    def message(self, vector: int) -> tuple[int, int]:
        return self._entry(vector, 0) | (self._entry(vector, 1) << 32), self._entry(vector, 2)

    def notify(self, vector: int):
        if vector >= self.nentries:
            guest_error(f"msix: {self.dev.TYPE_NAME} vector {vector} beyond table size {self.nentries}")
            return
        if not self.enabled():
            return
        if self.is_masked(vector):
            self._set_pending(vector, True)
            return
        addr, data = self.message(vector)
        self.dev.bus_master_as.write(addr, data.to_bytes(4, "little"), self.dev.dma_attrs())

    def _handle_unmask(self, vector: int):
        if not self.is_masked(vector) and self.pending(vector):
            self._set_pending(vector, False)
            self.notify(vector)

    # -- table and PBA MMIO ----------------------------------------------------------------------
    def _table_read(self, addr: int, size: int) -> int:
        return int.from_bytes(self.table[addr:addr + 4], "little")

    def _table_write(self, addr: int, val: int, size: int):
        vector = addr // ENTRY_SIZE
        was_masked = self.is_masked(vector)
        self.table[addr:addr + 4] = (val & 0xffffffff).to_bytes(4, "little")
        if was_masked:
            self._handle_unmask(vector)

    def _pba_read(self, addr: int, size: int) -> int:
        return int.from_bytes(self.pba[addr:addr + 4], "little")

    def _pba_write(self, addr: int, val: int, size: int):
        guest_error(f"msix: {self.dev.TYPE_NAME} write to the read-only PBA at 0x{addr:x}")

    # -- config space ---------------------------------------------------------------------------
    def write_config(self, addr: int, val: int, size: int):
        ctrl = self.cap + 3
        if not addr <= ctrl < addr + size:
            return
        if self.enabled() and self.dev.irq_state:
            self.dev.set_irq(0)              # INTx is off while MSI-X is enabled
        for vector in range(self.nentries):
            self._handle_unmask(vector)

    def reset(self):
        self._w(self.cap + 2, 2, self.nentries - 1)
        self.table[:] = bytes(len(self.table))
        for v in range(self.nentries):
            self.table[v * ENTRY_SIZE + 12] = VECTOR_CTRL_MASKBIT
        self.pba[:] = bytes(len(self.pba))
