"""Hash functions and the PTEG search (spec section 3.5).

For a segment with base page shift ``p`` (forced to 12 by LPCR[ISL]):

* 256M: ``hash = vsid ^ (epn >> p)``
* 1T:   ``hash = vsid ^ (vsid << 25) ^ (epn >> p)``

The primary PTEG is ``hash & hpt_mask``, the secondary ``~hash & hpt_mask``.
The search key ``ptem`` holds B, VSID, the AVPN bits of the EPN and V (plus H
for the secondary search); a slot matches when QEMU's compare mask
``0xFFFFFFFFFFFFFF83`` finds no difference *and* the HPTE's page size decodes
in the segment.  Slots are tried 0..7 and the first match wins.  Each PTEG is
fetched with one ``read_hptes(ptex, 8)`` on the backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from .hpt_backend import HptBackend
from .hpte import HPTE64_V_AVPN, HPTE64_V_SECONDARY, HPTE64_V_VALID, HPTES_PER_GROUP, hpte_compare
from .mmu_models import SegmentPageSizes, hpte_page_shift
from .slb import (
    SEGMENT_MASK_1T,
    SEGMENT_MASK_256M,
    SLB_VSID_B,
    SLB_VSID_PTEM,
    SLB_VSID_SHIFT,
    SLB_VSID_SHIFT_1T,
    SLB_VSID_VSID,
)

MASK64 = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True)
class HashKey:
    """What a lookup needs: the primary hash and the (primary) compare value."""

    hash: int
    ptem: int


@dataclass(frozen=True)
class HptMatch:
    """A found HPTE: its index, words and actual page shift."""

    ptex: int
    pte0: int
    pte1: int
    page_shift: int


def hash_key(slb_vsid: int, ea: int, page_shift: int) -> HashKey:
    """Primary hash and ``ptem`` for ``ea`` in a segment with base page shift ``page_shift``."""
    epnmask = ~((1 << page_shift) - 1) & MASK64
    if slb_vsid & SLB_VSID_B:
        vsid = (slb_vsid & SLB_VSID_VSID) >> SLB_VSID_SHIFT_1T
        epn = (ea & ~SEGMENT_MASK_1T & MASK64) & epnmask
        h = vsid ^ (vsid << 25) ^ (epn >> page_shift)
    else:
        vsid = (slb_vsid & SLB_VSID_VSID) >> SLB_VSID_SHIFT
        epn = (ea & ~SEGMENT_MASK_256M & MASK64) & epnmask
        h = vsid ^ (epn >> page_shift)
    ptem = (slb_vsid & SLB_VSID_PTEM) | ((epn >> 16) & HPTE64_V_AVPN) | HPTE64_V_VALID
    return HashKey(h & MASK64, ptem)


def pteg_index(h: int, hpt_mask: int) -> int:
    """First HPTE index of the PTEG selected by hash value ``h``."""
    return (h & hpt_mask) * HPTES_PER_GROUP


def pteg_search(backend: HptBackend, h: int, sps: SegmentPageSizes, ptem: int) -> HptMatch | None:
    """Search one PTEG for ``ptem``; entries whose page size does not decode are skipped."""
    ptex = pteg_index(h, backend.hpt_mask)
    for slot, (pte0, pte1) in enumerate(backend.read_hptes(ptex, HPTES_PER_GROUP)):
        if hpte_compare(pte0, ptem):
            shift = hpte_page_shift(sps, pte0, pte1)
            if shift:
                return HptMatch(ptex + slot, pte0, pte1, shift)
    return None


def htab_lookup(
    backend: HptBackend, slb_vsid: int, sps: SegmentPageSizes, ea: int
) -> HptMatch | None:
    """Primary then secondary PTEG search for ``ea`` (QEMU's ``ppc_hash64_htab_lookup``)."""
    key = hash_key(slb_vsid, ea, sps.page_shift)
    found = pteg_search(backend, key.hash, sps, key.ptem)
    if found is None:
        found = pteg_search(backend, ~key.hash & MASK64, sps, key.ptem | HPTE64_V_SECONDARY)
    return found
