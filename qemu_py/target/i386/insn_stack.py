"""Stack: PUSH POP (register, memory, immediate, segment), PUSHF POPF,
ENTER LEAVE, PUSHA POPA."""

from __future__ import annotations

from iced_x86 import OpKind

from qemu_py.tcg.ir import I32, I64, Helper

from .insn_arith import mem_ea
from .state import AC_MASK, EXCP0D_GPF, ID_MASK, IF_MASK, IOPL_MASK, NT_MASK, RF_MASK, \
    TF_MASK, VM_MASK, seg_slot
from .translate import DISAS_EOB_NEXT, HELPER_PROBE_WRITE, REG_INFO, SEG_REG, insn, code_name
from .state import M64



def _push_ot(s, insn) -> int:
    """Operand size of a push/pop from its memory size or form name."""
    name = code_name(insn.code)
    if name.startswith(("PUSHQ", "POPQ")) or name.endswith(("R64", "RM64")):
        return 3
    if name.startswith(("PUSHD", "POPD")) or name.endswith(("R32", "RM32", "IMM32")):
        return 2
    if name.startswith(("PUSHW", "POPW")) or name.endswith(("R16", "RM16", "IMM16")):
        return 1
    return s.stack_ot


@insn("PUSH_R16", "PUSH_R32", "PUSH_R64", "PUSH_RM16", "PUSH_RM32", "PUSH_RM64",
      "PUSH_IMM16", "PUSHD_IMM32", "PUSHQ_IMM32", "PUSHW_IMM8", "PUSHD_IMM8", "PUSHQ_IMM8")
def gen_PUSH(s, insn):
    ot = _push_ot(s, insn)
    v = s.ld_op(insn, 0, ot, mem_ea(s, insn))
    s.gen_push(v, ot)


@insn("POP_R16", "POP_R32", "POP_R64", "POP_RM16", "POP_RM32", "POP_RM64")
def gen_POP(s, insn):
    ot = _push_ot(s, insn)
    v, new_sp = s.gen_pop_value(ot)
    if insn.op_kind(0) == OpKind.MEMORY:
        # an rsp-based address uses the incremented rsp (as hardware does)
        ea = s.ea(insn)
        base = insn.memory_base
        if base in REG_INFO and REG_INFO[base][0] == 4:
            ea2 = s.tmp()
            s.c.gen_add_i64(ea2, ea, 1 << ot)
            ea = ea2
        s.st(ea, ot, v)
        s.commit_sp(new_sp)
    else:
        s.commit_sp(new_sp)
        s.st_op(insn, 0, ot, v)


def _seg_push_ot(s, name):
    return 3 if name.startswith("PUSHQ") else (2 if name.startswith("PUSHD") else 1)


@insn("PUSHW_ES", "PUSHD_ES", "PUSHW_CS", "PUSHD_CS", "PUSHW_SS", "PUSHD_SS", "PUSHW_DS",
      "PUSHD_DS", "PUSHW_FS", "PUSHD_FS", "PUSHQ_FS", "PUSHW_GS", "PUSHD_GS", "PUSHQ_GS")
def gen_PUSH_Sreg(s, insn):
    name = code_name(insn.code)
    ot = _seg_push_ot(s, name)
    seg = SEG_REG[insn.op_register(0)]
    v = s.tmp()
    s.c.gen_ld_i64(v, 8 * seg_slot(seg, 0))
    s.gen_push(v, ot)


def _load_seg_helper(cpu, seg: int, sel: int):
    from .seg_helper import load_seg
    load_seg(cpu, seg, sel)


HELPER_LOAD_SEG = Helper("load_seg", _load_seg_helper, None, (I32, I64))


@insn("POPW_ES", "POPD_ES", "POPW_SS", "POPD_SS", "POPW_DS", "POPD_DS", "POPW_FS", "POPD_FS",
      "POPQ_FS", "POPW_GS", "POPD_GS", "POPQ_GS")
def gen_POP_Sreg(s, insn):
    name = code_name(insn.code)
    ot = 3 if name.startswith("POPQ") else (2 if name.startswith("POPD") else 1)
    seg = SEG_REG[insn.op_register(0)]
    v, new_sp = s.gen_pop_value(ot)
    s.gen_update_eip_cur()
    s.call(HELPER_LOAD_SEG, [], [s.const(seg, I32), v])
    s.commit_sp(new_sp)
    s.gen_update_eip_next()
    s.gen_eob(inhibit=(seg == 2))


def _read_eflags(cpu) -> int:
    return cpu.get_eflags() & ~(VM_MASK | RF_MASK) & 0xFFFF_FFFF


HELPER_READ_EFLAGS = Helper("read_eflags", _read_eflags, I64, ())


@insn("PUSHFW", "PUSHFD", "PUSHFQ")
def gen_PUSHF(s, insn):
    if s.vm86 and s.iopl != 3:
        s.gen_exception(EXCP0D_GPF, 0)
        return
    ot = {"PUSHFW": 1, "PUSHFD": 2, "PUSHFQ": 3}[code_name(insn.code)]
    s.compute_eflags()
    v = s.tmp()
    s.call(HELPER_READ_EFLAGS, [v], [])
    s.gen_push(v, ot)


