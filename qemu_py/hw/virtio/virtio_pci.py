"""virtio-pci, modern (Virtio 1.0 §4.1) as QEMU 7.2's ``hw/virtio/virtio-pci.c``.

A ``virtio-*-pci`` device is a PCI function 1af4:(0x1040 + virtio device
ID), revision 1, with the device behind it as the QOM child
``virtio-backend``.  Only the modern interface is modelled (QEMU's
``disable-legacy=on``): no legacy I/O BAR, so the device ID is the modern
one even on ``pc``.

BAR4 (64-bit, prefetchable, 16 KiB, ``virtio-pci``) holds four 4 KiB
regions, each little-endian with callbacks implementing 1..4-byte accesses:

======  ==========================  ==========================================
offset  region                      contents
======  ==========================  ==========================================
0x0000  ``virtio-pci-common-NAME``  common configuration (table below)
0x1000  ``virtio-pci-isr-NAME``     ISR status; a read returns and clears it
                                    and deasserts INTx
0x2000  ``virtio-pci-device-NAME``  device configuration (all-ones past end)
0x3000  ``virtio-pci-notify-NAME``  a write at 4 * N notifies queue N
======  ==========================  ==========================================

Vendor capabilities (``cfg_type``: 1 common, 3 ISR, 4 device, 2 notify with
``notify_off_multiplier`` 4, 5 PCI config access) at 0x40, 0x50, 0x60,
0x70, 0x84 (list head 0x84), as ``pci_add_capability`` places them.
Through the PCI config access capability the driver reads or writes the
BAR regions via ``pci_cfg_data``.

Common configuration registers (a read or write at an offset that is not a
register's first byte reads 0 / is ignored, as QEMU's switch on the offset):

=====  ===================  =====  ===========================================
0x00   device_feature_select rw
0x04   device_feature        ro    offered bits (legacy-only bits hidden)
0x08   driver_feature_select rw
0x0c   driver_feature        rw    written bits are negotiated at once
0x10   msix_config           rw    0xffff (no MSI-X vectors on these devices)
0x12   num_queues            ro    highest queue with a size, plus one
0x14   device_status         rw    0 resets
0x15   config_generation     ro
0x16   queue_select          rw
0x18   queue_size            rw
0x1a   queue_msix_vector     rw
0x1c   queue_enable          rw    1 enables (size and rings), else error
0x1e   queue_notify_off      ro    = queue_select
0x20   queue_desc lo/hi      rw
0x28   queue_driver lo/hi    rw    (the available ring)
0x30   queue_device lo/hi    rw    (the used ring)
=====  ===================  =====  ===========================================

Interrupts: INTx (pin A) follows ISR bit 0.  MSI-X is not modelled (QEMU's
virtio-balloon-pci has no vectors either).
"""

from __future__ import annotations

import struct

from qemu_py.hw.pci.constants import (
    PCI_BASE_ADDRESS_MEM_PREFETCH,
    PCI_BASE_ADDRESS_MEM_TYPE_64,
    PCI_CAP_ID_VNDR,
    PCI_INTERRUPT_PIN,
)
from qemu_py.hw.pci.pci import PCIDevice
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import register_type

from .virtio import (
    LEGACY_FEATURES,
    VIRTIO_F_VERSION_1,
    VIRTIO_NO_VECTOR,
    VIRTIO_QUEUE_MAX,
    VirtIODevice,
)
from .transport_queue import TransportQueue

PCI_VENDOR_ID_REDHAT_QUMRANET = 0x1af4
PCI_DEVICE_ID_VIRTIO_10_BASE = 0x1040
MODERN_BAR = 4
QUEUE_MEM_MULT = 4
REGION_SIZE = 0x1000
CAP_COMMON, CAP_NOTIFY, CAP_ISR, CAP_DEVICE, CAP_PCI = 1, 2, 3, 4, 5

