"""System instructions: HLT, IN/OUT, CPUID, RDTSC(P), RDMSR/WRMSR, MOV to/from
CR and DR, LGDT LIDT SGDT SIDT LLDT LTR SLDT STR LMSW SMSW CLTS, INVLPG,
WBINVD INVD, SWAPGS, RD/WR FS/GS BASE, MOV Sreg, LDS LES LFS LGS LSS,
RDPID, UD0 UD1 UD2."""

from __future__ import annotations

from iced_x86 import OpKind, Register

from qemu_py.tcg.ir import I32, I64, Helper

from . import helpers as H
from .insn_arith import mem_ea
from .excp import X86Exception
from .insn_stack import HELPER_LOAD_SEG
from .state import (CR0, CR2, CR4, CR4_FSGSBASE, DR, EXCP06_ILLOP, EXCP0D_GPF, GDT_BASE, GDT_LIMIT,
                    IDT_BASE, IDT_LIMIT, LDT, R_FS, R_GS, R_SS, TR, TSC_AUX, seg_slot)
from .translate import (DISAS_NORETURN, G_SEG_BASE, REG_INFO, SEG_REG, code_name, insn)


@insn("HLT")
def gen_HLT(s, insn):
    if not s.require_cpl0():
        return
    s.gen_update_eip_cur()
    s.call(H.H_HLT, [], [s.const(s.eip_next)])
    s.c.exit_tb(0)
    s.is_jmp = DISAS_NORETURN


def _io_check(s, port, size):
    if s.pe and (s.cpl > s.iopl or s.vm86):
        s.call(H.H_CHECK_IO, [], [port, s.const(size, I32)])


@insn("IN_AL_IMM8", "IN_AX_IMM8", "IN_EAX_IMM8", "IN_AL_DX", "IN_AX_DX", "IN_EAX_DX")
def gen_IN(s, insn):
    ot = REG_INFO[insn.op_register(0)][1]
    port = (s.const(insn.immediate(1) & 0xFF) if insn.op_kind(1) != OpKind.REGISTER
            else s.ld_gpr(2, 1))
    _io_check(s, port, 1 << ot)
    v = s.tmp()
    s.gen_update_eip_cur()
    s.call(H.H_IN, [v], [port, s.const(1 << ot, I32)])
    s.st_gpr(0, ot, v)


@insn("OUT_IMM8_AL", "OUT_IMM8_AX", "OUT_IMM8_EAX", "OUT_DX_AL", "OUT_DX_AX", "OUT_DX_EAX")
def gen_OUT(s, insn):
    ot = REG_INFO[insn.op_register(1)][1]
    port = (s.const(insn.immediate(0) & 0xFF) if insn.op_kind(0) != OpKind.REGISTER
            else s.ld_gpr(2, 1))
    _io_check(s, port, 1 << ot)
    s.gen_update_eip_cur()
    s.call(H.H_OUT, [], [port, s.const(1 << ot, I32), s.ld_gpr(0, ot)])


@insn("CPUID")
def gen_CPUID(s, insn):
    s.call(H.H_CPUID, [], [])


@insn("RDTSC", "RDTSCP")
def gen_RDTSC(s, insn):
    s.gen_update_eip_cur()
    s.call(H.H_RDTSC, [], [s.const(int(code_name(insn.code) == "RDTSCP"), I32)])


@insn("RDPID_R32", "RDPID_R64")
def gen_RDPID(s, insn):
    t = s.tmp()
    s.c.gen_ld_i64(t, 8 * TSC_AUX)
    s.st_op(insn, 0, 3 if s.code64 else 2, t)


@insn("RDMSR")
def gen_RDMSR(s, insn):
    if s.require_cpl0():
        s.gen_update_eip_cur()
        s.call(H.H_RDMSR, [], [])


@insn("WRMSR")
def gen_WRMSR(s, insn):
    if s.require_cpl0():
        s.gen_update_eip_cur()
        s.call(H.H_WRMSR, [], [])
        s.gen_update_eip_next()
        s.gen_eob()


@insn("MOV_R32_CR", "MOV_R64_CR")
def gen_MOV_from_CR(s, insn):
    if not s.require_cpl0():
        return
    reg = insn.op_register(1) - Register.CR0
    if reg not in (0, 2, 3, 4, 8):
        s.illegal()
        return
    t = s.tmp()
    s.call(H.H_READ_CRN, [t], [s.const(reg, I32)])
    s.st_op(insn, 0, 3 if s.code64 else 2, t)


@insn("MOV_CR_R32", "MOV_CR_R64")
def gen_MOV_to_CR(s, insn):
    if not s.require_cpl0():
        return
    reg = insn.op_register(0) - Register.CR0
    if reg not in (0, 2, 3, 4, 8):
        s.illegal()
        return
    v = s.ld_reg(insn.op_register(1))
    if reg == 2:
        s.c.gen_st_i64(v, 8 * CR2)
        return
    s.gen_update_eip_cur()
    s.call(H.H_WRITE_CRN, [], [s.const(reg, I32), v])
    s.gen_update_eip_next()
    s.gen_eob()


