"""The softmmu TLB: virtual page -> guest RAM for generated code, slow paths.

One TLB per MMU index, in three dictionaries keyed by virtual page number:

* ``tlb_read[i]``/``tlb_write[i]``: *fast entries* ``(q, l, w, b)``, the
  4 KiB host page of guest RAM cast to u64/u32/u16/u8, used inline by
  generated code; a write entry exists only for RAM pages that are writable,
  already dirty in the guest page tables and hold no translated code;
* ``tlb_phys[i]``: ``(physical page, prot)`` for every page filled, RAM or
  not (MMIO and code pages take the slow path through it).

Misses call the target's ``tlb_fill(vaddr, access, mmu_idx)`` (a page walk
that returns ``(physical page, prot)`` or raises the guest fault). MMIO goes
through the memory API (``AddressSpace.read_value``/``write_value``). Writes
to pages holding translated code call ``on_code_write(paddr, size)``, which
invalidates the TBs (and may abandon the current one). Any change to the
memory map flushes everything.
"""

from __future__ import annotations

import struct

PAGE_BITS = 12
PAGE_SIZE = 1 << PAGE_BITS
PAGE_MASK = ~(PAGE_SIZE - 1)
PROT_READ = 1
PROT_WRITE = 2
PROT_EXEC = 4
ACCESS_READ = 0
ACCESS_WRITE = 1
ACCESS_EXEC = 2
M64 = 0xFFFF_FFFF_FFFF_FFFF

_UNPACK = {1: struct.Struct("<B"), 2: struct.Struct("<H"), 4: struct.Struct("<I"),
           8: struct.Struct("<Q")}


def _bswap(v: int, size: int) -> int:
    return int.from_bytes(v.to_bytes(size, "little"), "big")


