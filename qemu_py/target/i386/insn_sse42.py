"""SSE4.2: CRC32 (r32/r64 with r/m8/16/32/64), PCMPGTQ and the string compares
PCMPESTRI, PCMPESTRM, PCMPISTRI, PCMPISTRM (with their REX.W forms).

CRC32 accumulates the CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of the
source into the low 32 bits of the destination, without the initial or final
inversion (SDM vol. 2, CRC32); the result is zero-extended into the 64-bit
register and the flags are unchanged.

The string compares follow SDM vol. 2, 4.1 ("Imm8 Control Byte Operation for
PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM"). imm8[1:0] picks the elements
(unsigned/signed bytes or words, n = 16 or 8), imm8[3:2] the aggregation (equal
any, ranges, equal each, equal ordered), imm8[5:4] the polarity, imm8[6] the
output (least/most significant index into ECX, or a bit/element mask into XMM0).
Source 1 is the XMM register (operand 0), source 2 the XMM/m128 (which need not
be aligned). The explicit-length forms take the lengths from EAX/EDX (RAX/RDX
with REX.W) as absolute values saturated to n; the implicit ones stop at the
first zero element. Invalid (out of length) elements compare as the SDM's
override table says. CF = IntRes2 != 0, ZF = length 2 < n, SF = length 1 < n,
OF = IntRes2[0], AF = PF = 0; the flags go to CC_SRC with CC_OP_EFLAGS, as PTEST.
The helper only computes: it returns the flags and the index (I forms) and writes
XMM0 (M forms), which is not a TCG global.
"""

from __future__ import annotations

from iced_x86 import Register

from qemu_py.tcg.ir import I32, I64, CallFlags, Helper

from . import cc as CC
from .insn_sse import _lanes, _load_src, _pack, _sx, sse_check, xmm_index
from .insn_sse3 import gen_xmm_op, read_xmm, write_xmm, xmm_helper
from .translate import G_CC_SRC, code_name, insn

CRC32C_POLY = 0x82F63B78


def crc32c(crc: int, data: int, nbits: int) -> int:
    """CRC32 of NBITS bits of DATA (least significant first) onto CRC: the bits
    enter the reflected shift register in order, so one wide register does it."""
    r = crc ^ data
    for _ in range(nbits):
        r = (r >> 1) ^ (CRC32C_POLY if r & 1 else 0)
    return r & 0xFFFFFFFF


def _crc32(cpu, crc: int, data: int, nbits: int) -> int:
    return crc32c(crc & 0xFFFFFFFF, data & ((1 << nbits) - 1), nbits)


H_CRC32 = Helper("sse42_crc32", _crc32, I64, (I64, I64, I32), CallFlags.NO_RWG_SE)


@insn("CRC32_R32_RM8", "CRC32_R64_RM8", "CRC32_R32_RM16", "CRC32_R32_RM32", "CRC32_R64_RM64")
def gen_CRC32(s, insn):
    ot = s.op_ot(insn, 1)
    src = s.ld_op(insn, 1, ot, s.ea(insn) if s.is_mem(insn, 1) else None)
    crc = s.ld_reg(insn.op_register(0))
    r = s.tmp()
    s.c.call(H_CRC32, [r], [crc, src, s.const(8 << ot, I32)])
    s.st_reg(insn.op_register(0), r)


def _pcmpgtq(a, b, imm, cpu):
    return _pack([(1 << 64) - 1 if _sx(x, 64) > _sx(y, 64) else 0
                  for x, y in zip(_lanes(a, 64), _lanes(b, 64))], 64)


_HELPERS = {"PCMPGTQ": xmm_helper("sse42_pcmpgtq", _pcmpgtq)}


@insn("PCMPGTQ_XMM_XMMM128")
def gen_PCMPGTQ(s, insn):
    gen_xmm_op(s, insn, _HELPERS)


# -- string compares ------------------------------------------------------------------------------

CF, ZF, SF, OF = 0x001, 0x040, 0x080, 0x800
EXPLICIT, WIDE, MASK = 1 << 8, 1 << 9, 1 << 10      # ctl bits above the imm8


def _explicit_len(v: int, bits: int, n: int) -> int:
    return min(abs(_sx(v & ((1 << bits) - 1), bits)), n)


def _implicit_len(lanes: list[int]) -> int:
    return lanes.index(0) if 0 in lanes else len(lanes)


