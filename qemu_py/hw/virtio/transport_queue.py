"""The per-queue registers a modern virtio transport (PCI or MMIO v2) holds
for the guest until it enables the queue: its size, the enable bit and the
descriptor, driver (avail) and device (used) ring addresses as low/high
32-bit halves, as the guest writes them."""

from __future__ import annotations


class TransportQueue:
    __slots__ = ("num", "enabled", "desc", "avail", "used")

    def __init__(self) -> None:
        self.num = 0
        self.enabled = 0
        self.desc = [0, 0]          # [low, high]
        self.avail = [0, 0]
        self.used = [0, 0]
