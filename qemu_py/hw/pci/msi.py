"""PCI Message Signalled Interrupts (MSI capability, PCI 3.0 section 6.8.1).

Models the capability structure (message control with enable, multiple
message capable/enable, 64-bit and per-vector-mask flags; message address
(and upper address); message data; mask and pending bits), and
:meth:`MSI.notify`: when enabled and the vector unmasked, the device writes
the data (with the vector in its low bits) as a 4-byte little-endian bus
master write carrying its requester ID; a masked vector sets its pending bit
and is sent when unmasked. Sending while bus mastering is disabled goes
nowhere (the bus-master address space is empty), as on hardware.
"""

from __future__ import annotations

from qemu_py.system.log import guest_error

from .constants import PCI_CAP_ID_MSI

FLAGS_ENABLE, FLAGS_QMASK, FLAGS_QSIZE, FLAGS_64BIT, FLAGS_MASKBIT = 1, 0x0e, 0x70, 0x80, 0x100


class MSI:
    def __init__(self, dev, offset: int, nr_vectors: int, msi64bit: bool, per_vector_mask: bool):
        if nr_vectors not in (1, 2, 4, 8, 16, 32):
            raise ValueError(f"MSI vectors must be a power of two up to 32, not {nr_vectors}")
        self.dev = dev
        size = (0x0e if msi64bit else 0x0a) + (0x0a if per_vector_mask else 0)
        self.cap = cap = dev.add_capability(PCI_CAP_ID_MSI, offset, size)
        self.nr_vectors = nr_vectors
        self.is64 = msi64bit
        self.maskable = per_vector_mask
        flags = ((nr_vectors.bit_length() - 1) << 1) | (FLAGS_64BIT if msi64bit else 0) \
            | (FLAGS_MASKBIT if per_vector_mask else 0)
        self._w(cap + 2, 2, flags)
        self._wm(cap + 2, 2, FLAGS_ENABLE | FLAGS_QSIZE)
        self._wm(cap + 4, 4, 0xfffffffc)
        if msi64bit:
            self._wm(cap + 8, 4, 0xffffffff)
        self._wm(self.data_off, 2, 0xffff)
        if per_vector_mask:
            self._wm(self.mask_off, 4, (1 << nr_vectors) - 1 if nr_vectors < 32 else 0xffffffff)
        dev.msi = self

    def _w(self, off, n, v):
        self.dev.config[off:off + n] = (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")

    def _wm(self, off, n, v):
        self.dev.wmask[off:off + n] = (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")

    def _r(self, off, n) -> int:
        return int.from_bytes(self.dev.config[off:off + n], "little")

    @property
    def data_off(self) -> int:
        return self.cap + (0x0c if self.is64 else 0x08)

    @property
    def mask_off(self) -> int:
        return self.cap + (0x10 if self.is64 else 0x0c)

    @property
    def pending_off(self) -> int:
        return self.mask_off + 4

    @property
    def flags(self) -> int:
        return self._r(self.cap + 2, 2)

    def enabled(self) -> bool:
        return bool(self.flags & FLAGS_ENABLE)

    def vectors_enabled(self) -> int:
        return 1 << ((self.flags & FLAGS_QSIZE) >> 4)

    def message(self, vector: int) -> tuple[int, int]:
        addr = self._r(self.cap + 4, 4)
        if self.is64:
            addr |= self._r(self.cap + 8, 4) << 32
        data = self._r(self.data_off, 2)
        n = self.vectors_enabled()
        data = (data & ~(n - 1)) | vector
        return addr, data

    def is_masked(self, vector: int) -> bool:
        if not self.maskable:
            return False
        return bool(self._r(self.mask_off, 4) & (1 << vector))

    def notify(self, vector: int):
        if not self.enabled():
            guest_error(f"msi: {self.dev.TYPE_NAME} signalled vector {vector} with MSI disabled")
            return
        if vector >= self.vectors_enabled():
            guest_error(f"msi: {self.dev.TYPE_NAME} vector {vector} beyond the "
                        f"{self.vectors_enabled()} enabled")
            return
        if self.is_masked(vector):
            self._w(self.pending_off, 4, self._r(self.pending_off, 4) | (1 << vector))
            return
        addr, data = self.message(vector)
        self.dev.bus_master_as.write(addr, (data & 0xffffffff).to_bytes(4, "little"),
                                     self.dev.dma_attrs())

    def write_config(self, addr: int, val: int, size: int):
        cap_end = self.pending_off + 4 if self.maskable else self.data_off + 2
        if addr >= cap_end or addr + size <= self.cap:
            return
        if self.flags & FLAGS_QSIZE > (self.flags & FLAGS_QMASK) << 3:
            guest_error(f"msi: {self.dev.TYPE_NAME} enabled more vectors than it supports")
            self._w(self.cap + 2, 2, (self.flags & ~FLAGS_QSIZE) | ((self.flags & FLAGS_QMASK) << 3))
        if not self.enabled() or not self.maskable:
            return
        pending = self._r(self.pending_off, 4)
        for vector in range(self.vectors_enabled()):
            if pending & (1 << vector) and not self.is_masked(vector):
                self._w(self.pending_off, 4, self._r(self.pending_off, 4) & ~(1 << vector))
                self.notify(vector)

    def reset(self):
        self._w(self.cap + 2, 2, self.flags & ~(FLAGS_ENABLE | FLAGS_QSIZE))
        self._w(self.cap + 4, 4, 0)
        if self.is64:
            self._w(self.cap + 8, 4, 0)
        self._w(self.data_off, 2, 0)
        if self.maskable:
            self._w(self.mask_off, 4, 0)
            self._w(self.pending_off, 4, 0)
