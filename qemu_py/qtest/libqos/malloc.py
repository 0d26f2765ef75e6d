"""A guest-memory allocator for tests acting as the guest (libqos ``malloc``).

``GuestAllocator(start, end)`` hands out page-aligned (or ``align``-aligned)
ranges of guest RAM first-fit and takes them back; the test then reads and
writes them through qtest.  ``pc_allocator(qts)`` covers what libqos's pc
allocator covers: RAM from 1 MiB up to the end of low RAM (or 0xe0000000).
"""

from __future__ import annotations

PAGE_SIZE = 4096


class GuestAllocator:
    def __init__(self, start: int, end: int, page_size: int = PAGE_SIZE) -> None:
        if end <= start:
            raise ValueError(f"empty allocator range 0x{start:x}-0x{end:x}")
        self.start = start
        self.end = end
        self.page_size = page_size
        self.free: list[tuple[int, int]] = [(start, end)]
        self.used: dict[int, int] = {}

    def alloc(self, size: int, align: int | None = None) -> int:
        align = align or self.page_size
        size = max(size, 1)
        for i, (lo, hi) in enumerate(self.free):
            addr = (lo + align - 1) // align * align
            if addr + size <= hi:
                pieces = []
                if addr > lo:
                    pieces.append((lo, addr))
                if addr + size < hi:
                    pieces.append((addr + size, hi))
                self.free[i:i + 1] = pieces
                self.used[addr] = size
                return addr
        raise MemoryError(f"guest allocator: no room for 0x{size:x} bytes")

    def free_(self, addr: int) -> None:
        size = self.used.pop(addr)
        self.free.append((addr, addr + size))
        self.free.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in self.free:
            if merged and merged[-1][1] == lo:
                merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        self.free = merged


def pc_allocator(ram_size: int = 128 << 20) -> GuestAllocator:
    """RAM from 1 MiB to the end of low RAM, as libqos's pc allocator."""
    return GuestAllocator(1 << 20, min(ram_size, 0xe0000000))
