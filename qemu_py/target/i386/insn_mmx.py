"""MMX: the MM0-MM7 forms of the integer SIMD instructions, their moves and EMMS.

MMi is the 64-bit mantissa of x87 physical register i.  Every MMX instruction
but EMMS makes the x87 stack top 0 and every tag valid; a write to MMi sets
that register's exponent and sign bits to all ones, as the SDM describes.
EMMS marks every register empty.  CR0.EM gives #UD and CR0.TS #NM.

The lane arithmetic is the SSE one (:mod:`.insn_sse`) on 64 bits: a lanewise
operation on the low half of a 128-bit value gives the MMX result in its low
64 bits; the packs and the high unpacks, whose lanes move across the halves,
first place both sources in one 128-bit value.  The SSE-integer additions
(PMINUB, PAVGB, PSHUFW, PMOVMSKB ... ) and the SSE2 PADDQ/PSUBQ/PMULUDQ forms
are here too.  Not implemented: the MMX float conversions (CVTPI2PS and
relatives), MASKMOVQ and the SSSE3 MM forms.
"""

from __future__ import annotations

from iced_x86 import OpKind, Register

from qemu_py.tcg.ir import I32, I64, CallFlags, Helper

from .insn_sse import _OPS, _SHIFTS, _lanes, _pack, xmm_index, xmm_off
from .state import EXCP06_ILLOP, EXCP07_PREX, FPREGS, FPSTT, FPTAGS, HF_EM_MASK, HF_TS_MASK
from .translate import code_name, insn

M64 = 0xFFFF_FFFF_FFFF_FFFF
M128 = (1 << 128) - 1


def mm_index(reg) -> int:
    return reg - Register.MM0


def mm_off(i: int) -> int:
    return 8 * (FPREGS + 2 * i)


def mmx_check(s) -> bool:
    if s.flags & HF_EM_MASK:
        s.gen_exception(EXCP06_ILLOP)
        return False
    if s.flags & HF_TS_MASK:
        s.gen_exception(EXCP07_PREX)
        return False
    return True


def _enter(cpu):
    env = cpu.env_q
    env[FPSTT] = 0
    env[FPTAGS] = 0


def _emms(cpu):
    cpu.env_q[FPTAGS] = 0xFF


H_MMX_ENTER = Helper("mmx_enter", _enter, None, (), CallFlags.NO_RWG)
H_EMMS = Helper("mmx_emms", _emms, None, (), CallFlags.NO_RWG)


def _write_mm(s, r: int, v):
    """MMr := V (64 bits), its exponent word all ones; the MMX state entered."""
    s.c.call(H_MMX_ENTER, [], [])
    s.c.gen_st_i64(v, mm_off(r))
    s.c.gen_st_i64(s.const(0xFFFF), mm_off(r) + 8)


def _read_mm(s, r: int):
    t = s.tmp()
    s.c.gen_ld_i64(t, mm_off(r))
    return t


def _src64(s, insn, i, size: int = 8):
    """Operand I of an MMX instruction: an MM register or SIZE bytes of memory."""
    if insn.op_kind(i) == OpKind.REGISTER:
        return _read_mm(s, mm_index(insn.op_register(i)))
    return s.ld(s.ea(insn), 3 if size == 8 else 2)


# -- moves ---------------------------------------------------------------------------------------


@insn("MOVD_MM_RM32", "MOVQ_MM_RM64")
def gen_MOVD_to_mm(s, insn):
    if not mmx_check(s):
        return
    ot = 2 if code_name(insn.code) == "MOVD_MM_RM32" else 3
    v = s.ld_op(insn, 1, ot, s.ea(insn) if insn.op_kind(1) == OpKind.MEMORY else None)
    _write_mm(s, mm_index(insn.op_register(0)), v)


@insn("MOVD_RM32_MM", "MOVQ_RM64_MM")
def gen_MOVD_from_mm(s, insn):
    if not mmx_check(s):
        return
    ot = 2 if code_name(insn.code) == "MOVD_RM32_MM" else 3
    v = _read_mm(s, mm_index(insn.op_register(1)))
    s.st_op(insn, 0, ot, v, s.ea(insn) if insn.op_kind(0) == OpKind.MEMORY else None)
    s.c.call(H_MMX_ENTER, [], [])


