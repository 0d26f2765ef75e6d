"""Segmentation, interrupt delivery and privilege changes.

* ``load_seg``: ``mov Sreg``/``pop Sreg`` in real, vm86 and protected mode;
* ``do_interrupt``: delivery through the real-mode IVT, the 32-bit IDT (with
  the TSS stack switch) or the long-mode IDT (16-byte gates, IST, RSP0);
* ``iret`` (real, protected, long mode), far ``jmp``/``call``/``ret``,
  ``syscall``/``sysret``, ``lgdt``-family loads are in helpers.

Not modelled: task switches (task gates, far jumps to a TSS), call gates,
vm86 monitor details, segment limit checks on data accesses (as QEMU's TCG).
"""

from __future__ import annotations

from qemu_py.system.log import LOG

from .excp import ERROR_CODE_VECTORS, X86Exception
from .state import (AC_MASK, CR0, CR0_PE, CR4, EFER, EFER_LMA, EFER_SCE, EXCP0A_TSS,
                    EXCP0B_NOSEG, EXCP0C_STACK, EXCP0D_GPF, EXCP06_ILLOP, FMASK, GDT_BASE,
                    GDT_LIMIT, HF_CPL_MASK, HFLAGS, IDT_BASE, IDT_LIMIT, IF_MASK, LDT, LSTAR,
                    CSTAR, MMU_KERNEL_IDX, MMU_USER_IDX, NT_MASK, R_CS, R_DS, R_ES, R_FS, R_GS,
                    R_SS, RF_MASK, RIP, STAR, TF_MASK, TR, VM_MASK, DESC_A_MASK, DESC_B_MASK,
                    DESC_C_MASK, DESC_CS_MASK, DESC_DPL_SHIFT, DESC_G_MASK, DESC_L_MASK,
                    DESC_P_MASK, DESC_R_MASK, DESC_S_MASK, DESC_TYPE_SHIFT, DESC_W_MASK,
                    IOPL_MASK, ID_MASK, SEG_FLAGS, SEG_SEL, seg_slot)
from .state import M64



def get_seg_base(e1: int, e2: int) -> int:
    return ((e1 >> 16) | ((e2 & 0xFF) << 16) | (e2 & 0xFF000000)) & 0xFFFF_FFFF


def get_seg_limit(e1: int, e2: int) -> int:
    limit = (e1 & 0xFFFF) | (e2 & 0x000F0000)
    if e2 & DESC_G_MASK:
        limit = (limit << 12) | 0xFFF
    return limit


def load_descriptor(cpu, selector: int, exc=EXCP0D_GPF):
    """(e1, e2, descriptor address) from the GDT/LDT, or raise EXC(selector)."""
    env = cpu.env_q
    if selector & 4:
        base, limit = env[seg_slot_ldt_base()], env[LDT + 2]
    else:
        base, limit = env[GDT_BASE], env[GDT_LIMIT]
    index = selector & ~7
    if index + 7 > limit:
        raise X86Exception(exc, selector & 0xFFFC)
    addr = base + index
    e1 = cpu.ldl_kernel(addr)
    e2 = cpu.ldl_kernel(addr + 4)
    return e1, e2, addr


def seg_slot_ldt_base() -> int:
    return LDT + 1


def load_seg_cache(cpu, seg: int, selector: int, base: int, limit: int, flags: int):
    env = cpu.env_q
    env[seg_slot(seg, 0)] = selector & 0xFFFF
    env[seg_slot(seg, 1)] = base & M64
    env[seg_slot(seg, 2)] = limit & 0xFFFF_FFFF
    env[seg_slot(seg, 3)] = flags & 0xFFFF_FFFF
    if seg == R_SS:
        cpl = (flags >> DESC_DPL_SHIFT) & 3
        env[HFLAGS] = (env[HFLAGS] & ~HF_CPL_MASK & M64) | cpl
    cpu.update_hflags()


