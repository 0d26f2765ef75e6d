"""IOMMU translation entries and notifiers (spec §1.7).

An IOMMU region's ``translate(addr, is_write, attrs)`` returns an
``IOMMUTLBEntry``; the AddressSpace loop checks its permission, forms
``(translated_addr & ~addr_mask) | (addr & addr_mask)`` and continues the
lookup in ``target_as``.  Notifiers let a vIOMMU tell listeners (VFIO, vhost)
about map/unmap events.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable


class IOMMUAccessFlag(enum.IntFlag):
    """Permissions of a translation: bit 0 read, bit 1 write."""

    NONE = 0
    RO = 1
    WO = 2
    RW = 3


class IOMMUNotifierFlag(enum.IntFlag):
    """Which events a notifier wants: UNMAP (perm NONE) and/or MAP."""

    NONE = 0
    UNMAP = 1
    MAP = 2
    MAP_UNMAP = 3


@dataclass(frozen=True)
class IOMMUTLBEntry:
    """One translation: ``[iova, iova + addr_mask]`` -> ``translated_addr``."""

    target_as: Any
    iova: int
    translated_addr: int
    addr_mask: int
    perm: IOMMUAccessFlag


@dataclass(frozen=True)
class IOMMUNotifier:
    """A registered notifier: ``notify(entry)`` for events in ``[start, end]``."""

    notify: Callable[[IOMMUTLBEntry], None]
    flags: IOMMUNotifierFlag
    start: int
    end: int

    def wants(self, entry: IOMMUTLBEntry) -> bool:
        if self.start > entry.iova + entry.addr_mask or self.end < entry.iova:
            return False
        event = IOMMUNotifierFlag.MAP if entry.perm else IOMMUNotifierFlag.UNMAP
        return bool(event & self.flags)