@insn("MOVQ_MM_MMM64")
def gen_MOVQ_to_mm(s, insn):
    if not mmx_check(s):
        return
    _write_mm(s, mm_index(insn.op_register(0)), _src64(s, insn, 1))


@insn("MOVQ_MMM64_MM", "MOVNTQ_M64_MM")
def gen_MOVQ_from_mm(s, insn):
    if not mmx_check(s):
        return
    v = _read_mm(s, mm_index(insn.op_register(1)))
    if insn.op_kind(0) == OpKind.MEMORY:
        s.st(s.ea(insn), 3, v)
        s.c.call(H_MMX_ENTER, [], [])
    else:
        _write_mm(s, mm_index(insn.op_register(0)), v)


@insn("MOVQ2DQ_XMM_MM")
def gen_MOVQ2DQ(s, insn):
    if not mmx_check(s):
        return
    v = _read_mm(s, mm_index(insn.op_register(1)))
    r = xmm_index(insn.op_register(0))
    s.c.gen_st_i64(v, xmm_off(r, 0))
    s.c.gen_st_i64(s.const(0), xmm_off(r, 1))
    s.c.call(H_MMX_ENTER, [], [])


@insn("MOVDQ2Q_MM_XMM")
def gen_MOVDQ2Q(s, insn):
    if not mmx_check(s):
        return
    t = s.tmp()
    s.c.gen_ld_i64(t, xmm_off(xmm_index(insn.op_register(1)), 0))
    _write_mm(s, mm_index(insn.op_register(0)), t)


@insn("EMMS")
def gen_EMMS(s, insn):
    if mmx_check(s):
        s.c.call(H_EMMS, [], [])


# -- lane arithmetic -----------------------------------------------------------------------------

_CROSSING = {"PACKSSWB", "PACKSSDW", "PACKUSWB"}


def _mmx_fn(name):
    fn = _OPS[name]
    if name in _CROSSING:
        return lambda a, b: fn(a | (b << 64), 0) & M64
    if name.startswith("PUNPCKH"):
        low = _OPS["PUNPCKL" + name[7:]]
        return lambda a, b: low(a >> 32, b >> 32) & M64
    if name == "PANDN":
        return lambda a, b: ~a & b & M64
    return lambda a, b: fn(a, b) & M64


MMX_BINARY = ("PAND", "POR", "PXOR", "PANDN", "PADDB", "PADDW", "PADDD", "PADDQ", "PSUBB",
              "PSUBW", "PSUBD", "PSUBQ", "PADDUSB", "PADDUSW", "PSUBUSB", "PSUBUSW", "PADDSB",
              "PADDSW", "PSUBSB", "PSUBSW", "PCMPEQB", "PCMPEQW", "PCMPEQD", "PCMPGTB",
              "PCMPGTW", "PCMPGTD", "PMINUB", "PMAXUB", "PMINSW", "PMAXSW", "PAVGB", "PAVGW",
              "PMULLW", "PMULHW", "PMULHUW", "PMULUDQ", "PMADDWD", "PSADBW", "PACKSSWB",
              "PACKSSDW", "PACKUSWB", "PUNPCKLBW", "PUNPCKLWD", "PUNPCKLDQ", "PUNPCKHBW",
              "PUNPCKHWD", "PUNPCKHDQ")


def _binop_helper(name):
    fn = _mmx_fn(name)

    def run(cpu, d, b):
        env = cpu.env_q
        env[FPREGS + 2 * d] = fn(env[FPREGS + 2 * d], b)
        env[FPREGS + 2 * d + 1] = 0xFFFF
        env[FPSTT] = 0
        env[FPTAGS] = 0
    return Helper(f"mmx_{name.lower()}", run, None, (I32, I64), CallFlags.NO_RWG)


_BIN_HELPERS = {n: _binop_helper(n) for n in MMX_BINARY}


@insn(*[f"{n}_MM_MMM32" if n.startswith("PUNPCKL") else f"{n}_MM_MMM64" for n in MMX_BINARY])
def gen_MMX_binary(s, insn):
    """(The low unpacks read a doubleword from memory.)"""
    if not mmx_check(s):
        return
    name = code_name(insn.code).split("_")[0]
    b = _src64(s, insn, 1, 4 if name.startswith("PUNPCKL") else 8)
    s.c.call(_BIN_HELPERS[name], [], [s.const(mm_index(insn.op_register(0)), I32), b])