COMMON_DFSELECT, COMMON_DF, COMMON_GFSELECT, COMMON_GF = 0x00, 0x04, 0x08, 0x0c
COMMON_MSIX, COMMON_NUMQ, COMMON_STATUS, COMMON_CFGGENERATION = 0x10, 0x12, 0x14, 0x15
COMMON_Q_SELECT, COMMON_Q_SIZE, COMMON_Q_MSIX, COMMON_Q_ENABLE = 0x16, 0x18, 0x1a, 0x1c
COMMON_Q_NOFF = 0x1e
COMMON_Q_DESCLO, COMMON_Q_DESCHI = 0x20, 0x24
COMMON_Q_AVAILLO, COMMON_Q_AVAILHI = 0x28, 0x2c
COMMON_Q_USEDLO, COMMON_Q_USEDHI = 0x30, 0x34

_RING_REGS = {COMMON_Q_DESCLO: ("desc", 0), COMMON_Q_DESCHI: ("desc", 1),
              COMMON_Q_AVAILLO: ("avail", 0), COMMON_Q_AVAILHI: ("avail", 1),
              COMMON_Q_USEDLO: ("used", 0), COMMON_Q_USEDHI: ("used", 1)}


@register_type("virtio-pci", "pci-device", abstract=True, user_creatable=False,
               desc="virtio PCI transport (modern)")
