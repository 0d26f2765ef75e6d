"""SSE4.1 (XMM forms): blends (PBLENDW, BLENDPS/PD with imm8; BLENDVPS/PD and
PBLENDVB with the implicit XMM0 mask), PMINSB/SD, PMAXSB/SD, PMINUW/UD, PMAXUW/UD,
PMULLD, PMULDQ, PCMPEQQ, PACKUSDW, PMOVSX*/PMOVZX*, PEXTRB/W/D/Q, EXTRACTPS,
PINSRB/D/Q, INSERTPS, PTEST, PHMINPOSUW, MPSADBW, ROUNDPS/PD/SS/SD, DPPS/DPPD,
MOVNTDQA.

The m128 sources (MOVNTDQA and PTEST included) must be 16-byte aligned (#GP(0));
the narrower ones (PMOVSX/ZX m64/m32/m16, ROUNDSS/SD, INSERTPS m32, PINSR*) need
not be. PEXTR*/PINSR*/EXTRACTPS are plain IR on the XMM slots; the rest are
helpers (:func:`.insn_sse3.xmm_helper`).

ROUND* and DP* are exact (:mod:`.softfloat`): ROUND uses imm8[1:0] as rounding
control unless imm8[2] selects MXCSR.RC, and imm8[3] suppresses the precision
exception; only IE (SNaN) and PE are reported. DPPS multiplies the lanes selected
by imm8[7:4] (the others are +0.0), then adds (p0 + p1) + (p2 + p3), each
operation rounded to single precision under MXCSR as the SDM's pseudo-code says,
and writes the sum to the lanes selected by imm8[3:0] (+0.0 elsewhere). The three
steps are checked one after the other: intermediate results are sources like any
other (DAZ, DE), and a step with an unmasked exception raises #XM (#UD) with the
flags of the steps so far (measured on the host CPU: an unmasked PE in a product
stops before the sums, so a denormal product sets no DE).
"""

from __future__ import annotations

from iced_x86 import OpKind

from qemu_py.tcg.ir import I32, I64, CallFlags, Helper

from . import cc as CC
from . import softfloat as sf
from .insn_sse import _lanes, _load_src, _pack, _packs, _sx, sse_check, xmm_index, xmm_off
from .insn_sse3 import gen_xmm_op, read_xmm, xmm_helper
from .translate import G_CC_SRC, code_name, insn

# -- integer --------------------------------------------------------------------------------


def _lanewise(bits, fn, signed=False):
    def op(a, b, imm, cpu):
        la, lb = _lanes(a, bits), _lanes(b, bits)
        if signed:
            la = [_sx(x, bits) for x in la]
            lb = [_sx(x, bits) for x in lb]
        return _pack([fn(x, y) for x, y in zip(la, lb)], bits)
    return op


def _blend_imm(bits):
    def op(a, b, imm, cpu):
        la, lb = _lanes(a, bits), _lanes(b, bits)
        return _pack([y if imm >> i & 1 else x for i, (x, y) in enumerate(zip(la, lb))], bits)
    return op


def _blendv(bits):
    def op(a, b, imm, cpu):
        mask = _lanes(read_xmm(cpu, 0), bits)
        la, lb = _lanes(a, bits), _lanes(b, bits)
        return _pack([y if m >> (bits - 1) else x for m, x, y in zip(mask, la, lb)], bits)
    return op


def _pmovx(src_bits, dst_bits, signed):
    def op(a, b, imm, cpu):
        n = 128 // dst_bits
        ls = _lanes(b, src_bits)[:n]
        if signed:
            ls = [_sx(x, src_bits) for x in ls]
        return _pack(ls, dst_bits)
    return op


def _pmuldq(a, b, imm, cpu):
    la = [_sx(x, 32) for x in _lanes(a, 32)]
    lb = [_sx(x, 32) for x in _lanes(b, 32)]
    return _pack([la[0] * lb[0], la[2] * lb[2]], 64)