def load_seg(cpu, seg: int, selector: int):
    """mov/pop to a segment register (not CS)."""
    env = cpu.env_q
    selector &= 0xFFFF
    if not (env[CR0] & CR0_PE) or env[cpu_eflags_slot()] & VM_MASK:
        dpl = 3 << DESC_DPL_SHIFT if env[cpu_eflags_slot()] & VM_MASK else 0
        load_seg_cache(cpu, seg, selector, selector << 4, 0xFFFF,
                       DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK | dpl)
        return
    cpl = env[HFLAGS] & HF_CPL_MASK
    if selector & 0xFFFC == 0:
        if seg == R_SS and (not cpu.code64() or cpl == 3):
            raise X86Exception(EXCP0D_GPF, 0)
        load_seg_cache(cpu, seg, selector, 0, 0, 0)
        return
    e1, e2, addr = load_descriptor(cpu, selector)
    if not e2 & DESC_S_MASK:
        raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    rpl = selector & 3
    dpl = (e2 >> DESC_DPL_SHIFT) & 3
    if seg == R_SS:
        if rpl != cpl or dpl != cpl or (e2 & DESC_CS_MASK) or not (e2 & DESC_W_MASK):
            raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    else:
        if (e2 & (DESC_CS_MASK | DESC_R_MASK)) == DESC_CS_MASK:
            raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
        if not (e2 & DESC_CS_MASK) or not (e2 & DESC_C_MASK):
            if dpl < cpl or dpl < rpl:
                raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    if not e2 & DESC_P_MASK:
        raise X86Exception(EXCP0C_STACK if seg == R_SS else EXCP0B_NOSEG, selector & 0xFFFC)
    if not e2 & DESC_A_MASK:
        e2 |= DESC_A_MASK
        cpu.stl_kernel(addr + 4, e2)
    load_seg_cache(cpu, seg, selector, get_seg_base(e1, e2), get_seg_limit(e1, e2),
                   e2 & 0x00F0FF00)


def cpu_eflags_slot() -> int:
    from .state import EFLAGS
    return EFLAGS


def load_cs_from_descriptor(cpu, selector: int, e1: int, e2: int, rpl_cpl: int):
    load_seg_cache(cpu, R_CS, (selector & 0xFFFC) | rpl_cpl, get_seg_base(e1, e2),
                   get_seg_limit(e1, e2), e2 & 0x00F0FF00)


def check_code_descriptor(cpu, selector: int, exc=EXCP0D_GPF):
    if selector & 0xFFFC == 0:
        raise X86Exception(exc, 0)
    e1, e2, addr = load_descriptor(cpu, selector, exc)
    if not (e2 & DESC_S_MASK) or not (e2 & DESC_CS_MASK):
        raise X86Exception(exc, selector & 0xFFFC)
    return e1, e2, addr


# --------------------------------------------------------------------- interrupts


def do_interrupt(cpu, vector: int, is_int: bool, error_code: int, next_eip: int | None,
                 is_hw: bool, has_error: bool | None = None):
    env = cpu.env_q
    if LOG.enabled("int"):
        LOG.write(f"{cpu.int_count:6d}: v={vector:02x} e={error_code:04x} i={int(is_int)} "
                  f"cpl={env[HFLAGS] & 3} IP={env[seg_slot(R_CS, SEG_SEL)]:04x}:"
                  f"{env[RIP]:016x} pc={env[RIP]:016x} SP={env[seg_slot(R_SS, SEG_SEL)]:04x}:"
                  f"{cpu.gpr(4):016x}" + (f" CR2={env[CR0 + 1]:016x}" if vector == 14 else "")
                  + "\n" + cpu.dump_state())
    cpu.int_count += 1
    if has_error is None:
        has_error = (not is_int and not is_hw and vector in ERROR_CODE_VECTORS)
    if not env[CR0] & CR0_PE:
        _do_interrupt_real(cpu, vector, is_int, next_eip)
    elif env[EFER] & EFER_LMA:
        _do_interrupt64(cpu, vector, is_int, error_code, next_eip, is_hw, has_error)
    else:
        _do_interrupt_prot(cpu, vector, is_int, error_code, next_eip, is_hw, has_error)


def _do_interrupt_real(cpu, vector, is_int, next_eip):
    env = cpu.env_q
    if vector * 4 + 3 > env[IDT_LIMIT]:
        raise X86Exception(EXCP0D_GPF, vector * 8 + 2)
    ptr = env[IDT_BASE] + vector * 4
    offset = cpu.lduw_kernel(ptr)
    selector = cpu.lduw_kernel(ptr + 2)
    eip = next_eip if is_int else env[RIP]
    sp = cpu.gpr(4)
    ss_base = env[seg_slot(R_SS, 1)]
    for val in (cpu.get_eflags(), env[seg_slot(R_CS, SEG_SEL)], eip):
        sp = (sp - 2) & 0xFFFF
        cpu.stw_kernel(ss_base + sp, val & 0xFFFF)
    cpu.set_gpr(4, (cpu.gpr(4) & ~0xFFFF) | sp)
    env[RIP] = offset
    load_seg_cache(cpu, R_CS, selector, selector << 4, 0xFFFF,
                   env[seg_slot(R_CS, SEG_FLAGS)])
    cpu.set_eflags_bits(0, IF_MASK | TF_MASK | AC_MASK | RF_MASK)


