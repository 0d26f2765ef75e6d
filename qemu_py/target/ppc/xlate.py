"""Effective-to-real translation for a pseries (virtual hypervisor) hash MMU.

:func:`xlate` follows QEMU 7.2's ``ppc_hash64_xlate`` (spec section 3.6):

1. real mode (MSR[IR]/[DR] off for this access): ``RA = EA & 0x0FFFFFFFFFFFFFFF``,
   which under a virtual hypervisor is the guest-physical address;
2. SLB lookup; a miss is a DSeg (DAR = EA) or ISeg;
3. an instruction fetch from an SLB N=1 segment is an ISI with NOEXEC_GUARD;
4. PTEG search, primary then secondary; a miss is an ISI (NOPTE) or a DSI
   (NOPTE, plus ISSTORE for a store);
5. protection ``exec & pp & amr``; a violation is a DSI (PROTFAULT / ISSTORE /
   AMR) or an ISI (NOEXEC_GUARD or PROTFAULT, plus IAMR).  With LPCR[VPM1]
   set and a non-HV access, HDSI/HISI are raised instead;
6. R/C update: set R if clear; on a store set C if clear, otherwise drop WRITE
   from ``prot`` while C is clear.  This happens even when
   ``guest_visible=False`` (QEMU 7.2 does it for gdb reads too); pass
   ``update_rc=False`` to get the behaviour of the unmerged 2025 RFC instead;
7. ``RA = (pte1 & RPN)`` with its low ``page_shift`` bits taken from the EA.

With ``guest_visible=False`` a failure is still described by the returned
:class:`MmuFault` (QEMU just returns false; the description costs nothing and
helps tests).

Not modelled, because a pseries guest never reaches them: non-vhyp real mode
(HRMOR, VRMA, RMLS/RMOR), in-memory segment tables, radix, and the ISA 3.0
HPTE format conversion (only a powernv CPU without a vhyp converts).  There is
no TLB: every call searches the HPT, so a TLB flush has nothing to drop.
"""

from __future__ import annotations

from dataclasses import dataclass

from .faults import (
    DSISR_AMR,
    DSISR_ISSTORE,
    DSISR_NOPTE,
    DSISR_PROTFAULT,
    SRR1_IAMR,
    SRR1_NOEXEC_GUARD,
    SRR1_NOPTE,
    SRR1_PROTFAULT,
    Interrupt,
    MmuFault,
)
from .hash_lookup import htab_lookup
from .hpt_backend import HptBackend
from .hpte import HPTE64_R_C, HPTE64_R_R, HPTE64_R_RPN
from .mmu_models import DEFAULT_MMU, HashMmuModel
from .mmu_state import (
    LPCR_ISL,
    LPCR_VPM1,
    PAGE_EXEC,
    PAGE_RWX,
    PAGE_WRITE,
    AccessType,
    MmuState,
)
from .protection import amr_prot, exec_prot, pp_prot
from .slb import SLB_VSID_N, Slb

REAL_MODE_MASK = 0x0FFFFFFFFFFFFFFF
TARGET_PAGE_BITS = 12


@dataclass(frozen=True)
class Translation:
    """A successful translation.  ``ptex`` is None in real mode."""

    raddr: int
    prot: int
    page_shift: int
    ptex: int | None = None


def _vpm(state: MmuState) -> bool:
    return bool(state.lpcr & LPCR_VPM1) and not state.hv


def _dsi(state: MmuState, ea: int, dsisr: int) -> MmuFault:
    irq = Interrupt.HDSI if _vpm(state) else Interrupt.DSI
    return MmuFault(irq, ea, dar=ea, dsisr=dsisr)


def _isi(state: MmuState, ea: int, srr1: int) -> MmuFault:
    irq = Interrupt.HISI if _vpm(state) else Interrupt.ISI
    return MmuFault(irq, ea, srr1=srr1)


def deposit(value: int, bits: int, source: int) -> int:
    """``value`` with its low ``bits`` bits replaced by those of ``source``."""
    mask = (1 << bits) - 1
    return (value & ~mask) | (source & mask)


def xlate(
    ea: int,
    access: AccessType,
    state: MmuState,
    slb: Slb,
    backend: HptBackend,
    *,
    model: HashMmuModel | None = None,
    guest_visible: bool = True,
    update_rc: bool = True,
) -> Translation | MmuFault:
    """Translate ``ea`` for ``access``; see the module docstring for each step."""
    model = model or slb.model or DEFAULT_MMU
    access = AccessType(access)

    if not state.relocation(access):
        return Translation(ea & REAL_MODE_MASK, PAGE_RWX, TARGET_PAGE_BITS)

    entry = slb.lookup(ea)
    if entry is None:
        if access == AccessType.INST_FETCH:
            return MmuFault(Interrupt.ISEG, ea)
        return MmuFault(Interrupt.DSEG, ea, dar=ea)

    if access == AccessType.INST_FETCH and entry.vsid & SLB_VSID_N:
        return _isi(state, ea, SRR1_NOEXEC_GUARD)

    sps = entry.sps
    if state.lpcr & LPCR_ISL:
        sps = model.sps[0]
    found = htab_lookup(backend, entry.vsid, sps, ea)
    if found is None:
        if access == AccessType.INST_FETCH:
            return _isi(state, ea, SRR1_NOPTE)
        if access == AccessType.DATA_STORE:
            return _dsi(state, ea, DSISR_NOPTE | DSISR_ISSTORE)
        return _dsi(state, ea, DSISR_NOPTE)

    pte1 = found.pte1
    e_prot = exec_prot(pte1)
    p_prot = pp_prot(entry.vsid, state.problem_state, pte1)
    a_prot = amr_prot(model, state, pte1)
    prot = e_prot & p_prot & a_prot
    need = access.need_prot
    if need & ~prot:
        if access == AccessType.INST_FETCH:
            srr1 = 0
            if PAGE_EXEC & ~e_prot:
                srr1 |= SRR1_NOEXEC_GUARD
            elif PAGE_EXEC & ~p_prot:
                srr1 |= SRR1_PROTFAULT
            if PAGE_EXEC & ~a_prot:
                srr1 |= SRR1_IAMR
            return _isi(state, ea, srr1)
        dsisr = 0
        if need & ~p_prot:
            dsisr |= DSISR_PROTFAULT
        if access == AccessType.DATA_STORE:
            dsisr |= DSISR_ISSTORE
        if need & ~a_prot:
            dsisr |= DSISR_AMR
        return _dsi(state, ea, dsisr)

    current = pte1
    if not current & HPTE64_R_R and update_rc:
        backend.set_r(found.ptex, found.pte0, current)
        current |= HPTE64_R_R
    if not current & HPTE64_R_C:
        if access != AccessType.DATA_STORE:
            prot &= ~PAGE_WRITE
        elif update_rc:
            backend.set_c(found.ptex, found.pte0, current)

    raddr = deposit(pte1 & HPTE64_R_RPN, found.page_shift, ea)
    return Translation(raddr, prot, found.page_shift, found.ptex)
