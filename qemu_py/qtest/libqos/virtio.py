"""A small virtio driver for tests acting as the guest (libqos ``virtio``).

Transport-independent part: ``QVirtioDevice`` (a transport implements the
register accesses: ``get_features``, ``set_features``, ``get_status``,
``set_status``, ``config_read``, ``queue_select``, ``queue_size``,
``set_queue``, ``queue_notify``, ``isr``) with ``start()`` doing the
driver's initialisation sequence of Virtio 1.1 §3.1.1 (reset,
ACKNOWLEDGE, DRIVER, feature negotiation, FEATURES_OK for VERSION_1,
queues, DRIVER_OK), and ``QVirtQueue``, a split virtqueue laid out in guest
RAM by the test (``GuestAllocator``) and filled through qtest writes:

* ``add_chain([(addr, len, write), ...], indirect=False)`` builds a
  descriptor chain (or an indirect table) and ``publish(head)`` makes it
  available; ``kick()`` notifies the device;
* ``write_desc(i, addr, len, flags, next)`` / ``publish(head)`` let a test
  build malformed rings (loops, out-of-RAM addresses, bad lengths) by hand;
* ``wait_used(n)`` polls the used ring (stepping the virtual clock between
  polls) and returns ``(id, len)`` of the next used element.
"""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod

VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER = 1, 2
VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FEATURES_OK = 4, 8
VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_CONFIG_S_FAILED = 0x40, 0x80
VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX, VIRTIO_F_VERSION_1 = 28, 29, 32
VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT = 1, 2, 4
VRING_AVAIL_F_NO_INTERRUPT = 1
DESC_SIZE = 16


class VirtioTimeout(Exception):
    pass