def _gate(cpu, vector, size):
    env = cpu.env_q
    if vector * size + size - 1 > env[IDT_LIMIT]:
        raise X86Exception(EXCP0D_GPF, vector * 8 + 2)
    ptr = env[IDT_BASE] + vector * size
    e1 = cpu.ldl_kernel(ptr)
    e2 = cpu.ldl_kernel(ptr + 4)
    e3 = cpu.ldl_kernel(ptr + 8) if size == 16 else 0
    return e1, e2, e3


def _do_interrupt_prot(cpu, vector, is_int, error_code, next_eip, is_hw, has_error):
    env = cpu.env_q
    e1, e2, _ = _gate(cpu, vector, 8)
    type_ = (e2 >> DESC_TYPE_SHIFT) & 0x1F
    if type_ == 5:
        raise X86Exception(EXCP0D_GPF, vector * 8 + 2)      # task gates: not modelled
    if type_ not in (6, 7, 14, 15):
        raise X86Exception(EXCP0D_GPF, vector * 8 + 2)
    shift = 1 if type_ & 8 else 0
    dpl = (e2 >> DESC_DPL_SHIFT) & 3
    cpl = env[HFLAGS] & HF_CPL_MASK
    if is_int and dpl < cpl:
        raise X86Exception(EXCP0D_GPF, vector * 8 + 2)
    if not e2 & DESC_P_MASK:
        raise X86Exception(EXCP0B_NOSEG, vector * 8 + 2)
    selector = e1 >> 16
    offset = (e2 & 0xFFFF0000) | (e1 & 0xFFFF)
    ce1, ce2, _ = check_code_descriptor(cpu, selector)
    cdpl = (ce2 >> DESC_DPL_SHIFT) & 3
    if cdpl > cpl:
        raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    if not ce2 & DESC_P_MASK:
        raise X86Exception(EXCP0B_NOSEG, selector & 0xFFFC)
    eflags = cpu.get_eflags()
    if not (ce2 & DESC_C_MASK) and cdpl < cpl:
        # inner privilege: stack from the TSS
        ss, esp = _tss_stack32(cpu, cdpl)
        se1, se2, _ = load_descriptor(cpu, ss, EXCP0A_TSS)
        ss_base = get_seg_base(se1, se2)
        sp_mask = 0xFFFF_FFFF if se2 & DESC_B_MASK else 0xFFFF
        new_stack = (ss, se1, se2)
        new_cpl = cdpl
    else:
        new_stack = None
        ss_base = env[seg_slot(R_SS, 1)]
        sp_mask = 0xFFFF_FFFF if env[seg_slot(R_SS, SEG_FLAGS)] & DESC_B_MASK else 0xFFFF
        esp = cpu.gpr(4)
        new_cpl = cpl
    eip = next_eip if is_int else env[RIP]
    vals = []
    if new_stack is not None:
        vals += [env[seg_slot(R_SS, SEG_SEL)], cpu.gpr(4)]
    vals += [eflags, env[seg_slot(R_CS, SEG_SEL)], eip]
    if has_error:
        vals.append(error_code)
    size = 4 if shift else 2
    mmu = MMU_USER_IDX if new_cpl == 3 else MMU_KERNEL_IDX
    sp = esp
    for v in vals:
        sp = (sp - size) & sp_mask
        cpu.st_mmu(ss_base + sp, v, size, mmu)
    if new_stack is not None:
        ss, se1, se2 = new_stack
        load_seg_cache(cpu, R_SS, (ss & 0xFFFC) | new_cpl, ss_base, get_seg_limit(se1, se2),
                       se2 & 0x00F0FF00)
    cpu.set_gpr(4, (esp & ~sp_mask) | sp if sp_mask != 0xFFFF_FFFF else sp)
    load_cs_from_descriptor(cpu, selector, ce1, ce2, new_cpl)
    env[RIP] = offset if shift else offset & 0xFFFF
    clear = TF_MASK | VM_MASK | RF_MASK | NT_MASK
    if not type_ & 1:
        clear |= IF_MASK
    cpu.set_eflags_bits(0, clear)