def _shift_helper(name):
    fn = _SHIFTS[name]

    def run(cpu, d, count):
        env = cpu.env_q
        env[FPREGS + 2 * d] = fn(env[FPREGS + 2 * d], count) & M64
        env[FPREGS + 2 * d + 1] = 0xFFFF
        env[FPSTT] = 0
        env[FPTAGS] = 0
    return Helper(f"mmx_{name.lower()}", run, None, (I32, I64), CallFlags.NO_RWG)


MMX_SHIFTS = ("PSLLW", "PSLLD", "PSLLQ", "PSRLW", "PSRLD", "PSRLQ", "PSRAW", "PSRAD")
_SHIFT_HELPERS = {n: _shift_helper(n) for n in MMX_SHIFTS}


@insn(*[f"{n}_MM_IMM8" for n in MMX_SHIFTS], *[f"{n}_MM_MMM64" for n in MMX_SHIFTS])
def gen_MMX_shift(s, insn):
    if not mmx_check(s):
        return
    name = code_name(insn.code).split("_")[0]
    if insn.op_kind(1) == OpKind.IMMEDIATE8:
        count = s.const(insn.immediate(1) & 0xFF)
    else:
        count = _src64(s, insn, 1)
    s.c.call(_SHIFT_HELPERS[name], [], [s.const(mm_index(insn.op_register(0)), I32), count])


def _pshufw(cpu, d, b, imm):
    env = cpu.env_q
    lanes = _lanes(b, 16)
    env[FPREGS + 2 * d] = _pack([lanes[(imm >> (2 * i)) & 3] for i in range(4)], 16)
    env[FPREGS + 2 * d + 1] = 0xFFFF
    env[FPSTT] = 0
    env[FPTAGS] = 0


H_PSHUFW = Helper("mmx_pshufw", _pshufw, None, (I32, I64, I32), CallFlags.NO_RWG)


@insn("PSHUFW_MM_MMM64_IMM8")
def gen_PSHUFW(s, insn):
    if not mmx_check(s):
        return
    b = _src64(s, insn, 1)
    s.c.call(H_PSHUFW, [], [s.const(mm_index(insn.op_register(0)), I32), b,
                            s.const(insn.immediate(2) & 0xFF, I32)])


@insn("PEXTRW_R32_MM_IMM8", "PEXTRW_R64_MM_IMM8")
def gen_PEXTRW_mm(s, insn):
    if not mmx_check(s):
        return
    v = s.tmp()
    s.c.gen_extract_i64(v, _read_mm(s, mm_index(insn.op_register(1))),
                        (insn.immediate(2) & 3) * 16, 16)
    s.st_reg(insn.op_register(0), v)
    s.c.call(H_MMX_ENTER, [], [])


@insn("PINSRW_MM_R32M16_IMM8", "PINSRW_MM_R64M16_IMM8")
def gen_PINSRW_mm(s, insn):
    if not mmx_check(s):
        return
    if insn.op_kind(1) == OpKind.MEMORY:
        v = s.ld(s.ea(insn), 1)
    else:
        v = s.ld_reg(insn.op_register(1))
    r = mm_index(insn.op_register(0))
    out = s.tmp()
    s.c.gen_deposit_i64(out, _read_mm(s, r), v, (insn.immediate(2) & 3) * 16, 16)
    _write_mm(s, r, out)


def _pmovmskb(cpu, r):
    v = cpu.env_q[FPREGS + 2 * r]
    return sum(((v >> (8 * i + 7)) & 1) << i for i in range(8))


H_PMOVMSKB = Helper("mmx_pmovmskb", _pmovmskb, I64, (I32,), CallFlags.NO_RWG_SE)


@insn("PMOVMSKB_R32_MM", "PMOVMSKB_R64_MM")
def gen_PMOVMSKB_mm(s, insn):
    if not mmx_check(s):
        return
    t = s.tmp()
    s.c.call(H_PMOVMSKB, [t], [s.const(mm_index(insn.op_register(1)), I32)])
    s.st_reg(insn.op_register(0), t)
    s.c.call(H_MMX_ENTER, [], [])
