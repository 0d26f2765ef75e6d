"""BMI1/BMI2: ANDN BEXTR BLSI BLSMSK BLSR BZHI PDEP PEXT MULX (SHLX & co. are
with the shifts)."""

from __future__ import annotations

from iced_x86 import OpKind

from qemu_py.tcg.ir import I64, CallFlags, Cond, Helper

from . import cc as CC
from .translate import insn


def _src_ea(s, insn, i):
    return s.ea(insn) if insn.op_kind(i) == OpKind.MEMORY else None


@insn("VEX_ANDN_*")
def gen_ANDN(s, insn):
    ot = s.op_ot(insn, 0)
    a = s.ld_op(insn, 1, ot)
    b = s.ld_op(insn, 2, ot, _src_ea(s, insn, 2))
    r = s.tmp()
    s.c.gen_andc_i64(r, b, a)
    s.st_op(insn, 0, ot, r)
    s.set_flags_result(CC.CC_OP_LOGICB, ot, r)


def _bextr(value: int, ctrl: int, bits: int) -> int:
    start = ctrl & 0xFF
    length = (ctrl >> 8) & 0xFF
    if start >= bits:
        return 0
    v = value >> start
    if length < bits:
        v &= (1 << length) - 1
    return v


HELPER_BEXTR = Helper("bextr", lambda v, c, bits: _bextr(v, c, bits), I64, (I64, I64, I64),
                      CallFlags.NO_RWG_SE, pass_cpu=False)


@insn("VEX_BEXTR_*")
def gen_BEXTR(s, insn):
    ot = s.op_ot(insn, 0)
    v = s.ld_op(insn, 1, ot, _src_ea(s, insn, 1))
    ctrl = s.ld_op(insn, 2, ot)
    r = s.tmp()
    s.c.call(HELPER_BEXTR, [r], [v, ctrl, s.const(8 << ot)])
    s.st_op(insn, 0, ot, r)
    s.set_flags_result(CC.CC_OP_LOGICB, ot, r)


def _bls(s, insn, kind):
    c = s.c
    ot = s.op_ot(insn, 0)
    v = s.ld_op(insn, 1, ot, _src_ea(s, insn, 1))
    r, t = s.tmp(), s.tmp()
    if kind == "blsi":
        c.gen_neg_i64(t, v)
        c.gen_and_i64(r, v, t)
    else:
        c.gen_sub_i64(t, v, 1)
        (c.gen_xor_i64 if kind == "blsmsk" else c.gen_and_i64)(r, v, t)
    r = s.ext(r, ot)
    s.st_op(insn, 0, ot, r)
    if kind == "blsi":                      # CF = source != 0
        z = s.tmp()
        c.gen_setcond_i64(z, s.ext(v, ot), 0, Cond.EQ)
        s.set_flags_result(CC.CC_OP_BMILGB, ot, r, z)
    else:                                   # CF = source == 0
        s.set_flags_result(CC.CC_OP_BMILGB, ot, r, v)


@insn("VEX_BLSI_*")
def gen_BLSI(s, insn):
    _bls(s, insn, "blsi")


@insn("VEX_BLSMSK_*")
def gen_BLSMSK(s, insn):
    _bls(s, insn, "blsmsk")


@insn("VEX_BLSR_*")
def gen_BLSR(s, insn):
    _bls(s, insn, "blsr")


@insn("VEX_BZHI_*")
def gen_BZHI(s, insn):
    c = s.c
    ot = s.op_ot(insn, 0)
    bits = 8 << ot
    v = s.ld_op(insn, 1, ot, _src_ea(s, insn, 1))
    n = s.tmp()
    c.gen_and_i64(n, s.ld_op(insn, 2, ot), 0xFF)
    mask, r = s.tmp(), s.tmp()
    c.gen_shl_i64(mask, s.const(1), n)
    c.gen_sub_i64(mask, mask, 1)
    c.gen_and_i64(r, v, mask)
    inrange = s.tmp()
    c.gen_setcond_i64(inrange, n, bits, Cond.LTU)
    c.gen_movcond_i64(r, inrange, 0, r, v, Cond.NE)
    s.st_op(insn, 0, ot, r)
    s.set_flags_result(CC.CC_OP_BMILGB, ot, r, inrange)   # CF = index >= width


def _pdep(src: int, mask: int) -> int:
    r = 0
    k = 0
    while mask:
        low = mask & -mask
        if (src >> k) & 1:
            r |= low
        k += 1
        mask ^= low
    return r


def _pext(src: int, mask: int) -> int:
    r = 0
    k = 0
    while mask:
        low = mask & -mask
        if src & low:
            r |= 1 << k
        k += 1
        mask ^= low
    return r


HELPER_PDEP = Helper("pdep", _pdep, I64, (I64, I64), CallFlags.NO_RWG_SE, pass_cpu=False)
HELPER_PEXT = Helper("pext", _pext, I64, (I64, I64), CallFlags.NO_RWG_SE, pass_cpu=False)


@insn("VEX_PDEP_*")
def gen_PDEP(s, insn):
    ot = s.op_ot(insn, 0)
    a = s.ld_op(insn, 1, ot)
    m = s.ld_op(insn, 2, ot, _src_ea(s, insn, 2))
    r = s.tmp()
    s.c.call(HELPER_PDEP, [r], [a, m])
    s.st_op(insn, 0, ot, r)


@insn("VEX_PEXT_*")
def gen_PEXT(s, insn):
    ot = s.op_ot(insn, 0)
    a = s.ld_op(insn, 1, ot)
    m = s.ld_op(insn, 2, ot, _src_ea(s, insn, 2))
    r = s.tmp()
    s.c.call(HELPER_PEXT, [r], [a, m])
    s.st_op(insn, 0, ot, r)


@insn("VEX_MULX_*")
def gen_MULX(s, insn):
    c = s.c
    ot = s.op_ot(insn, 0)
    src = s.ld_op(insn, 2, ot, _src_ea(s, insn, 2))
    rdx = s.ld_gpr(2, ot)
    lo, hi = s.tmp(), s.tmp()
    if ot == 3:
        c.gen_mulu2_i64(lo, hi, rdx, src)
    else:
        p = s.tmp()
        c.gen_mul_i64(p, rdx, src)
        c.gen_ext32u_i64(lo, p)
        c.gen_shr_i64(hi, p, 32)
    s.st_op(insn, 1, ot, lo)
    s.st_op(insn, 0, ot, hi)               # the high half wins if both are the same