def _tss_stack32(cpu, dpl: int):
    env = cpu.env_q
    base = env[TR + 1]
    off = dpl * 8 + 4
    if off + 7 > env[TR + 2]:
        raise X86Exception(EXCP0A_TSS, env[TR] & 0xFFFC)
    esp = cpu.ldl_kernel(base + off)
    ss = cpu.lduw_kernel(base + off + 4)
    return ss, esp


def _do_interrupt64(cpu, vector, is_int, error_code, next_eip, is_hw, has_error):
    env = cpu.env_q
    e1, e2, e3 = _gate(cpu, vector, 16)
    type_ = (e2 >> DESC_TYPE_SHIFT) & 0x1F
    if type_ not in (14, 15):
        raise X86Exception(EXCP0D_GPF, vector * 8 + 2)
    dpl = (e2 >> DESC_DPL_SHIFT) & 3
    cpl = env[HFLAGS] & HF_CPL_MASK
    if is_int and dpl < cpl:
        raise X86Exception(EXCP0D_GPF, vector * 8 + 2)
    if not e2 & DESC_P_MASK:
        raise X86Exception(EXCP0B_NOSEG, vector * 8 + 2)
    selector = e1 >> 16
    offset = ((e3 << 32) | (e2 & 0xFFFF0000) | (e1 & 0xFFFF)) & M64
    ist = e2 & 7
    ce1, ce2, _ = check_code_descriptor(cpu, selector)
    cdpl = (ce2 >> DESC_DPL_SHIFT) & 3
    if cdpl > cpl:
        raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    if not ce2 & DESC_P_MASK:
        raise X86Exception(EXCP0B_NOSEG, selector & 0xFFFC)
    if not (ce2 & DESC_L_MASK) or ce2 & DESC_B_MASK:
        raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    old_ss = env[seg_slot(R_SS, SEG_SEL)]
    old_rsp = cpu.gpr(4)
    eflags = cpu.get_eflags()
    if (not (ce2 & DESC_C_MASK) and cdpl < cpl) or ist:
        new_cpl = cdpl if not (ce2 & DESC_C_MASK) and cdpl < cpl else cpl
        rsp = _tss_stack64(cpu, new_cpl if not ist else 0, ist)
    else:
        new_cpl = cpl
        rsp = old_rsp
    rsp &= ~0xF & M64
    eip = next_eip if is_int else env[RIP]
    vals = [old_ss, old_rsp, eflags, env[seg_slot(R_CS, SEG_SEL)], eip]
    if has_error:
        vals.append(error_code)
    mmu = MMU_USER_IDX if new_cpl == 3 else MMU_KERNEL_IDX
    for v in vals:
        rsp = (rsp - 8) & M64
        cpu.st_mmu(rsp, v, 8, mmu)
    if new_cpl != cpl:
        load_seg_cache(cpu, R_SS, new_cpl, 0, 0, (new_cpl << DESC_DPL_SHIFT) | DESC_P_MASK |
                       DESC_S_MASK | DESC_W_MASK | DESC_A_MASK)
    cpu.set_gpr(4, rsp)
    load_cs_from_descriptor(cpu, selector, ce1, ce2, new_cpl)
    env[RIP] = offset
    clear = TF_MASK | VM_MASK | RF_MASK | NT_MASK
    if not type_ & 1:
        clear |= IF_MASK
    cpu.set_eflags_bits(0, clear)


def _tss_stack64(cpu, level: int, ist: int) -> int:
    env = cpu.env_q
    off = 0x24 + (ist - 1) * 8 if ist else 4 + level * 8
    if off + 7 > env[TR + 2]:
        raise X86Exception(EXCP0A_TSS, env[TR] & 0xFFFC)
    return cpu.ldq_kernel(env[TR + 1] + off)


# ------------------------------------------------------------------------ iret


def log_pcall_ret(cs: int, eip: int, shift: int, addend: int):
    """-d pcall: a protected-mode far return or iret, in QEMU's words."""
    LOG.write(f"lret new {cs:04x}:{eip:016x} s={shift} addend=0x{addend:x}\n")


