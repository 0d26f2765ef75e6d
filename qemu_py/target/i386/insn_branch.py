"""Control transfer: JMP Jcc CALL RET (near and far), LOOP/LOOPE/LOOPNE,
JCXZ/JECXZ/JRCXZ, INT n / INT3 / INTO / INT1, IRET, SYSCALL SYSRET."""

from __future__ import annotations

from iced_x86 import OpKind

from qemu_py.tcg.ir import I32, I64, Cond

from . import helpers as H
from .insn_arith import mem_ea
from .translate import (DISAS_NORETURN, G_REGS, MASKS, code_name, insn)


def _jmp_size(s, insn) -> int:
    """Operand size of a near branch (iced names: *_16, *_32, *_64 / W D Q)."""
    name = code_name(insn.code)
    if name.endswith("_16") or "REL16" in name or name.endswith(("RM16", "W", "W_IMM16")):
        return 1
    if name.endswith("_64") or name.endswith(("RM64", "Q", "Q_IMM16")):
        return 3
    return 2


@insn("JMP_REL8_*", "JMP_REL16", "JMP_REL32_*")
def gen_JMP_rel(s, insn):
    s.gen_jmp_tb(insn.near_branch_target, 0)
    s.is_jmp = DISAS_NORETURN


@insn("JMP_RM16", "JMP_RM32", "JMP_RM64")
def gen_JMP_rm(s, insn):
    ot = s.op_ot(insn, 0)
    t = s.ld_op(insn, 0, ot, mem_ea(s, insn))
    s.gen_jmp_dyn(t)


def _is_jcc(name: str) -> bool:
    return name.startswith("J") and not name.startswith(("JMP", "JCXZ", "JECXZ", "JRCXZ",
                                                         "JMPE", "JKN", "JKZ"))


_JCC = [n for n in __import__("iced_x86").Code.__dict__ if n.isupper() and _is_jcc(n)
        and "_REL" in n]


@insn(*_JCC)
def gen_Jcc(s, insn):
    c = s.c
    cond, a, b = s.prepare_cc(insn.condition_code - 1)
    s.update_cc_op()
    taken = c.label()
    c.gen_brcond_i64(a, b, cond, taken)
    s.gen_jmp_tb(s.eip_next, 0)
    c.set_label(taken)
    s.gen_jmp_tb(insn.near_branch_target, 1)
    s.is_jmp = DISAS_NORETURN


@insn("CALL_REL16", "CALL_REL32_*")
def gen_CALL_rel(s, insn):
    ot = _jmp_size(s, insn)
    s.gen_push(s.const(s.eip_next & MASKS[ot]), ot)
    s.gen_jmp_tb(insn.near_branch_target, 0)
    s.is_jmp = DISAS_NORETURN


@insn("CALL_RM16", "CALL_RM32", "CALL_RM64")
def gen_CALL_rm(s, insn):
    ot = s.op_ot(insn, 0)
    t = s.ld_op(insn, 0, ot, mem_ea(s, insn))
    s.gen_push(s.const(s.eip_next & MASKS[ot]), ot)
    s.gen_jmp_dyn(t)


@insn("RETNW", "RETND", "RETNQ", "RETNW_IMM16", "RETND_IMM16", "RETNQ_IMM16")
def gen_RET(s, insn):
    c = s.c
    name = code_name(insn.code)
    ot = {"W": 1, "D": 2, "Q": 3}[name[4]]
    v, new_sp = s.gen_pop_value(ot)
    if insn.op_count:
        c.gen_add_i64(new_sp, new_sp, insn.immediate(0) & 0xFFFF)
    s.commit_sp(new_sp)
    s.gen_jmp_dyn(v)


@insn("JMP_PTR1616", "JMP_PTR1632")
def gen_JMP_far(s, insn):
    s.gen_update_eip_cur()
    s.call(H.H_LJMP, [], [s.const(insn.far_branch_selector), s.const(insn.far_branch32
                                                                    if insn.op_kind(0) ==
                                                                    OpKind.FAR_BRANCH32
                                                                    else insn.far_branch16),
                          s.const(s.eip_next)])
    s.gen_eob()


def _far_ptr(s, insn):
    """(offset, selector) of an m16:16/32/64 operand."""
    c = s.c
    name = code_name(insn.code)
    ot = 1 if name.endswith("1616") else (2 if name.endswith("1632") else 3)
    ea = s.ea(insn)
    off = s.ld(ea, ot)
    a2 = s.tmp()
    c.gen_add_i64(a2, ea, 1 << ot)
    sel = s.ld(a2, 1)
    return off, sel, ot


@insn("JMP_M1616", "JMP_M1632", "JMP_M1664")
def gen_JMP_far_m(s, insn):
    off, sel, _ = _far_ptr(s, insn)
    s.gen_update_eip_cur()
    s.call(H.H_LJMP, [], [sel, off, s.const(s.eip_next)])
    s.gen_eob()


@insn("CALL_PTR1616", "CALL_PTR1632")
def gen_CALL_far(s, insn):
    shift = 1 if insn.op_kind(0) == OpKind.FAR_BRANCH32 else 0
    off = insn.far_branch32 if shift else insn.far_branch16
    s.gen_update_eip_cur()
    s.call(H.H_LCALL, [], [s.const(insn.far_branch_selector), s.const(off),
                           s.const(shift, I32), s.const(s.eip_next)])
    s.gen_eob()


