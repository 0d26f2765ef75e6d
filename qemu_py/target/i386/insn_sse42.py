"""SSE4.2, partly: CRC32 (r32/r64 with r/m8/16/32/64) and PCMPGTQ. The string
compares (PCMPESTRI/M, PCMPISTRI/M) are not implemented, so CPUID does not
advertise SSE4.2.

CRC32 accumulates the CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of the
source into the low 32 bits of the destination, without the initial or final
inversion (SDM vol. 2, CRC32); the result is zero-extended into the 64-bit
register and the flags are unchanged.
"""

from __future__ import annotations

from qemu_py.tcg.ir import I32, I64, CallFlags, Helper

from .insn_sse import _lanes, _pack, _sx
from .insn_sse3 import gen_xmm_op, xmm_helper
from .translate import insn

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