def _phminposuw(a, b, imm, cpu):
    lb = _lanes(b, 16)
    m = min(lb)
    return m | (lb.index(m) << 16)


def _mpsadbw(a, b, imm, cpu):
    la, lb = _lanes(a, 8), _lanes(b, 8)
    ao, bo = 4 * (imm >> 2 & 1), 4 * (imm & 3)
    return _pack([sum(abs(la[ao + i + j] - lb[bo + j]) for j in range(4)) for i in range(8)],
                 16)


def _insertps(a, b, imm, cpu):
    la = _lanes(a, 32)
    la[imm >> 4 & 3] = _lanes(b, 32)[imm >> 6 & 3]
    return _pack([0 if imm >> i & 1 else x for i, x in enumerate(la)], 32)


_OPS = {
    "PBLENDW": _blend_imm(16), "BLENDPS": _blend_imm(32), "BLENDPD": _blend_imm(64),
    "PBLENDVB": _blendv(8), "BLENDVPS": _blendv(32), "BLENDVPD": _blendv(64),
    "PMINSB": _lanewise(8, min, True), "PMAXSB": _lanewise(8, max, True),
    "PMINSD": _lanewise(32, min, True), "PMAXSD": _lanewise(32, max, True),
    "PMINUW": _lanewise(16, min), "PMAXUW": _lanewise(16, max),
    "PMINUD": _lanewise(32, min), "PMAXUD": _lanewise(32, max),
    "PMULLD": _lanewise(32, lambda x, y: x * y),
    "PMULDQ": _pmuldq,
    "PCMPEQQ": _lanewise(64, lambda x, y: (1 << 64) - 1 if x == y else 0),
    "PACKUSDW": (lambda f: lambda a, b, imm, cpu: f(a, b))(_packs(32, False)),
    "PHMINPOSUW": _phminposuw, "MPSADBW": _mpsadbw, "INSERTPS": _insertps,
    "MOVNTDQA": lambda a, b, imm, cpu: b,
}
for _s, _signed in (("SX", True), ("ZX", False)):
    for _n, (_sb, _db) in {"BW": (8, 16), "BD": (8, 32), "BQ": (8, 64), "WD": (16, 32),
                           "WQ": (16, 64), "DQ": (32, 64)}.items():
        _OPS[f"PMOV{_s}{_n}"] = _pmovx(_sb, _db, _signed)

_HELPERS = {n: xmm_helper(f"sse41_{n.lower()}", fn) for n, fn in _OPS.items()}


@insn("PBLENDW_XMM_XMMM128_IMM8", "BLENDPS_XMM_XMMM128_IMM8", "BLENDPD_XMM_XMMM128_IMM8",
      "PBLENDVB_XMM_XMMM128", "BLENDVPS_XMM_XMMM128", "BLENDVPD_XMM_XMMM128")
def gen_BLEND(s, insn):
    gen_xmm_op(s, insn, _HELPERS)


@insn("PMINSB_XMM_XMMM128", "PMAXSB_XMM_XMMM128", "PMINSD_XMM_XMMM128", "PMAXSD_XMM_XMMM128",
      "PMINUW_XMM_XMMM128", "PMAXUW_XMM_XMMM128", "PMINUD_XMM_XMMM128", "PMAXUD_XMM_XMMM128")
def gen_PMINMAX(s, insn):
    gen_xmm_op(s, insn, _HELPERS)


@insn("PMULLD_XMM_XMMM128", "PMULDQ_XMM_XMMM128", "PCMPEQQ_XMM_XMMM128",
      "PACKUSDW_XMM_XMMM128", "PHMINPOSUW_XMM_XMMM128", "MPSADBW_XMM_XMMM128_IMM8")
def gen_SSE41_int(s, insn):
    gen_xmm_op(s, insn, _HELPERS)


@insn("PMOVSX*_XMM_XMMM*", "PMOVZX*_XMM_XMMM*")
def gen_PMOVX(s, insn):
    gen_xmm_op(s, insn, _HELPERS)


