"""The IR's typing rules and its canonical text (golden text)."""

import pytest
from rt import IRRuntime

from qemu_py.tcg.ir import (I32, I64, CallFlags, Cond, Helper, IRError, MemOp, MemOpIdx,
                            memop_name)
from qemu_py.tcg.printer import format_ops


def test_memop_names_follow_qemu():
    assert [memop_name(m) for m in (MemOp.MO_UB, MemOp.MO_SB, MemOp.MO_UW, MemOp.MO_SW,
                                    MemOp.MO_UL, MemOp.MO_SL, MemOp.MO_UQ)] == \
        ["ub", "sb", "leuw", "lesw", "leul", "lesl", "leq"]
    assert memop_name(MemOp.MO_UL | MemOp.MO_BE) == "beul"
    assert memop_name(MemOp.MO_UQ | MemOp.MO_ALIGN) == "al+leq"


def test_operand_types_are_checked():
    rt = IRRuntime()
    c = rt.ctx()
    with pytest.raises(IRError, match=r"add_i64: operand w0 is i32, expected i64"):
        c.gen_add_i64(rt.r[0], rt.r[1], rt.w[0])
    with pytest.raises(IRError, match="output"):
        c.gen_mov_i64(c.const(1), rt.r[0])
    with pytest.raises(IRError, match="expected 3 arguments"):
        c.gen_add_i32(rt.w[0], rt.w[1])
    h = Helper("h", lambda cpu, a: a, I64, (I64,))
    with pytest.raises(IRError, match="expected 1 arguments, got 2"):
        c.call(h, [rt.r[0]], [rt.r[1], rt.r[2]])


def test_conversions_take_their_own_types():
    rt = IRRuntime()
    c = rt.ctx()
    c.gen_ext_i32_i64(rt.r[0], rt.w[0])
    c.gen_extrl_i64_i32(rt.w[1], rt.r[1])
    with pytest.raises(IRError):
        c.gen_extu_i32_i64(rt.w[0], rt.r[0])


def test_golden_text_of_a_block():
    rt = IRRuntime()
    c = rt.ctx()
    r, w = rt.r, rt.w
    h = Helper("cc_compute_c", lambda cpu, a, b: 0, I64, (I64, I64), CallFlags.NO_RWG_SE)
    t0 = c.temp_new()
    t1 = c.temp_new(I32)
    loc = c.temp_local()
    lab = c.label()
    c.insn_start(0x401000, 7)
    c.gen_add_i64(t0, r[0], 0x10)
    c.gen_qemu_ld_i64(loc, t0, MemOpIdx(MemOp.MO_SL, 1))
    c.gen_extrl_i64_i32(t1, loc)
    c.gen_deposit_i32(w[0], w[0], t1, 8, 8)
    c.insn_start(0x401004, 7)
    c.call(h, [r[1]], [loc, r[2]])
    c.gen_brcond_i64(r[1], 0, Cond.NE, lab)
    c.gen_movcond_i64(r[3], r[4], r[5], r[6], r[7], Cond.LT)
    c.gen_ld32u_i64(r[5], 0x80)
    c.gen_st8_i64(r[5], 0x81)
    c.goto_tb(0)
    c.exit_tb(1)
    c.set_label(lab)
    c.lookup_and_goto_ptr()
    assert format_ops(c.ops) == """\
 ---- 0000000000401000 0000000000000007
 add_i64 tmp0,r0,$0x10
 qemu_ld_i64 loc0,tmp0,lesl,1
 extrl_i64_i32 tmp1,loc0
 deposit_i32 w0,w0,tmp1,$0x8,$0x8
 ---- 0000000000401004 0000000000000007
 call cc_compute_c,$0x7,$1,r1,loc0,r2
 brcond_i64 r1,$0x0,ne,$L0
 movcond_i64 r3,r4,r5,r6,r7,lt
 ld32u_i64 r5,env,$0x80
 st8_i64 r5,env,$0x81
 goto_tb $0x0
 exit_tb $0x1
 set_label $L0
 lookup_and_goto_ptr
"""


def test_constants_are_interned_and_masked_to_their_type():
    rt = IRRuntime()
    c = rt.ctx()
    assert c.const(-1, I32) is c.const(0xFFFFFFFF, I32)
    assert c.const(-1, I64).value == 0xFFFF_FFFF_FFFF_FFFF
    assert c.const(5, I32) is not c.const(5, I64)
