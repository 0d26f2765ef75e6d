"""x86 page walk: no paging, 32-bit (with PSE), PAE and 4-level long mode.

``tlb_fill(cpu, vaddr, access, mmu_idx)`` returns ``(physical page, prot,
large)`` or raises #PF (error code P/W/U/RSVD/I and CR2 = the faulting
address) or #GP(0) for a non-canonical address in long mode. It sets the
accessed bit of every level and the dirty bit of the leaf on a write, and
grants write permission to the TLB only when the leaf is already dirty, so
the first write to a clean page comes back here to set D.

Checks modelled: present, U/S (user accesses to supervisor pages),
R/W (user writes, and supervisor writes when CR0.WP), NX (when EFER.NXE),
reserved NX bit when NXE is clear. Not modelled: SMEP/SMAP, PKU, 5-level
paging, MTRR/PAT memory types.
"""

from __future__ import annotations

from qemu_py.system.log import LOG

from .excp import X86Exception
from .state import (CR0, CR0_PG, CR0_WP, CR3, CR4, CR4_PAE, CR4_PSE, EFER, EFER_LMA, EFER_NXE,
                    EXCP0D_GPF, EXCP0E_PAGE, MMU_USER_IDX, RIP)
from .state import M64

PG_P = 1
PG_RW = 2
PG_US = 4
PG_A = 0x20
PG_D = 0x40
PG_PS = 0x80
PG_NX = 1 << 63
PROT_R, PROT_W, PROT_X = 1, 2, 4
ADDR_MASK = 0x000F_FFFF_FFFF_F000


def tlb_fill(cpu, vaddr: int, access: int, mmu_idx: int):
    """The TLB fill of VADDR: (physical page, protection, large), or #PF/#GP;
    with ``-d mmu`` each fill is logged in QEMU's ``tlb_set_page_full`` form and
    each fault as ``tlb_fill: fault ...`` (a qemu-py line: QEMU logs none there)."""
    if not LOG.enabled("mmu"):
        return _walk(cpu, vaddr, access, mmu_idx)
    try:
        out = _walk(cpu, vaddr, access, mmu_idx)
    except X86Exception as e:
        LOG.write(f"tlb_fill: fault addr={vaddr:016x} w={access} mmu={mmu_idx} "
                  f"excp={e.vector:02x} error={e.error_code:04x} "
                  f"eip={cpu.env_q[RIP]:016x}\n")
        raise
    # QEMU's line for a TLB entry installed (cputlb's tlb_set_page_full, page addresses)
    LOG.write(f"tlb_set_page_full: vaddr={vaddr & ~0xFFF & M64:016x} paddr=0x{out[0] & ~0xFFF:016x} "
              f"prot={out[1]:x} idx={mmu_idx}\n")
    return out


