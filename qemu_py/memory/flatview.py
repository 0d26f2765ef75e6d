"""FlatView rendering (spec §1.4).

``render(root)`` walks the tree like QEMU's render_memory_region: disabled
regions are skipped, each level clips to its own range, aliases render their
target shifted by ``-alias_offset``, subregions go first in priority order,
and a terminating region only fills the gaps left by what was rendered
before it ("first rendered wins").  The result is simplified by merging
neighbours that continue the same region with the same flags.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from operator import attrgetter

SPACE_END = 1 << 64
MAX_ALIAS_DEPTH = 64


class FlatRange:
    """``[start, start + size)`` of the address space maps ``mr`` at
    ``offset_in_region``, with the flags inherited along the render path.

    Treat as immutable: FlatViews share them.  ``key`` is what
    flatrange_equal compares (range, region, offset and flags).
    """

    __slots__ = ("start", "size", "end", "mr", "offset_in_region", "readonly",
                 "romd_mode", "nonvolatile", "key")

    def __init__(self, start: int, size: int, mr, offset_in_region: int,
                 readonly: bool, romd_mode: bool, nonvolatile: bool) -> None:
        self.start = start
        self.size = size
        self.end = start + size
        self.mr = mr
        self.offset_in_region = offset_in_region
        self.readonly = readonly
        self.romd_mode = romd_mode
        self.nonvolatile = nonvolatile
        self.key = (start, size, mr, offset_in_region, readonly, romd_mode, nonvolatile)

    def __eq__(self, other) -> bool:
        """flatrange_equal: same range, region, offset and flags."""
        if not isinstance(other, FlatRange):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash((self.start, self.size, id(self.mr), self.offset_in_region))

    def __repr__(self) -> str:
        flags = "".join(name for flag, name in ((self.readonly, " ro"),
                        (not self.romd_mode, " !romd"), (self.nonvolatile, " nv")) if flag)
        return (f"FlatRange({self.start:#x}-{self.end - 1:#x} {self.mr.name!r}"
                f" @{self.offset_in_region:#x}{flags})")


class FlatView:
    """A sorted list of disjoint FlatRanges plus their starts, for bisect."""

    __slots__ = ("ranges", "starts")

    def __init__(self, ranges: list[FlatRange]) -> None:
        self.ranges = ranges
        self.starts = [fr.start for fr in ranges]

    def lookup(self, addr: int):
        """The FlatRange containing ``addr``, or None for a hole."""
        i = bisect_right(self.starts, addr) - 1
        if i >= 0:
            fr = self.ranges[i]
            if addr < fr.end:
                return fr
        return None

    def first_intersecting(self, start: int, end: int):
        """Index of the first range intersecting ``[start, end)``, or None."""
        i = bisect_right(self.starts, start) - 1
        if i < 0 or self.ranges[i].end <= start:
            i += 1
        if i < len(self.ranges) and self.ranges[i].start < end:
            return i
        return None


class _Renderer:
    """Accumulates the unsimplified view as parallel sorted lists."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.info: list[tuple] = []  # (mr, offset_in_region, readonly, nonvolatile)
        self.alias_depth = 0

    def render(self, mr, base: int, clip_start: int, clip_end: int,
               readonly: bool, nonvolatile: bool) -> None:
        if not mr._enabled:
            return
        base += mr._addr
        readonly = readonly or mr._readonly
        nonvolatile = nonvolatile or mr._nonvolatile
        start = base if base > clip_start else clip_start
        end = base + mr._size
        if end > clip_end:
            end = clip_end
        if start >= end:
            return
        target = mr._alias
        if target is not None:
            # An alias may reach its own container again; QEMU only stops
            # when the clip becomes empty.  Bound the nesting instead of
            # overflowing the stack on a true loop.
            if self.alias_depth >= MAX_ALIAS_DEPTH:
                raise ValueError(f"alias '{mr.name}' nests more than {MAX_ALIAS_DEPTH} "
                                 "aliases deep: an alias loop?")
            self.alias_depth += 1
            try:
                self.render(target, base - target._addr - mr._alias_offset,
                            start, end, readonly, nonvolatile)
            finally:
                self.alias_depth -= 1
            return
        for sub in mr._subregions:
            self.render(sub, base, start, end, readonly, nonvolatile)
        if mr._terminates:
            self.fill_gaps(mr, base, start, end, readonly, nonvolatile)

    def fill_gaps(self, mr, base: int, start: int, end: int,
                  readonly: bool, nonvolatile: bool) -> None:
        starts, ends, info = self.starts, self.ends, self.info
        i = bisect_right(ends, start)  # first range ending after start
        n = len(starts)
        while start < end:
            if i == n or starts[i] >= end:
                piece_end = end
            elif start < starts[i]:
                piece_end = starts[i]
            else:  # start lies inside range i: skip over it
                start = ends[i]
                i += 1
                continue
            starts.insert(i, start)
            ends.insert(i, piece_end)
            info.insert(i, (mr, start - base, readonly, nonvolatile))
            i += 1
            n += 1
            start = piece_end

    def simplified(self) -> list[FlatRange]:
        """Merge neighbours that continue the same region with equal flags."""
        merged: list[list] = []
        last = None
        for start, end, (mr, offset, readonly, nonvolatile) in zip(
                self.starts, self.ends, self.info):
            if (last is not None and last[1] == start and last[2] is mr
                    and last[3] + (last[1] - last[0]) == offset
                    and last[4] == readonly and last[5] == nonvolatile):
                last[1] = end  # romd_mode is the region's: equal for equal mr
                continue
            last = [start, end, mr, offset, readonly, nonvolatile]
            merged.append(last)
        return [FlatRange(start, end - start, mr, offset, readonly, mr._romd_mode, nonvolatile)
                for start, end, mr, offset, readonly, nonvolatile in merged]