@insn("MOV_R32_DR", "MOV_R64_DR")
def gen_MOV_from_DR(s, insn):
    if not s.require_cpl0():
        return
    reg = insn.op_register(1) - Register.DR0
    reg = {4: 6, 5: 7}.get(reg, reg)
    t = s.tmp()
    s.c.gen_ld_i64(t, 8 * (DR + reg))
    s.st_op(insn, 0, 3 if s.code64 else 2, t)


@insn("MOV_DR_R32", "MOV_DR_R64")
def gen_MOV_to_DR(s, insn):
    if not s.require_cpl0():
        return
    reg = insn.op_register(0) - Register.DR0
    reg = {4: 6, 5: 7}.get(reg, reg)
    s.c.gen_st_i64(s.ld_reg(insn.op_register(1)), 8 * (DR + reg))


def _dt_load(s, insn, base_slot, limit_slot):
    c = s.c
    if not s.require_cpl0():
        return
    ea = s.ea(insn)
    limit = s.ld(ea, 1)
    a2 = s.tmp()
    c.gen_add_i64(a2, ea, 2)
    base = s.ld(a2, 3 if s.code64 else 2)
    if not s.code64 and code_name(insn.code).endswith("_16"):
        c.gen_and_i64(base, base, 0xFFFFFF)
    c.gen_st_i64(limit, 8 * limit_slot)
    c.gen_st_i64(base, 8 * base_slot)


def _dt_store(s, insn, base_slot, limit_slot):
    c = s.c
    ea = s.ea(insn)
    limit, base = s.tmp(), s.tmp()
    c.gen_ld_i64(limit, 8 * limit_slot)
    c.gen_ld_i64(base, 8 * base_slot)
    s.st(ea, 1, limit)
    a2 = s.tmp()
    c.gen_add_i64(a2, ea, 2)
    s.st(a2, 3 if s.code64 else 2, base)


@insn("LGDT_M1632_16", "LGDT_M1632", "LGDT_M1664")
def gen_LGDT(s, insn):
    _dt_load(s, insn, GDT_BASE, GDT_LIMIT)


@insn("LIDT_M1632_16", "LIDT_M1632", "LIDT_M1664")
def gen_LIDT(s, insn):
    _dt_load(s, insn, IDT_BASE, IDT_LIMIT)


@insn("SGDT_M1632_16", "SGDT_M1632", "SGDT_M1664")
def gen_SGDT(s, insn):
    _dt_store(s, insn, GDT_BASE, GDT_LIMIT)


@insn("SIDT_M1632_16", "SIDT_M1632", "SIDT_M1664")
def gen_SIDT(s, insn):
    _dt_store(s, insn, IDT_BASE, IDT_LIMIT)


def _sel_op(s, insn, helper):
    if not s.pe or s.vm86:
        s.illegal()
        return
    if not s.require_cpl0():
        return
    v = s.ld_op(insn, 0, 1, mem_ea(s, insn))
    s.gen_update_eip_cur()
    s.call(helper, [], [v])


@insn("LLDT_RM16", "LLDT_R32M16", "LLDT_R64M16")
def gen_LLDT(s, insn):
    _sel_op(s, insn, H.H_LLDT)


@insn("LTR_RM16", "LTR_R32M16", "LTR_R64M16")
def gen_LTR(s, insn):
    _sel_op(s, insn, H.H_LTR)


def _sel_store(s, insn, slot):
    if not s.pe or s.vm86:
        s.illegal()
        return
    t = s.tmp()
    s.c.gen_ld_i64(t, 8 * slot)
    ot = s.op_ot(insn, 0) if insn.op_kind(0) == OpKind.REGISTER else 1
    s.st_op(insn, 0, ot, t, mem_ea(s, insn))


@insn("SLDT_RM16", "SLDT_R32M16", "SLDT_R64M16")
def gen_SLDT(s, insn):
    _sel_store(s, insn, LDT)


@insn("STR_RM16", "STR_R32M16", "STR_R64M16")
def gen_STR(s, insn):
    _sel_store(s, insn, TR)


@insn("SMSW_RM16", "SMSW_R32M16", "SMSW_R64M16")
def gen_SMSW(s, insn):
    t = s.tmp()
    s.c.gen_ld_i64(t, 8 * CR0)
    ot = s.op_ot(insn, 0) if insn.op_kind(0) == OpKind.REGISTER else 1
    s.st_op(insn, 0, ot, t, mem_ea(s, insn))


