"""SSE3 (XMM forms): ADDSUBPS/PD, HADDPS/PD, HSUBPS/PD, MOVSHDUP, MOVSLDUP,
MOVDDUP. LDDQU is in :mod:`.insn_sse` (an unaligned 128-bit load); FISTTP is x87
and not implemented (x87 is opt-in and approximate).

Also the shared shapes of the later SIMD groups (:mod:`.insn_ssse3`,
:mod:`.insn_sse41`, :mod:`.insn_sse42`): ``xmm_helper`` builds a helper that
computes the new destination from its old value, the source (two quadwords)
and the imm8; ``gen_xmm_op`` loads the source (16-byte aligned when it is an m128
of a legacy-SSE form, as the SDM's exception classes 1/4 require) and calls it.

The floating point forms are exact: lanes go through :mod:`.softfloat` under
MXCSR exactly as the SSE forms do (``fp_commit`` applies the SDM's order of pre-
and post-computation exceptions: an unmasked one leaves the destination unchanged
and raises #XM, or #UD with CR4.OSXMMEXCPT clear). HADDPS computes
``a0+a1, a2+a3, b0+b1, b2+b3`` (the first operand of each sum is the lower lane,
which decides which NaN is returned); ADDSUBPS subtracts in the even lanes.
"""

from __future__ import annotations

from iced_x86 import OpKind

from qemu_py.tcg.ir import I32, I64, CallFlags, Helper

from . import softfloat as sf
from .excp import X86Exception
from .insn_sse import M64, M128, _lanes, _load_src, _pack, sse_check, xmm_index
from .state import CR4, CR4_OSXMMEXCPT, EXCP06_ILLOP, EXCP13_XMM, MXCSR, XMM
from .translate import code_name, insn


def read_xmm(cpu, i: int) -> int:
    env = cpu.env_q
    return env[XMM + 2 * i] | (env[XMM + 2 * i + 1] << 64)


def write_xmm(cpu, i: int, v: int):
    env = cpu.env_q
    env[XMM + 2 * i] = v & M64
    env[XMM + 2 * i + 1] = (v >> 64) & M64


def fp_commit(cpu, value: int, pre: int, post: int) -> int | None:
    """Apply the flags of an FP computation to MXCSR; the value to write, or raise
    #XM/#UD for an unmasked exception (pre-computation ones first)."""
    env = cpu.env_q
    mxcsr = env[MXCSR]
    unmasked = ~(mxcsr >> sf.MASK_SHIFT) & 0x3F
    if pre & unmasked:
        env[MXCSR] = mxcsr | pre
    else:
        env[MXCSR] = mxcsr | pre | post
        if not post & unmasked:
            return value
    raise X86Exception(EXCP13_XMM if env[CR4] & CR4_OSXMMEXCPT else EXCP06_ILLOP)


def xmm_helper(name: str, fn, *, fp: bool = False) -> Helper:
    """Helper ``(d, lo, hi, imm)`` setting XMM[d] = FN(old XMM[d], source, imm, cpu).
    With FP, FN returns (value, pre, post) and may raise #XM: NO_WRITE_GLOBALS."""
    if fp:
        def run(cpu, d, lo, hi, imm):
            v, pre, post = fn(read_xmm(cpu, d), lo | (hi << 64), imm, cpu.env_q[MXCSR])
            write_xmm(cpu, d, fp_commit(cpu, v, pre, post))
        return Helper(name, run, None, (I32, I64, I64, I32), CallFlags.NO_WRITE_GLOBALS)

    def run_int(cpu, d, lo, hi, imm):
        write_xmm(cpu, d, fn(read_xmm(cpu, d), lo | (hi << 64), imm, cpu) & M128)
    return Helper(name, run_int, None, (I32, I64, I64, I32), CallFlags.NO_RWG)


def src_size(form: str) -> int:
    for tag, n in (("XMMM128", 16), ("M128", 16), ("XMMM64", 8), ("XMMM32", 4),
                   ("XMMM16", 2)):
        if tag in form:
            return n
    raise ValueError(form)


