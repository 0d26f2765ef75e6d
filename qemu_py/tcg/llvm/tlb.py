"""The native TLB the inline ``qemu_ld``/``qemu_st`` probe reads.

Per MMU index, a direct-mapped array of ``TLB_SIZE`` entries of three u64:
read tag, write tag (the virtual page number, or all ones when empty) and
the addend turning a guest virtual address into a host address. It mirrors
the softmmu's fast-entry dictionaries: those become :class:`MirroredTLB`
dicts, whose every removal or replacement drops the native entry, and the
native entry is filled from the dictionaries whenever they gain one.
So a page that has no fast entry in Python (MMIO, code pages for writes,
watched pages) never has one natively.
"""

from __future__ import annotations

import ctypes

TLB_SIZE = 256
EMPTY = 0xFFFF_FFFF_FFFF_FFFF


class MirroredTLB(dict):
    """A fast-entry dict that tells its native mirror when entries go away."""

    __slots__ = ("native", "mmu_idx")

    def __init__(self, native, mmu_idx, items=()):
        super().__init__(items)
        self.native = native
        self.mmu_idx = mmu_idx

    def __setitem__(self, vpn, views):
        if self.get(vpn) is not views:
            self.native.drop(self.mmu_idx, vpn)
        super().__setitem__(vpn, views)
        self.native.fill(self.mmu_idx, vpn)

    def __delitem__(self, vpn):
        self.native.drop(self.mmu_idx, vpn)
        super().__delitem__(vpn)

    def pop(self, vpn, *default):
        self.native.drop(self.mmu_idx, vpn)
        return super().pop(vpn, *default)

    def clear(self):
        self.native.drop_all(self.mmu_idx)
        super().clear()


def _host_address(view) -> int | None:
    """The host address of a writable buffer's first byte (None when read-only)."""
    try:
        c = ctypes.c_char.from_buffer(view)
    except TypeError:
        return None
    addr = ctypes.addressof(c)
    del c
    return addr


class NativeTLB:
    def __init__(self, rt):
        self.rt = rt
        n = len(rt.tlb_read)
        self.arrays = [(ctypes.c_uint64 * (3 * TLB_SIZE))() for _ in range(n)]
        for i in range(n):
            self.drop_all(i)
        # mirror the softmmu's dicts in place (the list objects are shared with it)
        for i in range(n):
            if not isinstance(rt.tlb_read[i], MirroredTLB):
                rt.tlb_read[i] = MirroredTLB(self, i, rt.tlb_read[i])
            if not isinstance(rt.tlb_write[i], MirroredTLB):
                rt.tlb_write[i] = MirroredTLB(self, i, rt.tlb_write[i])
            for vpn in list(rt.tlb_read[i]) + list(rt.tlb_write[i]):
                self.fill(i, vpn)

    def address(self, mmu_idx: int) -> int:
        return ctypes.addressof(self.arrays[mmu_idx])

    def drop(self, mmu_idx: int, vpn: int):
        a = self.arrays[mmu_idx]
        k = 3 * (vpn & (TLB_SIZE - 1))
        if a[k] == vpn or a[k + 1] == vpn:
            a[k] = a[k + 1] = EMPTY

    def drop_all(self, mmu_idx: int):
        a = self.arrays[mmu_idx]
        ctypes.memset(a, 0xFF, ctypes.sizeof(a))

    def fill(self, mmu_idx: int, vpn: int):
        """After a slow access to VPN: copy its fast entries (if any) natively."""
        r = self.rt.tlb_read[mmu_idx].get(vpn)
        w = self.rt.tlb_write[mmu_idx].get(vpn)
        src = r if r is not None else w
        if src is None:
            return
        host = _host_address(src[3])
        if host is None:
            return
        a = self.arrays[mmu_idx]
        k = 3 * (vpn & (TLB_SIZE - 1))
        a[k] = vpn if r is not None else EMPTY
        a[k + 1] = vpn if w is src else EMPTY
        a[k + 2] = (host - (vpn << 12)) & EMPTY
