"""Virtio device core: status, features, config space and split virtqueues.

Models the device side of the Virtio 1.0/1.1 specification (OASIS
virtio-v1.1, §2 "Basic Facilities of a Virtio Device", §2.6 "Split
Virtqueues") as QEMU 7.2's ``hw/virtio/virtio.c`` implements it.  A
transport (``virtio_pci.py``, ``virtio_mmio.py``) owns a
:class:`VirtIODevice` and forwards register accesses; the device calls
``transport.notify(vector)`` to interrupt and reads/writes the rings through
the transport's DMA address space (``transport.dma_as``).

Split virtqueue (``VirtQueue``): descriptor table (16-byte entries: le64
addr, le32 len, le16 flags NEXT/WRITE/INDIRECT, le16 next), available ring
(flags, idx, ring[num], used_event) and used ring (flags, idx,
{le32 id, le32 len}[num], avail_event).  ``pop`` takes the next available
head and walks its chain (indirect tables included) into an element of
readable (``out``) and writable (``in``) buffers; ``push`` puts it in the
used ring; ``notify`` interrupts unless suppressed (``NO_INTERRUPT`` flag,
or ``used_event`` with EVENT_IDX).

Malformed rings are guest errors, reported with QEMU's texts through
``-d guest_errors`` (and the ``virtio_error`` trace event); like QEMU's
``virtio_error`` they set NEEDS_RESET (for a VERSION_1 driver), send a
config interrupt and mark the device broken: nothing more is popped until
the driver resets it.  Texts: ``Virtqueue size exceeded``, ``Guest says
index N is available``, ``Desc next is N``, ``Looped descriptor``,
``Invalid size for indirect buffer table``, ``Nested indirect descriptor``,
``Incorrect order for descriptors``, ``virtio: zero sized buffers are not
allowed``, ``virtio: bogus descriptor or out of resources``, ``Cannot map
descriptor ring``, ``wrong value for queue_enable N``.

Deliberate differences from QEMU: ring and buffer memory must be plain RAM
of the DMA address space (QEMU maps MMIO through its single bounce buffer,
which fails once it is in use; here any non-RAM buffer is "bogus"); a ring
that does not lie in RAM is refused when an element is popped, not when the
queue is enabled; no packed rings, no ioeventfd, no vhost.
"""

from __future__ import annotations

import struct

from qemu_py.memory import MEMTXATTRS_UNSPECIFIED, MemTxResult
from qemu_py.qom import Device, register_type
from qemu_py.system import trace
from qemu_py.system.log import guest_error

# device status (§2.1)
VIRTIO_CONFIG_S_ACKNOWLEDGE = 1
VIRTIO_CONFIG_S_DRIVER = 2
VIRTIO_CONFIG_S_DRIVER_OK = 4
VIRTIO_CONFIG_S_FEATURES_OK = 8
VIRTIO_CONFIG_S_NEEDS_RESET = 0x40
VIRTIO_CONFIG_S_FAILED = 0x80

# transport-independent feature bits (§6)
VIRTIO_F_NOTIFY_ON_EMPTY = 24
VIRTIO_F_ANY_LAYOUT = 27
VIRTIO_RING_F_INDIRECT_DESC = 28
VIRTIO_RING_F_EVENT_IDX = 29
VIRTIO_F_BAD_FEATURE = 30
VIRTIO_F_VERSION_1 = 32
VIRTIO_F_IOMMU_PLATFORM = 33
# QEMU's VIRTIO_LEGACY_FEATURES: hidden from modern drivers
LEGACY_FEATURES = (1 << VIRTIO_F_BAD_FEATURE) | (1 << VIRTIO_F_NOTIFY_ON_EMPTY) \
    | (1 << VIRTIO_F_ANY_LAYOUT)
COMMON_FEATURES = (1 << VIRTIO_RING_F_INDIRECT_DESC) | (1 << VIRTIO_RING_F_EVENT_IDX) \
    | (1 << VIRTIO_F_NOTIFY_ON_EMPTY) | (1 << VIRTIO_F_ANY_LAYOUT)

VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT = 1, 2, 4
VRING_AVAIL_F_NO_INTERRUPT = 1
VRING_USED_F_NO_NOTIFY = 1
DESC_SIZE = 16
VIRTQUEUE_MAX_SIZE = 1024
VIRTIO_QUEUE_MAX = 1024
VIRTIO_NO_VECTOR = 0xffff
VIRTIO_PCI_VRING_ALIGN = 4096


def vring_need_event(event_idx: int, new_idx: int, old: int) -> bool:
    """Virtio 1.1 §2.6.7.2: whether crossing from OLD to NEW passes EVENT_IDX."""
    return ((new_idx - event_idx - 1) & 0xffff) < ((new_idx - old) & 0xffff)


