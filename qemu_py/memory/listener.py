"""MemoryListener notifications (spec §1.5).

A listener is any object with optional ``begin()``, ``commit()``,
``region_add(section)``, ``region_del(section)``, ``region_nop(section)``
and a ``priority`` attribute (default 0).  On a topology commit: ``begin``
for every listener involved (ascending priority), then per AddressSpace a
deletion pass (``region_del``, listeners in reverse order) and an addition
pass (``region_nop`` for unchanged ranges, ``region_add`` for new ones,
forward order), then ``commit``.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

from . import flatview

_listener_seq = itertools.count()


class MemoryRegionSection(NamedTuple):
    """A contiguous piece of one region as seen in one AddressSpace."""

    mr: Any
    offset_within_region: int
    size: int
    offset_within_address_space: int
    readonly: bool
    nonvolatile: bool
    address_space: Any = None

    @property
    def end(self) -> int:
        """First address after the section, in the address space."""
        return self.offset_within_address_space + self.size


def section_of(fr: flatview.FlatRange, space) -> MemoryRegionSection:
    return MemoryRegionSection(fr.mr, fr.offset_in_region, fr.size, fr.start,
                               fr.readonly, fr.nonvolatile, space)


class ListenerEntry:
    """A registered listener with its ordering key (priority, registration)."""

    __slots__ = ("listener", "key")

    def __init__(self, listener) -> None:
        self.listener = listener
        self.key = (getattr(listener, "priority", 0), next(_listener_seq))


def _call(entries, method: str, *args) -> None:
    for entry in entries:
        fn = getattr(entry.listener, method, None)
        if fn is not None:
            fn(*args)


def _notify(space, entries, method: str, fr) -> None:
    section = None
    for entry in entries:
        fn = getattr(entry.listener, method, None)
        if fn is not None:
            if section is None:
                section = section_of(fr, space)
            fn(section)


def _methods(entries, method: str) -> list:
    return [fn for fn in (getattr(e.listener, method, None) for e in entries) if fn is not None]


def _topology_pass(space, old: list, new: list, adding: bool) -> None:
    """address_space_update_topology_pass: a sorted merge of old vs new.

    Deletion pass (``adding`` false): region_del, listeners in reverse order,
    for ranges of the old view that are gone or changed.  Addition pass:
    region_nop for unchanged ranges, region_add for new ones, forward order.
    """
    if adding:
        on_old, on_same = [], _methods(space._listeners, "region_nop")
        on_new = _methods(space._listeners, "region_add")
    else:
        on_old, on_same, on_new = _methods(space._listeners[::-1], "region_del"), [], []
    if not (on_old or on_same or on_new):
        return
    n_old, n_new = len(old), len(new)
    i = j = 0
    while i < n_old or j < n_new:
        fo = old[i] if i < n_old else None
        fn = new[j] if j < n_new else None
        if fo is not None and (fn is None or fo.start < fn.start
                               or (fo.start == fn.start and fo is not fn and fo.key != fn.key)):
            calls, fr = on_old, fo
            i += 1
        elif fo is not None and (fo is fn or fo.key == fn.key):
            calls, fr = on_same, fn
            i += 1
            j += 1
        else:
            calls, fr = on_new, fn
            j += 1
        if calls:
            section = section_of(fr, space)
            for call in calls:
                call(section)


def _new_view(space, old, windows):
    root = space._root_for_render()
    if windows is None:
        return flatview.render(root)
    return flatview.update(old, root, windows)


def update_topology(pending) -> None:
    """Bring the spaces of ``pending`` ((space, windows) in creation order) up
    to date after the outermost commit, telling their listeners."""
    listening = []
    for space, windows in pending:
        if space._listeners:
            listening.append((space, windows))
        elif space._view is not None:  # else it renders lazily when next used
            space._install(_new_view(space, space._view, windows))
    if not listening:
        return
    entries = sorted({id(e.listener): e for s, _ in listening for e in s._listeners}.values(),
                     key=lambda e: e.key)
    _call(entries, "begin")
    for k, (space, windows) in enumerate(listening):
        old = space._materialize()
        new = _new_view(space, old, windows)
        try:
            _topology_pass(space, old.ranges, new.ranges, False)
            _topology_pass(space, old.ranges, new.ranges, True)
        except BaseException:
            space._install(new)
            for later, later_windows in listening[k + 1:]:
                later._install(_new_view(later, later._materialize(), later_windows))
            raise
        space._install(new)
    _call(entries, "commit")


def replay_add(space, entry: ListenerEntry) -> None:
    """memory_listener_register's replay: begin, region_add for all, commit."""
    view = space._materialize()
    _call((entry,), "begin")
    for fr in view.ranges:
        _notify(space, (entry,), "region_add", fr)
    _call((entry,), "commit")


def replay_del(space, entry: ListenerEntry) -> None:
    """memory_listener_unregister's replay: begin, region_del for all, commit."""
    view = space._materialize()
    _call((entry,), "begin")
    for fr in view.ranges:
        _notify(space, (entry,), "region_del", fr)
    _call((entry,), "commit")


def detach(space) -> None:
    """address_space_destroy: every range is deleted for the listeners."""
    entries = space._listeners
    if not entries:
        return
    old = space._materialize()
    _call(entries, "begin")
    _topology_pass(space, old.ranges, [], False)
    _call(entries, "commit")