class SoftMMU:
    def __init__(self, address_space, nb_mmu_modes: int, tlb_fill, on_code_write=None,
                 is_code_page=None, on_unaligned=None):
        self.as_ = address_space
        self.nb = nb_mmu_modes
        self.tlb_read = [dict() for _ in range(nb_mmu_modes)]
        self.tlb_write = [dict() for _ in range(nb_mmu_modes)]
        self.tlb_phys = [dict() for _ in range(nb_mmu_modes)]
        self.tlb_fill = tlb_fill
        self.on_code_write = on_code_write
        self.is_code_page = is_code_page or (lambda ppage: False)
        self.on_unaligned = on_unaligned
        self._views: dict[int, tuple | None] = {}
        self._wrev: dict[int, list] = {}     # phys page -> [(mmu_idx, vpn)] write entries
        self.flush_count = 0
        self.large_pages = False
        self.io_hook = None                  # called before every MMIO access
        self.watch_vpns: set[int] = set()    # pages with watchpoints: slow path only
        self.watch_hook = None               # (addr, size, is_write) before such an access
        address_space.add_listener(self)

    # -- memory listener: any topology change flushes ---------------------------------
    def commit(self):
        self._views.clear()
        self.flush()

    # -- flushing -------------------------------------------------------------------------
    def flush(self):
        for d in self.tlb_read:
            d.clear()
        for d in self.tlb_write:
            d.clear()
        for d in self.tlb_phys:
            d.clear()
        self._wrev.clear()
        self.large_pages = False
        self.flush_count += 1

    def flush_page(self, vaddr: int):
        if self.large_pages:
            self.flush()
            return
        vpn = (vaddr & M64) >> PAGE_BITS
        for i in range(self.nb):
            self.tlb_read[i].pop(vpn, None)
            self.tlb_write[i].pop(vpn, None)
            self.tlb_phys[i].pop(vpn, None)

    def protect_code_page(self, ppage: int):
        """PPAGE now holds translated code: writes to it must take the slow path."""
        for mmu_idx, vpn in self._wrev.pop(ppage, ()):
            self.tlb_write[mmu_idx].pop(vpn, None)

    # -- RAM views ----------------------------------------------------------------------------
    def page_view(self, ppage: int):
        """(q, l, w, b) views of RAM page PPAGE, or None when it is not plain RAM."""
        try:
            return self._views[ppage]
        except KeyError:
            pass
        mv = self.as_.ram_ptr(ppage, PAGE_SIZE, is_write=False)
        views = None
        if mv is not None and not mv.readonly:
            views = (mv.cast("Q"), mv.cast("I"), mv.cast("H"), mv)
        elif mv is not None:
            views = (mv.cast("Q"), mv.cast("I"), mv.cast("H"), mv)
        self._views[ppage] = views
        return views

    def _ram_writable(self, ppage: int) -> bool:
        return self.as_.ram_ptr(ppage, PAGE_SIZE, is_write=True) is not None

    # -- fill ------------------------------------------------------------------------------------
    def lookup(self, vaddr: int, access: int, mmu_idx: int) -> tuple[int, int]:
        """(physical page, prot) for VADDR, filling the TLB; raises the guest fault."""
        vpn = vaddr >> PAGE_BITS
        e = self.tlb_phys[mmu_idx].get(vpn)
        need = (PROT_READ, PROT_WRITE, PROT_EXEC)[access]
        if e is not None and e[1] & need:
            return e
        ppage, prot, large = self.tlb_fill(vaddr, access, mmu_idx)
        if large:
            self.large_pages = True
        e = (ppage, prot)
        self.tlb_phys[mmu_idx][vpn] = e
        views = self.page_view(ppage)
        if views is not None and vpn in self.watch_vpns:
            self.tlb_read[mmu_idx].pop(vpn, None)
            self.tlb_write[mmu_idx].pop(vpn, None)
        elif views is not None:
            if prot & PROT_READ:
                self.tlb_read[mmu_idx][vpn] = views
            else:
                self.tlb_read[mmu_idx].pop(vpn, None)
            if (prot & PROT_WRITE and not self.is_code_page(ppage)
                    and self._ram_writable(ppage)):
                self.tlb_write[mmu_idx][vpn] = views
                self._wrev.setdefault(ppage, []).append((mmu_idx, vpn))
            else:
                self.tlb_write[mmu_idx].pop(vpn, None)
        return e

    def translate(self, vaddr: int, access: int, mmu_idx: int) -> int:
        ppage, _ = self.lookup(vaddr & M64, access, mmu_idx)
        return ppage | (vaddr & (PAGE_SIZE - 1))

    # -- slow paths --------------------------------------------------------------------------------
    def set_watch_pages(self, vpns):
        """Route every data access to the virtual pages VPNS through the slow path."""
        self.watch_vpns = set(vpns)
        self.flush()

    def _watched(self, addr: int, size: int) -> bool:
        w = self.watch_vpns
        return (addr >> PAGE_BITS) in w or ((addr + size - 1) & M64) >> PAGE_BITS in w

    def ld_slow(self, addr: int, memop: int, mmu_idx: int) -> int:
        size = 1 << (memop & 3)
        addr &= M64
        if self.watch_vpns and self._watched(addr, size):
            self.watch_hook(addr, size, False)
        if memop & 0x10 and addr & (size - 1) and self.on_unaligned:
            self.on_unaligned(addr, ACCESS_READ, mmu_idx)
        off = addr & (PAGE_SIZE - 1)
        if off + size > PAGE_SIZE:
            first = PAGE_SIZE - off
            lo = self._ld_bytes(addr, first, mmu_idx)
            hi = self._ld_bytes((addr + first) & M64, size - first, mmu_idx)
            v = int.from_bytes(lo + hi, "little")
        else:
            v = self._ld_one(addr, size, mmu_idx)
        if memop & 8:
            v = _bswap(v, size)
        return v

    def _ld_bytes(self, addr: int, n: int, mmu_idx: int) -> bytes:
        ppage, _ = self.lookup(addr, ACCESS_READ, mmu_idx)
        pa = ppage | (addr & (PAGE_SIZE - 1))
        views = self.page_view(ppage)
        if views is not None:
            o = addr & (PAGE_SIZE - 1)
            return bytes(views[3][o:o + n])
        if self.io_hook is not None:
            self.io_hook()
        data, _ = self.as_.read(pa, n)
        return data

    def _ld_one(self, addr: int, size: int, mmu_idx: int) -> int:
        ppage, _ = self.lookup(addr, ACCESS_READ, mmu_idx)
        views = self.page_view(ppage)
        o = addr & (PAGE_SIZE - 1)
        if views is not None:
            return _UNPACK[size].unpack_from(views[3], o)[0]
        if self.io_hook is not None:
            self.io_hook()
        value, _ = self.as_.read_value(ppage | o, size)
        return value

    def st_slow(self, addr: int, value: int, memop: int, mmu_idx: int) -> None:
        size = 1 << (memop & 3)
        addr &= M64
        if memop & 0x10 and addr & (size - 1) and self.on_unaligned:
            self.on_unaligned(addr, ACCESS_WRITE, mmu_idx)
        value &= (1 << (8 * size)) - 1
        if self.watch_vpns and self._watched(addr, size):
            self.watch_hook(addr, size, True)
        if memop & 8:
            value = _bswap(value, size)
        off = addr & (PAGE_SIZE - 1)
        if off + size > PAGE_SIZE:
            first = PAGE_SIZE - off
            a2 = (addr + first) & M64
            # both pages must be writable before either is written
            p1, _ = self.lookup(addr, ACCESS_WRITE, mmu_idx)
            p2, _ = self.lookup(a2, ACCESS_WRITE, mmu_idx)
            data = value.to_bytes(size, "little")
            self._st_bytes(p1 | off, data[:first])
            self._st_bytes(p2, data[first:])
            return
        ppage, _ = self.lookup(addr, ACCESS_WRITE, mmu_idx)
        self._st_bytes(ppage | off, value.to_bytes(size, "little"), size, value)

    def _st_bytes(self, pa: int, data: bytes, size: int = 0, value: int = 0):
        ppage = pa & PAGE_MASK
        if self.on_code_write is not None and self.is_code_page(ppage):
            self.on_code_write(pa, len(data))
        views = self.page_view(ppage)
        if views is not None and self._ram_writable(ppage):
            o = pa & (PAGE_SIZE - 1)
            views[3][o:o + len(data)] = data
            return
        if self.io_hook is not None:
            self.io_hook()
        if size:
            self.as_.write_value(pa, value, size)
        else:
            self.as_.write(pa, data)

    # -- helpers' accesses (no TB context) -------------------------------------------------------
    def read_virt(self, addr: int, n: int, mmu_idx: int) -> bytes:
        out = b""
        while n > 0:
            chunk = min(n, PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
            out += self._ld_bytes(addr & M64, chunk, mmu_idx)
            addr += chunk
            n -= chunk
        return out