class VirtQueueElement:
    """One popped chain: ``out`` (device reads) and ``in_`` (device writes) buffers."""

    __slots__ = ("index", "out", "in_", "ndescs")

    def __init__(self, index: int) -> None:
        self.index = index
        self.out: list[tuple[int, int]] = []
        self.in_: list[tuple[int, int]] = []
        self.ndescs = 0

    @property
    def out_len(self) -> int:
        return sum(n for _, n in self.out)

    @property
    def in_len(self) -> int:
        return sum(n for _, n in self.in_)


class _RingError(Exception):
    """Raised inside pop after virtio_error was reported."""


class VirtQueue:
    """A split virtqueue as the device sees it."""

    def __init__(self, vdev: "VirtIODevice", index: int, size: int, handler) -> None:
        self.vdev = vdev
        self.index = index
        self.num_default = size
        self.handler = handler
        self.reset()

    def reset(self) -> None:
        self.num = self.num_default
        self.desc = self.avail = self.used = 0
        self.align = VIRTIO_PCI_VRING_ALIGN
        self.last_avail_idx = 0
        self.shadow_avail_idx = 0
        self.used_idx = 0
        self.inuse = 0
        self.signalled_used = 0
        self.signalled_used_valid = False
        self.notification = True
        self.vector = VIRTIO_NO_VECTOR

    # -- memory --------------------------------------------------------------------------------
    def _read(self, addr: int, n: int, what: str) -> bytes:
        data, res = self.vdev.dma_read(addr, n)
        if res != MemTxResult.OK:
            self.vdev.error(f"Cannot map {what}")
            raise _RingError(what)
        return data

    def _write(self, addr: int, data: bytes, what: str) -> None:
        if self.vdev.dma_write(addr, data) != MemTxResult.OK:
            self.vdev.error(f"Cannot map {what}")
            raise _RingError(what)

    def _u16(self, addr: int, what: str) -> int:
        return struct.unpack("<H", self._read(addr, 2, what))[0]

    def avail_flags(self) -> int:
        return self._u16(self.avail, "avail")

    def avail_idx(self) -> int:
        self.shadow_avail_idx = self._u16(self.avail + 2, "avail")
        return self.shadow_avail_idx

    def avail_ring(self, i: int) -> int:
        return self._u16(self.avail + 4 + 2 * i, "avail")

    def used_event(self) -> int:
        return self._u16(self.avail + 4 + 2 * self.num, "avail")

    def set_avail_event(self, value: int) -> None:
        self._write(self.used + 4 + 8 * self.num, struct.pack("<H", value & 0xffff), "used")

    def read_desc(self, table: int, i: int) -> tuple[int, int, int, int]:
        return struct.unpack("<QIHH", self._read(table + DESC_SIZE * i, DESC_SIZE,
                                                  "descriptor ring"))

    @property
    def ready(self) -> bool:
        return bool(self.desc) and self.num > 0

    def empty(self) -> bool:
        if self.shadow_avail_idx != self.last_avail_idx:
            return False
        return self.avail_idx() == self.last_avail_idx

    # -- pop -------------------------------------------------------------------------------------
    def pop(self) -> VirtQueueElement | None:
        """virtqueue_pop: the next available chain, or None (empty, broken, malformed)."""
        vdev = self.vdev
        if vdev.broken or not self.ready:
            return None
        try:
            if self.empty():
                return None
            num = self.num
            if self.inuse >= num:
                vdev.error("Virtqueue size exceeded")
                return None
            head = self.avail_ring(self.last_avail_idx % num)
            self.last_avail_idx = (self.last_avail_idx + 1) & 0xffff
            if head >= num:
                vdev.error(f"Guest says index {head} is available")
                return None
            if vdev.has_feature(VIRTIO_RING_F_EVENT_IDX):
                self.set_avail_event(self.last_avail_idx)
            elem = self._collect(head, num)
        except _RingError:
            return None
        if elem is None:
            return None
        self.inuse += 1
        if "virtqueue_pop" in trace.ACTIVE:
            trace.emit("virtqueue_pop", vq=id(self), elem=id(elem), in_num=len(elem.in_),
                       out_num=len(elem.out))
        return elem

    def _collect(self, head: int, num: int) -> VirtQueueElement | None:
        vdev = self.vdev
        table, maximum, i = self.desc, num, head
        addr, length, flags, nxt = self.read_desc(table, i)
        if flags & VRING_DESC_F_INDIRECT:
            if not length or length % DESC_SIZE:
                vdev.error("Invalid size for indirect buffer table")
                return None
            table, maximum, i = addr, length // DESC_SIZE, 0
            addr, length, flags, nxt = self.read_desc(table, i)
        elem = VirtQueueElement(head)
        entries = 0
        while True:
            if flags & VRING_DESC_F_INDIRECT:
                vdev.error("Nested indirect descriptor")
                return None
            if flags & VRING_DESC_F_WRITE:
                if not self._map(elem.in_, addr, length, True):
                    return None
            else:
                if elem.in_:
                    vdev.error("Incorrect order for descriptors")
                    return None
                if not self._map(elem.out, addr, length, False):
                    return None
            entries += 1
            if entries > maximum:
                vdev.error("Looped descriptor")
                return None
            if not flags & VRING_DESC_F_NEXT:
                break
            if nxt >= maximum:
                vdev.error(f"Desc next is {nxt}")
                return None
            i = nxt
            addr, length, flags, nxt = self.read_desc(table, i)
        elem.ndescs = entries
        return elem

    def _map(self, sg: list, addr: int, length: int, is_write: bool) -> bool:
        """virtqueue_map_desc: the buffer must be RAM the device can reach."""
        vdev = self.vdev
        if not length:
            vdev.error("virtio: zero sized buffers are not allowed")
            return False
        if len(sg) >= VIRTQUEUE_MAX_SIZE:
            vdev.error("virtio: too many write descriptors in indirect table")
            return False
        if not vdev.dma_is_ram(addr, length, is_write):
            vdev.error("virtio: bogus descriptor or out of resources")
            return False
        sg.append((addr, length))
        return True

    # -- push ------------------------------------------------------------------------------------
    def fill(self, elem: VirtQueueElement, length: int, idx: int = 0) -> None:
        slot = (self.used_idx + idx) % self.num
        self._write(self.used + 4 + 8 * slot, struct.pack("<II", elem.index, length), "used")
        if "virtqueue_fill" in trace.ACTIVE:
            trace.emit("virtqueue_fill", vq=id(self), elem=id(elem), len=length, idx=idx)

    def flush(self, count: int) -> None:
        old = self.used_idx
        new = (old + count) & 0xffff
        self._write(self.used + 2, struct.pack("<H", new), "used")
        self.used_idx = new
        self.inuse -= count
        if ((new - self.signalled_used) & 0xffff) < ((new - old) & 0xffff):
            self.signalled_used_valid = False
        if "virtqueue_flush" in trace.ACTIVE:
            trace.emit("virtqueue_flush", vq=id(self), count=count)

    def push(self, elem: VirtQueueElement, length: int) -> None:
        """virtqueue_push: fill + flush (a ring that vanished is reported, not raised)."""
        try:
            self.fill(elem, length)
            self.flush(1)
        except _RingError:
            pass

    def unpop(self, elem: VirtQueueElement) -> None:
        self.last_avail_idx = (self.last_avail_idx - 1) & 0xffff
        self.inuse -= 1

    # -- interrupts --------------------------------------------------------------------------------
    def should_notify(self) -> bool:
        vdev = self.vdev
        try:
            if vdev.has_feature(VIRTIO_F_NOTIFY_ON_EMPTY) and not self.inuse and self.empty():
                return True
            if not vdev.has_feature(VIRTIO_RING_F_EVENT_IDX):
                return not self.avail_flags() & VRING_AVAIL_F_NO_INTERRUPT
            valid = self.signalled_used_valid
            self.signalled_used_valid = True
            old = self.signalled_used
            new = self.signalled_used = self.used_idx
            return not valid or vring_need_event(self.used_event(), new, old)
        except _RingError:
            return False

    def notify(self) -> None:
        """virtio_notify: interrupt the driver about used buffers (unless suppressed)."""
        if not self.should_notify():
            return
        if "virtio_notify" in trace.ACTIVE:
            trace.emit("virtio_notify", vdev=id(self.vdev), vq=id(self))
        self.vdev.set_isr(1)
        self.vdev.notify_vector(self.vector)


