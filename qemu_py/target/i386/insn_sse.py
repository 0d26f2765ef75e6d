"""SSE/SSE2 (XMM forms): moves, integer SIMD, packed and scalar floating
point, conversions, comparisons into EFLAGS, MXCSR and FXSAVE/FXRSTOR.

Everything here is exact and always decodes (CPUID leaf 1 advertises SSE and
SSE2 on every CPU model; ``-cpu max`` adds only the approximate x87).

XMM registers live in the CPU state (two u64 slots each). Moves are plain IR
(``ld``/``st`` on env, ``qemu_ld``/``qemu_st``); lane arithmetic is done by
helpers that read and write the XMM slots themselves (declared NO_RWG: they
touch no global) and receive a memory source already loaded as two
quadwords. Floating point (ADD/SUB/MUL/DIV/SQRT/MIN/MAX, CMPcc, COMIS/UCOMIS
and the CVT* forms between int32/int64/float32/float64, packed and scalar)
is bit-exact: lanes go through :mod:`.softfloat` under MXCSR (RC, FTZ, DAZ,
sticky IE DE ZE OE UE PE). An unmasked exception leaves the destination
unchanged and raises #XM (#UD when CR4.OSXMMEXCPT is clear); the FP helpers
may therefore raise and are declared NO_WRITE_GLOBALS. RCPPS/RSQRTPS (vendor-
specific approximations) are not implemented.
Alignment of the aligned forms (MOVAPS, MOVDQA, MOVNTDQ, arithmetic on
m128) is checked: #GP(0). CR0.TS gives #NM, CR4.OSFXSR clear gives #UD.
MMX (MM register) forms are in :mod:`.insn_mmx`.
"""

from __future__ import annotations

from iced_x86 import OpKind, Register

from qemu_py.tcg.ir import I32, I64, CallFlags, Helper

from . import cc as CC
from . import softfloat as sf
from .excp import X86Exception
from .insn_arith import HELPER_CHECK_ALIGN16
from .state import (CR4, CR4_OSXMMEXCPT, EXCP06_ILLOP, EXCP07_PREX, EXCP13_XMM, HF_EM_MASK,
                    HF_OSFXSR_MASK, HF_TS_MASK, MXCSR, XMM, EXCP0D_GPF, EFER, EFER_LMA,
                    HF_CS64_MASK)
from .state import AC_MASK, CR0, CR0_AM, EFLAGS, EXCP11_ALGN, HF_CPL_MASK, HFLAGS
from .translate import G_CC_SRC, HELPER_CHECK_AC, HELPER_PROBE_WRITE, code_name, insn

M64 = 0xFFFF_FFFF_FFFF_FFFF
M128 = (1 << 128) - 1


def xmm_index(reg) -> int:
    return reg - Register.XMM0


def xmm_off(i: int, half: int = 0) -> int:
    return 8 * (XMM + 2 * i + half)


# -- access checks --------------------------------------------------------------------------


def sse_check(s) -> bool:
    if s.flags & HF_TS_MASK:
        s.gen_exception(EXCP07_PREX)
        return False
    if not s.flags & HF_OSFXSR_MASK or s.flags & HF_EM_MASK:
        s.gen_exception(EXCP06_ILLOP)
        return False
    return True


def _load_src(s, insn, i, size, aligned=False):
    """(lo, hi) temps of operand I: an XMM register or SIZE bytes of memory."""
    c = s.c
    if insn.op_kind(i) == OpKind.REGISTER:
        r = xmm_index(insn.op_register(i))
        lo, hi = s.tmp(), s.tmp()
        c.gen_ld_i64(lo, xmm_off(r, 0))
        c.gen_ld_i64(hi, xmm_off(r, 1))
        return lo, hi
    ea = s.ea(insn)
    if aligned and size == 16:
        s.call(HELPER_CHECK_ALIGN16, [], [ea])
    elif size == 16 and s.align:
        s.call(HELPER_CHECK_AC, [], [ea, s.const(16, I32)])
    if size == 16:
        lo = s.ld(ea, 3)
        a2 = s.tmp()
        c.gen_add_i64(a2, ea, 8)
        hi = s.ld(a2, 3)
        return lo, hi
    return s.ld(ea, {4: 2, 8: 3}[size]), s.const(0)


def _store_xmm(s, r, lo, hi=None):
    s.c.gen_st_i64(lo, xmm_off(r, 0))
    if hi is not None:
        s.c.gen_st_i64(hi, xmm_off(r, 1))


# -- moves ------------------------------------------------------------------------------------


def _mov128(s, insn, aligned):
    c = s.c
    if not sse_check(s):
        return
    if insn.op_kind(0) == OpKind.REGISTER:
        lo, hi = _load_src(s, insn, 1, 16, aligned)
        _store_xmm(s, xmm_index(insn.op_register(0)), lo, hi)
        return
    ea = s.ea(insn)
    if aligned:
        s.call(HELPER_CHECK_ALIGN16, [], [ea])
    elif s.align:
        s.call(HELPER_CHECK_AC, [], [ea, s.const(16, I32)])
    r = xmm_index(insn.op_register(1))
    lo, hi = s.tmp(), s.tmp()
    c.gen_ld_i64(lo, xmm_off(r, 0))
    c.gen_ld_i64(hi, xmm_off(r, 1))
    a2 = s.tmp()
    c.gen_add_i64(a2, ea, 8)
    # both halves must be writable before either is written (a write fault, CR2 the
    # first inaccessible byte)
    s.call(HELPER_PROBE_WRITE, [], [ea, s.const(16, I32), s.const(s.mmu_idx, I32)])
    s.st(ea, 3, lo)
    s.st(a2, 3, hi)