@insn("MOVNTDQA_XMM_M128")
def gen_MOVNTDQA(s, insn):
    gen_xmm_op(s, insn, _HELPERS)


@insn("INSERTPS_XMM_XMMM32_IMM8")
def gen_INSERTPS(s, insn):
    """A memory source is the m32 itself (imm8[7:6] is ignored)."""
    if not sse_check(s):
        return
    imm = insn.immediate(2) & 0xFF
    if insn.op_kind(1) == OpKind.MEMORY:
        lo, hi = s.ld(s.ea(insn), 2), s.const(0)
        imm &= 0x3F
    else:
        lo, hi = _load_src(s, insn, 1, 16)
    s.call(_HELPERS["INSERTPS"], [],
           [s.const(xmm_index(insn.op_register(0)), I32), lo, hi, s.const(imm, I32)])


# -- to and from general registers --------------------------------------------------------------

_EXTR = {"PEXTRB": (0, 15), "PEXTRW": (1, 7), "PEXTRD": (2, 3), "PEXTRQ": (3, 1),
         "EXTRACTPS": (2, 3)}


@insn("PEXTRB_R32M8_XMM_IMM8", "PEXTRB_R64M8_XMM_IMM8", "PEXTRW_R32M16_XMM_IMM8",
      "PEXTRW_R64M16_XMM_IMM8", "PEXTRD_RM32_XMM_IMM8", "PEXTRQ_RM64_XMM_IMM8",
      "EXTRACTPS_RM32_XMM_IMM8", "EXTRACTPS_R64M32_XMM_IMM8")
