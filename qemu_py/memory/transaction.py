"""Batching of topology changes (spec §1.3 "Transactions").

Every topology change runs inside a transaction; nested transactions only
count depth.  When the outermost one commits, the AddressSpaces touched by
the changes are brought up to date: those with listeners get a new FlatView
and their listeners are told (``listener.update_topology``); those without
simply drop their FlatView and render it again on next use.

The depth counter and the pending set are process-wide, as in QEMU, but they
are always back to empty when no transaction is open.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from . import listener

_depth = 0
# AddressSpace -> windows [(start, end)] that may have changed, or None for
# "anything may have changed" (an empty list still notifies listeners).
_pending: dict = {}


def depth() -> int:
    """How many transactions are open."""
    return _depth


def begin() -> None:
    global _depth
    _depth += 1


def commit() -> None:
    global _depth
    if _depth <= 0:
        raise RuntimeError("memory transaction commit without begin")
    _depth -= 1
    if _depth == 0 and _pending:
        pending = sorted(_pending.items(), key=lambda item: item[0]._seq)
        _pending.clear()
        listener.update_topology(pending)


def mark_pending(spaces, before, after) -> None:
    """Note a change to ``spaces``; ``before``/``after`` map spaces to windows
    (``region.changed_windows``), None meaning everywhere."""
    for space in spaces:
        if space in _pending and _pending[space] is None:
            continue
        if before is None or after is None:
            _pending[space] = None
            continue
        windows = _pending.setdefault(space, [])
        windows.extend(before.get(space, ()))
        windows.extend(after.get(space, ()))


@contextmanager
def memory_transaction() -> Iterator[None]:
    """Batch topology changes; listeners hear of them at the outermost exit."""
    begin()
    try:
        yield
    finally:
        commit()