def pcmpstr(a: int, b: int, imm: int, la: int | None, lb: int | None):
    """(IntRes2, flags) of comparing A (source 1) with B (source 2) under IMM; LA and LB
    are the saturated explicit lengths, or None for the implicit ones."""
    bits = 16 if imm & 1 else 8
    n = 128 // bits
    ea, eb = _lanes(a, bits), _lanes(b, bits)
    if imm & 2:
        ea = [_sx(x, bits) for x in ea]
        eb = [_sx(x, bits) for x in eb]
    la = _implicit_len(ea) if la is None else la
    lb = _implicit_len(eb) if lb is None else lb
    agg = imm >> 2 & 3
    res1 = 0
    for j in range(n):
        if agg == 0:                                # equal any: b[j] is in a
            hit = j < lb and any(ea[i] == eb[j] for i in range(la))
        elif agg == 1:                              # ranges: a[i] <= b[j] <= a[i+1]
            hit = j < lb and any(ea[i] <= eb[j] <= ea[i + 1] for i in range(0, la - 1, 2))
        elif agg == 2:                              # equal each: both invalid is true
            hit = ea[j] == eb[j] if j < la and j < lb else j >= la and j >= lb
        else:                                       # equal ordered: a is a substring at j
            hit = all(i >= la or (j + i < lb and ea[i] == eb[j + i]) for i in range(n - j))
        res1 |= hit << j
    pol = imm >> 4 & 3
    full = (1 << n) - 1
    if pol == 1:
        res2 = res1 ^ full
    elif pol == 3:
        res2 = res1 ^ ((1 << lb) - 1)
    else:
        res2 = res1
    fl = (CF if res2 else 0) | (ZF if lb < n else 0) | (SF if la < n else 0) | \
        (OF if res2 & 1 else 0)
    return res2, fl


def _pcmpstr(cpu, d: int, lo: int, hi: int, ctl: int, ra: int, rd: int) -> int:
    imm = ctl & 0xFF
    n = 8 if imm & 1 else 16
    if ctl & EXPLICIT:
        wide = 64 if ctl & WIDE else 32
        la, lb = _explicit_len(ra, wide, n), _explicit_len(rd, wide, n)
    else:
        la = lb = None
    res2, fl = pcmpstr(read_xmm(cpu, d), lo | (hi << 64), imm, la, lb)
    if ctl & MASK:
        if imm & 0x40:
            bits = 128 // n
            write_xmm(cpu, 0, _pack([(1 << bits) - 1 if res2 >> i & 1 else 0
                                     for i in range(n)], bits))
        else:
            write_xmm(cpu, 0, res2)
        return fl
    if not res2:
        index = n
    elif imm & 0x40:
        index = res2.bit_length() - 1
    else:
        index = (res2 & -res2).bit_length() - 1
    return fl | index << 32


# the I forms only return a value (dead flags and index let the call go); the M forms
# also write XMM0, a side effect
H_PCMPSTRI = Helper("sse42_pcmpstri", _pcmpstr, I64, (I32, I64, I64, I32, I64, I64),
                    CallFlags.NO_RWG_SE)
H_PCMPSTRM = Helper("sse42_pcmpstrm", _pcmpstr, I64, (I32, I64, I64, I32, I64, I64),
                    CallFlags.NO_RWG)


def gen_pcmpstr(s, insn, ctl: int):
    """Load source 2 (unaligned m128 allowed) and the lengths, call the helper; the
    flags go to CC_SRC, the index (I forms) to ECX."""
    if not sse_check(s):
        return
    c = s.c
    lo, hi = _load_src(s, insn, 1, 16, False)
    if ctl & EXPLICIT:
        ra, rd = s.ld_reg(Register.RAX), s.ld_reg(Register.RDX)
    else:
        ra = rd = s.const(0)
    ctl |= insn.immediate(2) & 0xFF
    r = s.tmp()
    c.call(H_PCMPSTRM if ctl & MASK else H_PCMPSTRI, [r],
           [s.const(xmm_index(insn.op_register(0)), I32), lo, hi, s.const(ctl, I32), ra, rd])
    f = s.tmp()
    c.gen_extract_i64(f, r, 0, 32)
    c.gen_mov_i64(G_CC_SRC, f)
    if not ctl & MASK:
        idx = s.tmp()
        c.gen_shr_i64(idx, r, 32)
        s.st_reg(Register.ECX, idx)
    s.set_cc_op(CC.CC_OP_EFLAGS)


@insn("PCMPESTRI_XMM_XMMM128_IMM8", "PCMPESTRI64_XMM_XMMM128_IMM8")
def gen_PCMPESTRI(s, insn):
    gen_pcmpstr(s, insn, EXPLICIT | (WIDE if "64" in code_name(insn.code) else 0))


@insn("PCMPESTRM_XMM_XMMM128_IMM8", "PCMPESTRM64_XMM_XMMM128_IMM8")
def gen_PCMPESTRM(s, insn):
    gen_pcmpstr(s, insn, EXPLICIT | MASK | (WIDE if "64" in code_name(insn.code) else 0))


@insn("PCMPISTRI_XMM_XMMM128_IMM8")
def gen_PCMPISTRI(s, insn):
    gen_pcmpstr(s, insn, 0)


@insn("PCMPISTRM_XMM_XMMM128_IMM8")
def gen_PCMPISTRM(s, insn):
    gen_pcmpstr(s, insn, MASK)