def load_src(s, insn, i: int, size: int, aligned: bool):
    """(lo, hi) of XMM/memory operand I; memory of SIZE bytes, zero-extended."""
    if size == 2 and insn.op_kind(i) == OpKind.MEMORY:
        return s.ld(s.ea(insn), 1), s.const(0)
    return _load_src(s, insn, i, size, aligned)


def gen_xmm_op(s, insn, helpers: dict, *, aligned: bool = True):
    """The common shape: XMM destination (operand 0), XMM/memory source (operand 1),
    optional imm8; HELPERS maps the form's mnemonic to its helper."""
    if not sse_check(s):
        return
    form = code_name(insn.code)
    size = src_size(form)
    lo, hi = load_src(s, insn, 1, size, aligned and size == 16)
    imm = insn.immediate(2) & 0xFF if insn.op_count == 3 else 0
    s.call(helpers[form.split("_")[0]], [],
           [s.const(xmm_index(insn.op_register(0)), I32), lo, hi, s.const(imm, I32)])


# -- SSE3 floating point -------------------------------------------------------------------


def _fp_pairs(f, plan):
    """PLAN: per destination lane (x_src, x_lane, y_src, y_lane, subtract), src 'a'/'b'."""
    def sem(a, b, imm, mxcsr):
        la, lb = _lanes(a, f.bits), _lanes(b, f.bits)
        out, pre, post = [], 0, 0
        for xs, xi, ys, yi, neg in plan:
            x = (la if xs == "a" else lb)[xi]
            y = (la if ys == "a" else lb)[yi]
            r, p, q = sf.add(x, y, f, mxcsr, negate_b=neg)
            out.append(r)
            pre |= p
            post |= q
        return _pack(out, f.bits), pre, post
    return sem


_FP = {
    "ADDSUBPS": _fp_pairs(sf.F32, [("a", i, "b", i, i % 2 == 0) for i in range(4)]),
    "ADDSUBPD": _fp_pairs(sf.F64, [("a", 0, "b", 0, True), ("a", 1, "b", 1, False)]),
    "HADDPS": _fp_pairs(sf.F32, [("a", 0, "a", 1, False), ("a", 2, "a", 3, False),
                                 ("b", 0, "b", 1, False), ("b", 2, "b", 3, False)]),
    "HSUBPS": _fp_pairs(sf.F32, [("a", 0, "a", 1, True), ("a", 2, "a", 3, True),
                                 ("b", 0, "b", 1, True), ("b", 2, "b", 3, True)]),
    "HADDPD": _fp_pairs(sf.F64, [("a", 0, "a", 1, False), ("b", 0, "b", 1, False)]),
    "HSUBPD": _fp_pairs(sf.F64, [("a", 0, "a", 1, True), ("b", 0, "b", 1, True)]),
}
_FP_HELPERS = {n: xmm_helper(f"sse3_{n.lower()}", fn, fp=True) for n, fn in _FP.items()}


@insn("ADDSUBPS_XMM_XMMM128", "ADDSUBPD_XMM_XMMM128", "HADDPS_XMM_XMMM128",
      "HADDPD_XMM_XMMM128", "HSUBPS_XMM_XMMM128", "HSUBPD_XMM_XMMM128")
def gen_SSE3_fp(s, insn):
    gen_xmm_op(s, insn, _FP_HELPERS)


# -- SSE3 moves ------------------------------------------------------------------------------


def _dup(bits, idx):
    def fn(a, b, imm, cpu):
        lb = _lanes(b, bits)
        return _pack([lb[i] for i in idx], bits)
    return fn


_DUP_HELPERS = {
    "MOVSHDUP": xmm_helper("sse3_movshdup", _dup(32, (1, 1, 3, 3))),
    "MOVSLDUP": xmm_helper("sse3_movsldup", _dup(32, (0, 0, 2, 2))),
    "MOVDDUP": xmm_helper("sse3_movddup", _dup(64, (0, 0))),
}


@insn("MOVSHDUP_XMM_XMMM128", "MOVSLDUP_XMM_XMMM128", "MOVDDUP_XMM_XMMM64")
def gen_SSE3_dup(s, insn):
    gen_xmm_op(s, insn, _DUP_HELPERS)
