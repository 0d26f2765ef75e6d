"""AddressSpace: the one path of every guest-visible access (spec §1.6-1.8, §3.4).

``read``/``write`` implement address_space_rw: translate (FlatView bisect
behind a one-entry MRU cache, IOMMU loop), then per piece either a direct
copy (RAM, ROM reads, ROM devices in romd mode) or a dispatch of
``memory_access_size`` bytes in host byte order, stored in the buffer in
host byte order so the buffer holds the device's byte layout.  Errors are
OR-ed and the loop goes on into the next region.
"""

from __future__ import annotations

import itertools
import logging
import sys
from bisect import bisect_right

from . import access, flatview, listener, mtree, transaction
from .access import MASK64, as_result, guest_errors, dispatch_read_raw, dispatch_write_raw, memory_access_size
from .attrs import HOST_ENDIAN, MEMTXATTRS_UNSPECIFIED
from .iommu import IOMMUAccessFlag
from .ops import UNASSIGNED_OPS
from .listener import ListenerEntry, MemoryRegionSection
from .region import SIZE_2_64, MemoryRegion

HOST_ORDER = sys.byteorder
_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFF_FFFF, 8: MASK64}
_space_seq = itertools.count()

# QEMU's io_mem_unassigned: what holes and failed IOMMU translations reach.
UNASSIGNED_REGION = MemoryRegion.reservation("unassigned", SIZE_2_64)