@insn("MOVAPS_XMM_XMMM128", "MOVAPS_XMMM128_XMM", "MOVAPD_XMM_XMMM128", "MOVAPD_XMMM128_XMM",
      "MOVDQA_XMM_XMMM128", "MOVDQA_XMMM128_XMM", "MOVNTDQ_M128_XMM", "MOVNTPS_M128_XMM",
      "MOVNTPD_M128_XMM")
def gen_MOVAPS(s, insn):
    _mov128(s, insn, True)


@insn("MOVUPS_XMM_XMMM128", "MOVUPS_XMMM128_XMM", "MOVUPD_XMM_XMMM128", "MOVUPD_XMMM128_XMM",
      "MOVDQU_XMM_XMMM128", "MOVDQU_XMMM128_XMM", "LDDQU_XMM_M128")
def gen_MOVUPS(s, insn):
    _mov128(s, insn, False)


@insn("MOVD_XMM_RM32", "MOVQ_XMM_RM64")
def gen_MOVD_to_xmm(s, insn):
    if not sse_check(s):
        return
    ot = 2 if code_name(insn.code) == "MOVD_XMM_RM32" else 3
    v = s.ld_op(insn, 1, ot, s.ea(insn) if insn.op_kind(1) == OpKind.MEMORY else None)
    _store_xmm(s, xmm_index(insn.op_register(0)), v, s.const(0))


@insn("MOVD_RM32_XMM", "MOVQ_RM64_XMM")
def gen_MOVD_from_xmm(s, insn):
    if not sse_check(s):
        return
    ot = 2 if code_name(insn.code) == "MOVD_RM32_XMM" else 3
    t = s.tmp()
    s.c.gen_ld_i64(t, xmm_off(xmm_index(insn.op_register(1)), 0))
    s.st_op(insn, 0, ot, t, s.ea(insn) if insn.op_kind(0) == OpKind.MEMORY else None)


@insn("MOVQ_XMM_XMMM64")
def gen_MOVQ_load(s, insn):
    if not sse_check(s):
        return
    lo, _ = _load_src(s, insn, 1, 8)
    _store_xmm(s, xmm_index(insn.op_register(0)), lo, s.const(0))


@insn("MOVQ_XMMM64_XMM")
def gen_MOVQ_store(s, insn):
    if not sse_check(s):
        return
    t = s.tmp()
    s.c.gen_ld_i64(t, xmm_off(xmm_index(insn.op_register(1)), 0))
    if insn.op_kind(0) == OpKind.MEMORY:
        s.st(s.ea(insn), 3, t)
    else:
        _store_xmm(s, xmm_index(insn.op_register(0)), t, s.const(0))


@insn("MOVSD_XMM_XMMM64", "MOVSS_XMM_XMMM32")
def gen_MOVSD_load(s, insn):
    c = s.c
    if not sse_check(s):
        return
    single = code_name(insn.code).startswith("MOVSS")
    d = xmm_index(insn.op_register(0))
    if insn.op_kind(1) == OpKind.MEMORY:            # memory: the rest is zeroed
        v = s.ld(s.ea(insn), 2 if single else 3)
        _store_xmm(s, d, v, s.const(0))
        return
    src, dst = s.tmp(), s.tmp()
    c.gen_ld_i64(src, xmm_off(xmm_index(insn.op_register(1))))
    if single:
        c.gen_ld_i64(dst, xmm_off(d))
        r = s.tmp()
        c.gen_deposit_i64(r, dst, src, 0, 32)
        c.gen_st_i64(r, xmm_off(d))
    else:
        c.gen_st_i64(src, xmm_off(d))


@insn("MOVSD_XMMM64_XMM", "MOVSS_XMMM32_XMM")
def gen_MOVSD_store(s, insn):
    c = s.c
    if not sse_check(s):
        return
    single = code_name(insn.code).startswith("MOVSS")
    src = s.tmp()
    c.gen_ld_i64(src, xmm_off(xmm_index(insn.op_register(1))))
    if insn.op_kind(0) == OpKind.MEMORY:
        s.st(s.ea(insn), 2 if single else 3, src)
        return
    d = xmm_index(insn.op_register(0))
    if single:
        dst, r = s.tmp(), s.tmp()
        c.gen_ld_i64(dst, xmm_off(d))
        c.gen_deposit_i64(r, dst, src, 0, 32)
        c.gen_st_i64(r, xmm_off(d))
    else:
        c.gen_st_i64(src, xmm_off(d))


@insn("MOVLPS_XMM_M64", "MOVLPD_XMM_M64", "MOVHPS_XMM_M64", "MOVHPD_XMM_M64")
def gen_MOVLPS_load(s, insn):
    if not sse_check(s):
        return
    high = code_name(insn.code).startswith("MOVH")
    v = s.ld(s.ea(insn), 3)
    s.c.gen_st_i64(v, xmm_off(xmm_index(insn.op_register(0)), int(high)))


@insn("MOVLPS_M64_XMM", "MOVLPD_M64_XMM", "MOVHPS_M64_XMM", "MOVHPD_M64_XMM")
def gen_MOVLPS_store(s, insn):
    if not sse_check(s):
        return
    high = code_name(insn.code).startswith("MOVH")
    t = s.tmp()
    s.c.gen_ld_i64(t, xmm_off(xmm_index(insn.op_register(1)), int(high)))
    s.st(s.ea(insn), 3, t)


@insn("MOVHLPS_XMM_XMM", "MOVLHPS_XMM_XMM")
def gen_MOVHLPS(s, insn):
    if not sse_check(s):
        return
    hl = code_name(insn.code) == "MOVHLPS_XMM_XMM"
    t = s.tmp()
    s.c.gen_ld_i64(t, xmm_off(xmm_index(insn.op_register(1)), 1 if hl else 0))
    s.c.gen_st_i64(t, xmm_off(xmm_index(insn.op_register(0)), 0 if hl else 1))