class VirtIOPCIProxy(PCIDevice):
    """The PCI side of a virtio device; subclasses set BACKEND (a VirtIODevice class)."""

    VENDOR_ID = PCI_VENDOR_ID_REDHAT_QUMRANET
    REVISION = 1
    BACKEND: type = VirtIODevice

    def __init__(self) -> None:
        super().__init__()
        self.vdev: VirtIODevice = self.BACKEND()
        self.vdev.transport = self
        self.add_child("virtio-backend", self.vdev)
        self.dfselect = 0
        self.gfselect = 0
        self.guest_features_words = [0, 0]
        self.pvqs = [TransportQueue() for _ in range(VIRTIO_QUEUE_MAX)]
        self.cfg_cap = 0

    # -- transport interface used by the device ------------------------------------------------
    @property
    def dma_as(self):
        return self.bus_master_as

    def host_features(self) -> int:
        return self.vdev.get_features() | (1 << VIRTIO_F_VERSION_1)

    def notify(self, vector: int) -> None:
        self.set_irq(self.vdev.isr & 1)

    def update_irq(self) -> None:
        self.set_irq(self.vdev.isr & 1)

    # -- realize -------------------------------------------------------------------------------
    def pci_realize(self) -> None:
        vdev = self.vdev
        vdev.machine = self.machine
        vdev.proxy_realize()
        self.config[2:4] = (PCI_DEVICE_ID_VIRTIO_10_BASE + vdev.VIRTIO_ID).to_bytes(2, "little")
        self.config[PCI_INTERRUPT_PIN] = 1
        name = vdev.TYPE_NAME
        le = dict(endianness=Endian.LITTLE, impl_min=1, impl_max=4)
        self.modern_bar = MemoryRegion("virtio-pci", 4 * REGION_SIZE, owner=self)
        regions = (
            ("common", self._common_read, self._common_write, CAP_COMMON),
            ("isr", self._isr_read, self._isr_write, CAP_ISR),
            ("device", self._device_read, self._device_write, CAP_DEVICE),
            ("notify", self._notify_read, self._notify_write, CAP_NOTIFY),
        )
        self.regions = {}
        for i, (kind, rd, wr, cfg_type) in enumerate(regions):
            mr = MemoryRegion.io(f"virtio-pci-{kind}-{name}", REGION_SIZE,
                                 MemoryRegionOps(read=rd, write=wr, **le), owner=self)
            self.modern_bar.add_subregion(i * REGION_SIZE, mr)
            self.regions[kind] = mr
            extra = struct.pack("<I", QUEUE_MEM_MULT) if cfg_type == CAP_NOTIFY else b""
            self._add_vendor_cap(cfg_type, MODERN_BAR, i * REGION_SIZE, REGION_SIZE, extra)
        self.cfg_cap = self._add_vendor_cap(CAP_PCI, 0, 0, 0, bytes(4))
        w = self.wmask
        c = self.cfg_cap
        w[c + 4] = 0xff
        w[c + 8:c + 20] = b"\xff" * 12
        self.register_bar(MODERN_BAR, PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH,
                          self.modern_bar)

    def _add_vendor_cap(self, cfg_type: int, bar: int, offset: int, length: int,
                        extra: bytes) -> int:
        cap_len = 16 + len(extra)
        pos = self.add_capability(PCI_CAP_ID_VNDR, 0, cap_len)
        body = struct.pack("<BBB3xII", cap_len, cfg_type, bar, offset, length) + extra
        self.config[pos + 2:pos + 2 + len(body)] = body
        return pos

    def pci_reset(self) -> None:
        self.vdev.reset()
        self._proxy_reset()

    def _proxy_reset(self) -> None:
        self.dfselect = self.gfselect = 0
        self.guest_features_words = [0, 0]
        for q in self.pvqs:
            q.__init__()
        self.set_irq(0)

    def unrealize(self) -> None:
        """Hot-unplug: the function leaves the bus, its BAR and bus mastering go."""
        if not self.realized:
            return
        unrealize_backend = getattr(self.vdev, "unrealize", None)
        if unrealize_backend is not None:
            unrealize_backend()
        self.set_irq(0)
        self.pci_unrealize()
        self.realized = False

    # -- PCI config access capability ---------------------------------------------------------------
    def config_write(self, addr: int, val: int, size: int) -> None:
        super().config_write(addr, val, size)
        data = self.cfg_cap + 16
        if self.cfg_cap and addr <= data < addr + size:
            self._cfg_access(True)

    def config_read(self, addr: int, size: int) -> int:
        data = self.cfg_cap + 16
        if self.cfg_cap and addr <= data < addr + size:
            self._cfg_access(False)
        return super().config_read(addr, size)

    def _cfg_access(self, is_write: bool) -> None:
        c = self.cfg_cap
        bar = self.config[c + 4]
        off, length = struct.unpack("<II", self.config[c + 8:c + 16])
        if bar != MODERN_BAR or length not in (1, 2, 4) or off % length \
                or off + length > self.modern_bar.size:
            return
        if is_write:
            val = int.from_bytes(self.config[c + 16:c + 16 + length], "little")
            self.modern_bar_write(off, val, length)
        else:
            val = self.modern_bar_read(off, length)
            self.config[c + 16:c + 20] = val.to_bytes(4, "little")

    def modern_bar_read(self, off: int, size: int) -> int:
        mr = self.regions[("common", "isr", "device", "notify")[off // REGION_SIZE]]
        value, _ = mr.dispatch_read(off % REGION_SIZE, size)
        return value

    def modern_bar_write(self, off: int, val: int, size: int) -> None:
        mr = self.regions[("common", "isr", "device", "notify")[off // REGION_SIZE]]
        mr.dispatch_write(off % REGION_SIZE, val, size)

    # -- common configuration ---------------------------------------------------------------------
    def _num_queues(self) -> int:
        n = 0
        for i, vq in enumerate(self.vdev.vqs):
            if vq.num:
                n = i + 1
        return n

    def _common_read(self, addr: int, size: int) -> int:
        vdev = self.vdev
        sel = vdev.queue_sel
        pq = self.pvqs[sel]
        vq = vdev.vqs[sel] if sel < len(vdev.vqs) else None
        if addr == COMMON_DFSELECT:
            return self.dfselect
        if addr == COMMON_DF:
            if self.dfselect <= 1:
                return (self.host_features() & ~LEGACY_FEATURES) >> (32 * self.dfselect) \
                    & 0xffffffff
            return 0
        if addr == COMMON_GFSELECT:
            return self.gfselect
        if addr == COMMON_GF:
            return self.guest_features_words[self.gfselect] if self.gfselect < 2 else 0
        if addr == COMMON_MSIX:
            return vdev.config_vector
        if addr == COMMON_NUMQ:
            return self._num_queues()
        if addr == COMMON_STATUS:
            return vdev.status
        if addr == COMMON_CFGGENERATION:
            return vdev.generation
        if addr == COMMON_Q_SELECT:
            return sel
        if addr == COMMON_Q_SIZE:
            return vq.num if vq is not None else 0
        if addr == COMMON_Q_MSIX:
            return vq.vector if vq is not None else VIRTIO_NO_VECTOR
        if addr == COMMON_Q_ENABLE:
            return pq.enabled
        if addr == COMMON_Q_NOFF:
            return sel
        if addr in _RING_REGS:
            name, half = _RING_REGS[addr]
            return getattr(pq, name)[half]
        return 0

    def _common_write(self, addr: int, val: int, size: int) -> None:
        vdev = self.vdev
        pq = self.pvqs[vdev.queue_sel]
        if addr == COMMON_DFSELECT:
            self.dfselect = val
        elif addr == COMMON_GFSELECT:
            self.gfselect = val
        elif addr == COMMON_GF:
            if self.gfselect < 2:
                self.guest_features_words[self.gfselect] = val
                vdev.set_features(self.guest_features_words[0]
                                  | self.guest_features_words[1] << 32)
        elif addr == COMMON_MSIX:
            vdev.config_vector = VIRTIO_NO_VECTOR          # no MSI-X vectors to use
        elif addr == COMMON_STATUS:
            vdev.set_status(val & 0xff)
            if vdev.status == 0:
                self._proxy_reset()
        elif addr == COMMON_Q_SELECT:
            if val < VIRTIO_QUEUE_MAX:
                vdev.queue_sel = val
        elif addr == COMMON_Q_SIZE:
            pq.num = val
            self._set_num(vdev.queue_sel, val)
        elif addr == COMMON_Q_MSIX:
            if vdev.queue_sel < len(vdev.vqs):
                vdev.vqs[vdev.queue_sel].vector = VIRTIO_NO_VECTOR
        elif addr == COMMON_Q_ENABLE:
            if val == 1:
                sel = vdev.queue_sel
                self._set_num(sel, pq.num)
                if sel < len(vdev.vqs) and vdev.vqs[sel].num:
                    vq = vdev.vqs[sel]
                    vq.desc = pq.desc[1] << 32 | pq.desc[0]
                    vq.avail = pq.avail[1] << 32 | pq.avail[0]
                    vq.used = pq.used[1] << 32 | pq.used[0]
                pq.enabled = 1
            else:
                vdev.error(f"wrong value for queue_enable {val:x}")
        elif addr in _RING_REGS:
            name, half = _RING_REGS[addr]
            getattr(pq, name)[half] = val & 0xffffffff

    def _set_num(self, n: int, num: int) -> None:
        """virtio_queue_set_num: ignored for a queue that does not exist, 0, or too big."""
        vdev = self.vdev
        if n >= len(vdev.vqs):
            return
        vq = vdev.vqs[n]
        if bool(num) != bool(vq.num) or num > 1024 or num < 0:
            return
        vq.num = num

    # -- ISR, device configuration, notify -----------------------------------------------------
    def _isr_read(self, addr: int, size: int) -> int:
        val = self.vdev.isr
        self.vdev.isr = 0
        self.set_irq(0)
        return val

    def _isr_write(self, addr: int, val: int, size: int) -> None:
        pass

    def _device_read(self, addr: int, size: int) -> int:
        if size not in (1, 2, 4):
            return 0
        return self.vdev.config_read(addr, size)

    def _device_write(self, addr: int, val: int, size: int) -> None:
        if size in (1, 2, 4):
            self.vdev.config_write(addr, val, size)

    def _notify_read(self, addr: int, size: int) -> int:
        return 0

    def _notify_write(self, addr: int, val: int, size: int) -> None:
        queue = addr // QUEUE_MEM_MULT
        if queue < VIRTIO_QUEUE_MAX:
            self.vdev.queue_notify(queue)
