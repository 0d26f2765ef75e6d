"""Shifts and rotates: SHL/SAL SHR SAR ROL ROR RCL RCR SHLD SHRD, and the
flagless BMI2 forms SHLX SHRX SARX RORX.

A count of zero leaves the flags alone; with a count in CL that is only
known at run time the lazy-flag state is selected with ``movcond`` and
``cc_op`` becomes dynamic (as QEMU does).
"""

from __future__ import annotations

from iced_x86 import OpKind

from qemu_py.tcg.ir import I32, I64, CallFlags, Cond, Helper

from . import cc as CC
from .insn_arith import mem_ea
from .state import CC_C, CC_O
from .translate import G_CC_DST, G_CC_OP, G_CC_SRC, MASKS, insn
from .state import M64



def _count(s, insn, ot):
    """(constant count or None, count temp) after masking."""
    mask = 0x3F if ot == 3 else 0x1F
    k = insn.op_kind(1) if insn.op_count > 1 else None
    if k is None:
        return 1, s.const(1)
    if k == OpKind.REGISTER and insn.op_count == 2:
        t = s.tmp()
        s.c.gen_and_i64(t, s.ld_reg(insn.op_register(1)), mask)
        return None, t
    if insn.op_count == 3:
        k = insn.op_kind(2)
        if k == OpKind.REGISTER:
            t = s.tmp()
            s.c.gen_and_i64(t, s.ld_reg(insn.op_register(2)), mask)
            return None, t
        n = insn.immediate(2) & mask
        return n, s.const(n)
    n = insn.immediate(1) & mask
    return n, s.const(n)


def _set_shift_flags(s, ot, nconst, count, res, t1, base):
    """Flags of a shift by COUNT: unchanged when it is zero."""
    c = s.c
    if nconst is not None:
        if nconst:
            s.set_flags_result(base, ot, res, t1)
        return
    s.update_cc_op()
    nz = s.tmp()
    c.gen_setcond_i64(nz, count, 0, Cond.NE)
    c.gen_movcond_i64(G_CC_DST, nz, 0, res, G_CC_DST, Cond.NE)
    c.gen_movcond_i64(G_CC_SRC, nz, 0, t1, G_CC_SRC, Cond.NE)
    op = s.tmp(I32)
    nz32 = s.tmp(I32)
    c.gen_extrl_i64_i32(nz32, nz)
    c.gen_movcond_i32(op, nz32, 0, base + ot, G_CC_OP, Cond.NE)
    c.gen_mov_i32(G_CC_OP, op)
    s.set_cc_op(CC.CC_OP_DYNAMIC)


def _shift(s, insn, kind: str):
    c = s.c
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    nconst, count = _count(s, insn, ot)
    if kind == "sar":
        a = s.ld_op(insn, 0, ot, ea, sign=True)
    else:
        a = s.ld_op(insn, 0, ot, ea)
    res, t1, cm1 = s.tmp(), s.tmp(), s.tmp()
    c.gen_sub_i64(cm1, count, 1)
    c.gen_and_i64(cm1, cm1, 63)
    if kind == "shl":
        c.gen_shl_i64(res, a, count)
        c.gen_shl_i64(t1, a, cm1)
        base = CC.CC_OP_SHLB
    elif kind == "shr":
        c.gen_shr_i64(res, a, count)
        c.gen_shr_i64(t1, a, cm1)
        base = CC.CC_OP_SARB
    else:
        c.gen_sar_i64(res, a, count)
        c.gen_sar_i64(t1, a, cm1)
        base = CC.CC_OP_SARB
    if nconst == 0:
        if ot == 2 and ea is None:
            s.st_op(insn, 0, ot, res)     # a 32-bit register is still zero-extended
        return
    s.st_op(insn, 0, ot, res, ea)
    _set_shift_flags(s, ot, nconst, count, res, t1, base)


@insn("SHL_RM*", "SAL_RM*")
def gen_SHL(s, insn):
    _shift(s, insn, "shl")


@insn("SHR_RM*")
def gen_SHR(s, insn):
    _shift(s, insn, "shr")


@insn("SAR_RM*")
def gen_SAR(s, insn):
    _shift(s, insn, "sar")


