"""Segment lookaside buffer: entry layouts, ``slbmte`` validation, lookup.

An SLB entry is the pair written by ``slbmte RS, RB``: the ESID word (RB
without its low 12 slot bits) and the VSID word (RS), spec section 3.3.  The
entry also remembers its segment page-size table (QEMU's ``slb->sps``), chosen
from ``L|LP`` when the entry is stored; entries with an unknown encoding are
refused at store time, so a stored valid entry always has one.

Under KVM QEMU refreshes its SLB copy from ``KVM_GET_SREGS`` on
``cpu_synchronize_state``; :meth:`Slb.load_kvm_sregs` does the same with the
``(slbe, slbv)`` pairs, storing only entries with V set.
"""

from __future__ import annotations

from dataclasses import dataclass

from .bitfield import BitLayout, Field, ibm_mask
from .mmu_models import DEFAULT_MMU, HashMmuModel, SegmentPageSizes

SLB_ESID = BitLayout(
    "slb_esid",
    [
        Field("ESID", ibm_mask(0, 35), "effective segment id (256M units)"),
        Field("V", ibm_mask(36), "valid"),
        Field("RSVD", ibm_mask(37, 51), "reserved in slbmte RB"),
        Field("SLOT", ibm_mask(52, 63), "slbmte RB: SLB slot number"),
    ],
)

SLB_VSID = BitLayout(
    "slb_vsid",
    [
        Field("B", ibm_mask(0, 1), "segment size: 00 = 256M, 01 = 1T"),
        Field("VSID", ibm_mask(2, 51), "virtual segment id (<<12 for 256M, <<24 for 1T)"),
        Field("Ks", ibm_mask(52), "supervisor key"),
        Field("Kp", ibm_mask(53), "problem-state key"),
        Field("N", ibm_mask(54), "no-execute segment"),
        Field("L", ibm_mask(55), "large base page"),
        Field("C", ibm_mask(56), "class"),
        Field("LP", ibm_mask(58, 59), "base page size selector"),
    ],
)

SLB_ESID_ESID = SLB_ESID["ESID"].mask  # 0xFFFFFFFFF0000000
SLB_ESID_V = SLB_ESID["V"].mask  # 0x0000000008000000
SLB_VSID_B = SLB_VSID["B"].mask  # 0xC000000000000000
SLB_VSID_B_256M = 0x0000000000000000
SLB_VSID_B_1T = 0x4000000000000000
SLB_VSID_VSID = SLB_VSID["VSID"].mask  # 0x3FFFFFFFFFFFF000
SLB_VSID_PTEM = SLB_VSID_B | SLB_VSID_VSID
SLB_VSID_KS = SLB_VSID["Ks"].mask  # 0x800
SLB_VSID_KP = SLB_VSID["Kp"].mask  # 0x400
SLB_VSID_N = SLB_VSID["N"].mask  # 0x200
SLB_VSID_SHIFT = 12
SLB_VSID_SHIFT_1T = 24

SEGMENT_SHIFT_256M = 28
SEGMENT_SHIFT_1T = 40
SEGMENT_MASK_256M = ~((1 << SEGMENT_SHIFT_256M) - 1) & 0xFFFFFFFFFFFFFFFF
SEGMENT_MASK_1T = ~((1 << SEGMENT_SHIFT_1T) - 1) & 0xFFFFFFFFFFFFFFFF


class SlbStoreError(ValueError):
    """``slbmte`` refused an entry; the CPU turns this into a program interrupt."""


@dataclass(frozen=True)
class SlbEntry:
    """One SLB slot: ESID word (with V), VSID word and its page-size table."""

    esid: int
    vsid: int
    sps: SegmentPageSizes | None

    @property
    def valid(self) -> bool:
        return bool(self.esid & SLB_ESID_V)

    @property
    def is_1t(self) -> bool:
        return (self.vsid & SLB_VSID_B) == SLB_VSID_B_1T

    def matches(self, ea: int) -> bool:
        """QEMU's ``slb_lookup`` test for one entry."""
        seg_b = self.vsid & SLB_VSID_B
        if seg_b == SLB_VSID_B_256M and self.esid == (ea & SEGMENT_MASK_256M) | SLB_ESID_V:
            return True
        return seg_b == SLB_VSID_B_1T and self.esid == (ea & SEGMENT_MASK_1T) | SLB_ESID_V


_EMPTY = SlbEntry(0, 0, None)


class Slb:
    """The SLB of one CPU, sized and validated by a :class:`HashMmuModel`."""

    def __init__(self, model: HashMmuModel = DEFAULT_MMU):
        self.model = model
        self.entries: list[SlbEntry] = [_EMPTY] * model.slb_size

    def store(self, slot: int, esid: int, vsid: int) -> SlbEntry:
        """QEMU's ``ppc_store_slb``: validate and store one entry."""
        if not 0 <= slot < self.model.slb_size:
            raise SlbStoreError(
                f"slbmte: slot {slot} out of range (SLB has {self.model.slb_size} entries)"
            )
        if esid & ~(SLB_ESID_ESID | SLB_ESID_V):
            raise SlbStoreError(f"slbmte: reserved bits set in ESID word {esid:#x}")
        if vsid & (SLB_VSID_B & ~SLB_VSID_B_1T):
            raise SlbStoreError(f"slbmte: reserved segment size B=1x in VSID word {vsid:#x}")
        if vsid & SLB_VSID_B and not self.model.has_1tseg:
            raise SlbStoreError(
                f"slbmte: 1T segment in VSID word {vsid:#x} on the {self.model.name} MMU"
            )
        sps = self.model.segment_for_slb(vsid)
        if sps is None:
            raise SlbStoreError(f"slbmte: unknown L|LP page size encoding in VSID word {vsid:#x}")
        entry = SlbEntry(esid, vsid, sps)
        self.entries[slot] = entry
        return entry

    def slbmte(self, rs: int, rb: int) -> SlbEntry:
        """``slbmte RS, RB``: slot from RB's low 12 bits, ESID word from the rest."""
        return self.store(rb & 0xFFF, rb & ~0xFFF & 0xFFFFFFFFFFFFFFFF, rs)

    def load_kvm_sregs(self, pairs: list[tuple[int, int]]) -> None:
        """Refresh from ``KVM_GET_SREGS`` ``(slbe, slbv)`` pairs; invalid ones are skipped."""
        self.entries = [_EMPTY] * self.model.slb_size
        for slbe, slbv in pairs:
            if slbe & SLB_ESID_V:
                self.slbmte(slbv, slbe)

    def invalidate_all(self) -> None:
        self.entries = [_EMPTY] * self.model.slb_size

    def lookup(self, ea: int) -> SlbEntry | None:
        """The first entry mapping ``ea`` (256M or 1T segment), or None."""
        for entry in self.entries:
            if entry.esid and entry.matches(ea):
                return entry
        return None