def helper_iret(cpu, shift: int, next_eip: int):
    """iret/iretd/iretq (SHIFT 0/1/2)."""
    env = cpu.env_q
    if not env[CR0] & CR0_PE or env[cpu_eflags_slot()] & VM_MASK:
        _iret_real(cpu, shift)
        return
    if env[cpu_eflags_slot()] & NT_MASK and not env[EFER] & EFER_LMA:
        raise X86Exception(EXCP0D_GPF, 0)          # task return: not modelled
    _iret_prot(cpu, shift)


def _iret_real(cpu, shift):
    env = cpu.env_q
    size = 4 if shift else 2
    sp = cpu.gpr(4) & 0xFFFF
    base = env[seg_slot(R_SS, 1)]
    eip = cpu.ld_mmu(base + sp, size, cpu.cur_mmu())
    cs = cpu.ld_mmu(base + ((sp + size) & 0xFFFF), size, cpu.cur_mmu()) & 0xFFFF
    fl = cpu.ld_mmu(base + ((sp + 2 * size) & 0xFFFF), size, cpu.cur_mmu())
    cpu.set_gpr(4, (cpu.gpr(4) & ~0xFFFF) | ((sp + 3 * size) & 0xFFFF))
    load_seg_cache(cpu, R_CS, cs, cs << 4, 0xFFFF, env[seg_slot(R_CS, SEG_FLAGS)])
    env[RIP] = eip
    mask = TF_MASK | AC_MASK | ID_MASK | IF_MASK | IOPL_MASK | NT_MASK | RF_MASK
    if not shift:
        mask &= 0xFFFF
    cpu.set_eflags(fl, mask)


def _iret_prot(cpu, shift):
    env = cpu.env_q
    size = 8 if shift == 2 else (4 if shift == 1 else 2)
    long_mode = bool(env[EFER] & EFER_LMA) and cpu.code64()
    sp_mask = M64 if long_mode else (0xFFFF_FFFF if env[seg_slot(R_SS, SEG_FLAGS)] &
                                     DESC_B_MASK else 0xFFFF)
    ss_base = 0 if long_mode else env[seg_slot(R_SS, 1)]
    sp = cpu.gpr(4)
    mmu = cpu.cur_mmu()

    def pop():
        nonlocal sp
        v = cpu.ld_mmu((ss_base + (sp & sp_mask)) & M64, size, mmu)
        sp = (sp + size) & sp_mask if sp_mask != M64 else (sp + size) & M64
        return v

    new_eip = pop()
    new_cs = pop() & 0xFFFF
    new_eflags = pop()
    if LOG.enabled("pcall"):
        log_pcall_ret(new_cs, new_eip, shift, 0)
    cpl = env[HFLAGS] & HF_CPL_MASK
    rpl = new_cs & 3
    if rpl < cpl:
        raise X86Exception(EXCP0D_GPF, new_cs & 0xFFFC)
    e1, e2, _ = check_code_descriptor(cpu, new_cs)
    dpl = (e2 >> DESC_DPL_SHIFT) & 3
    if e2 & DESC_C_MASK:
        if dpl > rpl:
            raise X86Exception(EXCP0D_GPF, new_cs & 0xFFFC)
    elif dpl != rpl:
        raise X86Exception(EXCP0D_GPF, new_cs & 0xFFFC)
    if not e2 & DESC_P_MASK:
        raise X86Exception(EXCP0B_NOSEG, new_cs & 0xFFFC)
    if shift == 2 or rpl != cpl:
        new_esp = pop()
        new_ss = pop() & 0xFFFF
        if new_ss & 0xFFFC == 0:
            if not (env[EFER] & EFER_LMA) or rpl == 3:
                raise X86Exception(EXCP0D_GPF, 0)
            ss_cache = (0, 0, 0, (rpl << DESC_DPL_SHIFT) | DESC_S_MASK | DESC_P_MASK |
                        DESC_W_MASK | DESC_A_MASK)
        else:
            if new_ss & 3 != rpl:
                raise X86Exception(EXCP0D_GPF, new_ss & 0xFFFC)
            se1, se2, _ = load_descriptor(cpu, new_ss)
            if (not se2 & DESC_S_MASK or se2 & DESC_CS_MASK or not se2 & DESC_W_MASK
                    or (se2 >> DESC_DPL_SHIFT) & 3 != rpl):
                raise X86Exception(EXCP0D_GPF, new_ss & 0xFFFC)
            if not se2 & DESC_P_MASK:
                raise X86Exception(EXCP0C_STACK, new_ss & 0xFFFC)
            ss_cache = (new_ss, get_seg_base(se1, se2), get_seg_limit(se1, se2),
                        se2 & 0x00F0FF00)
        load_cs_from_descriptor(cpu, new_cs, e1, e2, rpl)
        load_seg_cache(cpu, R_SS, *ss_cache)
        if shift == 2 or (e2 & DESC_L_MASK):
            cpu.set_gpr(4, new_esp)
        else:
            mask2 = 0xFFFF_FFFF if ss_cache[3] & DESC_B_MASK else 0xFFFF
            cpu.set_gpr(4, (cpu.gpr(4) & ~mask2 & M64) | (new_esp & mask2))
        if rpl > cpl:
            for seg in (R_ES, R_DS, R_FS, R_GS):
                _validate_seg_on_ret(cpu, seg, rpl)
    else:
        load_cs_from_descriptor(cpu, new_cs, e1, e2, rpl)
        if sp_mask == M64:
            cpu.set_gpr(4, sp)
        else:
            cpu.set_gpr(4, (cpu.gpr(4) & ~sp_mask & M64) | (sp & sp_mask))
    env[RIP] = new_eip if size != 2 else new_eip & 0xFFFF
    mask = TF_MASK | AC_MASK | ID_MASK | RF_MASK | NT_MASK
    if cpl == 0:
        mask |= IOPL_MASK
    iopl = (env[cpu_eflags_slot()] & IOPL_MASK) >> 12
    if cpl <= iopl:
        mask |= IF_MASK
    if size == 2:
        mask &= 0xFFFF
    cpu.set_eflags(new_eflags, mask)