def _rotate(s, insn, left: bool):
    c = s.c
    ot = s.op_ot(insn, 0)
    bits = 8 << ot
    ea = mem_ea(s, insn)
    nconst, count = _count(s, insn, ot)
    a = s.ld_op(insn, 0, ot, ea)
    if nconst == 0:
        if ot == 2 and ea is None:
            s.st_op(insn, 0, ot, a)
        return
    n = s.tmp()
    if bits < 32:
        c.gen_remu_i64(n, count, bits) if nconst is None else c.gen_mov_i64(n, nconst % bits)
    else:
        c.gen_mov_i64(n, count)
    res = s.tmp()
    if ot == 3:
        (c.gen_rotl_i64 if left else c.gen_rotr_i64)(res, a, n)
    else:
        # rotate inside BITS using a doubled value
        dbl, sh = s.tmp(), s.tmp()
        c.gen_shl_i64(dbl, a, bits)
        c.gen_or_i64(dbl, dbl, a)
        if left:
            c.gen_shl_i64(sh, dbl, n)
            c.gen_shr_i64(res, sh, bits)
        else:
            c.gen_shr_i64(res, dbl, n)
        res = s.ext(res, ot)
    s.st_op(insn, 0, ot, res, ea)
    # CF and OF change, the other flags are kept
    s.compute_eflags()
    cf, of, msb = s.tmp(), s.tmp(), s.tmp()
    c.gen_extract_i64(msb, res, bits - 1, 1)
    if left:
        c.gen_and_i64(cf, res, 1)
        c.gen_xor_i64(of, msb, cf)
    else:
        c.gen_mov_i64(cf, msb)
        nxt = s.tmp()
        c.gen_extract_i64(nxt, res, bits - 2, 1)
        c.gen_xor_i64(of, msb, nxt)
    _set_cf_of(s, cf, of, None if nconst is not None else count)


def _set_cf_of(s, cf, of, count):
    c = s.c
    kept, with_c, new, o = s.tmp(), s.tmp(), s.tmp(), s.tmp()
    c.gen_shl_i64(o, of, 11)
    c.gen_andc_i64(kept, G_CC_SRC, CC_C | CC_O)
    c.gen_or_i64(with_c, kept, cf)
    c.gen_or_i64(new, with_c, o)
    if count is None:
        c.gen_mov_i64(G_CC_SRC, new)
    else:
        c.gen_movcond_i64(G_CC_SRC, count, 0, new, G_CC_SRC, Cond.NE)


@insn("ROL_RM*")
def gen_ROL(s, insn):
    _rotate(s, insn, True)


@insn("ROR_RM*")
def gen_ROR(s, insn):
    _rotate(s, insn, False)


def _rcx(cpu, ot: int, value: int, count: int, flags: int, left: int) -> int:
    """RCL/RCR: result; new CF/OF are left in SCRATCH for the translator."""
    bits = 8 << ot
    n = count % (bits + 1)
    cf = flags & 1
    v = (cf << bits) | value if left else (value << 1) | cf
    width = bits + 1
    if n:
        if left:
            v = ((v << n) | (v >> (width - n))) & ((1 << width) - 1)
            res = v & ((1 << bits) - 1)
            ncf = v >> bits
            of = ((res >> (bits - 1)) & 1) ^ ncf
        else:
            v = ((v >> n) | (v << (width - n))) & ((1 << width) - 1)
            res = v >> 1
            ncf = v & 1
            of = ((res >> (bits - 1)) ^ (res >> (bits - 2))) & 1
        flags = (flags & ~(CC_C | CC_O)) | ncf | (of << 11)
    else:
        res = value
    from .state import SCRATCH
    cpu.env_q[SCRATCH] = flags
    return res


HELPER_RCX = Helper("rcl_rcr", _rcx, I64, (I32, I64, I64, I64, I32), CallFlags.NO_RWG)


def _rcx_gen(s, insn, left: bool):
    c = s.c
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    nconst, count = _count(s, insn, ot)
    a = s.ld_op(insn, 0, ot, ea)
    if nconst == 0:
        if ot == 2 and ea is None:
            s.st_op(insn, 0, ot, a)
        return
    s.compute_eflags()
    res = s.tmp()
    c.call(HELPER_RCX, [res], [s.const(ot, I32), a, count, G_CC_SRC, s.const(int(left), I32)])
    s.st_op(insn, 0, ot, res, ea)
    from .state import SCRATCH
    c.gen_ld_i64(G_CC_SRC, 8 * SCRATCH)


@insn("RCL_RM*")
def gen_RCL(s, insn):
    _rcx_gen(s, insn, True)


@insn("RCR_RM*")
def gen_RCR(s, insn):
    _rcx_gen(s, insn, False)


