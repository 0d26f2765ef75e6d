"""virtio-mmio transports (Virtio 1.1 §4.2) as QEMU 7.2's ``hw/virtio/virtio-mmio.c``.

A transport is a 512-byte MMIO window with one interrupt line.  The
``microvm`` board has eight of them at 0xfeb00000 + 512 * i, wired to GSI
5 + i (QEMU's layout without ACPI; qemu-py's microvm has no ACPI).  They are
created when the first virtio device is plugged into the machine, and a
``-device`` takes the free transport with the *highest* address first, as
QEMU's bus search order gives.  A transport without a device reads as
magic/version/vendor with device ID 0 and ignores writes.

Version: QEMU's ``force-legacy`` property defaults to on, so the transports
are legacy (version 1: GuestPageSize, QueueAlign, QueuePFN; rings laid out
contiguously) unless ``-global virtio-mmio.force-legacy=off`` selects
version 2 (QueueReady, 64-bit ring addresses, ConfigGeneration).

Registers (4-byte accesses only below 0x100; other sizes are guest errors
reading 0; config space at 0x100 takes 1, 2 or 4 bytes):

=====  ====================  ===  ==========================================
0x000  MagicValue            r    0x74726976 ("virt")
0x004  Version               r    1 (legacy) or 2
0x008  DeviceID              r
0x00c  VendorID              r    0x554d4551 ("QEMU")
0x010  DeviceFeatures        r    32 bits selected by DeviceFeaturesSel
0x014  DeviceFeaturesSel     w    any non-zero value selects word 1
0x020  DriverFeatures        w
0x024  DriverFeaturesSel     w
0x028  GuestPageSize         w    legacy only
0x030  QueueSel              w
0x034  QueueNumMax           r    1024 if the queue exists, else 0
0x038  QueueNum              w
0x03c  QueueAlign            w    legacy only
0x040  QueuePFN              rw   legacy only; 0 resets the device (not the
                                  transport: GuestPageSize stays)
0x044  QueueReady            rw   version 2 only
0x050  QueueNotify           w
0x060  InterruptStatus       r
0x064  InterruptACK          w
0x070  Status                rw   0 resets the device (and disables the
                                  version 2 queues)
0x080  QueueDescLow/High     w    version 2 only (0x084)
0x090  QueueDriverLow/High   w    (0x094)
0x0a0  QueueDeviceLow/High   w    (0x0a4)
0x0fc  ConfigGeneration      r    version 2 only
=====  ====================  ===  ==========================================

Guest errors use QEMU's texts: ``wrong size access to register!``,
``read of write-only register (0x...)``, ``write to read-only register
(0x...)``, ``bad register offset (0x...)``, ``read from legacy register
(0x...) in non-legacy mode`` and the reverse.
"""

from __future__ import annotations

from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps, MEMTXATTRS_UNSPECIFIED
from qemu_py.qom import Device, QOMError, register_type
from qemu_py.qom.device import DeviceProp
from qemu_py.system import trace
from qemu_py.system.log import guest_error

from .virtio import (
    LEGACY_FEATURES,
    VIRTIO_CONFIG_S_FEATURES_OK,
    VIRTIO_F_VERSION_1,
    VIRTIO_QUEUE_MAX,
    VIRTQUEUE_MAX_SIZE,
    VirtIODevice,
)
from .transport_queue import TransportQueue

VIRT_MAGIC = 0x74726976
VIRT_VERSION, VIRT_VERSION_LEGACY = 2, 1
VIRT_VENDOR = 0x554D4551
CONFIG_OFFSET = 0x100
WINDOW_SIZE = 0x200

MAGIC_VALUE, VERSION, DEVICE_ID, VENDOR_ID = 0x000, 0x004, 0x008, 0x00c
DEVICE_FEATURES, DEVICE_FEATURES_SEL = 0x010, 0x014
DRIVER_FEATURES, DRIVER_FEATURES_SEL = 0x020, 0x024
GUEST_PAGE_SIZE, QUEUE_SEL, QUEUE_NUM_MAX, QUEUE_NUM = 0x028, 0x030, 0x034, 0x038
QUEUE_ALIGN, QUEUE_PFN, QUEUE_READY, QUEUE_NOTIFY = 0x03c, 0x040, 0x044, 0x050
INTERRUPT_STATUS, INTERRUPT_ACK, STATUS = 0x060, 0x064, 0x070
QUEUE_DESC_LOW, QUEUE_DESC_HIGH = 0x080, 0x084
QUEUE_AVAIL_LOW, QUEUE_AVAIL_HIGH = 0x090, 0x094
QUEUE_USED_LOW, QUEUE_USED_HIGH = 0x0a0, 0x0a4
CONFIG_GENERATION = 0x0fc

