"""Hash MMU models: segment/page size tables (MPSS) and per-model features.

The tables are QEMU 7.2's ``ppc_hash64_opts_POWER7`` (also used for POWER8, 9
and 10) and ``ppc_hash64_opts_basic`` (970), spec section 3.4.  A segment's
base page size is chosen by the SLB ``L|LP`` bits (``slb_enc``); within the
segment an HPTE with L=1 selects an actual page size by the LP bits in the low
RPN bits of pte1 (``pte_enc << 12``).

``hpte_page_shift`` and ``hpte_page_shift_noslb`` are the two decoders QEMU
uses: the first during a PTEG search (with the segment's table), the second for
H_ENTER, which has no SLB and tries every segment size in table order.
"""

from __future__ import annotations

from dataclasses import dataclass

from .hpte import HPTE64_R_RPN, HPTE64_R_RPN_SHIFT, HPTE64_V_LARGE

SLB_VSID_L = 0x100
SLB_VSID_LP = 0x30
SLB_VSID_LLP_MASK = SLB_VSID_L | SLB_VSID_LP
SLB_VSID_4K = 0x000
SLB_VSID_64K = 0x110
SLB_VSID_16M = 0x100
SLB_VSID_16G = 0x120


@dataclass(frozen=True)
class PageSize:
    """An actual page size allowed in a segment and its HPTE LP encoding."""

    page_shift: int
    pte_enc: int


@dataclass(frozen=True)
class SegmentPageSizes:
    """A segment base page size, its SLB ``L|LP`` encoding, and allowed pages."""

    page_shift: int
    slb_enc: int
    enc: tuple[PageSize, ...]


@dataclass(frozen=True)
class HashMmuModel:
    """What differs between hash MMU generations, as QEMU's hash64 opts do.

    ``mmu_version`` is "2.01" (970), "2.06" (POWER7), "2.07" (POWER8) or
    "3.00" (POWER9/10; a pseries guest still uses the old HPT format).
    """

    name: str
    mmu_version: str
    slb_size: int
    sps: tuple[SegmentPageSizes, ...]
    has_1tseg: bool
    has_amr: bool

    @property
    def has_iamr(self) -> bool:
        """IAMR exists on MMU 2.07 and 3.00 (spec section 3.6 step 5)."""
        return self.mmu_version in ("2.07", "3.00")

    def segment_for_slb(self, vsid_word: int) -> SegmentPageSizes | None:
        """The segment page-size entry selected by an SLB VSID word's L|LP."""
        llp = vsid_word & SLB_VSID_LLP_MASK
        for sps in self.sps:
            if sps.slb_enc == llp:
                return sps
        return None


_POWER7_SPS = (
    SegmentPageSizes(12, SLB_VSID_4K, (PageSize(12, 0x0), PageSize(16, 0x7), PageSize(24, 0x38))),
    SegmentPageSizes(16, SLB_VSID_64K, (PageSize(16, 0x1), PageSize(24, 0x8))),
    SegmentPageSizes(24, SLB_VSID_16M, (PageSize(24, 0x0),)),
    SegmentPageSizes(34, SLB_VSID_16G, (PageSize(34, 0x3),)),
)
_BASIC_SPS = (
    SegmentPageSizes(12, SLB_VSID_4K, (PageSize(12, 0x0),)),
    SegmentPageSizes(24, SLB_VSID_16M, (PageSize(24, 0x0),)),
)

MMU_970 = HashMmuModel("970", "2.01", 64, _BASIC_SPS, has_1tseg=False, has_amr=False)
MMU_POWER7 = HashMmuModel("POWER7", "2.06", 32, _POWER7_SPS, has_1tseg=True, has_amr=True)
MMU_POWER8 = HashMmuModel("POWER8", "2.07", 32, _POWER7_SPS, has_1tseg=True, has_amr=True)
MMU_POWER9 = HashMmuModel("POWER9", "3.00", 32, _POWER7_SPS, has_1tseg=True, has_amr=True)

#: QEMU 7.2's pseries default CPU is a POWER9.
DEFAULT_MMU = MMU_POWER9


def hpte_page_shift(sps: SegmentPageSizes, pte0: int, pte1: int) -> int:
    """Actual page shift of an HPTE within a segment, or 0 if it does not decode.

    L=0 is a 4K page, valid only in a 4K-base segment.  L=1 tries each
    non-4K page size of the segment: it matches when the pte1 bits inside the
    page (and inside the RPN field) equal ``pte_enc << 12``.
    """
    if not pte0 & HPTE64_V_LARGE:
        return 12 if sps.page_shift == 12 else 0
    for ps in sps.enc:
        if ps.page_shift == 12:
            continue
        mask = ((1 << ps.page_shift) - 1) & HPTE64_R_RPN
        if pte1 & mask == ps.pte_enc << HPTE64_R_RPN_SHIFT:
            return ps.page_shift
    return 0


def hpte_page_shift_noslb(model: HashMmuModel, pte0: int, pte1: int) -> int:
    """Page shift of an HPTE without an SLB (H_ENTER): first segment that decodes it."""
    if not pte0 & HPTE64_V_LARGE:
        return 12
    for sps in model.sps:
        shift = hpte_page_shift(sps, pte0, pte1)
        if shift:
            return shift
    return 0
