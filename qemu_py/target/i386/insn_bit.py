"""Bit operations: BT BTS BTR BTC, BSF BSR, TZCNT LZCNT POPCNT, BSWAP."""

from __future__ import annotations

from iced_x86 import OpKind

from qemu_py.tcg.ir import Cond

from . import cc as CC
from .state import CC_C
from .translate import G_CC_SRC, G_REGS, REG_INFO, insn


def _bt(s, insn, kind: str):
    c = s.c
    ot = s.op_ot(insn, 0)
    bits = 8 << ot
    reg_off = insn.op_kind(1) == OpKind.REGISTER
    if reg_off:
        off = s.ld_reg(insn.op_register(1))
    else:
        off = s.const(insn.immediate(1) & (bits - 1))
    ea = None
    if insn.op_kind(0) == OpKind.MEMORY:
        ea = s.ea(insn)
        if reg_off:
            # the bit offset is signed and may address outside the operand
            so = s.ext(off, ot, True)
            disp = s.tmp()
            c.gen_sar_i64(disp, so, 3 + ot)
            c.gen_shl_i64(disp, disp, ot)
            ea2 = s.tmp()
            c.gen_add_i64(ea2, ea, disp)
            if not s.code64:
                c.gen_ext32u_i64(ea2, ea2)
            ea = ea2
        val = s.ld(ea, ot)
    else:
        val = s.ld_reg(insn.op_register(0))
    bit = s.tmp()
    c.gen_and_i64(bit, off, bits - 1)
    mask = s.tmp()
    c.gen_shl_i64(mask, s.const(1), bit)
    cf = s.tmp()
    c.gen_shr_i64(cf, val, bit)
    c.gen_and_i64(cf, cf, 1)
    if kind != "bt":
        r = s.tmp()
        if kind == "bts":
            c.gen_or_i64(r, val, mask)
        elif kind == "btr":
            c.gen_andc_i64(r, val, mask)
        else:
            c.gen_xor_i64(r, val, mask)
        if ea is not None:
            s.st(ea, ot, r)
        else:
            s.st_op(insn, 0, ot, r)
    s.compute_eflags()
    c.gen_andc_i64(G_CC_SRC, G_CC_SRC, CC_C)
    c.gen_or_i64(G_CC_SRC, G_CC_SRC, cf)


@insn("BT_RM*")
def gen_BT(s, insn):
    _bt(s, insn, "bt")


@insn("BTS_RM*")
def gen_BTS(s, insn):
    _bt(s, insn, "bts")


@insn("BTR_RM*")
def gen_BTR(s, insn):
    _bt(s, insn, "btr")


@insn("BTC_RM*")
def gen_BTC(s, insn):
    _bt(s, insn, "btc")


def _bsx(s, insn, reverse: bool):
    c = s.c
    ot = s.op_ot(insn, 0)
    bits = 8 << ot
    src = s.ld_op(insn, 1, ot, s.ea(insn) if insn.op_kind(1) == OpKind.MEMORY else None)
    idx = s.tmp()
    if reverse:
        c.gen_clz_i64(idx, src, 64)
        c.gen_xor_i64(idx, idx, 63)        # 63 - clz
    else:
        c.gen_ctz_i64(idx, src, bits)
    # a zero source leaves the whole destination register unchanged
    gi, rot, high = REG_INFO[insn.op_register(0)]
    g = G_REGS[gi]
    full = s.tmp()
    if ot == 3:
        c.gen_mov_i64(full, idx)
    elif ot == 2:
        c.gen_ext32u_i64(full, idx)
    else:
        c.gen_deposit_i64(full, g, idx, 0, 16)
    c.gen_movcond_i64(g, src, 0, g, full, Cond.EQ)
    s.set_flags_result(CC.CC_OP_LOGICB, ot, src)


@insn("BSF_R16_RM16", "BSF_R32_RM32", "BSF_R64_RM64")
def gen_BSF(s, insn):
    _bsx(s, insn, False)


@insn("BSR_R16_RM16", "BSR_R32_RM32", "BSR_R64_RM64")
def gen_BSR(s, insn):
    _bsx(s, insn, True)


def _cnt(s, insn, kind: str):
    c = s.c
    ot = s.op_ot(insn, 0)
    bits = 8 << ot
    src = s.ld_op(insn, 1, ot, s.ea(insn) if insn.op_kind(1) == OpKind.MEMORY else None)
    r = s.tmp()
    if kind == "tzcnt":
        c.gen_ctz_i64(r, src, bits)
    elif kind == "lzcnt":
        c.gen_clz_i64(r, src, 64)
        c.gen_sub_i64(r, r, 64 - bits)
    else:
        c.gen_ctpop_i64(r, src)
    s.st_op(insn, 0, ot, r)
    if kind == "popcnt":
        c.gen_mov_i64(G_CC_SRC, src)
        s.set_cc_op(CC.CC_OP_POPCNT)
    else:
        s.set_flags_result(CC.CC_OP_BMILGB, ot, r, src)


@insn("TZCNT_R16_RM16", "TZCNT_R32_RM32", "TZCNT_R64_RM64")
def gen_TZCNT(s, insn):
    _cnt(s, insn, "tzcnt")


@insn("LZCNT_R16_RM16", "LZCNT_R32_RM32", "LZCNT_R64_RM64")
def gen_LZCNT(s, insn):
    _cnt(s, insn, "lzcnt")


@insn("POPCNT_R16_RM16", "POPCNT_R32_RM32", "POPCNT_R64_RM64")
def gen_POPCNT(s, insn):
    _cnt(s, insn, "popcnt")


@insn("BSWAP_R16", "BSWAP_R32", "BSWAP_R64")
def gen_BSWAP(s, insn):
    c = s.c
    reg = insn.op_register(0)
    ot = REG_INFO[reg][1]
    v = s.ld_reg(reg)
    r = s.tmp()
    if ot == 3:
        c.gen_bswap64_i64(r, v)
    elif ot == 2:
        c.gen_bswap32_i64(r, v)
    else:
        c.gen_mov_i64(r, 0)                # 16-bit: undefined; hardware gives zero
    s.st_reg(reg, r)