WRITE_ONLY = (DEVICE_FEATURES_SEL, DRIVER_FEATURES, DRIVER_FEATURES_SEL, GUEST_PAGE_SIZE,
              QUEUE_SEL, QUEUE_NUM, QUEUE_ALIGN, QUEUE_NOTIFY, INTERRUPT_ACK, QUEUE_DESC_LOW,
              QUEUE_DESC_HIGH, QUEUE_AVAIL_LOW, QUEUE_AVAIL_HIGH, QUEUE_USED_LOW,
              QUEUE_USED_HIGH)
READ_ONLY = (MAGIC_VALUE, VERSION, DEVICE_ID, VENDOR_ID, DEVICE_FEATURES, QUEUE_NUM_MAX,
             INTERRUPT_STATUS, CONFIG_GENERATION)
_RINGS = {QUEUE_DESC_LOW: ("desc", 0), QUEUE_DESC_HIGH: ("desc", 1),
          QUEUE_AVAIL_LOW: ("avail", 0), QUEUE_AVAIL_HIGH: ("avail", 1),
          QUEUE_USED_LOW: ("used", 0), QUEUE_USED_HIGH: ("used", 1)}

# board -> (base, number of transports, first GSI)
BOARD_LAYOUT = {"microvm": (0xfeb00000, 8, 5)}




