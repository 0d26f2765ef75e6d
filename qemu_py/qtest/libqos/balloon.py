"""A virtio-balloon driver for tests acting as the guest.

``QVirtioBalloon(transport_device)`` starts the device (STATS_VQ and
PAGE_POISON accepted when offered), and offers ``inflate(gpas)`` /
``deflate(gpas)`` (one element of 32-bit PFNs per call, waiting for it to
come back used), ``report_stats({tag: value})`` and config accessors
(``num_pages``, ``actual``, ``set_actual``).
"""

from __future__ import annotations

import struct

from .virtio import QVirtioDevice

VIRTIO_BALLOON_F_STATS_VQ, VIRTIO_BALLOON_F_PAGE_POISON = 1, 4
INFLATE, DEFLATE, STATS = 0, 1, 2
PFN_SHIFT = 12


class QVirtioBalloon:
    def __init__(self, dev: QVirtioDevice, wanted: int | None = None) -> None:
        self.dev = dev
        if wanted is None:
            wanted = (1 << VIRTIO_BALLOON_F_STATS_VQ) | (1 << VIRTIO_BALLOON_F_PAGE_POISON)
        self.features = dev.start(wanted, 3)
        self.buf = dev.alloc.alloc(4096)

    def _pfns(self, queue: int, gpas) -> tuple[int, int]:
        vq = self.dev.queues[queue]
        data = b"".join(struct.pack("<I", gpa >> PFN_SHIFT) for gpa in gpas)
        self.dev.qts.memwrite(self.buf, data)
        head = vq.add_chain([(self.buf, len(data), False)])
        vq.publish(head)
        vq.kick()
        used = vq.wait_used()
        vq.num_free += 1
        return used

    def inflate(self, gpas) -> tuple[int, int]:
        """Give the pages at GPAS to the host; returns the used element (id, len)."""
        return self._pfns(INFLATE, gpas)

    def deflate(self, gpas) -> tuple[int, int]:
        return self._pfns(DEFLATE, gpas)

    def report_stats(self, stats: dict[int, int]) -> None:
        vq = self.dev.queues[STATS]
        data = b"".join(struct.pack("<HQ", tag, val) for tag, val in stats.items())
        addr = self.dev.alloc.alloc(max(len(data), 1))
        self.dev.qts.memwrite(addr, data)
        vq.publish(vq.add_chain([(addr, len(data), False)]))
        vq.kick()

    @property
    def num_pages(self) -> int:
        return self.dev.config_read(0, 4)

    @property
    def actual(self) -> int:
        return self.dev.config_read(4, 4)

    def set_actual(self, pages: int) -> None:
        self.dev.config_write(4, pages, 4)
