"""Data movement: MOV (all integer forms), MOVZX MOVSX MOVSXD, LEA, XCHG,
CMOVcc, SETcc, MOVBE, XLAT, and the no-operation forms (NOP, ENDBR,
PREFETCH*, CLFLUSH, fences, PAUSE)."""

from __future__ import annotations

from iced_x86 import OpKind

from qemu_py.tcg.ir import I32, Cond

from .cpuid import VENDOR_AMD
from .insn_arith import mem_ea
from .state import R_DS
from .translate import G_REGS, HELPER_PROBE_READ, REG_INFO, SEG_REG, UnsupportedInsn, insn


@insn("MOV_RM*_R*", "MOV_R*_RM*", "MOV_R8_IMM8", "MOV_R16_IMM16", "MOV_R32_IMM32",
      "MOV_R64_IMM64", "MOV_RM8_IMM8", "MOV_RM16_IMM16", "MOV_RM32_IMM32", "MOV_RM64_IMM32",
      "MOV_AL_MOFFS8", "MOV_AX_MOFFS16", "MOV_EAX_MOFFS32", "MOV_RAX_MOFFS64",
      "MOV_MOFFS8_AL", "MOV_MOFFS16_AX", "MOV_MOFFS32_EAX", "MOV_MOFFS64_RAX")
def gen_MOV(s, insn):
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    if insn.op_kind(0) == OpKind.REGISTER and insn.op_kind(1) == OpKind.REGISTER:
        v = s.ld_reg(insn.op_register(1))
    else:
        v = s.ld_op(insn, 1, ot, ea)
    s.st_op(insn, 0, ot, v, ea)


def _movx(s, insn, sign: bool):
    dot = s.op_ot(insn, 0)
    sot = s.op_ot(insn, 1)
    v = s.ld_op(insn, 1, sot, mem_ea(s, insn), sign=sign)
    if sign and insn.op_kind(1) == OpKind.MEMORY:
        v = s.ext(v, sot, True)
    s.st_op(insn, 0, dot, v)


@insn("MOVZX_R*_RM*")
def gen_MOVZX(s, insn):
    _movx(s, insn, False)


@insn("MOVSX_R*_RM*", "MOVSXD_R32_RM32", "MOVSXD_R64_RM32")
def gen_MOVSX(s, insn):
    _movx(s, insn, True)


@insn("MOVSXD_R16_RM16")
def gen_MOVSXD_R16(s, insn):
    """Intel reads a word; AMD reads a doubleword (its fault covers 4 bytes) and keeps
    the low word."""
    if insn.op_kind(1) == OpKind.MEMORY and getattr(s.cpu, "vendor", "") == VENDOR_AMD:
        s.st_op(insn, 0, 1, s.ld(s.ea(insn), 2))
        return
    _movx(s, insn, True)


@insn("LEA_R16_M", "LEA_R32_M", "LEA_R64_M")
def gen_LEA(s, insn):
    # an effective address only: no segment base
    c = s.c
    ot = s.op_ot(insn, 0)
    base, index = insn.memory_base, insn.memory_index
    disp = insn.memory_displacement
    amask = s.addr_mask_for(insn)
    from iced_x86 import Register
    t = s.const(disp & amask)
    if base not in (Register.RIP, Register.EIP):
        if base != Register.NONE:
            t2 = s.tmp()
            c.gen_add_i64(t2, G_REGS[REG_INFO[base][0]], t)
            t = t2
        if index != Register.NONE:
            it, t2 = s.tmp(), s.tmp()
            c.gen_shl_i64(it, G_REGS[REG_INFO[index][0]],
                          {1: 0, 2: 1, 4: 2, 8: 3}[insn.memory_index_scale])
            c.gen_add_i64(t2, t, it)
            t = t2
    s.st_op(insn, 0, ot, t)


@insn("XCHG_RM*_R*", "XCHG_R16_AX", "XCHG_R32_EAX", "XCHG_R64_RAX")
def gen_XCHG(s, insn):
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    a = s.ld_op(insn, 0, ot, ea)
    b = s.ld_op(insn, 1, ot)
    if ea is not None:
        s.st(ea, ot, b)
        s.st_op(insn, 1, ot, a)
    else:
        s.st_op(insn, 0, ot, b)
        s.st_op(insn, 1, ot, a)


@insn("CMOV*_R16_RM16", "CMOV*_R32_RM32", "CMOV*_R64_RM64")
def gen_CMOVcc(s, insn):
    c = s.c
    ot = s.op_ot(insn, 0)
    src = s.ld_op(insn, 1, ot, mem_ea(s, insn))
    cond, a, b = s.prepare_cc(insn.condition_code - 1)
    dst = s.ld_reg(insn.op_register(0))
    r = s.tmp()
    c.gen_movcond_i64(r, a, b, src, dst, cond)
    s.st_op(insn, 0, ot, r)                # a 32-bit destination is zero-extended anyway


@insn("SET*_RM8")
def gen_SETcc(s, insn):
    if insn.condition_code == 0:
        raise_unsupported()
    v = s.setcc(insn.condition_code - 1)
    s.st_op(insn, 0, 0, v, mem_ea(s, insn))


def raise_unsupported():
    raise UnsupportedInsn("not a SETcc")


@insn("MOVBE_R16_M16", "MOVBE_R32_M32", "MOVBE_R64_M64", "MOVBE_M16_R16", "MOVBE_M32_R32",
      "MOVBE_M64_R64")
def gen_MOVBE(s, insn):
    c = s.c
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    v = s.ld_op(insn, 1, ot, ea)
    r = s.tmp()
    if ot == 3:
        c.gen_bswap64_i64(r, v)
    elif ot == 2:
        c.gen_bswap32_i64(r, v)
    else:
        c.gen_bswap16_i64(r, v)
    s.st_op(insn, 0, ot, r, ea)


@insn("XLAT_M8")
def gen_XLAT(s, insn):
    c = s.c
    amask = {1: 0xFFFF, 2: 0xFFFF_FFFF}.get(REG_INFO.get(insn.memory_base, (0, 3, 0))[1],
                                             0xFFFF_FFFF_FFFF_FFFF)
    t = s.tmp()
    c.gen_add_i64(t, G_REGS[3], s.ld_gpr(0, 0))
    c.gen_and_i64(t, t, amask)
    seg = SEG_REG.get(insn.memory_segment, R_DS)
    addr = s.add_seg(t, seg, amask)
    s.st_gpr(0, 0, s.ld(addr, 0))


@insn("NOPW", "NOPD", "NOPQ", "NOP_RM16", "NOP_RM32", "NOP_RM64", "ENDBR64", "ENDBR32",
      "PREFETCH*_M8", "PAUSE")
def gen_NOP(s, insn):
    pass


@insn("CLFLUSH_M8", "CLFLUSHOPT_M8")
def gen_CLFLUSH(s, insn):
    # no cache to flush, but the address is checked like a byte load's (#GP, #SS, #PF)
    s.call(HELPER_PROBE_READ, [], [s.ea(insn), s.const(s.mmu_idx, I32)])


@insn("LFENCE", "MFENCE", "SFENCE")
def gen_FENCE(s, insn):
    s.c.mb(0)


_ = Cond