def _validate_seg_on_ret(cpu, seg, cpl):
    env = cpu.env_q
    flags = env[seg_slot(seg, SEG_FLAGS)]
    dpl = (flags >> DESC_DPL_SHIFT) & 3
    if env[seg_slot(seg, SEG_SEL)] & 0xFFFC == 0:
        return
    if not (flags & DESC_CS_MASK and flags & DESC_C_MASK) and dpl < cpl:
        load_seg_cache(cpu, seg, 0, 0, 0, 0)


# ------------------------------------------------------------- far jmp/call/ret


def helper_ljmp(cpu, selector: int, offset: int, next_eip: int):
    env = cpu.env_q
    if not env[CR0] & CR0_PE or env[cpu_eflags_slot()] & VM_MASK:
        load_seg_cache(cpu, R_CS, selector, (selector & 0xFFFF) << 4, 0xFFFF,
                       env[seg_slot(R_CS, SEG_FLAGS)])
        env[RIP] = offset
        return
    e1, e2 = _far_target(cpu, selector)
    cpl = env[HFLAGS] & HF_CPL_MASK
    load_cs_from_descriptor(cpu, selector, e1, e2, cpl)
    env[RIP] = offset


def _far_target(cpu, selector):
    env = cpu.env_q
    e1, e2, _ = check_code_descriptor(cpu, selector)
    cpl = env[HFLAGS] & HF_CPL_MASK
    dpl = (e2 >> DESC_DPL_SHIFT) & 3
    rpl = selector & 3
    if e2 & DESC_C_MASK:
        if dpl > cpl:
            raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    elif rpl > cpl or dpl != cpl:
        raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    if not e2 & DESC_P_MASK:
        raise X86Exception(EXCP0B_NOSEG, selector & 0xFFFC)
    return e1, e2


def helper_lcall(cpu, selector: int, offset: int, shift: int, next_eip: int):
    env = cpu.env_q
    size = 2 << shift
    old_cs = env[seg_slot(R_CS, SEG_SEL)]
    if not env[CR0] & CR0_PE or env[cpu_eflags_slot()] & VM_MASK:
        cpu.push_mmu(old_cs, size)
        cpu.push_mmu(next_eip, size)
        load_seg_cache(cpu, R_CS, selector, (selector & 0xFFFF) << 4, 0xFFFF,
                       env[seg_slot(R_CS, SEG_FLAGS)])
        env[RIP] = offset
        return
    if LOG.enabled("pcall"):
        LOG.write(f"lcall {selector & 0xFFFF:04x}:{offset:016x} s={shift}\n")
    e1, e2 = _far_target(cpu, selector)
    if LOG.enabled("pcall"):
        LOG.write(f"desc={e1:08x}:{e2:08x}\n")
    cpl = env[HFLAGS] & HF_CPL_MASK
    cpu.push_mmu(old_cs, size)
    cpu.push_mmu(next_eip, size)
    load_cs_from_descriptor(cpu, selector, e1, e2, cpl)
    env[RIP] = offset


