"""Page protection: the key/PP table, no-execute/guard, and AMR/IAMR keys.

``prot = exec_prot & pp_prot & amr_prot`` (spec section 3.6 step 5).  The PP
table is declared as data: for each key value, the PP0||PP codes that grant
access; codes not listed grant nothing (QEMU's "undefined combinations give no
access").
"""

from __future__ import annotations

from .hpte import HPTE64_R_G, HPTE64_R_N, pp_bits, storage_key
from .mmu_models import HashMmuModel
from .mmu_state import PAGE_EXEC, PAGE_READ, PAGE_RWX, PAGE_WRITE, MmuState
from .slb import SLB_VSID_KP, SLB_VSID_KS

PAGE_RX = PAGE_READ | PAGE_EXEC

#: key -> {PP0||PP: prot}
PP_TABLE: dict[int, dict[int, int]] = {
    0: {0: PAGE_RWX, 1: PAGE_RWX, 2: PAGE_RWX, 3: PAGE_RX, 6: PAGE_RX},
    1: {1: PAGE_RX, 2: PAGE_RWX, 3: PAGE_RX},
}


def slb_key(slb_vsid: int, problem_state: bool) -> int:
    """Kp in problem state, Ks otherwise, as 0 or 1."""
    return int(bool(slb_vsid & (SLB_VSID_KP if problem_state else SLB_VSID_KS)))


def pp_prot(slb_vsid: int, problem_state: bool, pte1: int) -> int:
    return PP_TABLE[slb_key(slb_vsid, problem_state)].get(pp_bits(pte1), 0)


def exec_prot(pte1: int) -> int:
    """No execute from a page with N or G set; read and write are untouched."""
    return PAGE_READ | PAGE_WRITE if pte1 & (HPTE64_R_N | HPTE64_R_G) else PAGE_RWX


def amr_prot(model: HashMmuModel, state: MmuState, pte1: int) -> int:
    """Virtual page class key protection (POWER7+), IAMR on MMU 2.07/3.00."""
    prot = PAGE_RWX
    if not model.has_amr:
        return prot
    key = storage_key(pte1)
    shift = 2 * (31 - key)
    amrbits = (state.amr >> shift) & 0x3
    if amrbits & 0x2:
        prot &= ~PAGE_WRITE
    if amrbits & 0x1:
        prot &= ~PAGE_READ
    if model.has_iamr and (state.iamr >> shift) & 0x1:
        prot &= ~PAGE_EXEC
    return prot
