"""SSSE3 (XMM forms): PABSB/W/D, PALIGNR, PHADDW/D, PHADDSW, PHSUBW/D, PHSUBSW,
PMADDUBSW, PMULHRSW, PSHUFB, PSIGNB/W/D.

All integer, computed by helpers on the XMM slots (:func:`.insn_sse3.xmm_helper`);
the m128 source must be 16-byte aligned (#GP(0)), as for every legacy-SSE m128
operand here. The MMX (MM register) forms are not implemented (no MMX in this CPU).
Semantics from the SDM vol. 2 instruction pages; A is the destination (first
source), B the second source.
"""

from __future__ import annotations

from .insn_sse import _lanes, _pack, _sat, _sx
from .insn_sse3 import gen_xmm_op, xmm_helper
from .translate import insn


def _slanes(v: int, bits: int) -> list[int]:
    return [_sx(x, bits) for x in _lanes(v, bits)]


def _pabs(bits):
    return lambda a, b, imm, cpu: _pack([abs(x) for x in _slanes(b, bits)], bits)


def _psign(bits):
    def fn(a, b, imm, cpu):
        return _pack([x if y > 0 else (-x if y < 0 else 0)
                      for x, y in zip(_slanes(a, bits), _slanes(b, bits))], bits)
    return fn


def _horizontal(bits, op, sat=False):
    """Pairwise OP over A's lanes then B's lanes (PHADD/PHSUB: x0 op x1, x2 op x3...)."""
    def fn(a, b, imm, cpu):
        ls = _slanes(a, bits) + _slanes(b, bits)
        out = [op(ls[2 * i], ls[2 * i + 1]) for i in range(len(ls) // 2)]
        if sat:
            out = [_sat(x, bits, True) for x in out]
        return _pack(out, bits)
    return fn


def _pmaddubsw(a, b, imm, cpu):
    la, lb = _lanes(a, 8), _slanes(b, 8)              # A unsigned bytes, B signed
    return _pack([_sat(la[2 * i] * lb[2 * i] + la[2 * i + 1] * lb[2 * i + 1], 16, True)
                  for i in range(8)], 16)


def _pmulhrsw(a, b, imm, cpu):
    return _pack([(((x * y) >> 14) + 1) >> 1 for x, y in zip(_slanes(a, 16), _slanes(b, 16))],
                 16)


def _pshufb(a, b, imm, cpu):
    la = _lanes(a, 8)
    return _pack([0 if y & 0x80 else la[y & 15] for y in _lanes(b, 8)], 8)


def _palignr(a, b, imm, cpu):
    return ((a << 128 | b) >> (8 * imm)) & ((1 << 128) - 1) if imm < 32 else 0


_OPS = {
    "PABSB": _pabs(8), "PABSW": _pabs(16), "PABSD": _pabs(32),
    "PSIGNB": _psign(8), "PSIGNW": _psign(16), "PSIGND": _psign(32),
    "PHADDW": _horizontal(16, lambda x, y: x + y),
    "PHADDD": _horizontal(32, lambda x, y: x + y),
    "PHADDSW": _horizontal(16, lambda x, y: x + y, True),
    "PHSUBW": _horizontal(16, lambda x, y: x - y),
    "PHSUBD": _horizontal(32, lambda x, y: x - y),
    "PHSUBSW": _horizontal(16, lambda x, y: x - y, True),
    "PMADDUBSW": _pmaddubsw, "PMULHRSW": _pmulhrsw, "PSHUFB": _pshufb, "PALIGNR": _palignr,
}
_HELPERS = {n: xmm_helper(f"ssse3_{n.lower()}", fn) for n, fn in _OPS.items()}


@insn("PABSB_XMM_XMMM128", "PABSW_XMM_XMMM128", "PABSD_XMM_XMMM128")
def gen_PABS(s, insn):
    gen_xmm_op(s, insn, _HELPERS)


@insn("PSIGNB_XMM_XMMM128", "PSIGNW_XMM_XMMM128", "PSIGND_XMM_XMMM128")
def gen_PSIGN(s, insn):
    gen_xmm_op(s, insn, _HELPERS)


@insn("PHADDW_XMM_XMMM128", "PHADDD_XMM_XMMM128", "PHADDSW_XMM_XMMM128",
      "PHSUBW_XMM_XMMM128", "PHSUBD_XMM_XMMM128", "PHSUBSW_XMM_XMMM128")
def gen_PHADD(s, insn):
    gen_xmm_op(s, insn, _HELPERS)


@insn("PMADDUBSW_XMM_XMMM128", "PMULHRSW_XMM_XMMM128")
def gen_PMADDUBSW(s, insn):
    gen_xmm_op(s, insn, _HELPERS)


@insn("PSHUFB_XMM_XMMM128", "PALIGNR_XMM_XMMM128_IMM8")
def gen_PSHUFB(s, insn):
    gen_xmm_op(s, insn, _HELPERS)