def gen_PEXTR(s, insn):
    """Element imm8 (modulo the lane count) of the XMM source to r/m; a register
    destination gets it zero-extended (to 64 bits)."""
    if not sse_check(s):
        return
    c = s.c
    ot, mask = _EXTR[code_name(insn.code).split("_")[0]]
    bits = 8 << ot
    pos = (insn.immediate(2) & mask) * bits
    src = s.tmp()
    c.gen_ld_i64(src, xmm_off(xmm_index(insn.op_register(1)), pos // 64))
    v = s.tmp()
    if bits == 64:
        c.gen_mov_i64(v, src)
    else:
        c.gen_extract_i64(v, src, pos % 64, bits)
    if insn.op_kind(0) == OpKind.MEMORY:
        s.st(s.ea(insn), ot, v)
    else:
        s.st_reg(insn.op_register(0), v)


_INSR = {"PINSRB": (0, 15), "PINSRD": (2, 3), "PINSRQ": (3, 1)}


@insn("PINSRB_XMM_R32M8_IMM8", "PINSRB_XMM_R64M8_IMM8", "PINSRD_XMM_RM32_IMM8",
      "PINSRQ_XMM_RM64_IMM8")
def gen_PINSR(s, insn):
    """The low byte/dword/qword of r/m into element imm8 of the XMM destination."""
    if not sse_check(s):
        return
    c = s.c
    ot, mask = _INSR[code_name(insn.code).split("_")[0]]
    bits = 8 << ot
    pos = (insn.immediate(2) & mask) * bits
    if insn.op_kind(1) == OpKind.MEMORY:
        v = s.ld(s.ea(insn), ot)
    else:
        v = s.ld_reg(insn.op_register(1))
    off = xmm_off(xmm_index(insn.op_register(0)), pos // 64)
    if bits == 64:
        c.gen_st_i64(v, off)
        return
    d, r = s.tmp(), s.tmp()
    c.gen_ld_i64(d, off)
    c.gen_deposit_i64(r, d, v, pos % 64, bits)
    c.gen_st_i64(r, off)


# -- PTEST ---------------------------------------------------------------------------------------


def _ptest(cpu, d: int, lo: int, hi: int) -> int:
    a, b = read_xmm(cpu, d), lo | (hi << 64)
    return (0x40 if a & b == 0 else 0) | (0x01 if ~a & b == 0 else 0)


H_PTEST = Helper("sse41_ptest", _ptest, I64, (I32, I64, I64), CallFlags.NO_RWG_SE)


@insn("PTEST_XMM_XMMM128")
def gen_PTEST(s, insn):
    """ZF = (DEST AND SRC) == 0, CF = (NOT DEST AND SRC) == 0; AF OF PF SF cleared."""
    if not sse_check(s):
        return
    lo, hi = _load_src(s, insn, 1, 16, True)
    f = s.tmp()
    s.c.call(H_PTEST, [f], [s.const(xmm_index(insn.op_register(0)), I32), lo, hi])
    s.c.gen_mov_i64(G_CC_SRC, f)
    s.set_cc_op(CC.CC_OP_EFLAGS)


# -- floating point ------------------------------------------------------------------------------


def _round(f, scalar):
    def sem(a, b, imm, mxcsr):
        rc = sf.rc_of(mxcsr) if imm & 4 else imm & 3
        la, lb = _lanes(a, f.bits), _lanes(b, f.bits)
        pre = post = 0
        for i in range(1 if scalar else len(la)):
            la[i], p, q = sf.round_to_int(lb[i], f, mxcsr, rc, bool(imm & 8))
            pre |= p
            post |= q
        return _pack(la, f.bits), pre, post
    return sem


def _dp(f):
    """DPPS/DPPD in the SDM's three steps (products, pairwise sums, final sum), each
    rounded under MXCSR; the intermediate results are sources of the next step like
    any other (DAZ, DE). A step with an unmasked exception stops the instruction:
    the flags of the steps before it and of that step (only its pre-computation ones
    when one of those is unmasked) are set, as measured on the host CPU."""
    n = 128 // f.bits

    def sem(a, b, imm, mxcsr):
        la, lb = _lanes(a, f.bits), _lanes(b, f.bits)
        unmasked = ~(mxcsr >> sf.MASK_SHIFT) & 0x3F
        done = 0                                    # flags of the completed steps

        def step(ops):
            nonlocal done
            out, pre, post = [], 0, 0
            for op, x, y in ops:
                r, p, q = op(x, y, f, mxcsr)
                out.append(r)
                pre |= p
                post |= q
            if pre & unmasked:
                return None, done | pre, 0
            done |= pre | post
            if post & unmasked:
                return None, done & ~post, post
            return out, 0, 0

        plan = [(sf.mul if imm >> (4 + i) & 1 else (lambda x, y, f, m: (0, 0, 0)), x, y)
                for i, (x, y) in enumerate(zip(la, lb))]
        prods, p, q = step(plan)
        if prods is None:
            return a, p, q
        if n == 4:
            sums, p, q = step([(sf.add, prods[0], prods[1]), (sf.add, prods[2], prods[3])])
            if sums is None:
                return a, p, q
        else:
            sums = prods
        total, p, q = step([(sf.add, sums[0], sums[1])])
        if total is None:
            return a, p, q
        pre = done & sf.PRE
        return (_pack([total[0] if imm >> i & 1 else 0 for i in range(n)], f.bits),
                pre, done & ~pre)
    return sem


_FP = {"ROUNDPS": _round(sf.F32, False), "ROUNDPD": _round(sf.F64, False),
       "ROUNDSS": _round(sf.F32, True), "ROUNDSD": _round(sf.F64, True),
       "DPPS": _dp(sf.F32), "DPPD": _dp(sf.F64)}
_FP_HELPERS = {n: xmm_helper(f"sse41_{n.lower()}", fn, fp=True) for n, fn in _FP.items()}


@insn("ROUNDPS_XMM_XMMM128_IMM8", "ROUNDPD_XMM_XMMM128_IMM8", "ROUNDSS_XMM_XMMM32_IMM8",
      "ROUNDSD_XMM_XMMM64_IMM8")
def gen_ROUND(s, insn):
    gen_xmm_op(s, insn, _FP_HELPERS)


@insn("DPPS_XMM_XMMM128_IMM8", "DPPD_XMM_XMMM128_IMM8")
def gen_DPP(s, insn):
    gen_xmm_op(s, insn, _FP_HELPERS)
