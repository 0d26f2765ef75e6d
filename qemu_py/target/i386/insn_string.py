"""String instructions: MOVS STOS LODS SCAS CMPS INS OUTS with REP/REPE/REPNE.

One iteration per execution, as QEMU: with a REP prefix the instruction
first leaves when the count register is zero, runs one iteration, decrements
the count, (for SCAS/CMPS) leaves when the REPE/REPNE condition fails, and
jumps back to itself through ``goto_tb`` (a self-loop that the Python
backend keeps inside one function call). Interrupts and the instruction
budget are checked between iterations.
"""

from __future__ import annotations

from iced_x86 import OpKind

from qemu_py.tcg.ir import I32, Cond

from . import cc as CC
from . import helpers as H
from .state import R_DS, R_ES
from .translate import DISAS_NORETURN, G_DF, G_REGS, MASKS, SEG_REG, insn, code_name

_ADDR = {OpKind.MEMORY_SEG_SI: 1, OpKind.MEMORY_SEG_ESI: 2, OpKind.MEMORY_SEG_RSI: 3,
         OpKind.MEMORY_SEG_DI: 1, OpKind.MEMORY_SEG_EDI: 2, OpKind.MEMORY_SEG_RDI: 3,
         OpKind.MEMORY_ESDI: 1, OpKind.MEMORY_ESEDI: 2, OpKind.MEMORY_ESRDI: 3}
_SIZE = {"B": 0, "W": 1, "D": 2, "Q": 3}


def _string_info(insn):
    aot = None
    for i in range(insn.op_count):
        k = insn.op_kind(i)
        if k in _ADDR:
            aot = _ADDR[k]
    name = code_name(insn.code)
    ot = _SIZE[name.split("_")[0][-1]]
    return name, ot, aot


def _src_addr(s, insn, aot):
    reg = s.ld_gpr(6, aot)
    seg = SEG_REG.get(insn.memory_segment, R_DS)
    return s.add_seg(reg, seg, MASKS[aot])


def _dst_addr(s, aot):
    return s.add_seg(s.ld_gpr(7, aot), R_ES, MASKS[aot])


def _advance(s, reg: int, ot: int, aot: int):
    c = s.c
    step = s.tmp()
    c.gen_shl_i64(step, G_DF, ot)
    t = s.tmp()
    c.gen_add_i64(t, G_REGS[reg], step)
    s.st_gpr(reg, aot, t)


def _io_check(s, port, ot):
    if s.pe and (s.cpl > s.iopl or s.vm86):
        s.call(H.H_CHECK_IO, [], [port, s.const(1 << ot, I32)])


def _one(s, insn, kind, ot, aot):
    c = s.c
    if kind == "MOVS":
        v = s.ld(_src_addr(s, insn, aot), ot)
        s.st(_dst_addr(s, aot), ot, v)
        _advance(s, 6, ot, aot)
        _advance(s, 7, ot, aot)
    elif kind == "STOS":
        s.st(_dst_addr(s, aot), ot, s.ld_gpr(0, ot))
        _advance(s, 7, ot, aot)
    elif kind == "LODS":
        v = s.ld(_src_addr(s, insn, aot), ot)
        s.st_gpr(0, ot, v)
        _advance(s, 6, ot, aot)
    elif kind == "SCAS":
        v = s.ld(_dst_addr(s, aot), ot)
        a = s.ld_gpr(0, ot)
        r = s.tmp()
        c.gen_sub_i64(r, a, v)
        _advance(s, 7, ot, aot)
        s.set_flags_result(CC.CC_OP_SUBB, ot, r, v, None, a)
    elif kind == "CMPS":
        # the access order is not architectural; load ES:[rDI] first, as the CPUs
        # the differential suite compares with do (which operand faults, CR2)
        b = s.ld(_dst_addr(s, aot), ot)
        a = s.ld(_src_addr(s, insn, aot), ot)
        r = s.tmp()
        c.gen_sub_i64(r, a, b)
        _advance(s, 6, ot, aot)
        _advance(s, 7, ot, aot)
        s.set_flags_result(CC.CC_OP_SUBB, ot, r, b, None, a)
    elif kind == "INS":
        port = s.ld_gpr(2, 1)
        _io_check(s, port, ot)
        addr = _dst_addr(s, aot)
        s.ld(addr, ot)                        # fault before the port is read
        v = s.tmp()
        s.call(H.H_IN, [v], [port, s.const(1 << ot, I32)])
        s.st(addr, ot, v)
        _advance(s, 7, ot, aot)
    elif kind == "OUTS":
        port = s.ld_gpr(2, 1)
        _io_check(s, port, ot)
        v = s.ld(_src_addr(s, insn, aot), ot)
        s.call(H.H_OUT, [], [port, s.const(1 << ot, I32), v])
        _advance(s, 6, ot, aot)


def _string(s, insn, kind):
    c = s.c
    name, ot, aot = _string_info(insn)
    rep = insn.has_rep_prefix or insn.has_repne_prefix
    if not rep:
        _one(s, insn, kind, ot, aot)
        return
    s.update_cc_op()
    done = c.label()
    c.gen_brcond_i64(s.ld_gpr(1, aot), 0, Cond.EQ, done)
    _one(s, insn, kind, ot, aot)
    cnt = s.tmp()
    c.gen_sub_i64(cnt, G_REGS[1], 1)
    s.st_gpr(1, aot, cnt)
    if kind in ("SCAS", "CMPS"):
        # REPE stops when ZF=0, REPNE when ZF=1
        zc = 5 if insn.has_repe_prefix else 4
        cond, a, b = s.prepare_cc(zc)
        s.update_cc_op()
        c.gen_brcond_i64(a, b, cond, done)
    s.update_cc_op()
    s.gen_jmp_tb(s.eip, 0)
    c.set_label(done)
    s.gen_jmp_tb(s.eip_next, 1)
    s.is_jmp = DISAS_NORETURN


@insn("MOVSB_M8_M8", "MOVSW_M16_M16", "MOVSD_M32_M32", "MOVSQ_M64_M64")
def gen_MOVS(s, insn):
    _string(s, insn, "MOVS")


@insn("STOSB_M8_AL", "STOSW_M16_AX", "STOSD_M32_EAX", "STOSQ_M64_RAX")
def gen_STOS(s, insn):
    _string(s, insn, "STOS")


@insn("LODSB_AL_M8", "LODSW_AX_M16", "LODSD_EAX_M32", "LODSQ_RAX_M64")
def gen_LODS(s, insn):
    _string(s, insn, "LODS")


@insn("SCASB_AL_M8", "SCASW_AX_M16", "SCASD_EAX_M32", "SCASQ_RAX_M64")
def gen_SCAS(s, insn):
    _string(s, insn, "SCAS")


@insn("CMPSB_M8_M8", "CMPSW_M16_M16", "CMPSD_M32_M32", "CMPSQ_M64_M64")
def gen_CMPS(s, insn):
    _string(s, insn, "CMPS")


@insn("INSB_M8_DX", "INSW_M16_DX", "INSD_M32_DX")
def gen_INS(s, insn):
    _string(s, insn, "INS")


@insn("OUTSB_DX_M8", "OUTSW_DX_M16", "OUTSD_DX_M32")
def gen_OUTS(s, insn):
    _string(s, insn, "OUTS")