@register_type("virtio-device", "device", abstract=True, user_creatable=False,
               desc="virtio device (the part behind a transport)")
class VirtIODevice(Device):
    """Device-side virtio state; subclasses add queues, config and features."""

    VIRTIO_ID = 0
    CATEGORY = "Misc devices"

    def __init__(self) -> None:
        super().__init__()
        self.transport = None
        self.machine = None
        self.host_features = COMMON_FEATURES
        self.guest_features = 0
        self.status = 0
        self.isr = 0
        self.queue_sel = 0
        self.config_vector = VIRTIO_NO_VECTOR
        self.generation = 0
        self.broken = False
        self.config_len = 0
        self.vqs: list[VirtQueue] = []

    # -- set-up by subclasses ----------------------------------------------------------------------
    def add_queue(self, size: int, handler) -> VirtQueue:
        vq = VirtQueue(self, len(self.vqs), size, handler)
        self.vqs.append(vq)
        return vq

    def get_features(self) -> int:
        """Device features offered (before the transport adds VERSION_1)."""
        return self.host_features

    def get_config(self) -> bytes:
        return b""

    def set_config(self, data: bytes) -> None:
        pass

    def device_reset(self) -> None:
        pass

    def set_status_hook(self, status: int) -> None:
        pass

    # -- DMA through the transport ---------------------------------------------------------------
    def dma_read(self, addr: int, length: int):
        return self.transport.dma_as.read(addr, length, self.transport.dma_attrs())

    def dma_write(self, addr: int, data: bytes):
        return self.transport.dma_as.write(addr, data, self.transport.dma_attrs())

    def dma_is_ram(self, addr: int, length: int, is_write: bool) -> bool:
        space = self.transport.dma_as
        end = addr + length
        if end > 1 << 64:
            return False
        pos = addr
        while pos < end:
            mr, xlat, n = space.translate(pos, is_write, MEMTXATTRS_UNSPECIFIED, end - pos)
            if not mr.is_ram() or mr.is_ram_device() or (is_write and mr.readonly):
                return False
            n = min(n, mr.size - xlat)
            if n <= 0:
                return False
            pos += n
        return True

    # -- features and status -----------------------------------------------------------------------
    def has_feature(self, bit: int) -> bool:
        return bool(self.guest_features >> bit & 1)

    def set_features(self, value: int) -> int:
        """virtio_set_features: unsupported bits are dropped; -1 if there were any."""
        if self.status & VIRTIO_CONFIG_S_FEATURES_OK:
            return -22
        offered = self.transport.host_features()
        bad = value & ~offered
        self.guest_features = value & offered
        return -1 if bad else 0

    def set_status(self, value: int) -> None:
        value &= 0xff
        if "virtio_set_status" in trace.ACTIVE:
            trace.emit("virtio_set_status", vdev=id(self), val=value)
        self.set_status_hook(value)
        self.status = value
        if value == 0:
            self.reset()

    def reset(self) -> None:
        """virtio_reset: device back to its initial state (status 0)."""
        self.device_reset()
        self.guest_features = 0
        self.status = 0
        self.isr = 0
        self.queue_sel = 0
        self.config_vector = VIRTIO_NO_VECTOR
        self.broken = False
        for vq in self.vqs:
            vq.reset()
        if self.transport is not None:
            self.transport.update_irq()

    def error(self, msg: str) -> None:
        """virtio_error: report, ask the driver for a reset, stop processing."""
        name = self.TYPE_NAME
        guest_error(f"{name}: {msg}")
        if "virtio_error" in trace.ACTIVE:
            trace.emit("virtio_error", name=name, msg=msg)
        if self.has_feature(VIRTIO_F_VERSION_1):
            self.status |= VIRTIO_CONFIG_S_NEEDS_RESET
            self.notify_config()
        self.broken = True

    # -- notifications -----------------------------------------------------------------------------
    def queue_notify(self, n: int) -> None:
        """virtio_queue_notify: the driver kicked queue N."""
        if n >= len(self.vqs):
            return
        vq = self.vqs[n]
        if not vq.desc or self.broken:
            return
        if "virtio_queue_notify" in trace.ACTIVE:
            trace.emit("virtio_queue_notify", vdev=id(self), n=n, vq=id(vq))
        if vq.handler is not None:
            vq.handler(vq)

    def set_isr(self, bits: int) -> None:
        self.isr |= bits

    def notify_vector(self, vector: int) -> None:
        if self.transport is not None:
            self.transport.notify(vector)

    def notify_config(self) -> None:
        """virtio_notify_config: only once the driver is running."""
        if not self.status & VIRTIO_CONFIG_S_DRIVER_OK:
            return
        self.set_isr(3)
        self.generation = (self.generation + 1) & 0xff
        self.notify_vector(self.config_vector)

    # -- config space ---------------------------------------------------------------------------
    def config_read(self, offset: int, size: int) -> int:
        """virtio_config_(modern_)read{b,w,l}: all-ones past the end (little-endian:
        modern config is LE, legacy config is guest-endian, LE on x86)."""
        if offset + size > self.config_len:
            return (1 << (8 * size)) - 1
        data = self.get_config()
        return int.from_bytes(data[offset:offset + size], "little")

    def config_write(self, offset: int, value: int, size: int) -> None:
        if offset + size > self.config_len:
            return
        data = bytearray(self.get_config())
        data[offset:offset + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        self.set_config(bytes(data))