def render(root, start: int = 0, end: int = SPACE_END) -> FlatView:
    """Render the tree under ``root`` (base 0, clip [start, end)) into a FlatView."""
    renderer = _Renderer()
    if root is not None:
        renderer.render(root, 0, start, end, False, False)
    return FlatView(renderer.simplified())


_start_of = attrgetter("start")


def _cut(fr: FlatRange, start: int, end: int) -> FlatRange:
    return FlatRange(start, end - start, fr.mr, fr.offset_in_region + start - fr.start,
                     fr.readonly, fr.romd_mode, fr.nonvolatile)


def _splice(ranges: list, start: int, end: int, pieces: list) -> list:
    """``ranges`` with [start, end) replaced by ``pieces`` (cutting straddlers)."""
    j = bisect_left(ranges, start, key=_start_of)  # ranges[:j] start before start
    k = bisect_left(ranges, end, key=_start_of)  # ranges[:k] start before end
    left = ranges[:j]
    tail = []
    if left and left[-1].end > start:
        straddler = left[-1]
        left[-1] = _cut(straddler, straddler.start, start)
        if straddler.end > end:
            tail.append(_cut(straddler, end, straddler.end))
    if k > j and ranges[k - 1].end > end:
        tail.append(_cut(ranges[k - 1], end, ranges[k - 1].end))
    return left + pieces + tail + ranges[k:]


def _merge(ranges: list) -> list:
    """Simplify a list whose pieces may continue one another at splice points."""
    out: list = []
    last = None
    for fr in ranges:
        if (last is not None and last.end == fr.start and last.mr is fr.mr
                and last.offset_in_region + last.size == fr.offset_in_region
                and last.readonly == fr.readonly and last.romd_mode == fr.romd_mode
                and last.nonvolatile == fr.nonvolatile):
            last = FlatRange(last.start, last.size + fr.size, last.mr, last.offset_in_region,
                             last.readonly, last.romd_mode, last.nonvolatile)
            out[-1] = last
        else:
            out.append(fr)
            last = fr
    return out


def coalesce(windows) -> list:
    """Sorted, disjoint, non-adjacent windows clipped to [0, 2^64)."""
    out: list = []
    for start, end in sorted(windows):
        start, end = max(start, 0), min(end, SPACE_END)
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def update(view: FlatView, root, windows) -> FlatView:
    """Re-render only ``windows`` of ``view`` (everything a change can touch).

    Equal to ``render(root)`` as long as the tree differs from the one
    ``view`` was rendered from only inside the windows.
    """
    if root is None:
        return FlatView([])
    ranges = view.ranges
    windows = coalesce(windows)
    if not windows:
        return view
    for start, end in windows:
        renderer = _Renderer()
        renderer.render(root, 0, start, end, False, False)
        ranges = _splice(ranges, start, end, renderer.simplified())
    return FlatView(_merge(ranges))