class AddressSpace:
    """A view of the memory tree under ``root`` as an initiator sees it."""

    def __init__(self, root: MemoryRegion, name: str, big_endian: bool = False,
                 page_bits: int = 12) -> None:
        if not isinstance(root, MemoryRegion):
            raise TypeError(f"root of address space '{name}' must be a MemoryRegion")
        self._root = root
        self.name = name
        self.big_endian = bool(big_endian)
        self._order = "big" if big_endian else "little"
        self._page_size = 1 << page_bits
        self._seq = next(_space_seq)
        self._view = None
        self._mru = None
        self._listeners: list[ListenerEntry] = []
        self._destroyed = False
        root._address_spaces.add(self)
        if transaction.depth() > 0:
            self._materialize()

    root = property(lambda self: self._root)

    def __repr__(self) -> str:
        return f"<AddressSpace {self.name!r} root={self._root.name!r}>"

    # ------------------------------------------------------------ FlatView

    def _root_for_render(self):
        return None if self._destroyed else self._root

    def _materialize(self) -> flatview.FlatView:
        view = self._view
        if view is None:
            view = self._view = flatview.render(self._root_for_render())
        return view

    def _invalidate(self) -> None:
        self._view = None
        self._mru = None

    def _install(self, view: flatview.FlatView) -> None:
        self._view = view
        self._mru = None

    def flatview(self) -> list[flatview.FlatRange]:
        """The current FlatRanges, sorted and simplified (do not modify them)."""
        return list(self._materialize().ranges)

    def _lookup(self, addr: int):
        view = self._view
        if view is None:
            view = self._materialize()
        i = bisect_right(view.starts, addr) - 1
        if i >= 0:
            fr = view.ranges[i]
            if addr < fr.end:
                self._mru = fr
                return fr
        return None

    def _piece_end(self, fr, addr: int) -> int:
        """End of the dispatch section holding ``addr``: QEMU registers a
        range as a leading partial page, whole pages and a trailing partial
        page, and clamps RAM accesses to the section."""
        mask = self._page_size - 1
        head_end = (fr.start + mask) & ~mask
        if head_end > fr.end:
            head_end = fr.end
        if addr < head_end:
            return head_end
        whole_end = head_end + ((fr.end - head_end) & ~mask)
        return whole_end if addr < whole_end else fr.end

    # ---------------------------------------------------------- translation

    def _translate(self, addr: int, length: int, is_write: bool, attrs):
        fr = self._mru
        if fr is None or addr < fr.start or addr >= fr.end:
            fr = self._lookup(addr)
            if fr is None:
                return UNASSIGNED_REGION, addr, length
        mr = fr.mr
        xlat = addr - fr.start + fr.offset_in_region
        if mr._ram:
            rest = self._piece_end(fr, addr) - addr
            if rest < length:
                length = rest
        elif mr._iommu is not None:
            return self._translate_iommu(mr, xlat, length, is_write, attrs)
        return mr, xlat, length

    def _translate_iommu(self, iommu_mr, xlat: int, length: int, is_write: bool, attrs):
        need = IOMMUAccessFlag.WO if is_write else IOMMUAccessFlag.RO
        while True:
            entry = iommu_mr._iommu(xlat, is_write, attrs)
            if not entry.perm & need:
                return UNASSIGNED_REGION, xlat, length
            mask = entry.addr_mask
            addr = (entry.translated_addr & ~mask) | (xlat & mask)
            rest = (addr | mask) - addr + 1
            if rest < length:
                length = rest
            target = entry.target_as
            fr = target._lookup(addr)
            if fr is None:
                return UNASSIGNED_REGION, addr, length
            mr = fr.mr
            xlat = addr - fr.start + fr.offset_in_region
            if mr._ram:
                rest = target._piece_end(fr, addr) - addr
                if rest < length:
                    length = rest
            if mr._iommu is None:
                return mr, xlat, length
            iommu_mr = mr

    def translate(self, addr: int, is_write: bool, attrs=MEMTXATTRS_UNSPECIFIED,
                  length: int | None = None):
        """address_space_translate: ``(mr, xlat, length)``.

        ``length`` (default: up to the end of the 2^64 space) is clamped only
        for RAM (to its dispatch section) and by IOMMU pages; MMIO is not.
        """
        if length is None:
            length = SIZE_2_64 - addr
        return self._translate(addr, length, is_write, attrs)

    def find(self, addr: int, size: int):
        """memory_region_find: the first section intersecting [addr, addr+size)."""
        view = self._materialize()
        if size == 0:
            fr = view.lookup(addr)
            if fr is None:
                return None
            start = end = addr
        else:
            i = view.first_intersecting(addr, addr + size)
            if i is None:
                return None
            fr = view.ranges[i]
            start = max(addr, fr.start)
            end = min(addr + size, fr.end)
        return MemoryRegionSection(fr.mr, fr.offset_in_region + start - fr.start,
                                   end - start, start, fr.readonly, fr.nonvolatile, self)

    def ram_ptr(self, addr: int, size: int, is_write: bool = False):
        """A memoryview of host RAM for [addr, addr+size) inside one RAM range.

        None unless the access would be direct (plain RAM; ROM and ROM
        devices in romd mode for reads, as read-only views).
        """
        fr = self._lookup(addr)
        if fr is None or addr + size > fr.end:
            return None
        mr = fr.mr
        writable = mr._ram and not mr._readonly and not mr._ram_device
        if is_write and not writable:
            return None
        if not (writable or (mr._ram and not mr._ram_device) or mr.is_romd()):
            return None
        off = addr - fr.start + fr.offset_in_region
        view = mr._hostmem.view[off:off + size]
        return view if writable else view.toreadonly()

    def _dead_span(self, mr, addr: int, length: int) -> int:
        """Bytes from ADDR that only reject accesses with no side effect (holes
        and reservations), when nobody logs each rejected piece; else 0.
        Lets bulk accesses to unassigned space skip QEMU's piece-by-piece loop
        with the same outcome: zeros read, writes dropped, DECODE_ERROR."""
        if mr.ops is not UNASSIGNED_OPS or mr._ram or mr._iommu is not None \
                or guest_errors.isEnabledFor(logging.INFO):
            return 0
        # the access wraps past 2^64: only the part below the top is one span
        length = min(length, (1 << 64) - addr)
        view = self._view if self._view is not None else self._materialize()
        fr = self._lookup(addr)
        if fr is not None:
            if fr.mr is not mr:
                return 0
            return min(length, fr.end - addr)
        i = view.first_intersecting(addr, addr + length)
        return length if i is None else view.ranges[i].start - addr

    # --------------------------------------------------------------- access

    def read(self, addr: int, length: int, attrs=MEMTXATTRS_UNSPECIFIED):
        """address_space_read: ``(bytes, MemTxResult)``; failed bytes read 0."""
        if length < 0:
            raise ValueError(f"read length must not be negative, not {length}")
        buf = bytearray(length)
        r = 0
        pos = 0
        target_be = self.big_endian
        while length > 0:
            mr, xlat, l = self._translate(addr, length, False, attrs)
            if attrs.memory and not mr._ram:
                self._log_not_ram(addr, l, mr)
                r |= 4  # MEMTX_ACCESS_ERROR
            elif (mr._ram and not mr._ram_device) or (mr._rom_device and mr._romd_mode):
                mem = mr._hostmem
                if l > mem.length - xlat:
                    l = mem.length - xlat
                buf[pos:pos + l] = mem.view[xlat:xlat + l]
            elif l > 8 and (span := self._dead_span(mr, addr, length)):
                l = span
                r |= 2  # MEMTX_DECODE_ERROR; the buffer already holds zeros
            else:
                l = memory_access_size(mr.ops, l, xlat)
                value, rr = dispatch_read_raw(mr, xlat, l, attrs, HOST_ENDIAN, target_be)
                buf[pos:pos + l] = (value & _MASKS[l]).to_bytes(l, HOST_ORDER)
                r |= rr
            length -= l
            pos += l
            addr = (addr + l) & MASK64
        return bytes(buf), as_result(r)

    def write(self, addr: int, data, attrs=MEMTXATTRS_UNSPECIFIED):
        """address_space_write: returns the OR of the pieces' MemTxResults."""
        data = memoryview(data).cast("B")
        length = len(data)
        r = 0
        pos = 0
        target_be = self.big_endian
        while length > 0:
            mr, xlat, l = self._translate(addr, length, True, attrs)
            if attrs.memory and not mr._ram:
                self._log_not_ram(addr, l, mr)
                r |= 4  # MEMTX_ACCESS_ERROR
            elif mr._ram and not mr._readonly and not mr._ram_device:
                mem = mr._hostmem
                if l > mem.length - xlat:
                    l = mem.length - xlat
                mem.view[xlat:xlat + l] = data[pos:pos + l]
                for fn in mr._write_watchers:
                    fn(xlat, l)
            elif l > 8 and (span := self._dead_span(mr, addr, length)):
                l = span
                r |= 2  # MEMTX_DECODE_ERROR; nothing is written
            else:
                l = memory_access_size(mr.ops, l, xlat)
                value = int.from_bytes(data[pos:pos + l], HOST_ORDER)
                r |= dispatch_write_raw(mr, xlat, value, l, attrs, HOST_ENDIAN, target_be)
            length -= l
            pos += l
            addr = (addr + l) & MASK64
        return as_result(r)

    def read_value(self, addr: int, size: int, attrs=MEMTXATTRS_UNSPECIFIED):
        """qtest readX: ``size`` bytes read as an int in target byte order."""
        fr = self._mru
        if fr is None or addr < fr.start or addr >= fr.end:
            fr = self._lookup(addr)
        if fr is not None and size in _MASKS:
            mr = fr.mr
            if mr._ram:
                if not mr._ram_device and addr + size <= fr.end:
                    off = addr - fr.start + fr.offset_in_region
                    return (int.from_bytes(mr._hostmem.view[off:off + size], self._order),
                            access.OK)
            elif (mr._iommu is None and not attrs.memory
                  and not (mr._rom_device and mr._romd_mode)):
                xlat = addr - fr.start + fr.offset_in_region
                ops = mr.ops
                if size <= ops.access_size_max and (ops.impl_unaligned
                                                    or not xlat & (size - 1)):
                    # a single piece: memory_access_size(size) == size
                    value, r = dispatch_read_raw(mr, xlat, size, attrs, HOST_ENDIAN,
                                                 self.big_endian)
                    value &= _MASKS[size]
                    if self._order != HOST_ORDER:
                        value = access.bswap(value, size)
                    return value, as_result(r)
        data, r = self.read(addr, size, attrs)
        return int.from_bytes(data, self._order), r

    def write_value(self, addr: int, value: int, size: int, attrs=MEMTXATTRS_UNSPECIFIED):
        """qtest writeX: ``value`` stored as ``size`` bytes in target byte order."""
        value &= (1 << (8 * size)) - 1
        fr = self._mru
        if fr is None or addr < fr.start or addr >= fr.end:
            fr = self._lookup(addr)
        if fr is not None and size in _MASKS:
            mr = fr.mr
            if mr._ram:
                if not mr._ram_device and not mr._readonly and addr + size <= fr.end:
                    off = addr - fr.start + fr.offset_in_region
                    mr._hostmem.view[off:off + size] = value.to_bytes(size, self._order)
                    for fn in mr._write_watchers:
                        fn(off, size)
                    return access.OK
            elif mr._iommu is None and not attrs.memory:
                xlat = addr - fr.start + fr.offset_in_region
                ops = mr.ops
                if size <= ops.access_size_max and (ops.impl_unaligned
                                                    or not xlat & (size - 1)):
                    if self._order != HOST_ORDER:
                        value = access.bswap(value, size)
                    return as_result(dispatch_write_raw(mr, xlat, value, size, attrs,
                                                        HOST_ENDIAN, self.big_endian))
        return self.write(addr, value.to_bytes(size, self._order), attrs)

    def _log_not_ram(self, addr: int, length: int, mr) -> None:
        log = access.guest_errors
        if log.isEnabledFor(20):
            log.info("Invalid access to non-RAM device at addr 0x%X, size %u, region '%s'",
                     addr, length, mr.name)

    # ------------------------------------------------------------ listeners

    def add_listener(self, new_listener) -> None:
        """Register a listener; it immediately sees region_add for every range."""
        if any(e.listener is new_listener for e in self._listeners):
            raise ValueError(f"listener {new_listener!r} is already registered on '{self.name}'")
        entry = ListenerEntry(new_listener)
        self._materialize()
        self._listeners.append(entry)
        self._listeners.sort(key=lambda e: e.key)
        listener.replay_add(self, entry)

    def remove_listener(self, old_listener) -> None:
        """Unregister a listener; it first sees region_del for every range."""
        for entry in self._listeners:
            if entry.listener is old_listener:
                listener.replay_del(self, entry)
                self._listeners.remove(entry)
                return
        raise ValueError(f"listener {old_listener!r} is not registered on '{self.name}'")

    def destroy(self) -> None:
        """address_space_destroy: listeners see every range deleted; the space
        then renders empty and its root no longer updates it."""
        if self._destroyed:
            return
        listener.detach(self)
        self._listeners.clear()
        self._root._address_spaces.discard(self)
        self._destroyed = True
        self._install(flatview.render(None))

    # ---------------------------------------------------------------- mtree

    def mtree_text(self, flat: bool = False, owner: bool = False,
                   disabled: bool = False) -> str:
        """``info mtree`` (or ``info mtree -f`` with ``flat``) for this space."""
        return mtree.mtree_info([self], flat=flat, owner=owner, disabled=disabled)
