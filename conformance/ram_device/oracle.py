"""The oracle: what QEMU 7.2 does with an access to an assigned RTL8168's BARs.

Written from the specification (specs/memory.md), not from qemu-py's code:

* the BAR layout (§4.1-4.3): ``bar.mr`` (reservation) > ``region.mem``
  (vfio_region_ops: valid 1..8, impl 1..8, ``impl.unaligned`` false) with
  one ram_device per sparse-mmap area at priority 0 and the RTL8168 quirks
  (4 bytes at 0x70 data, 0x74 address; valid 4..4, aligned) at priority 1;
  on the MSI-X BAR the emulated ``msix-table`` (valid 4..8, impl.max 4)
  covers the table, and the mmap area loses the table's host page (§4.2);
* the access loop (§3.4): per piece, translate (RAM clamped to its dispatch
  section, §1.6/§1.7; MMIO not clamped), then ``memory_access_size``: at
  most ``valid.max`` (4 when 0), pieces aligned unless ``impl.unaligned``,
  power-of-two floor; a piece smaller than ``valid.min`` or unaligned
  against ``valid.unaligned`` fails validation and reaches nobody;
* the ram_device ops (§3.2): one host access of exactly the piece's size at
  exactly its offset;
* the quirk behaviour (§4.3, QEMU's RTL8168 window).

``pieces(layout, offset, length)`` returns the pieces of one
``address_space_rw``; ``hardware_accesses(pieces, op, ...)`` what the host
device sees for them, as ``(path, op, region, offset, size)``.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE = 4096


@dataclass(frozen=True)
class Segment:
    start: int           # offset in the BAR
    end: int
    kind: str            # ramd | io | quirk-data | quirk-addr | msix-table
    region_offset: int   # offset of ``start`` inside the target region
    hw_offset: int = 0   # for ramd: the mmap area's offset in the VFIO region


# (valid_min, valid_max, valid_unaligned, impl_unaligned) per kind (§2.1, §3.2, §4)
OPS = {
    "ramd": (1, 8, True, True),
    "io": (1, 8, False, False),
    "quirk-data": (4, 4, False, False),
    "quirk-addr": (4, 4, False, False),
    "msix-table": (4, 8, False, False),
}


def bar_layout(size: int, areas, quirks: bool, msix_table: tuple[int, int] | None = None):
    """The BAR's flat layout as a sorted list of Segments (first rendered wins)."""
    owner = [None] * size            # per byte: (kind, region_offset, hw_offset)
    # rendering order: msix-table (added last to bar.mr, so above region.mem),
    # then region.mem's children by priority: quirks (1) over mmaps (0),
    # then region.mem's own I/O fills the holes.
    if msix_table is not None:
        start, length = msix_table
        for b in range(start, start + length):
            owner[b] = ("msix-table", b - start, 0)
    if quirks:
        for base, kind in ((0x70, "quirk-data"), (0x74, "quirk-addr")):
            for b in range(base, base + 4):
                if owner[b] is None:
                    owner[b] = (kind, b - base, 0)
    for i, (off, length) in enumerate(areas):
        for b in range(off, off + length):
            if owner[b] is None:
                owner[b] = ("ramd", b - off, off)
    for b in range(size):
        if owner[b] is None:
            owner[b] = ("io", b, 0)
    segs: list[Segment] = []
    b = 0
    while b < size:
        kind, roff, hw = owner[b]
        e = b + 1
        while e < size and owner[e][0] == kind and owner[e][2] == hw and \
                owner[e][1] == roff + (e - b):
            e += 1
        segs.append(Segment(b, e, kind, roff, hw))
        b = e
    return segs


def msix_fixup(size: int, table_offset: int, entries: int):
    """§4.1: the single whole-BAR mmap area minus the table's host pages."""
    start = table_offset & ~(PAGE - 1)
    end = (table_offset + 16 * entries + PAGE - 1) & ~(PAGE - 1)
    if not start:
        return [] if end >= size else [(end, size - end)]
    if end >= size:
        return [(0, start)]
    return [(0, start), (end, size - end)]


def _section_end(base: int, seg: Segment, addr: int) -> int:
    """§1.6: a RAM range is registered as a leading partial page, whole pages
    and a trailing partial page; direct/RAM accesses are clamped to one."""
    start, end = base + seg.start, base + seg.end
    head_end = min((start + PAGE - 1) & ~(PAGE - 1), end)
    if addr < head_end:
        return head_end
    whole_end = head_end + ((end - head_end) & ~(PAGE - 1))
    return whole_end if addr < whole_end else end


def _pow2floor(n: int) -> int:
    return 1 << (n.bit_length() - 1)


def pieces(layout, offset: int, length: int, base: int = 0, bar_size: int | None = None):
    """The pieces of one address_space_rw starting at BAR offset OFFSET.

    Each piece: (segment or None for "outside the BAR", region offset, size, valid).
    """
    bar_size = bar_size if bar_size is not None else layout[-1].end
    out = []
    off = offset
    while length > 0:
        if off >= bar_size:
            out.append((None, off, length, False))      # the next region: not ours
            break
        seg = next(s for s in layout if s.start <= off < s.end)
        l = length
        if seg.kind == "ramd":
            l = min(l, _section_end(base, seg, base + off) - (base + off))
        vmin, vmax, v_unaligned, i_unaligned = OPS[seg.kind]
        roff = seg.region_offset + (off - seg.start)
        limit = vmax or 4
        if not i_unaligned:
            align = roff & -roff
            if align and align < limit:
                limit = align
        l = _pow2floor(min(l, limit))
        valid = vmin <= l <= vmax and (v_unaligned or not roff & (l - 1))
        out.append((seg, roff, l, valid))
        off += l
        length -= l
    return out


RTL_WINDOW_FLAG = 0x80000000


def hardware_accesses(plist, op: str, region: int, write_values=None, msix: bool = True):
    """What the host device sees: [(path, op, region, offset, size)].

    WRITE_VALUES gives, per piece, the value written (needed for the address
    quirk, whose do-write to the MSI-X table never reaches the hardware).
    """
    out = []
    for i, (seg, roff, size, valid) in enumerate(plist):
        if seg is None or not valid:
            continue
        if seg.kind == "ramd":
            out.append(("mmap", op, region, seg.hw_offset + roff, size))
        elif seg.kind == "io":
            out.append(("rw", op, region, roff, size))
        elif seg.kind == "quirk-data":
            out.append(("rw", op, region, 0x70, 4))
        elif seg.kind == "quirk-addr":
            value = write_values[i] if write_values is not None else 0
            if op == "write" and msix and (value & 0x7fff0000) == 0x10000 \
                    and value & RTL_WINDOW_FLAG:
                continue
            out.append(("rw", op, region, 0x74, 4))
    return out