def helper_lret(cpu, shift: int, addend: int):
    env = cpu.env_q
    size = 2 << shift
    if not env[CR0] & CR0_PE or env[cpu_eflags_slot()] & VM_MASK:
        eip = cpu.pop_mmu(size)
        cs = cpu.pop_mmu(size) & 0xFFFF
        cpu.adjust_sp(addend)
        load_seg_cache(cpu, R_CS, cs, cs << 4, 0xFFFF, env[seg_slot(R_CS, SEG_FLAGS)])
        env[RIP] = eip
        return
    sp0 = cpu.gpr(4)
    eip = cpu.pop_mmu(size)
    cs = cpu.pop_mmu(size) & 0xFFFF
    if LOG.enabled("pcall"):
        log_pcall_ret(cs, eip, shift, addend)
    cpl = env[HFLAGS] & HF_CPL_MASK
    rpl = cs & 3
    try:
        if rpl < cpl:
            raise X86Exception(EXCP0D_GPF, cs & 0xFFFC)
        e1, e2, _ = check_code_descriptor(cpu, cs)
    except X86Exception:
        cpu.set_gpr(4, sp0)
        raise
    if rpl != cpl:
        cpu.adjust_sp(addend)
        esp = cpu.pop_mmu(size)
        ss = cpu.pop_mmu(size) & 0xFFFF
        load_cs_from_descriptor(cpu, cs, e1, e2, rpl)
        _load_ss_for_ret(cpu, ss, rpl)
        cpu.set_gpr(4, esp)
        cpu.adjust_sp(addend)
    else:
        load_cs_from_descriptor(cpu, cs, e1, e2, rpl)
        cpu.adjust_sp(addend)
    env[RIP] = eip


def _load_ss_for_ret(cpu, ss, rpl):
    if ss & 0xFFFC == 0:
        load_seg_cache(cpu, R_SS, ss, 0, 0, (rpl << DESC_DPL_SHIFT) | DESC_P_MASK | DESC_S_MASK
                       | DESC_W_MASK | DESC_A_MASK)
        return
    se1, se2, _ = load_descriptor(cpu, ss)
    load_seg_cache(cpu, R_SS, ss, get_seg_base(se1, se2), get_seg_limit(se1, se2),
                   se2 & 0x00F0FF00)


# ---------------------------------------------------------------- syscall/sysret


def helper_syscall(cpu, next_eip: int):
    env = cpu.env_q
    if not env[EFER] & EFER_SCE:
        raise X86Exception(EXCP06_ILLOP, 0)
    selector = (env[STAR] >> 32) & 0xFFFF
    code_flags = DESC_G_MASK | DESC_P_MASK | DESC_S_MASK | DESC_CS_MASK | DESC_R_MASK | DESC_A_MASK
    data_flags = DESC_G_MASK | DESC_B_MASK | DESC_P_MASK | DESC_S_MASK | DESC_W_MASK | DESC_A_MASK
    if env[EFER] & EFER_LMA:
        cpu.set_gpr(1, next_eip)
        cpu.set_gpr(11, cpu.get_eflags())
        code64 = cpu.code64()
        load_seg_cache(cpu, R_CS, selector & 0xFFFC, 0, 0xFFFF_FFFF, code_flags | DESC_L_MASK)
        load_seg_cache(cpu, R_SS, (selector + 8) & 0xFFFC, 0, 0xFFFF_FFFF, data_flags)
        cpu.set_eflags_bits(0, env[FMASK] | RF_MASK)
        env[RIP] = env[LSTAR] if code64 else env[CSTAR]
    else:
        cpu.set_gpr(1, next_eip & 0xFFFF_FFFF)
        load_seg_cache(cpu, R_CS, selector & 0xFFFC, 0, 0xFFFF_FFFF, code_flags | DESC_B_MASK)
        load_seg_cache(cpu, R_SS, (selector + 8) & 0xFFFC, 0, 0xFFFF_FFFF, data_flags)
        cpu.set_eflags_bits(0, IF_MASK | RF_MASK | VM_MASK)
        env[RIP] = env[STAR] & 0xFFFF_FFFF