def _double_shift(s, insn, left: bool):
    c = s.c
    ot = s.op_ot(insn, 0)
    bits = 8 << ot
    ea = mem_ea(s, insn)
    nconst, count = _count(s, insn, ot)
    a = s.ld_op(insn, 0, ot, ea)
    b = s.ld_op(insn, 1, ot)
    if nconst == 0:
        if ot == 2 and ea is None:
            s.st_op(insn, 0, ot, a)
        return
    res, t1 = s.tmp(), s.tmp()
    cm1 = _cm1(s, count)
    if ot == 3:
        _fix_64(s, res, t1, a, b, count, left)
    else:
        comb = s.tmp()
        if left:
            c.gen_shl_i64(comb, a, bits)
            c.gen_or_i64(comb, comb, b)
            if ot == 1:
                c.gen_shl_i64(comb, comb, 16)        # 16-bit: a:b:a (count may exceed 16)
                c.gen_or_i64(comb, comb, a)
                sh = s.tmp()
                c.gen_shl_i64(sh, comb, count)
                c.gen_shr_i64(res, sh, 32)
                c.gen_shl_i64(sh, comb, cm1)
                c.gen_shr_i64(t1, sh, 32)
            else:
                sh = s.tmp()
                c.gen_shl_i64(sh, comb, count)
                c.gen_shr_i64(res, sh, bits)
                c.gen_shl_i64(sh, comb, cm1)
                c.gen_shr_i64(t1, sh, bits)
        else:
            c.gen_shl_i64(comb, b, bits)
            c.gen_or_i64(comb, comb, a)
            if ot == 1:
                hi = s.tmp()
                c.gen_shl_i64(hi, a, 32)
                c.gen_or_i64(comb, comb, hi)
            c.gen_shr_i64(res, comb, count)
            c.gen_shr_i64(t1, comb, cm1)
        res = s.ext(res, ot)
    if nconst is None:
        # a run-time count of 0 leaves the destination (and the flags) unchanged
        c.gen_movcond_i64(res, count, 0, a, res, Cond.EQ)
    s.st_op(insn, 0, ot, res, ea)
    _set_shift_flags(s, ot, nconst, count, res, t1,
                     CC.CC_OP_SHLB if left else CC.CC_OP_SARB)


def _fix_64(s, res, t1, a, b, count, left):
    """64-bit SHLD/SHRD for a count N in 1..63: the result and the value
    shifted by N-1 (whose last bit out is CF)."""
    c = s.c
    inv = s.tmp()
    c.gen_sub_i64(inv, 64, count)
    c.gen_and_i64(inv, inv, 63)
    x, y = s.tmp(), s.tmp()
    if left:
        c.gen_shl_i64(x, a, count)
        c.gen_shr_i64(y, b, inv)          # n in 1..63: inv in 1..63
        c.gen_or_i64(res, x, y)
        # t1 = (a << (n-1)) | (b >> (65-n)), with b >> 64 == 0 when n == 1
        z = s.tmp()
        c.gen_shr_i64(z, b, 1)
        c.gen_shr_i64(z, z, inv)
        w = s.tmp()
        c.gen_shl_i64(w, a, _cm1(s, count))
        c.gen_or_i64(t1, w, z)
    else:
        c.gen_shr_i64(x, a, count)
        c.gen_shl_i64(y, b, inv)
        c.gen_or_i64(res, x, y)
        z = s.tmp()
        c.gen_shl_i64(z, b, 1)
        c.gen_shl_i64(z, z, inv)
        w = s.tmp()
        c.gen_shr_i64(w, a, _cm1(s, count))
        c.gen_or_i64(t1, w, z)


def _cm1(s, count):
    t = s.tmp()
    s.c.gen_sub_i64(t, count, 1)
    s.c.gen_and_i64(t, t, 63)
    return t


@insn("SHLD_RM*")
def gen_SHLD(s, insn):
    _double_shift(s, insn, True)


@insn("SHRD_RM*")
def gen_SHRD(s, insn):
    _double_shift(s, insn, False)


def _bmi_shift(s, insn, kind):
    c = s.c
    ot = s.op_ot(insn, 0)
    bits = 8 << ot
    a = s.ld_op(insn, 1, ot, mem_ea(s, insn), sign=(kind == "sar"))
    if kind == "ror":
        n = insn.immediate(2) & (bits - 1)
        res = s.tmp()
        if ot == 3:
            c.gen_rotr_i64(res, a, n)
        else:
            t32, r32 = s.tmp(I32), s.tmp(I32)
            c.gen_extrl_i64_i32(t32, a)
            c.gen_rotr_i32(r32, t32, n)
            c.gen_extu_i32_i64(res, r32)
        s.st_op(insn, 0, ot, res)
        return
    cnt = s.tmp()
    c.gen_and_i64(cnt, s.ld_reg(insn.op_register(2)), bits - 1)
    res = s.tmp()
    {"shl": c.gen_shl_i64, "shr": c.gen_shr_i64, "sar": c.gen_sar_i64}[kind](res, a, cnt)
    s.st_op(insn, 0, ot, res)


@insn("VEX_SHLX_*")
def gen_SHLX(s, insn):
    _bmi_shift(s, insn, "shl")


@insn("VEX_SHRX_*")
def gen_SHRX(s, insn):
    _bmi_shift(s, insn, "shr")


@insn("VEX_SARX_*")
def gen_SARX(s, insn):
    _bmi_shift(s, insn, "sar")


@insn("VEX_RORX_*")
def gen_RORX(s, insn):
    _bmi_shift(s, insn, "ror")


__all__ = ["MASKS", "M64"]