def _write_eflags(cpu, value: int, ot: int):
    env = cpu.env_q
    from .state import HFLAGS
    cpl = env[HFLAGS] & 3
    iopl = (cpu.get_eflags() & IOPL_MASK) >> 12
    mask = TF_MASK | AC_MASK | ID_MASK | NT_MASK | RF_MASK
    if cpl == 0:
        mask |= IOPL_MASK | IF_MASK
    elif cpl <= iopl:
        mask |= IF_MASK
    if ot == 1:
        mask &= 0xFFFF
    cpu.set_eflags(value & ~RF_MASK, mask)


HELPER_WRITE_EFLAGS = Helper("write_eflags", _write_eflags, None, (I64, I32))


@insn("POPFW", "POPFD", "POPFQ")
def gen_POPF(s, insn):
    if s.vm86 and s.iopl != 3:
        s.gen_exception(EXCP0D_GPF, 0)
        return
    ot = {"POPFW": 1, "POPFD": 2, "POPFQ": 3}[code_name(insn.code)]
    v, new_sp = s.gen_pop_value(ot)
    s.call(HELPER_WRITE_EFLAGS, [], [v, s.const(ot, I32)])
    from . import cc as CC
    s.cc_op = CC.CC_OP_EFLAGS
    s.cc_op_dirty = False
    s.commit_sp(new_sp)
    s.gen_update_eip_next()
    s.is_jmp = DISAS_EOB_NEXT
    s.gen_eob()


@insn("LEAVEW", "LEAVED", "LEAVEQ")
def gen_LEAVE(s, insn):
    ot = {"LEAVEW": 1, "LEAVED": 2, "LEAVEQ": 3}[code_name(insn.code)]
    c = s.c
    bp = s.ld_gpr(5, s.stack_ot)
    addr = s.stack_addr(bp)
    v = s.ld(addr, ot)
    nsp = s.tmp()
    c.gen_add_i64(nsp, bp, 1 << ot)
    s.commit_sp(nsp)
    s.st_gpr(5, ot, v)


@insn("ENTERW_IMM16_IMM8", "ENTERD_IMM16_IMM8", "ENTERQ_IMM16_IMM8")
def gen_ENTER(s, insn):
    c = s.c
    ot = {"W": 1, "D": 2, "Q": 3}[code_name(insn.code)[5]]
    size = insn.immediate(0) & 0xFFFF
    level = insn.immediate(1) & 31
    sot = s.stack_ot
    sp = s.ld_gpr(4, sot)
    bp = s.ld_gpr(5, sot)
    step = 1 << ot
    frame = s.tmp()
    c.gen_sub_i64(frame, sp, step)
    s.st(s.stack_addr(s.ext(frame, sot)), ot, bp)
    cur = frame
    if level:
        for i in range(1, level):
            src = s.tmp()
            c.gen_sub_i64(src, bp, step * i)
            v = s.ld(s.stack_addr(s.ext(src, sot)), ot)
            dst = s.tmp()
            c.gen_sub_i64(dst, frame, step * i)
            s.st(s.stack_addr(s.ext(dst, sot)), ot, v)
        last = s.tmp()
        c.gen_sub_i64(last, frame, step * level)
        s.st(s.stack_addr(s.ext(last, sot)), ot, frame)
        cur = last
    newsp = s.tmp()
    c.gen_sub_i64(newsp, cur, size)
    # after the pushes, and before RSP/RBP change, the CPU faults if a write at the
    # final stack pointer would
    s.call(HELPER_PROBE_WRITE, [], [s.stack_addr(s.ext(newsp, sot)), s.const(step, I32),
                                    s.const(s.mmu_idx, I32)])
    s.st_gpr(5, sot, frame)
    s.st_gpr(4, sot, newsp)


@insn("PUSHAW", "PUSHAD")
def gen_PUSHA(s, insn):
    c = s.c
    ot = 1 if code_name(insn.code) == "PUSHAW" else 2
    sot = s.stack_ot
    sp = s.ld_gpr(4, sot)
    for k in range(8):
        a = s.tmp()
        c.gen_sub_i64(a, sp, (k + 1) << ot)
        s.st(s.stack_addr(s.ext(a, sot)), ot, s.ld_gpr(k, ot) if k != 4 else s.ext(sp, ot))
    nsp = s.tmp()
    c.gen_sub_i64(nsp, sp, 8 << ot)
    s.st_gpr(4, sot, nsp)


@insn("POPAW", "POPAD")
def gen_POPA(s, insn):
    c = s.c
    ot = 1 if code_name(insn.code) == "POPAW" else 2
    sot = s.stack_ot
    sp = s.ld_gpr(4, sot)
    vals = {}
    for k in range(8):
        a = s.tmp()
        c.gen_add_i64(a, sp, (7 - k) << ot)
        if k != 4:
            vals[k] = s.ld(s.stack_addr(s.ext(a, sot)), ot)
    for k, v in vals.items():
        s.st_gpr(k, ot, v)
    nsp = s.tmp()
    c.gen_add_i64(nsp, sp, 8 << ot)
    s.st_gpr(4, sot, nsp)


_ = (REG_INFO, M64)