def helper_sysret(cpu, dflag64: bool):
    env = cpu.env_q
    if not env[EFER] & EFER_SCE:
        raise X86Exception(EXCP06_ILLOP, 0)
    if not env[CR0] & CR0_PE or env[HFLAGS] & HF_CPL_MASK:
        raise X86Exception(EXCP0D_GPF, 0)
    selector = (env[STAR] >> 48) & 0xFFFF
    code_flags = (DESC_G_MASK | DESC_P_MASK | DESC_S_MASK | (3 << DESC_DPL_SHIFT) | DESC_CS_MASK
                  | DESC_R_MASK | DESC_A_MASK)
    data_flags = (DESC_G_MASK | DESC_B_MASK | DESC_P_MASK | DESC_S_MASK | (3 << DESC_DPL_SHIFT)
                  | DESC_W_MASK | DESC_A_MASK)
    if env[EFER] & EFER_LMA:
        if dflag64:
            load_seg_cache(cpu, R_CS, (selector + 16) | 3, 0, 0xFFFF_FFFF,
                           code_flags | DESC_L_MASK)
            env[RIP] = cpu.gpr(1)
        else:
            load_seg_cache(cpu, R_CS, selector | 3, 0, 0xFFFF_FFFF, code_flags | DESC_B_MASK)
            env[RIP] = cpu.gpr(1) & 0xFFFF_FFFF
        load_seg_cache(cpu, R_SS, (selector + 8) | 3, 0, 0xFFFF_FFFF, data_flags)
        cpu.set_eflags(cpu.gpr(11), TF_MASK | AC_MASK | ID_MASK | IF_MASK | IOPL_MASK |
                       NT_MASK | RF_MASK | 0xFFFF & ~0xFF00 | 0xD5 | 0x800 | 0x400)
    else:
        load_seg_cache(cpu, R_CS, selector | 3, 0, 0xFFFF_FFFF, code_flags | DESC_B_MASK)
        env[RIP] = cpu.gpr(1) & 0xFFFF_FFFF
        load_seg_cache(cpu, R_SS, (selector + 8) | 3, 0, 0xFFFF_FFFF, data_flags)
        cpu.set_eflags_bits(IF_MASK, 0)


def helper_ltr(cpu, selector: int):
    env = cpu.env_q
    selector &= 0xFFFF
    if selector & 0xFFFC == 0:
        env[TR], env[TR + 1], env[TR + 2], env[TR + 3] = 0, 0, 0, 0
        return
    if selector & 4:
        raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    e1, e2, addr = load_descriptor(cpu, selector)
    type_ = (e2 >> DESC_TYPE_SHIFT) & 0xF
    if e2 & DESC_S_MASK or type_ not in (1, 9):
        raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    if not e2 & DESC_P_MASK:
        raise X86Exception(EXCP0B_NOSEG, selector & 0xFFFC)
    base = get_seg_base(e1, e2)
    if env[EFER] & EFER_LMA:
        base |= (cpu.ldl_kernel(addr + 8) & 0xFFFF_FFFF) << 32
    cpu.stl_kernel(addr + 4, e2 | 0x200)          # busy
    env[TR], env[TR + 1], env[TR + 2], env[TR + 3] = (selector, base, get_seg_limit(e1, e2),
                                                     (e2 | 0x200) & 0x00F0FF00)


def helper_lldt(cpu, selector: int):
    env = cpu.env_q
    selector &= 0xFFFF
    if selector & 0xFFFC == 0:
        env[LDT], env[LDT + 1], env[LDT + 2], env[LDT + 3] = 0, 0, 0, 0
        return
    if selector & 4:
        raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    e1, e2, addr = load_descriptor(cpu, selector)
    if e2 & DESC_S_MASK or (e2 >> DESC_TYPE_SHIFT) & 0xF != 2:
        raise X86Exception(EXCP0D_GPF, selector & 0xFFFC)
    if not e2 & DESC_P_MASK:
        raise X86Exception(EXCP0B_NOSEG, selector & 0xFFFC)
    base = get_seg_base(e1, e2)
    if env[EFER] & EFER_LMA:
        base |= (cpu.ldl_kernel(addr + 8) & 0xFFFF_FFFF) << 32
    env[LDT], env[LDT + 1], env[LDT + 2], env[LDT + 3] = (selector, base, get_seg_limit(e1, e2),
                                                         e2 & 0x00F0FF00)


__all__ = ["do_interrupt", "load_seg", "load_seg_cache", "helper_iret", "helper_ljmp",
           "helper_lcall", "helper_lret", "helper_syscall", "helper_sysret", "helper_ltr",
           "helper_lldt", "CR4", "R_CS"]
