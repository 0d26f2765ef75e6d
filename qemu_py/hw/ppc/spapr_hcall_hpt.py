"""The PAPR HPT hypercalls as QEMU 7.2 implements them (``hw/ppc/spapr_softmmu.c``).

H_ENTER, H_REMOVE, H_READ, H_PROTECT and H_BULK_REMOVE, written against the
:class:`~qemu_py.target.ppc.hpt_backend.HptBackend` interface so they behave
the same on ``MemoryHPT`` and ``KvmSimHPT``.  Each handler takes the
register file from r4 on as a mutable list (``args``) and returns the status
for r3; outputs overwrite ``args`` in place, as QEMU's handlers write
``args[0..]`` (= r4..).  On failure the registers are left as they were,
except where QEMU itself writes them first (H_BULK_REMOVE responses).

Behaviour claimed: QEMU 7.2's, where spec section 4 lists QEMU and KVM
differences:

* every stored pte0 carries QEMU's 0x40 "dirty" bit, and H_READ returns it;
* WIMG must be exactly M for RAM and I or I|M otherwise (KVM fixes up instead);
* H_ENTER does not force V: the guest supplies it;
* invalidation stores pte0 = 0x40, pte1 = 0 (H_PROTECT: the old pte0 without V);
* H_BULK_REMOVE returns R/C shifted left by 43 (into the PTEX field), QEMU's
  value; ``bulk_rc_shift=BULK_RC_SHIFT_KERNEL`` (51, the RC field) gives the
  kernel's.

H_CLEAR_MOD and H_CLEAR_REF are not registered by QEMU (KVM only), so they
answer H_FUNCTION.  There is no TLB in this model; ``flush_hpte`` (if given) is
called with ``(ptex, pte0, pte1)`` wherever QEMU calls
``ppc_hash64_tlb_flush_hpte``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qemu_py.target.ppc.hpt_backend import HptBackend
from qemu_py.target.ppc.hpte import (
    HPTE64_R_C,
    HPTE64_R_I,
    HPTE64_R_KEY_HI,
    HPTE64_R_KEY_LO,
    HPTE64_R_M,
    HPTE64_R_N,
    HPTE64_R_PP,
    HPTE64_R_PP0,
    HPTE64_R_R,
    HPTE64_R_RPN,
    HPTE64_R_W,
    HPTE64_R_WIMG,
    HPTE64_V_HPTE_DIRTY,
    HPTE64_V_VALID,
    HPTES_PER_GROUP,
)
from qemu_py.target.ppc.mmu_models import DEFAULT_MMU, HashMmuModel, hpte_page_shift_noslb

from .hcall_codes import (
    H_ANDCOND,
    H_AVPN,
    H_BULK_REMOVE_ANDCOND,
    H_BULK_REMOVE_AVPN,
    H_BULK_REMOVE_END,
    H_BULK_REMOVE_FLAGS,
    H_BULK_REMOVE_MAX_BATCH,
    H_BULK_REMOVE_PARM,
    H_BULK_REMOVE_PTEX,
    H_BULK_REMOVE_REQUEST,
    H_BULK_REMOVE_RESPONSE,
    H_BULK_REMOVE_TYPE,
    H_EXACT,
    H_HARDWARE,
    H_NOT_FOUND,
    H_PARAMETER,
    H_PTEG_FULL,
    H_READ_4,
    H_SUCCESS,
    MASK64,
)

BULK_RC_SHIFT_QEMU = 43
BULK_RC_SHIFT_KERNEL = 51

REMOVE_SUCCESS = 0
REMOVE_NOT_FOUND = 1
REMOVE_PARM = 2
REMOVE_HW = 3


@dataclass
class HptHcallContext:
    """What the handlers need from the machine."""

    backend: HptBackend
    is_ram: Callable[[int], bool]
    model: HashMmuModel = DEFAULT_MMU
    flush_hpte: Callable[[int, int, int], None] | None = None
    bulk_rc_shift: int = BULK_RC_SHIFT_QEMU

    def valid_ptex(self, ptex: int) -> bool:
        """QEMU's ``valid_ptex``: the PTEG number must lie within ``hpt_mask``."""
        return ((ptex & ~7) // HPTES_PER_GROUP) & ~self.backend.hpt_mask == 0

    def read1(self, ptex: int) -> tuple[int, int]:
        return self.backend.read_hptes(ptex, 1)[0]

    def flush(self, ptex: int, pte0: int, pte1: int) -> None:
        if self.flush_hpte is not None:
            self.flush_hpte(ptex, pte0, pte1)


def h_enter(ctx: HptHcallContext, args: list[int]) -> int:
    """H_ENTER(flags, ptex, pteh, ptel) -> r4 = ptex used."""
    flags, ptex, pteh, ptel = args[0], args[1], args[2], args[3]
    apshift = hpte_page_shift_noslb(ctx.model, pteh, ptel)
    if not apshift:
        return H_PARAMETER
    raddr = (ptel & HPTE64_R_RPN) & ~((1 << apshift) - 1)
    if ctx.is_ram(raddr):
        if ptel & HPTE64_R_WIMG != HPTE64_R_M:
            return H_PARAMETER
    else:
        wimg = ptel & (HPTE64_R_W | HPTE64_R_I | HPTE64_R_M)
        if wimg not in (HPTE64_R_I, HPTE64_R_I | HPTE64_R_M):
            return H_PARAMETER
    pteh &= ~0x60
    if not ctx.valid_ptex(ptex):
        return H_PARAMETER
    slot = ptex & 7
    ptex &= ~7
    if not flags & H_EXACT:
        group = ctx.backend.read_hptes(ptex, HPTES_PER_GROUP)
        free = [i for i, (pte0, _pte1) in enumerate(group) if not pte0 & HPTE64_V_VALID]
        if not free:
            return H_PTEG_FULL
        slot = free[0]
    elif ctx.read1(ptex + slot)[0] & HPTE64_V_VALID:
        return H_PTEG_FULL
    ctx.backend.write_hpte(ptex + slot, pteh | HPTE64_V_HPTE_DIRTY, ptel)
    args[0] = ptex + slot
    return H_SUCCESS


def remove_hpte(ctx: HptHcallContext, ptex: int, avpn: int, flags: int) -> tuple[int, int, int]:
    """QEMU's ``remove_hpte``: ``(REMOVE_* code, old pte0, old pte1)``."""
    if not ctx.valid_ptex(ptex):
        return REMOVE_PARM, 0, 0
    v, r = ctx.read1(ptex)
    if (
        not v & HPTE64_V_VALID
        or (flags & H_AVPN and (v & ~0x7F) != avpn)
        or (flags & H_ANDCOND and v & avpn)
    ):
        return REMOVE_NOT_FOUND, 0, 0
    ctx.backend.write_hpte(ptex, HPTE64_V_HPTE_DIRTY, 0)
    ctx.flush(ptex, v, r)
    return REMOVE_SUCCESS, v, r


def h_remove(ctx: HptHcallContext, args: list[int]) -> int:
    """H_REMOVE(flags, ptex, avpn) -> r4, r5 = old pte0, pte1."""
    flags, ptex, avpn = args[0], args[1], args[2]
    code, v, r = remove_hpte(ctx, ptex, avpn, flags)
    if code == REMOVE_SUCCESS:
        args[0], args[1] = v, r
        return H_SUCCESS
    if code == REMOVE_NOT_FOUND:
        return H_NOT_FOUND
    if code == REMOVE_PARM:
        return H_PARAMETER
    return H_HARDWARE


def h_read(ctx: HptHcallContext, args: list[int]) -> int:
    """H_READ(flags, ptex) -> r4, r5 (r4..r11 with H_READ_4, ptex rounded down to 4)."""
    flags, ptex = args[0], args[1]
    if not ctx.valid_ptex(ptex):
        return H_PARAMETER
    n = 1
    if flags & H_READ_4:
        ptex &= ~3
        n = 4
    for i, (pte0, pte1) in enumerate(ctx.backend.read_hptes(ptex, n)):
        args[2 * i] = pte0
        args[2 * i + 1] = pte1
    return H_SUCCESS


def h_protect(ctx: HptHcallContext, args: list[int]) -> int:
    """H_PROTECT(flags, ptex, avpn): replace PP0, PP, N and the key bits of pte1."""
    flags, ptex, avpn = args[0], args[1], args[2]
    if not ctx.valid_ptex(ptex):
        return H_PARAMETER
    v, r = ctx.read1(ptex)
    if not v & HPTE64_V_VALID or (flags & H_AVPN and (v & ~0x7F) != avpn):
        return H_NOT_FOUND
    r &= ~(HPTE64_R_PP0 | HPTE64_R_PP | HPTE64_R_N | HPTE64_R_KEY_HI | HPTE64_R_KEY_LO) & MASK64
    r |= (flags << 55) & HPTE64_R_PP0
    r |= (flags << 48) & HPTE64_R_KEY_HI
    r |= flags & (HPTE64_R_PP | HPTE64_R_N | HPTE64_R_KEY_LO)
    ctx.backend.write_hpte(ptex, (v & ~HPTE64_V_VALID) | HPTE64_V_HPTE_DIRTY, 0)
    ctx.flush(ptex, v, r)
    ctx.backend.write_hpte(ptex, v | HPTE64_V_HPTE_DIRTY, r)
    return H_SUCCESS


def h_bulk_remove(ctx: HptHcallContext, args: list[int]) -> int:
    """H_BULK_REMOVE: up to four (tsh, tsl) pairs in r4..r11; responses replace tsh."""
    rc = H_SUCCESS
    for i in range(H_BULK_REMOVE_MAX_BATCH):
        tsh = args[2 * i]
        tsl = args[2 * i + 1]
        kind = tsh & H_BULK_REMOVE_TYPE
        if kind == H_BULK_REMOVE_END:
            break
        if kind != H_BULK_REMOVE_REQUEST:
            return H_PARAMETER
        tsh &= H_BULK_REMOVE_PTEX | H_BULK_REMOVE_FLAGS
        tsh |= H_BULK_REMOVE_RESPONSE
        if tsh & H_BULK_REMOVE_ANDCOND and tsh & H_BULK_REMOVE_AVPN:
            args[2 * i] = tsh | H_BULK_REMOVE_PARM
            return H_PARAMETER
        code, _v, r = remove_hpte(
            ctx, tsh & H_BULK_REMOVE_PTEX, tsl, (tsh & H_BULK_REMOVE_FLAGS) >> 26
        )
        tsh |= code << 60
        if code == REMOVE_SUCCESS:
            tsh |= ((r & (HPTE64_R_C | HPTE64_R_R)) << ctx.bulk_rc_shift) & MASK64
        args[2 * i] = tsh
        if code == REMOVE_PARM:
            rc = H_PARAMETER
            break
        if code == REMOVE_HW:
            rc = H_HARDWARE
            break
    return rc