def _walk(cpu, vaddr: int, access: int, mmu_idx: int):
    env = cpu.env_q
    cr0 = env[CR0]
    if not cr0 & CR0_PG:
        return vaddr & 0xFFFF_F000, PROT_R | PROT_W | PROT_X, False
    cr4 = env[CR4]
    efer = env[EFER]
    is_write = access == 1
    is_exec = access == 2
    is_user = mmu_idx == MMU_USER_IDX
    nxe = bool(efer & EFER_NXE)
    phys = cpu.phys_ldq
    phys_st = cpu.phys_stq

    def fault(present: bool, rsvd: bool = False):
        err = (PG_P if present else 0) | (2 if is_write else 0) | (4 if is_user else 0)
        if rsvd:
            err |= 8
        if is_exec and nxe:
            err |= 0x10
        raise X86Exception(EXCP0E_PAGE, err, cr2=vaddr)

    if efer & EFER_LMA:
        if ((vaddr >> 47) + 1) & 0x1FFFF > 1:          # not sign-extended from bit 47
            e = X86Exception(EXCP0D_GPF, 0)
            e.noncanonical = vaddr                     # #SS(0) for a stack access (cpu.py)
            raise e
        levels = ((39, env[CR3] & ADDR_MASK), 30, 21, 12)
        table = env[CR3] & ADDR_MASK
        rw_all = us_all = True
        nx_any = False
        entries = []
        for lvl, shift in enumerate((39, 30, 21, 12)):
            ea = table + ((vaddr >> shift) & 0x1FF) * 8
            pte = phys(ea)
            if not pte & PG_P:
                fault(False)
            if pte & PG_NX and not nxe:
                fault(True, rsvd=True)
            entries.append((ea, pte))
            rw_all &= bool(pte & PG_RW)
            us_all &= bool(pte & PG_US)
            nx_any |= bool(pte & PG_NX)
            if shift in (30, 21) and pte & PG_PS:
                page_mask = (1 << shift) - 1
                base = (pte & ADDR_MASK & ~page_mask) | (vaddr & page_mask & ~0xFFF)
                return _finish(cpu, entries, base, rw_all, us_all, nx_any, is_write, is_exec,
                               is_user, cr0, fault, phys_st, True)
            table = pte & ADDR_MASK
        del levels
        return _finish(cpu, entries, entries[-1][1] & ADDR_MASK, rw_all, us_all, nx_any,
                       is_write, is_exec, is_user, cr0, fault, phys_st, False)
    if cr4 & CR4_PAE:
        pdpte_addr = (env[CR3] & 0xFFFF_FFE0) + ((vaddr >> 30) & 3) * 8
        pdpte = phys(pdpte_addr)
        if not pdpte & PG_P:
            fault(False)
        entries = []
        table = pdpte & ADDR_MASK
        rw_all = us_all = True
        nx_any = False
        for shift in (21, 12):
            ea = table + ((vaddr >> shift) & 0x1FF) * 8
            pte = phys(ea)
            if not pte & PG_P:
                fault(False)
            if pte & PG_NX and not nxe:
                fault(True, rsvd=True)
            entries.append((ea, pte))
            rw_all &= bool(pte & PG_RW)
            us_all &= bool(pte & PG_US)
            nx_any |= bool(pte & PG_NX)
            if shift == 21 and pte & PG_PS:
                base = (pte & ADDR_MASK & ~0x1FFFFF) | (vaddr & 0x1FF000)
                return _finish(cpu, entries, base, rw_all, us_all, nx_any, is_write, is_exec,
                               is_user, cr0, fault, phys_st, True)
            table = pte & ADDR_MASK
        return _finish(cpu, entries, entries[-1][1] & ADDR_MASK, rw_all, us_all, nx_any,
                       is_write, is_exec, is_user, cr0, fault, phys_st, False)
    # legacy 32-bit paging
    vaddr &= 0xFFFF_FFFF
    pde_addr = (env[CR3] & 0xFFFF_F000) + ((vaddr >> 22) & 0x3FF) * 4
    pde = cpu.phys_ldl(pde_addr)
    if not pde & PG_P:
        fault(False)
    if pde & PG_PS and cr4 & CR4_PSE:
        base = ((pde & 0xFFC0_0000) | ((pde & 0x1FE000) << 19)) | (vaddr & 0x3FF000)
        return _finish(cpu, [(pde_addr, pde)], base, bool(pde & PG_RW), bool(pde & PG_US),
                       False, is_write, is_exec, is_user, cr0, fault, cpu.phys_stl, True)
    pte_addr = (pde & 0xFFFF_F000) + ((vaddr >> 12) & 0x3FF) * 4
    pte = cpu.phys_ldl(pte_addr)
    if not pte & PG_P:
        fault(False)
    return _finish(cpu, [(pde_addr, pde), (pte_addr, pte)], pte & 0xFFFF_F000,
                   bool(pde & pte & PG_RW), bool(pde & pte & PG_US), False, is_write, is_exec,
                   is_user, cr0, fault, cpu.phys_stl, False)


def _finish(cpu, entries, base, rw, us, nx, is_write, is_exec, is_user, cr0, fault, store,
            large):
    if is_user and not us:
        fault(True)
    if is_write and not rw and (is_user or cr0 & CR0_WP):
        fault(True)
    if is_exec and nx:
        fault(True)
    # accessed bits on every level, dirty on the leaf for writes
    last = len(entries) - 1
    for i, (ea, pte) in enumerate(entries):
        new = pte | PG_A
        if i == last and is_write:
            new |= PG_D
        if new != pte:
            store(ea, new)
    dirty = bool(entries[last][1] & PG_D) or is_write
    prot = PROT_R
    if (rw or (not is_user and not cr0 & CR0_WP)) and dirty:
        prot |= PROT_W
    if not nx:
        prot |= PROT_X
    return base & M64, prot, large