class QVirtQueue:
    """A split virtqueue in guest memory, driven through qtest."""

    def __init__(self, dev: "QVirtioDevice", index: int, size: int, desc: int, avail: int,
                 used: int) -> None:
        self.dev = dev
        self.qts = dev.qts
        self.index = index
        self.size = size
        self.desc = desc
        self.avail = avail
        self.used = used
        self.free_head = 0
        self.avail_idx = 0
        self.last_used_idx = 0
        self.num_free = size
        self.indirect_tables: list[int] = []

    @staticmethod
    def layout(size: int, align: int = 4096) -> tuple[int, int, int]:
        """(avail offset, used offset, total bytes) of the legacy contiguous layout."""
        avail = DESC_SIZE * size
        used = (avail + 4 + 2 * size + 2 + align - 1) // align * align
        return avail, used, used + 4 + 8 * size + 2

    def init_ring(self) -> None:
        """Zero the rings (the driver owns them from now on)."""
        self.qts.memwrite(self.desc, bytes(DESC_SIZE * self.size))
        self.qts.memwrite(self.avail, bytes(4 + 2 * self.size + 2))
        self.qts.memwrite(self.used, bytes(4 + 8 * self.size + 2))

    # -- descriptors ---------------------------------------------------------------------------
    def write_desc(self, i: int, addr: int, length: int, flags: int, nxt: int,
                   table: int | None = None) -> None:
        base = self.desc if table is None else table
        self.qts.memwrite(base + DESC_SIZE * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def add_chain(self, bufs, indirect: bool = False, alloc=None) -> int:
        """Descriptors for BUFS [(addr, len, device_writes)]; returns the head index."""
        if not bufs:
            raise ValueError("a chain needs at least one buffer")
        if indirect:
            table = alloc(DESC_SIZE * len(bufs), 16)
            self.indirect_tables.append(table)
            for i, (addr, length, write) in enumerate(bufs):
                flags = (VRING_DESC_F_WRITE if write else 0) | \
                    (VRING_DESC_F_NEXT if i + 1 < len(bufs) else 0)
                self.write_desc(i, addr, length, flags, i + 1, table)
            head = self.free_head
            self.write_desc(head, table, DESC_SIZE * len(bufs), VRING_DESC_F_INDIRECT, 0)
            self.free_head = (head + 1) % self.size
            self.num_free -= 1
            return head
        if len(bufs) > self.num_free:
            raise ValueError("not enough free descriptors")
        head = self.free_head
        i = head
        for n, (addr, length, write) in enumerate(bufs):
            nxt = (i + 1) % self.size
            flags = (VRING_DESC_F_WRITE if write else 0) | \
                (VRING_DESC_F_NEXT if n + 1 < len(bufs) else 0)
            self.write_desc(i, addr, length, flags, nxt)
            i = nxt
        self.free_head = i
        self.num_free -= len(bufs)
        return head

    def publish(self, head: int) -> None:
        """Put HEAD in the available ring and bump avail->idx."""
        slot = self.avail_idx % self.size
        self.qts.memwrite(self.avail + 4 + 2 * slot, struct.pack("<H", head))
        self.avail_idx = (self.avail_idx + 1) & 0xffff
        self.qts.memwrite(self.avail + 2, struct.pack("<H", self.avail_idx))

    def set_avail_idx(self, idx: int) -> None:
        """Write avail->idx directly (for tests of a misbehaving driver)."""
        self.avail_idx = idx & 0xffff
        self.qts.memwrite(self.avail + 2, struct.pack("<H", self.avail_idx))

    def set_no_interrupt(self, on: bool) -> None:
        self.qts.memwrite(self.avail, struct.pack("<H", VRING_AVAIL_F_NO_INTERRUPT if on else 0))

    def set_used_event(self, idx: int) -> None:
        self.qts.memwrite(self.avail + 4 + 2 * self.size, struct.pack("<H", idx & 0xffff))

    def kick(self) -> None:
        self.dev.queue_notify(self.index)

    # -- used ring -------------------------------------------------------------------------------
    def used_idx(self) -> int:
        return struct.unpack("<H", self.qts.memread(self.used + 2, 2))[0]

    def avail_event(self) -> int:
        return struct.unpack("<H", self.qts.memread(self.used + 4 + 8 * self.size, 2))[0]

    def get_used(self) -> tuple[int, int] | None:
        """The next used element (id, len), or None."""
        if self.used_idx() == self.last_used_idx:
            return None
        slot = self.last_used_idx % self.size
        elem = struct.unpack("<II", self.qts.memread(self.used + 4 + 8 * slot, 8))
        self.last_used_idx = (self.last_used_idx + 1) & 0xffff
        return elem

    def wait_used(self, polls: int = 10, step_ns: int = 100_000) -> tuple[int, int]:
        for _ in range(polls):
            elem = self.get_used()
            if elem is not None:
                return elem
            self.qts.clock_step(step_ns)
        raise VirtioTimeout(f"queue {self.index}: no used element after {polls} polls")


class QVirtioDevice(ABC):
    """Transport-independent driver logic; transports subclass it."""

    def __init__(self, qts, alloc) -> None:
        self.qts = qts
        self.alloc = alloc
        self.features = 0
        self.queues: dict[int, QVirtQueue] = {}

    # transports implement these --------------------------------------------------------------
    @abstractmethod
    def get_features(self) -> int:
        """Transport-specific."""
    @abstractmethod
    def set_features(self, features: int) -> None:
        """Transport-specific."""
    @abstractmethod
    def get_status(self) -> int:
        """Transport-specific."""
    @abstractmethod
    def set_status(self, status: int) -> None:
        """Transport-specific."""
    @abstractmethod
    def config_read(self, offset: int, size: int) -> int:
        """Transport-specific."""
    @abstractmethod
    def config_write(self, offset: int, value: int, size: int) -> None:
        """Transport-specific."""
    @abstractmethod
    def queue_select(self, index: int) -> None:
        """Transport-specific."""
    @abstractmethod
    def queue_size(self) -> int:
        """Transport-specific."""
    @abstractmethod
    def set_queue(self, vq: QVirtQueue) -> None:
        """Transport-specific."""
    @abstractmethod
    def queue_notify(self, index: int) -> None:
        """Transport-specific."""
    @abstractmethod
    def isr(self) -> int:
        """Transport-specific."""

    @property
    def modern(self) -> bool:
        return True

    # the driver -------------------------------------------------------------------------------
    def reset(self) -> None:
        self.set_status(0)

    def start(self, wanted: int, nqueues: int, queue_size: int | None = None) -> int:
        """Initialise the device; returns the negotiated features."""
        self.reset()
        self.set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE)
        self.set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
        offered = self.get_features()
        if self.modern:
            wanted |= 1 << VIRTIO_F_VERSION_1
        self.features = offered & wanted
        self.set_features(self.features)
        status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER
        if self.features >> VIRTIO_F_VERSION_1 & 1:
            status |= VIRTIO_CONFIG_S_FEATURES_OK
            self.set_status(status)
            if not self.get_status() & VIRTIO_CONFIG_S_FEATURES_OK:
                raise RuntimeError("device refused FEATURES_OK")
        for i in range(nqueues):
            self.setup_queue(i, queue_size)
        self.set_status(status | VIRTIO_CONFIG_S_DRIVER_OK)
        return self.features

    def setup_queue(self, index: int, size: int | None = None) -> QVirtQueue:
        self.queue_select(index)
        qmax = self.queue_size()
        if not qmax:
            raise ValueError(f"queue {index} does not exist")
        size = size or qmax
        avail_off, used_off, total = QVirtQueue.layout(size)
        base = self.alloc.alloc(total, 4096)
        vq = QVirtQueue(self, index, size, base, base + avail_off, base + used_off)
        vq.init_ring()
        self.set_queue(vq)
        self.queues[index] = vq
        return vq