@insn("LMSW_RM16", "LMSW_R32M16", "LMSW_R64M16")
def gen_LMSW(s, insn):
    if not s.require_cpl0():
        return
    v = s.ld_op(insn, 0, 1, mem_ea(s, insn))
    s.gen_update_eip_cur()
    s.call(H.H_LMSW, [], [v])
    s.gen_update_eip_next()
    s.gen_eob()


@insn("CLTS")
def gen_CLTS(s, insn):
    if not s.require_cpl0():
        return
    s.call(H.H_CLTS, [], [])
    s.gen_update_eip_next()
    s.gen_eob()


@insn("INVLPG_M")
def gen_INVLPG(s, insn):
    if not s.require_cpl0():
        return
    ea = s.ea(insn)
    s.call(H.H_INVLPG, [], [ea])
    s.gen_update_eip_next()
    s.gen_eob()


@insn("WBINVD", "INVD")
def gen_WBINVD(s, insn):
    s.require_cpl0()


@insn("SWAPGS")
def gen_SWAPGS(s, insn):
    if not s.code64:
        s.illegal()
        return
    if s.require_cpl0():
        s.call(H.H_SWAPGS, [], [])


def _check_fsgsbase(cpu):
    if not cpu.env_q[CR4] & CR4_FSGSBASE:
        raise X86Exception(EXCP06_ILLOP)


H_CHECK_FSGSBASE = Helper("check_fsgsbase", _check_fsgsbase, None, ())


def _fsgsbase(s, insn, seg, write):
    """CR4.FSGSBASE is checked at run time (CR4 is not part of the TB flags)."""
    if not s.code64:
        s.illegal()
        return
    s.call(H_CHECK_FSGSBASE, [], [])
    ot = REG_INFO[insn.op_register(0)][1]
    if write:
        v = s.ld_reg(insn.op_register(0))
        s.c.gen_mov_i64(G_SEG_BASE[seg], v)
    else:
        s.st_op(insn, 0, ot, G_SEG_BASE[seg])


@insn("RDFSBASE_R32", "RDFSBASE_R64")
def gen_RDFSBASE(s, insn):
    _fsgsbase(s, insn, R_FS, False)


@insn("RDGSBASE_R32", "RDGSBASE_R64")
def gen_RDGSBASE(s, insn):
    _fsgsbase(s, insn, R_GS, False)


@insn("WRFSBASE_R32", "WRFSBASE_R64")
def gen_WRFSBASE(s, insn):
    _fsgsbase(s, insn, R_FS, True)


@insn("WRGSBASE_R32", "WRGSBASE_R64")
def gen_WRGSBASE(s, insn):
    _fsgsbase(s, insn, R_GS, True)


@insn("MOV_SREG_RM16", "MOV_SREG_R32M16", "MOV_SREG_R64M16")
def gen_MOV_to_Sreg(s, insn):
    seg = SEG_REG[insn.op_register(0)]
    if seg == 1:                       # mov cs is invalid
        s.illegal()
        return
    v = s.ld_op(insn, 1, 1, mem_ea(s, insn))
    s.gen_update_eip_cur()
    s.call(HELPER_LOAD_SEG, [], [s.const(seg, I32), v])
    s.gen_update_eip_next()
    s.gen_eob(inhibit=(seg == R_SS))


@insn("MOV_RM16_SREG", "MOV_R32M16_SREG", "MOV_R64M16_SREG")
def gen_MOV_from_Sreg(s, insn):
    seg = SEG_REG[insn.op_register(1)]
    t = s.tmp()
    s.c.gen_ld_i64(t, 8 * seg_slot(seg, 0))
    ot = s.op_ot(insn, 0) if insn.op_kind(0) == OpKind.REGISTER else 1
    s.st_op(insn, 0, ot, t, mem_ea(s, insn))


@insn("LDS_R16_M1616", "LDS_R32_M1632", "LES_R16_M1616", "LES_R32_M1632", "LSS_R*_M16*",
      "LFS_R*_M16*", "LGS_R*_M16*")
def gen_Lseg(s, insn):
    c = s.c
    name = code_name(insn.code)
    seg = {"LDS": 3, "LES": 0, "LSS": 2, "LFS": 4, "LGS": 5}[name[:3]]
    ot = s.op_ot(insn, 0)
    ea = s.ea(insn)
    off = s.ld(ea, ot)
    a2 = s.tmp()
    c.gen_add_i64(a2, ea, 1 << ot)
    sel = s.ld(a2, 1)
    s.gen_update_eip_cur()
    s.call(HELPER_LOAD_SEG, [], [s.const(seg, I32), sel])
    s.st_op(insn, 0, ot, off)
    s.gen_update_eip_next()
    s.gen_eob(inhibit=(seg == R_SS))


@insn("UD2", "UD0", "UD0_R*", "UD1_R*")
def gen_UD(s, insn):
    s.gen_exception(EXCP06_ILLOP)


_ = (I64, EXCP0D_GPF)