@insn("MOVNTI_M32_R32", "MOVNTI_M64_R64")
def gen_MOVNTI(s, insn):
    ot = s.op_ot(insn, 1)
    s.st(s.ea(insn), ot, s.ld_reg(insn.op_register(1)))


# -- lane helpers -------------------------------------------------------------------------------


def _lanes(v: int, bits: int) -> list[int]:
    m = (1 << bits) - 1
    return [(v >> (i * bits)) & m for i in range(128 // bits)]


def _pack(ls, bits: int) -> int:
    m = (1 << bits) - 1
    v = 0
    for i, x in enumerate(ls):
        v |= (x & m) << (i * bits)
    return v


def _sx(x: int, bits: int) -> int:
    return x - (1 << bits) if x >> (bits - 1) else x


def _sat(x: int, bits: int, signed: bool) -> int:
    if signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        lo, hi = 0, (1 << bits) - 1
    return min(hi, max(lo, x))


def _lanewise(bits, fn, signed=False):
    def op(a, b):
        la, lb = _lanes(a, bits), _lanes(b, bits)
        if signed:
            la = [_sx(x, bits) for x in la]
            lb = [_sx(x, bits) for x in lb]
        return _pack([fn(x, y) for x, y in zip(la, lb)], bits)
    return op


def _cmp_mask(bits, pred, signed=False):
    m = (1 << bits) - 1
    return _lanewise(bits, lambda x, y: m if pred(x, y) else 0, signed)


def _unpack(bits, high):
    def op(a, b):
        la, lb = _lanes(a, bits), _lanes(b, bits)
        n = len(la) // 2
        src_a, src_b = (la[n:], lb[n:]) if high else (la[:n], lb[:n])
        out = []
        for x, y in zip(src_a, src_b):
            out += [x, y]
        return _pack(out, bits)
    return op


def _shift_lanes(bits, kind):
    def op(a, count):
        if count >= bits:
            if kind == "sra":
                count = bits - 1
            else:
                return 0
        ls = _lanes(a, bits)
        if kind == "sll":
            return _pack([x << count for x in ls], bits)
        if kind == "srl":
            return _pack([x >> count for x in ls], bits)
        return _pack([_sx(x, bits) >> count for x in ls], bits)
    return op


def _pshufd(a, b, imm):
    lb = _lanes(b, 32)
    return _pack([lb[(imm >> (2 * i)) & 3] for i in range(4)], 32)


def _shufps(a, b, imm, bits=32):
    la, lb = _lanes(a, 32), _lanes(b, 32)
    return _pack([la[imm & 3], la[(imm >> 2) & 3], lb[(imm >> 4) & 3], lb[(imm >> 6) & 3]], 32)


def _shufpd(a, b, imm):
    la, lb = _lanes(a, 64), _lanes(b, 64)
    return _pack([la[imm & 1], lb[(imm >> 1) & 1]], 64)


def _pmuludq(a, b):
    la, lb = _lanes(a, 32), _lanes(b, 32)
    return _pack([la[0] * lb[0], la[2] * lb[2]], 64)


def _pmaddwd(a, b):
    la = [_sx(x, 16) for x in _lanes(a, 16)]
    lb = [_sx(x, 16) for x in _lanes(b, 16)]
    return _pack([la[2 * i] * lb[2 * i] + la[2 * i + 1] * lb[2 * i + 1] for i in range(4)], 32)


def _psadbw(a, b):
    la, lb = _lanes(a, 8), _lanes(b, 8)
    return _pack([sum(abs(x - y) for x, y in zip(la[:8], lb[:8])), 0, 0, 0,
                  sum(abs(x - y) for x, y in zip(la[8:], lb[8:])), 0, 0, 0], 16)


def _packs(bits, signed_out):
    def op(a, b):
        la = [_sx(x, bits) for x in _lanes(a, bits)]
        lb = [_sx(x, bits) for x in _lanes(b, bits)]
        return _pack([_sat(x, bits // 2, signed_out) for x in la + lb], bits // 2)
    return op


_OPS = {
    "PAND": lambda a, b: a & b, "POR": lambda a, b: a | b, "PXOR": lambda a, b: a ^ b,
    "PANDN": lambda a, b: ~a & b & M128,
    "ANDPS": lambda a, b: a & b, "ANDPD": lambda a, b: a & b, "ORPS": lambda a, b: a | b,
    "ORPD": lambda a, b: a | b, "XORPS": lambda a, b: a ^ b, "XORPD": lambda a, b: a ^ b,
    "ANDNPS": lambda a, b: ~a & b & M128, "ANDNPD": lambda a, b: ~a & b & M128,
    "PADDB": _lanewise(8, lambda x, y: x + y), "PADDW": _lanewise(16, lambda x, y: x + y),
    "PADDD": _lanewise(32, lambda x, y: x + y), "PADDQ": _lanewise(64, lambda x, y: x + y),
    "PSUBB": _lanewise(8, lambda x, y: x - y), "PSUBW": _lanewise(16, lambda x, y: x - y),
    "PSUBD": _lanewise(32, lambda x, y: x - y), "PSUBQ": _lanewise(64, lambda x, y: x - y),
    "PADDUSB": _lanewise(8, lambda x, y: _sat(x + y, 8, False)),
    "PADDUSW": _lanewise(16, lambda x, y: _sat(x + y, 16, False)),
    "PSUBUSB": _lanewise(8, lambda x, y: _sat(x - y, 8, False)),
    "PSUBUSW": _lanewise(16, lambda x, y: _sat(x - y, 16, False)),
    "PADDSB": _lanewise(8, lambda x, y: _sat(x + y, 8, True), True),
    "PADDSW": _lanewise(16, lambda x, y: _sat(x + y, 16, True), True),
    "PSUBSB": _lanewise(8, lambda x, y: _sat(x - y, 8, True), True),
    "PSUBSW": _lanewise(16, lambda x, y: _sat(x - y, 16, True), True),
    "PCMPEQB": _cmp_mask(8, lambda x, y: x == y), "PCMPEQW": _cmp_mask(16, lambda x, y: x == y),
    "PCMPEQD": _cmp_mask(32, lambda x, y: x == y),
    "PCMPGTB": _cmp_mask(8, lambda x, y: x > y, True),
    "PCMPGTW": _cmp_mask(16, lambda x, y: x > y, True),
    "PCMPGTD": _cmp_mask(32, lambda x, y: x > y, True),
    "PMINUB": _lanewise(8, min), "PMAXUB": _lanewise(8, max),
    "PMINSW": _lanewise(16, min, True), "PMAXSW": _lanewise(16, max, True),
    "PAVGB": _lanewise(8, lambda x, y: (x + y + 1) >> 1),
    "PAVGW": _lanewise(16, lambda x, y: (x + y + 1) >> 1),
    "PMULLW": _lanewise(16, lambda x, y: x * y),
    "PMULHW": _lanewise(16, lambda x, y: (x * y) >> 16, True),
    "PMULHUW": _lanewise(16, lambda x, y: (x * y) >> 16),
    "PMULUDQ": _pmuludq, "PMADDWD": _pmaddwd, "PSADBW": _psadbw,
    "PACKSSWB": _packs(16, True), "PACKSSDW": _packs(32, True), "PACKUSWB": _packs(16, False),
    "PUNPCKLBW": _unpack(8, False), "PUNPCKLWD": _unpack(16, False),
    "PUNPCKLDQ": _unpack(32, False), "PUNPCKLQDQ": _unpack(64, False),
    "PUNPCKHBW": _unpack(8, True), "PUNPCKHWD": _unpack(16, True),
    "PUNPCKHDQ": _unpack(32, True), "PUNPCKHQDQ": _unpack(64, True),
    "UNPCKLPS": _unpack(32, False), "UNPCKHPS": _unpack(32, True),
    "UNPCKLPD": _unpack(64, False), "UNPCKHPD": _unpack(64, True),
}


def _binop_helper(name):
    fn = _OPS[name]

    def run(cpu, d, lo, hi):
        env = cpu.env_q
        a = env[XMM + 2 * d] | (env[XMM + 2 * d + 1] << 64)
        r = fn(a, lo | (hi << 64)) & M128
        env[XMM + 2 * d] = r & M64
        env[XMM + 2 * d + 1] = r >> 64
    return Helper(f"sse_{name.lower()}", run, None, (I32, I64, I64), CallFlags.NO_RWG)


_BIN_HELPERS = {name: _binop_helper(name) for name in _OPS}


def _binary(s, insn):
    if not sse_check(s):
        return
    name = code_name(insn.code).split("_")[0]
    lo, hi = _load_src(s, insn, 1, 16, True)
    s.c.call(_BIN_HELPERS[name], [], [s.const(xmm_index(insn.op_register(0)), I32), lo, hi])


_BINARY_FORMS = [f"{n}_XMM_XMMM128" for n in _OPS]


@insn(*[f for f in _BINARY_FORMS if f.split("_")[0] in (
    "PAND", "POR", "PXOR", "PANDN", "ANDPS", "ANDPD", "ORPS", "ORPD", "XORPS", "XORPD",
    "ANDNPS", "ANDNPD")])
def gen_SSE_logic(s, insn):
    _binary(s, insn)


@insn(*[f for f in _BINARY_FORMS if f.startswith(("PADD", "PSUB", "PMUL", "PMADD", "PAVG",
                                                  "PMIN", "PMAX", "PSAD"))])
def gen_SSE_int_arith(s, insn):
    _binary(s, insn)


@insn(*[f for f in _BINARY_FORMS if f.startswith(("PCMP",))])
def gen_SSE_int_compare(s, insn):
    _binary(s, insn)


@insn(*[f for f in _BINARY_FORMS if f.startswith(("PUNPCK", "UNPCK", "PACK"))])
def gen_SSE_shuffle_unpack(s, insn):
    _binary(s, insn)




def _imm_helper(name, fn):
    def run(cpu, d, lo, hi, imm):
        env = cpu.env_q
        a = env[XMM + 2 * d] | (env[XMM + 2 * d + 1] << 64)
        r = fn(a, lo | (hi << 64), imm) & M128
        env[XMM + 2 * d] = r & M64
        env[XMM + 2 * d + 1] = r >> 64
    return Helper(name, run, None, (I32, I64, I64, I32), CallFlags.NO_RWG)


_SHUF_HELPERS = {"PSHUFD": _imm_helper("sse_pshufd", _pshufd),
                 "SHUFPS": _imm_helper("sse_shufps", _shufps),
                 "SHUFPD": _imm_helper("sse_shufpd", _shufpd),
                 "PSHUFLW": _imm_helper("sse_pshuflw", lambda a, b, imm: (b & ~0xFFFFFFFFFFFFFFFF)
                                        | _pack([_lanes(b, 16)[(imm >> (2 * i)) & 3]
                                                 for i in range(4)], 16)),
                 "PSHUFHW": _imm_helper("sse_pshufhw", lambda a, b, imm: (b & M64)
                                        | (_pack([_lanes(b, 16)[4 + ((imm >> (2 * i)) & 3)]
                                                  for i in range(4)], 16) << 64))}


@insn("PSHUFD_XMM_XMMM128_IMM8", "SHUFPS_XMM_XMMM128_IMM8", "SHUFPD_XMM_XMMM128_IMM8",
      "PSHUFLW_XMM_XMMM128_IMM8", "PSHUFHW_XMM_XMMM128_IMM8")
def gen_SSE_shuffle_imm(s, insn):
    if not sse_check(s):
        return
    name = code_name(insn.code).split("_")[0]
    lo, hi = _load_src(s, insn, 1, 16, True)
    s.c.call(_SHUF_HELPERS[name], [], [s.const(xmm_index(insn.op_register(0)), I32), lo, hi,
                                       s.const(insn.immediate(2) & 0xFF, I32)])


_SHIFTS = {}
for _k, _b in (("W", 16), ("D", 32), ("Q", 64)):
    _SHIFTS["PSLL" + _k] = _shift_lanes(_b, "sll")
    _SHIFTS["PSRL" + _k] = _shift_lanes(_b, "srl")
    if _k != "Q":
        _SHIFTS["PSRA" + _k] = _shift_lanes(_b, "sra")
_SHIFTS["PSLLDQ"] = lambda a, n: (a << (8 * min(n, 16))) & M128
_SHIFTS["PSRLDQ"] = lambda a, n: a >> (8 * min(n, 16))


def _shift_helper(name):
    fn = _SHIFTS[name]

    def run(cpu, d, count):
        env = cpu.env_q
        a = env[XMM + 2 * d] | (env[XMM + 2 * d + 1] << 64)
        r = fn(a, count) & M128
        env[XMM + 2 * d] = r & M64
        env[XMM + 2 * d + 1] = r >> 64
    return Helper(f"sse_{name.lower()}", run, None, (I32, I64), CallFlags.NO_RWG)


_SHIFT_HELPERS = {n: _shift_helper(n) for n in _SHIFTS}


@insn("PSLLW_XMM_IMM8", "PSLLD_XMM_IMM8", "PSLLQ_XMM_IMM8", "PSRLW_XMM_IMM8", "PSRLD_XMM_IMM8",
      "PSRLQ_XMM_IMM8", "PSRAW_XMM_IMM8", "PSRAD_XMM_IMM8", "PSLLDQ_XMM_IMM8", "PSRLDQ_XMM_IMM8",
      "PSLLW_XMM_XMMM128", "PSLLD_XMM_XMMM128", "PSLLQ_XMM_XMMM128", "PSRLW_XMM_XMMM128",
      "PSRLD_XMM_XMMM128", "PSRLQ_XMM_XMMM128", "PSRAW_XMM_XMMM128", "PSRAD_XMM_XMMM128")
def gen_SSE_shift(s, insn):
    if not sse_check(s):
        return
    name = code_name(insn.code).split("_")[0]
    if insn.op_kind(1) == OpKind.IMMEDIATE8:
        count = s.const(insn.immediate(1) & 0xFF)
    else:
        count, _ = _load_src(s, insn, 1, 16, True)     # the count is SRC[63:0]
    s.c.call(_SHIFT_HELPERS[name], [], [s.const(xmm_index(insn.op_register(0)), I32), count])


# -- PEXTRW / PINSRW (SSE2 word moves) ----------------------------------------------------------


@insn("PEXTRW_R32_XMM_IMM8", "PEXTRW_R64_XMM_IMM8")
def gen_PEXTRW(s, insn):
    """Word imm8[2:0] of the XMM source, zero-extended into the register."""
    if not sse_check(s):
        return
    pos = (insn.immediate(2) & 7) * 16
    src, v = s.tmp(), s.tmp()
    s.c.gen_ld_i64(src, xmm_off(xmm_index(insn.op_register(1)), pos // 64))
    s.c.gen_extract_i64(v, src, pos % 64, 16)
    s.st_reg(insn.op_register(0), v)


@insn("PINSRW_XMM_R32M16_IMM8", "PINSRW_XMM_R64M16_IMM8")
def gen_PINSRW(s, insn):
    """The low word of r32/m16 into word imm8[2:0] of the XMM destination."""
    if not sse_check(s):
        return
    pos = (insn.immediate(2) & 7) * 16
    if insn.op_kind(1) == OpKind.MEMORY:
        v = s.ld(s.ea(insn), 1)
    else:
        v = s.ld_reg(insn.op_register(1))
    off = xmm_off(xmm_index(insn.op_register(0)), pos // 64)
    d, r = s.tmp(), s.tmp()
    s.c.gen_ld_i64(d, off)
    s.c.gen_deposit_i64(r, d, v, pos % 64, 16)
    s.c.gen_st_i64(r, off)


# -- to general registers / flags -------------------------------------------------------------------


def _movmsk(cpu, r: int, bits: int) -> int:
    env = cpu.env_q
    v = env[XMM + 2 * r] | (env[XMM + 2 * r + 1] << 64)
    return sum(((x >> (bits - 1)) & 1) << i for i, x in enumerate(_lanes(v, bits)))


HELPER_MOVMSK = Helper("sse_movmsk", _movmsk, I64, (I32, I32), CallFlags.NO_RWG_SE)


@insn("PMOVMSKB_R32_XMM", "PMOVMSKB_R64_XMM", "MOVMSKPS_R32_XMM", "MOVMSKPS_R64_XMM",
      "MOVMSKPD_R32_XMM", "MOVMSKPD_R64_XMM")
def gen_MOVMSK(s, insn):
    if not sse_check(s):
        return
    name = code_name(insn.code).split("_")[0]
    bits = {"PMOVMSKB": 8, "MOVMSKPS": 32, "MOVMSKPD": 64}[name]
    t = s.tmp()
    s.c.call(HELPER_MOVMSK, [t], [s.const(xmm_index(insn.op_register(1)), I32),
                                  s.const(bits, I32)])
    s.st_reg(insn.op_register(0), t)


# -- floating point (exact: softfloat) ----------------------------------------------------------
#
# Each FP form has a pure semantic function ``(a, b, mxcsr, imm) -> (value, pre, post)``:
# A is the destination register's old 128-bit value (the first source), B the source
# (an XMM register, or the memory operand zero-extended, or the integer of CVTSI2SS/SD),
# VALUE the new destination (or EFLAGS bits, or the integer of CVT*2SI), PRE and POST the
# pre- and post-computation exception flags of all lanes. ``fp_exec`` applies the SDM's
# order: an unmasked pre-computation exception in any lane stops the instruction before
# any computation (only the pre-computation flags are set); otherwise every flag found is
# set and an unmasked one stops the instruction before the destination is written.


def _fp_map(op, f, scalar: bool, *, with_imm: bool = False):
    """Lanewise F op on A, B (only the low lane when SCALAR; the rest of A is kept)."""
    def sem(a, b, mxcsr, imm):
        la, lb = _lanes(a, f.bits), _lanes(b, f.bits)
        pre = post = 0
        for i in range(1 if scalar else len(la)):
            if with_imm:
                la[i], p, q = op(la[i], lb[i], f, mxcsr, imm)
            else:
                la[i], p, q = op(la[i], lb[i], f, mxcsr)
            pre |= p
            post |= q
        return _pack(la, f.bits), pre, post
    return sem


def _fp_convert(src_bits, dst_bits, n, op, keep_rest: bool):
    """N lanes of B (SRC_BITS each) through OP(lane, mxcsr) into DST_BITS lanes of the
    result; the rest of the destination is A's (KEEP_REST) or zero."""
    def sem(a, b, mxcsr, imm):
        lb = _lanes(b, src_bits)
        out = _lanes(a, dst_bits) if keep_rest else [0] * (128 // dst_bits)
        pre = post = 0
        for i in range(n):
            out[i], p, q = op(lb[i], mxcsr)
            pre |= p
            post |= q
        return _pack(out, dst_bits), pre, post
    return sem


def _to_gpr(f, bits, truncate):
    def sem(a, b, mxcsr, imm):
        return sf.float_to_int(b & ((1 << f.bits) - 1), f, mxcsr, bits, truncate)
    return sem


def _int_to_xmm(f, bits):
    def sem(a, b, mxcsr, imm):
        r, pre, post = sf.int_to_float(_sx(b & ((1 << bits) - 1), bits), f, mxcsr)
        m = (1 << f.bits) - 1
        return (a & ~m) | r, pre, post
    return sem


def _comis_sem(f, signaling):
    def sem(a, b, mxcsr, imm):
        m = (1 << f.bits) - 1
        return sf.comis(a & m, b & m, f, mxcsr, signaling)
    return sem


FP_SEMANTICS: dict[str, object] = {}
for _n, _op in (("ADD", sf.add), ("SUB", sf.sub), ("MUL", sf.mul), ("DIV", sf.div),
                ("MIN", lambda x, y, f, m: sf.minmax(x, y, f, m, False)),
                ("MAX", lambda x, y, f, m: sf.minmax(x, y, f, m, True)),
                ("SQRT", lambda x, y, f, m: sf.sqrt(y, f, m))):
    FP_SEMANTICS[f"{_n}PS_XMM_XMMM128"] = _fp_map(_op, sf.F32, False)
    FP_SEMANTICS[f"{_n}PD_XMM_XMMM128"] = _fp_map(_op, sf.F64, False)
    FP_SEMANTICS[f"{_n}SS_XMM_XMMM32"] = _fp_map(_op, sf.F32, True)
    FP_SEMANTICS[f"{_n}SD_XMM_XMMM64"] = _fp_map(_op, sf.F64, True)
FP_SEMANTICS.update({
    "CMPPS_XMM_XMMM128_IMM8": _fp_map(sf.cmp, sf.F32, False, with_imm=True),
    "CMPPD_XMM_XMMM128_IMM8": _fp_map(sf.cmp, sf.F64, False, with_imm=True),
    "CMPSS_XMM_XMMM32_IMM8": _fp_map(sf.cmp, sf.F32, True, with_imm=True),
    "CMPSD_XMM_XMMM64_IMM8": _fp_map(sf.cmp, sf.F64, True, with_imm=True),
    "COMISS_XMM_XMMM32": _comis_sem(sf.F32, True),
    "UCOMISS_XMM_XMMM32": _comis_sem(sf.F32, False),
    "COMISD_XMM_XMMM64": _comis_sem(sf.F64, True),
    "UCOMISD_XMM_XMMM64": _comis_sem(sf.F64, False),
    "CVTSI2SS_XMM_RM32": _int_to_xmm(sf.F32, 32),
    "CVTSI2SS_XMM_RM64": _int_to_xmm(sf.F32, 64),
    "CVTSI2SD_XMM_RM32": _int_to_xmm(sf.F64, 32),
    "CVTSI2SD_XMM_RM64": _int_to_xmm(sf.F64, 64),
    "CVTSS2SD_XMM_XMMM32": _fp_convert(32, 64, 1, lambda x, m: sf.float_to_float(
        x, sf.F32, sf.F64, m), True),
    "CVTSD2SS_XMM_XMMM64": _fp_convert(64, 32, 1, lambda x, m: sf.float_to_float(
        x, sf.F64, sf.F32, m), True),
    "CVTPS2PD_XMM_XMMM64": _fp_convert(32, 64, 2, lambda x, m: sf.float_to_float(
        x, sf.F32, sf.F64, m), False),
    "CVTPD2PS_XMM_XMMM128": _fp_convert(64, 32, 2, lambda x, m: sf.float_to_float(
        x, sf.F64, sf.F32, m), False),
    "CVTDQ2PS_XMM_XMMM128": _fp_convert(32, 32, 4, lambda x, m: sf.int_to_float(
        _sx(x, 32), sf.F32, m), False),
    "CVTDQ2PD_XMM_XMMM64": _fp_convert(32, 64, 2, lambda x, m: sf.int_to_float(
        _sx(x, 32), sf.F64, m), False),
    "CVTPS2DQ_XMM_XMMM128": _fp_convert(32, 32, 4, lambda x, m: sf.float_to_int(
        x, sf.F32, m, 32, False), False),
    "CVTTPS2DQ_XMM_XMMM128": _fp_convert(32, 32, 4, lambda x, m: sf.float_to_int(
        x, sf.F32, m, 32, True), False),
    "CVTPD2DQ_XMM_XMMM128": _fp_convert(64, 32, 2, lambda x, m: sf.float_to_int(
        x, sf.F64, m, 32, False), False),
    "CVTTPD2DQ_XMM_XMMM128": _fp_convert(64, 32, 2, lambda x, m: sf.float_to_int(
        x, sf.F64, m, 32, True), False),
})
for _t, _tn in (("", False), ("T", True)):
    for _r in (32, 64):
        FP_SEMANTICS[f"CVT{_t}SS2SI_R{_r}_XMMM32"] = _to_gpr(sf.F32, _r, _tn)
        FP_SEMANTICS[f"CVT{_t}SD2SI_R{_r}_XMMM64"] = _to_gpr(sf.F64, _r, _tn)


def fp_exec(form: str, mxcsr: int, a: int, b: int, imm: int = 0) -> tuple[int | None, int]:
    """Run FP instruction FORM (an iced Code name) on A, B under MXCSR:
    (value, or None when an unmasked exception stops it; the new MXCSR)."""
    value, pre, post = FP_SEMANTICS[form](a, b, mxcsr, imm)
    unmasked = ~(mxcsr >> sf.MASK_SHIFT) & 0x3F
    if pre & unmasked:
        return None, mxcsr | pre
    mxcsr |= pre | post
    if post & unmasked:
        return None, mxcsr
    return value, mxcsr


def _fp_run(cpu, form: str, a: int, b: int, imm: int) -> int:
    env = cpu.env_q
    value, env[MXCSR] = fp_exec(form, env[MXCSR], a, b, imm)
    if value is None:
        # SIMD floating-point exception: #XM if the OS handles it, else #UD
        raise X86Exception(EXCP13_XMM if env[CR4] & CR4_OSXMMEXCPT else EXCP06_ILLOP)
    return value


def _fp_xmm_helper(form: str) -> Helper:
    """Helper writing XMM[d] from its old value and the source (LO, HI) or integer LO."""
    def run(cpu, d, lo, hi, imm):
        env = cpu.env_q
        a = env[XMM + 2 * d] | (env[XMM + 2 * d + 1] << 64)
        r = _fp_run(cpu, form, a, lo | (hi << 64), imm)
        env[XMM + 2 * d] = r & M64
        env[XMM + 2 * d + 1] = r >> 64
    # may raise #XM/#UD: not NO_RWG, so the lazy flags are in env when it faults
    return Helper(f"sse_{form.split('_')[0].lower()}", run, None, (I32, I64, I64, I32),
                  CallFlags.NO_WRITE_GLOBALS)


def _fp_value_helper(form: str) -> Helper:
    """Helper returning EFLAGS bits (COMIS) or an integer (CVT*2SI) from XMM[d] and LO."""
    def run(cpu, d, lo):
        env = cpu.env_q
        return _fp_run(cpu, form, env[XMM + 2 * d], lo, 0)
    return Helper(f"sse_{form.split('_')[0].lower()}_{form.split('_')[1].lower()}", run, I64,
                  (I32, I64), CallFlags.NO_WRITE_GLOBALS)


FP_XMM_FORMS = [f for f in FP_SEMANTICS if f.split("_")[1] == "XMM"
                and not f.startswith(("COMIS", "UCOMIS"))]
FP_VALUE_FORMS = [f for f in FP_SEMANTICS if f not in FP_XMM_FORMS]
_FP_HELPERS = {f: _fp_xmm_helper(f) for f in FP_XMM_FORMS}
_FP_HELPERS.update({f: _fp_value_helper(f) for f in FP_VALUE_FORMS})


def _src_size(form: str) -> int:
    for tag, n in (("XMMM128", 16), ("XMMM64", 8), ("XMMM32", 4)):
        if tag in form:
            return n
    return 0


@insn(*[f for f in FP_XMM_FORMS if not f.startswith("CVTSI2S")])
def gen_SSE_fp(s, insn):
    """Arithmetic, CMPcc and XMM-to-XMM conversions (packed m128 sources are aligned)."""
    if not sse_check(s):
        return
    form = code_name(insn.code)
    size = _src_size(form)
    lo, hi = _load_src(s, insn, 1, size, size == 16)
    imm = insn.immediate(2) & 0xFF if insn.op_count == 3 else 0
    s.call(_FP_HELPERS[form], [], [s.const(xmm_index(insn.op_register(0)), I32), lo, hi,
                                   s.const(imm, I32)])


@insn("CVTSI2SD_XMM_RM32", "CVTSI2SD_XMM_RM64", "CVTSI2SS_XMM_RM32", "CVTSI2SS_XMM_RM64")
def gen_CVTSI2SD(s, insn):
    if not sse_check(s):
        return
    form = code_name(insn.code)
    ot = 2 if form.endswith("32") else 3
    v = s.ld_op(insn, 1, ot, s.ea(insn) if insn.op_kind(1) == OpKind.MEMORY else None)
    s.call(_FP_HELPERS[form], [], [s.const(xmm_index(insn.op_register(0)), I32), v,
                                   s.const(0), s.const(0, I32)])


@insn("UCOMISD_XMM_XMMM64", "COMISD_XMM_XMMM64", "UCOMISS_XMM_XMMM32", "COMISS_XMM_XMMM32")
def gen_COMIS(s, insn):
    if not sse_check(s):
        return
    form = code_name(insn.code)
    b, _ = _load_src(s, insn, 1, _src_size(form))
    f = s.tmp()
    s.call(_FP_HELPERS[form], [f], [s.const(xmm_index(insn.op_register(0)), I32), b])
    s.c.gen_mov_i64(G_CC_SRC, f)
    s.set_cc_op(CC.CC_OP_EFLAGS)


@insn(*[f for f in FP_VALUE_FORMS if f.startswith("CVT")])
def gen_CVTTSD2SI(s, insn):
    if not sse_check(s):
        return
    form = code_name(insn.code)
    v, _ = _load_src(s, insn, 1, _src_size(form))
    r = s.tmp()
    s.call(_FP_HELPERS[form], [r], [s.const(0, I32), v])
    s.st_reg(insn.op_register(0), r)


# -- MXCSR, FXSAVE/FXRSTOR ----------------------------------------------------------------------


def _ldmxcsr(cpu, v: int):
    if v & ~0xFFFF:
        raise X86Exception(EXCP0D_GPF, 0)
    cpu.env_q[MXCSR] = v


H_LDMXCSR = Helper("ldmxcsr", _ldmxcsr, None, (I64,), CallFlags.NO_WRITE_GLOBALS)


@insn("LDMXCSR_M32")
def gen_LDMXCSR(s, insn):
    if sse_check(s):
        s.call(H_LDMXCSR, [], [s.ld(s.ea(insn), 2)])


@insn("STMXCSR_M32")
def gen_STMXCSR(s, insn):
    if sse_check(s):
        t = s.tmp()
        s.c.gen_ld_i64(t, 8 * MXCSR)
        s.st(s.ea(insn), 2, t)


FXSAVE_WRITTEN = 416      # bytes 416-511 are reserved or software-available: not written


def _fx_probe(cpu, addr: int, access: int, mmu_idx: int):
    """The checks FXSAVE/FXRSTOR make before touching memory, in the order the CPU
    makes them: a non-canonical first or last byte (#GP(0), #SS(0) for an SS
    reference), a base not 16-byte aligned (#GP(0)), then paging: the last byte
    of the 512-byte image first, so a fault in the image's second page reports
    CR2 = base + 511 (measured on the oracle CPUs), then the first byte."""
    last = (addr + 511) & M64
    if cpu.env_q[EFER] & EFER_LMA:
        for a in (addr, last):
            if ((a >> 47) + 1) & 0x1FFFF > 1:
                e = X86Exception(EXCP0D_GPF, 0)
                e.noncanonical = a
                raise e
    if addr & 15:
        # with alignment checking on (CR0.AM, EFLAGS.AC, CPL 3) a base that is not
        # 4-byte aligned raises #AC on the oracle CPU, a 4-byte aligned one #GP (the SDM
        # leaves #AC vs #GP to the implementation)
        env = cpu.env_q
        ac = (env[CR0] & CR0_AM and env[EFLAGS] & AC_MASK and
              env[HFLAGS] & HF_CPL_MASK == 3)
        raise X86Exception(EXCP11_ALGN if ac and addr & 3 else EXCP0D_GPF, 0)
    cpu.mmu.lookup(last, access, mmu_idx)
    cpu.mmu.lookup(addr, access, mmu_idx)


def _fxsave(cpu, addr: int, mmu_idx: int, is64: int):
    from .insn_x87 import fxsave_image
    _fx_probe(cpu, addr, 1, mmu_idx)
    data = fxsave_image(cpu, is64)
    for i in range(0, FXSAVE_WRITTEN, 8):
        cpu.st_mmu(addr + i, int.from_bytes(data[i:i + 8], "little"), 8, mmu_idx)


def _fxrstor(cpu, addr: int, mmu_idx: int, is64: int):
    from .insn_x87 import fxrstor_image
    _fx_probe(cpu, addr, 0, mmu_idx)
    data = b"".join(cpu.ld_mmu(addr + i, 8, mmu_idx).to_bytes(8, "little")
                    for i in range(0, 512, 8))
    mx = int.from_bytes(data[24:28], "little")
    if mx & ~0xFFFF:
        raise X86Exception(EXCP0D_GPF, 0)
    fxrstor_image(cpu, data, is64)


H_FXSAVE = Helper("fxsave", _fxsave, None, (I64, I32, I32), CallFlags.NO_WRITE_GLOBALS)
H_FXRSTOR = Helper("fxrstor", _fxrstor, None, (I64, I32, I32),
                    CallFlags.NO_WRITE_GLOBALS)


def _gen_fx(s, insn, helper, rex_w_name: str):
    """FXSAVE/FXRSTOR: #NM with CR0.TS, #UD with CR0.EM, else the helper with the form
    (bit 0: REX.W, bit 1: 64-bit code) and the MMU index."""
    if s.flags & (HF_TS_MASK | HF_EM_MASK):
        s.gen_exception(EXCP07_PREX if s.flags & HF_TS_MASK else EXCP06_ILLOP)
        return
    is64 = int(code_name(insn.code).startswith(rex_w_name)) | \
        (2 if s.flags & HF_CS64_MASK else 0)
    s.gen_update_eip_cur()
    s.call(helper, [], [s.ea(insn), s.const(s.mmu_idx, I32), s.const(is64, I32)])


@insn("FXSAVE_M512BYTE", "FXSAVE64_M512BYTE")
def gen_FXSAVE(s, insn):
    _gen_fx(s, insn, H_FXSAVE, "FXSAVE64")


@insn("FXRSTOR_M512BYTE", "FXRSTOR64_M512BYTE")
def gen_FXRSTOR(s, insn):
    _gen_fx(s, insn, H_FXRSTOR, "FXRSTOR64")