@insn("CALL_M1616", "CALL_M1632", "CALL_M1664")
def gen_CALL_far_m(s, insn):
    off, sel, ot = _far_ptr(s, insn)
    s.gen_update_eip_cur()
    s.call(H.H_LCALL, [], [sel, off, s.const(ot - 1, I32), s.const(s.eip_next)])
    s.gen_eob()


@insn("RETFW", "RETFD", "RETFQ", "RETFW_IMM16", "RETFD_IMM16", "RETFQ_IMM16")
def gen_RETF(s, insn):
    name = code_name(insn.code)
    shift = {"W": 0, "D": 1, "Q": 2}[name[4]]
    addend = insn.immediate(0) & 0xFFFF if insn.op_count else 0
    s.gen_update_eip_cur()
    s.call(H.H_LRET, [], [s.const(shift, I32), s.const(addend)])
    s.gen_eob()


def _count_size(name: str) -> int:
    if name.endswith("_RCX") or name.startswith("JRCXZ"):
        return 3
    if name.endswith("_ECX") or name.startswith("JECXZ"):
        return 2
    return 1


@insn("LOOP_REL8_*", "LOOPE_REL8_*", "LOOPNE_REL8_*")
def gen_LOOP(s, insn):
    c = s.c
    name = code_name(insn.code)
    aot = _count_size(name)
    cnt = s.tmp()
    c.gen_sub_i64(cnt, G_REGS[1], 1)
    s.st_gpr(1, aot, cnt)
    cz = s.ext(cnt, aot)
    go = s.tmp()
    c.gen_setcond_i64(go, cz, 0, Cond.NE)
    if name.startswith(("LOOPE", "LOOPNE")):
        zcond, za, zb = s.prepare_cc(4 if name.startswith("LOOPE_") else 5)   # Z / NZ
        z = s.tmp()
        c.gen_setcond_i64(z, za, zb, zcond)
        c.gen_and_i64(go, go, z)
    s.update_cc_op()
    taken = c.label()
    c.gen_brcond_i64(go, 0, Cond.NE, taken)
    s.gen_jmp_tb(s.eip_next, 0)
    c.set_label(taken)
    s.gen_jmp_tb(insn.near_branch_target, 1)
    s.is_jmp = DISAS_NORETURN


@insn("JCXZ_REL8_*", "JECXZ_REL8_*", "JRCXZ_REL8_*")
def gen_JCXZ(s, insn):
    c = s.c
    aot = _count_size(code_name(insn.code))
    s.update_cc_op()
    taken = c.label()
    c.gen_brcond_i64(s.ld_gpr(1, aot), 0, Cond.EQ, taken)
    s.gen_jmp_tb(s.eip_next, 0)
    c.set_label(taken)
    s.gen_jmp_tb(insn.near_branch_target, 1)
    s.is_jmp = DISAS_NORETURN


def _gen_interrupt(s, vector: int):
    s.gen_update_eip_cur()
    s.call(H.H_RAISE_INTERRUPT, [], [s.const(vector, I32), s.const(s.eip_next)])
    s.c.exit_tb(0)
    s.is_jmp = DISAS_NORETURN


@insn("INT_IMM8")
def gen_INT(s, insn):
    if s.vm86 and s.iopl != 3:
        s.gen_exception(13, 0)
        return
    _gen_interrupt(s, insn.immediate(0) & 0xFF)


@insn("INT3")
def gen_INT3(s, insn):
    _gen_interrupt(s, 3)


@insn("INT1")
def gen_INT1(s, insn):
    _gen_interrupt(s, 1)


@insn("INTO")
def gen_INTO(s, insn):
    c = s.c
    cond, a, b = s.prepare_cc(0)      # OF
    s.update_cc_op()
    skip = c.label()
    c.gen_brcond_i64(a, b, __import__("qemu_py.tcg.ir", fromlist=["invert_cond"]).invert_cond(
        cond), skip)
    s.gen_update_eip_cur()
    s.call(H.H_RAISE_INTERRUPT, [], [s.const(4, I32), s.const(s.eip_next)])
    c.set_label(skip)


@insn("IRETW", "IRETD", "IRETQ")
def gen_IRET(s, insn):
    if s.vm86 and s.iopl != 3:
        s.gen_exception(13, 0)
        return
    shift = {"IRETW": 0, "IRETD": 1, "IRETQ": 2}[code_name(insn.code)]
    s.gen_update_eip_cur()
    s.call(H.H_IRET, [], [s.const(shift, I32), s.const(s.eip_next)])
    s.set_cc_op(__import__("qemu_py.target.i386.cc", fromlist=["x"]).CC_OP_EFLAGS)
    s.cc_op_dirty = False
    s.gen_eob()


@insn("SYSCALL")
def gen_SYSCALL(s, insn):
    s.gen_update_eip_cur()
    s.compute_eflags()
    s.call(H.H_SYSCALL, [], [s.const(s.eip_next)])
    s.gen_eob()


@insn("SYSRETD", "SYSRETQ")
def gen_SYSRET(s, insn):
    s.gen_update_eip_cur()
    s.compute_eflags()
    s.call(H.H_SYSRET, [], [s.const(int(code_name(insn.code) == "SYSRETQ"), I32)])
    from . import cc as CC
    s.cc_op = CC.CC_OP_EFLAGS
    s.cc_op_dirty = False
    s.gen_eob()


_ = I64