@register_type("virtio-mmio", "device", user_creatable=False, desc="virtio MMIO transport")
class VirtIOMMIOProxy(Device):
    """One virtio-mmio transport window and its interrupt line."""

    # QEMU's default: version 1 unless -global virtio-mmio.force-legacy=off
    PROPS = [DeviceProp("force-legacy", "bool", True, "on/off")]

    def __init__(self, index: int) -> None:
        super().__init__()                     # applies -global virtio-mmio.*
        self.index = index
        self.legacy = self.prop("force-legacy")
        self.vdev: VirtIODevice | None = None
        self.machine = None
        self.irq = self.init_irq()
        ops = MemoryRegionOps(read=self._read, write=self._write, endianness=Endian.LITTLE)
        self.iomem = MemoryRegion.io("virtio-mmio", WINDOW_SIZE, ops, owner=self)
        self._transport_reset()

    def _transport_reset(self) -> None:
        self.host_features_sel = 0
        self.guest_features_sel = 0
        self.guest_features_words = [0, 0]
        self.guest_page_shift = 0
        self.mvqs = [TransportQueue() for _ in range(VIRTIO_QUEUE_MAX)]

    # -- transport interface -----------------------------------------------------------------------
    @property
    def dma_as(self):
        return self.machine.system_as

    def dma_attrs(self):
        return MEMTXATTRS_UNSPECIFIED

    def host_features(self) -> int:
        f = self.vdev.get_features()
        if not self.legacy:
            f |= 1 << VIRTIO_F_VERSION_1
        return f

    def notify(self, vector: int) -> None:
        self.update_irq()

    def update_irq(self) -> None:
        self.irq.set(1 if self.vdev is not None and self.vdev.isr else 0)

    def _soft_reset(self) -> None:
        """Status 0: queues disabled (version 2); the page size and selectors stay."""
        if not self.legacy:
            for mq in self.mvqs:
                mq.enabled = 0

    def reset(self) -> None:
        """System reset of the transport: everything, page size included."""
        if self.vdev is not None:
            self.vdev.reset()
        self._transport_reset()
        self.update_irq()

    # -- registers ---------------------------------------------------------------------------------
    def _err(self, what: str) -> None:
        guest_error(f"virtio_mmio_{what}")

    def _read(self, offset: int, size: int) -> int:
        if "virtio_mmio_read" in trace.ACTIVE:
            trace.emit("virtio_mmio_read", offset=offset)
        vdev = self.vdev
        if vdev is None:
            if offset == MAGIC_VALUE:
                return VIRT_MAGIC
            if offset == VERSION:
                return VIRT_VERSION_LEGACY if self.legacy else VIRT_VERSION
            if offset == VENDOR_ID:
                return VIRT_VENDOR
            return 0
        if offset >= CONFIG_OFFSET:
            if size not in (1, 2, 4):
                return 0
            return vdev.config_read(offset - CONFIG_OFFSET, size)
        if size != 4:
            self._err("read: wrong size access to register!")
            return 0
        sel = vdev.queue_sel
        if offset == MAGIC_VALUE:
            return VIRT_MAGIC
        if offset == VERSION:
            return VIRT_VERSION_LEGACY if self.legacy else VIRT_VERSION
        if offset == DEVICE_ID:
            return vdev.VIRTIO_ID
        if offset == VENDOR_ID:
            return VIRT_VENDOR
        if offset == DEVICE_FEATURES:
            if self.legacy:
                return 0 if self.host_features_sel else self.host_features() & 0xffffffff
            return (self.host_features() & ~LEGACY_FEATURES) >> (32 * self.host_features_sel) \
                & 0xffffffff
        if offset == QUEUE_NUM_MAX:
            if sel >= len(vdev.vqs) or not vdev.vqs[sel].num:
                return 0
            return VIRTQUEUE_MAX_SIZE
        if offset == QUEUE_PFN:
            if not self.legacy:
                self._err(f"read: read from legacy register (0x{offset:x}) in non-legacy mode")
                return 0
            if sel >= len(vdev.vqs):
                return 0
            return vdev.vqs[sel].desc >> self.guest_page_shift
        if offset == QUEUE_READY:
            if self.legacy:
                self._err(f"read: read from non-legacy register (0x{offset:x}) in legacy mode")
                return 0
            return self.mvqs[sel].enabled
        if offset == INTERRUPT_STATUS:
            return vdev.isr
        if offset == STATUS:
            return vdev.status
        if offset == CONFIG_GENERATION:
            if self.legacy:
                self._err(f"read: read from non-legacy register (0x{offset:x}) in legacy mode")
                return 0
            return vdev.generation
        if offset in WRITE_ONLY:
            self._err(f"read: read of write-only register (0x{offset:x})")
            return 0
        self._err(f"read: bad register offset (0x{offset:x})")
        return 0

    def _write(self, offset: int, value: int, size: int) -> None:
        if "virtio_mmio_write_offset" in trace.ACTIVE:
            trace.emit("virtio_mmio_write_offset", offset=offset, value=value)
        vdev = self.vdev
        if vdev is None:
            return
        if offset >= CONFIG_OFFSET:
            if size in (1, 2, 4):
                vdev.config_write(offset - CONFIG_OFFSET, value, size)
            return
        if size != 4:
            self._err("write: wrong size access to register!")
            return
        sel = vdev.queue_sel
        mq = self.mvqs[sel]
        if offset == DEVICE_FEATURES_SEL:
            self.host_features_sel = 1 if value else 0
        elif offset == DRIVER_FEATURES:
            if self.legacy:
                if self.guest_features_sel:
                    self._err("write: attempt to write guest features with guest_features_sel "
                              "> 0 in legacy mode")
                else:
                    vdev.set_features(value)
            else:
                self.guest_features_words[self.guest_features_sel] = value
        elif offset == DRIVER_FEATURES_SEL:
            self.guest_features_sel = 1 if value else 0
        elif offset == GUEST_PAGE_SIZE:
            if not self.legacy:
                self._err(f"write: write to legacy register (0x{offset:x}) in non-legacy mode")
                return
            shift = (value & -value).bit_length() - 1 if value else 32
            self.guest_page_shift = 0 if shift > 31 else shift
        elif offset == QUEUE_SEL:
            if value < VIRTIO_QUEUE_MAX:
                vdev.queue_sel = value
        elif offset == QUEUE_NUM:
            if "virtio_mmio_queue_write" in trace.ACTIVE:
                trace.emit("virtio_mmio_queue_write", value=value, max_size=VIRTQUEUE_MAX_SIZE)
            self._set_num(sel, value)
            if self.legacy:
                self._update_rings(sel)
            else:
                mq.num = value
        elif offset == QUEUE_ALIGN:
            if not self.legacy:
                self._err(f"write: write to legacy register (0x{offset:x}) in non-legacy mode")
                return
            if sel < len(vdev.vqs):
                vdev.vqs[sel].align = value
                self._update_rings(sel)
        elif offset == QUEUE_PFN:
            if not self.legacy:
                self._err(f"write: write to legacy register (0x{offset:x}) in non-legacy mode")
                return
            if value == 0:
                vdev.reset()                   # the device, not the transport
            elif sel < len(vdev.vqs):
                vdev.vqs[sel].desc = value << self.guest_page_shift
                self._update_rings(sel)
        elif offset == QUEUE_READY:
            if self.legacy:
                self._err(f"write: write to non-legacy register (0x{offset:x}) in legacy mode")
                return
            if value:
                self._set_num(sel, mq.num)
                if sel < len(vdev.vqs) and vdev.vqs[sel].num:
                    vq = vdev.vqs[sel]
                    vq.desc = mq.desc[1] << 32 | mq.desc[0]
                    vq.avail = mq.avail[1] << 32 | mq.avail[0]
                    vq.used = mq.used[1] << 32 | mq.used[0]
                mq.enabled = 1
            else:
                mq.enabled = 0
        elif offset == QUEUE_NOTIFY:
            if value < VIRTIO_QUEUE_MAX:
                vdev.queue_notify(value)
        elif offset == INTERRUPT_ACK:
            vdev.isr &= ~value
            self.update_irq()
        elif offset == STATUS:
            if not self.legacy and value & VIRTIO_CONFIG_S_FEATURES_OK:
                vdev.set_features(self.guest_features_words[0]
                                  | self.guest_features_words[1] << 32)
            vdev.set_status(value & 0xff)
            if vdev.status == 0:
                vdev.reset()
                self._soft_reset()
        elif offset in _RINGS:
            if self.legacy:
                self._err(f"write: write to non-legacy register (0x{offset:x}) in legacy mode")
                return
            name, half = _RINGS[offset]
            getattr(mq, name)[half] = value & 0xffffffff
        elif offset in READ_ONLY:
            self._err(f"write: write to read-only register (0x{offset:x})")
        else:
            self._err(f"write: bad register offset (0x{offset:x})")

    def _set_num(self, n: int, num: int) -> None:
        vdev = self.vdev
        if n >= len(vdev.vqs):
            return
        vq = vdev.vqs[n]
        if bool(num) != bool(vq.num) or num > VIRTQUEUE_MAX_SIZE or num < 0:
            return
        vq.num = num

    def _update_rings(self, n: int) -> None:
        """virtio_queue_update_rings: the legacy contiguous layout."""
        vdev = self.vdev
        if n >= len(vdev.vqs):
            return
        vq = vdev.vqs[n]
        if not vq.num or not vq.desc or not vq.align:
            return
        vq.avail = vq.desc + vq.num * 16
        end = vq.avail + 4 + 2 * vq.num
        vq.used = (end + vq.align - 1) // vq.align * vq.align


def transports(machine) -> list[VirtIOMMIOProxy]:
    """The board's virtio-mmio transports, created on first use."""
    existing = getattr(machine, "virtio_mmio_transports", None)
    if existing is not None:
        return existing
    layout = BOARD_LAYOUT.get(getattr(machine, "MACHINE_NAME", ""))
    if layout is None:
        return []
    base, count, gsi = layout
    out = []
    for i in range(count):
        proxy = VirtIOMMIOProxy(i)
        proxy.machine = machine
        machine.attach_device(proxy)
        machine.system_memory.add_subregion(base + i * WINDOW_SIZE, proxy.iomem)
        proxy.irq.connect(machine.gsi.irqs[gsi + i])
        out.append(proxy)
    machine.virtio_mmio_transports = out
    return out


def plug(machine, vdev: VirtIODevice) -> VirtIOMMIOProxy:
    """Put VDEV on the free transport with the highest address (QEMU's order)."""
    for proxy in reversed(transports(machine)):
        if proxy.vdev is None:
            proxy.vdev = vdev
            vdev.transport = proxy
            return proxy
    raise QOMError(f"No 'virtio-bus' bus found for device '{vdev.TYPE_NAME}'")
