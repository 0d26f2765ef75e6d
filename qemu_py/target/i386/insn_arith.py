"""Integer arithmetic: ADD ADC SUB SBB CMP INC DEC NEG, MUL IMUL DIV IDIV,
XADD CMPXCHG CMPXCHG8B/16B, ADCX ADOX, CBW/CWDE/CDQE, CWD/CDQ/CQO."""

from __future__ import annotations

from iced_x86 import Code, OpKind

from qemu_py.tcg.ir import I32, I64, Cond, Helper, MemOp, MemOpIdx

from . import cc as CC
from .excp import X86Exception
from .state import CC_C, CC_O, CC_Z, EXCP00_DIVZ, EXCP0D_GPF, REGS
from .translate import G_CC_SRC, G_REGS, HELPER_CHECK_AC, MASKS, REG_INFO, code_name, insn
from .state import M64



def mem_ea(s, insn):
    """The linear address of the instruction's memory operand, or None."""
    for i in range(insn.op_count):
        if insn.op_kind(i) == OpKind.MEMORY:
            return s.ea(insn)
    return None


def alu_binary(s, insn, op: str):
    """op0 = op0 OP op1 with flags; shared by ADD ADC SUB SBB CMP AND OR XOR TEST."""
    c = s.c
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    same_reg = (insn.op_kind(0) == OpKind.REGISTER and insn.op_kind(1) == OpKind.REGISTER
                and insn.op_register(0) == insn.op_register(1))
    if same_reg and op in ("xor", "sub"):
        s.st_op(insn, 0, ot, s.const(0))
        s.set_cc_op(CC.CC_OP_CLR)
        return
    a = s.ld_op(insn, 0, ot, ea)
    b = s.ld_op(insn, 1, ot, ea)
    r = s.tmp()
    if op == "add":
        c.gen_add_i64(r, a, b)
        res = (CC.CC_OP_ADDB, b, None, None)
    elif op == "adc":
        carry = s.gen_compute_c()
        c.gen_add_i64(r, a, b)
        c.gen_add_i64(r, r, carry)
        res = (CC.CC_OP_ADCB, b, carry, None)
    elif op in ("sub", "cmp"):
        c.gen_sub_i64(r, a, b)
        res = (CC.CC_OP_SUBB, b, None, a)
    elif op == "sbb":
        borrow = s.gen_compute_c()
        c.gen_sub_i64(r, a, b)
        c.gen_sub_i64(r, r, borrow)
        res = (CC.CC_OP_SBBB, b, borrow, None)
    elif op in ("and", "test"):
        c.gen_and_i64(r, a, b)
        res = (CC.CC_OP_LOGICB, None, None, None)
    elif op == "or":
        c.gen_or_i64(r, a, b)
        res = (CC.CC_OP_LOGICB, None, None, None)
    elif op == "xor":
        c.gen_xor_i64(r, a, b)
        res = (CC.CC_OP_LOGICB, None, None, None)
    else:
        raise ValueError(op)
    if op not in ("cmp", "test"):
        s.st_op(insn, 0, ot, r, ea)
    base, src, src2, srcT = res
    s.set_flags_result(base, ot, r, src, src2, srcT)


@insn("ADD_RM*_R*", "ADD_R*_RM*", "ADD_AL_IMM8", "ADD_AX_IMM16", "ADD_EAX_IMM32",
      "ADD_RAX_IMM32", "ADD_RM*_IMM*")
def gen_ADD(s, insn):
    alu_binary(s, insn, "add")


@insn("ADC_RM*_R*", "ADC_R*_RM*", "ADC_AL_IMM8", "ADC_AX_IMM16", "ADC_EAX_IMM32",
      "ADC_RAX_IMM32", "ADC_RM*_IMM*")
def gen_ADC(s, insn):
    alu_binary(s, insn, "adc")


@insn("SUB_RM*_R*", "SUB_R*_RM*", "SUB_AL_IMM8", "SUB_AX_IMM16", "SUB_EAX_IMM32",
      "SUB_RAX_IMM32", "SUB_RM*_IMM*")
def gen_SUB(s, insn):
    alu_binary(s, insn, "sub")


@insn("SBB_RM*_R*", "SBB_R*_RM*", "SBB_AL_IMM8", "SBB_AX_IMM16", "SBB_EAX_IMM32",
      "SBB_RAX_IMM32", "SBB_RM*_IMM*")
def gen_SBB(s, insn):
    alu_binary(s, insn, "sbb")


@insn("CMP_RM*_R*", "CMP_R*_RM*", "CMP_AL_IMM8", "CMP_AX_IMM16", "CMP_EAX_IMM32",
      "CMP_RAX_IMM32", "CMP_RM*_IMM*")
def gen_CMP(s, insn):
    alu_binary(s, insn, "cmp")


def inc_dec(s, insn, delta: int):
    c = s.c
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    a = s.ld_op(insn, 0, ot, ea)
    cf = s.gen_compute_c()
    r = s.tmp()
    if delta > 0:
        c.gen_add_i64(r, a, delta)
    else:
        c.gen_sub_i64(r, a, -delta)
    s.st_op(insn, 0, ot, r, ea)
    s.set_flags_result(CC.CC_OP_INCB if delta > 0 else CC.CC_OP_DECB, ot, r, cf)


@insn("INC_R16", "INC_R32", "INC_RM8", "INC_RM16", "INC_RM32", "INC_RM64")
def gen_INC(s, insn):
    inc_dec(s, insn, 1)


@insn("DEC_R16", "DEC_R32", "DEC_RM8", "DEC_RM16", "DEC_RM32", "DEC_RM64")
def gen_DEC(s, insn):
    inc_dec(s, insn, -1)


@insn("NEG_RM8", "NEG_RM16", "NEG_RM32", "NEG_RM64")
def gen_NEG(s, insn):
    c = s.c
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    a = s.ld_op(insn, 0, ot, ea)
    r = s.tmp()
    c.gen_neg_i64(r, a)
    s.st_op(insn, 0, ot, r, ea)
    s.set_flags_result(CC.CC_OP_SUBB, ot, r, a, None, s.const(0))


# ------------------------------------------------------------------ multiplication


@insn("MUL_RM8", "MUL_RM16", "MUL_RM32", "MUL_RM64")
def gen_MUL(s, insn):
    c = s.c
    ot = s.op_ot(insn, 0)
    src = s.ld_op(insn, 0, ot, mem_ea(s, insn))
    acc = s.ld_gpr(0, ot)
    lo, hi = s.tmp(), s.tmp()
    if ot == 3:
        c.gen_mulu2_i64(lo, hi, acc, src)
        s.st_gpr(0, 3, lo)
        s.st_gpr(2, 3, hi)
    else:
        p = s.tmp()
        c.gen_mul_i64(p, acc, src)
        c.gen_shr_i64(hi, p, 8 << ot)
        if ot == 0:
            s.st_gpr(0, 1, p)
        else:
            s.st_gpr(0, ot, p)
            s.st_gpr(2, ot, hi)
        lo = s.ext(p, ot)
    s.set_flags_result(CC.CC_OP_MULB, ot, lo, hi)


def _imul_parts(s, a, b, ot):
    """(truncated product, overflow indicator) of signed A*B at size OT."""
    c = s.c
    lo = s.tmp()
    ovf = s.tmp()
    if ot == 3:
        hi = s.tmp()
        c.gen_muls2_i64(lo, hi, a, b)
        sign = s.tmp()
        c.gen_sar_i64(sign, lo, 63)
        c.gen_sub_i64(ovf, hi, sign)
    else:
        sa = s.ext(a, ot, True)
        sb = s.ext(b, ot, True)
        p = s.tmp()
        c.gen_mul_i64(p, sa, sb)
        c.gen_mov_i64(lo, p)
        c.gen_setcond_i64(ovf, p, s.ext(p, ot, True), Cond.NE)
    return lo, ovf


@insn("IMUL_RM8", "IMUL_RM16", "IMUL_RM32", "IMUL_RM64")
def gen_IMUL_1(s, insn):
    c = s.c
    ot = s.op_ot(insn, 0)
    src = s.ld_op(insn, 0, ot, mem_ea(s, insn))
    acc = s.ld_gpr(0, ot)
    if ot == 3:
        lo, hi = s.tmp(), s.tmp()
        c.gen_muls2_i64(lo, hi, acc, src)
        s.st_gpr(0, 3, lo)
        s.st_gpr(2, 3, hi)
        sign = s.tmp()
        c.gen_sar_i64(sign, lo, 63)
        ovf = s.tmp()
        c.gen_sub_i64(ovf, hi, sign)
    else:
        lo, ovf = _imul_parts(s, acc, src, ot)
        bits = 8 << ot
        if ot == 0:
            s.st_gpr(0, 1, lo)
        else:
            s.st_gpr(0, ot, lo)
            hi = s.tmp()
            c.gen_sar_i64(hi, lo, bits)
            s.st_gpr(2, ot, hi)
    s.set_flags_result(CC.CC_OP_MULB, ot, lo, ovf)


@insn("IMUL_R16_RM16", "IMUL_R32_RM32", "IMUL_R64_RM64", "IMUL_R*_RM*_IMM*")
def gen_IMUL_2_3(s, insn):
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    if insn.op_count == 3:
        a = s.ld_op(insn, 1, ot, ea)
        b = s.ld_op(insn, 2, ot)
    else:
        a = s.ld_op(insn, 0, ot)
        b = s.ld_op(insn, 1, ot, ea)
    lo, ovf = _imul_parts(s, a, b, ot)
    s.st_op(insn, 0, ot, lo)
    s.set_flags_result(CC.CC_OP_MULB, ot, lo, ovf)


# ------------------------------------------------------------------------ division


def _div(cpu, ot: int, divisor: int, signed: int):
    env = cpu.env_q
    bits = 8 << ot
    m = (1 << bits) - 1
    rax, rdx = env[REGS], env[REGS + 2]
    if ot == 0:
        dividend = rax & 0xFFFF
    else:
        dividend = ((rdx & m) << bits) | (rax & m)
    divisor &= m
    if divisor == 0:
        raise X86Exception(EXCP00_DIVZ)
    if signed:
        dbits = 2 * bits
        if dividend >> (dbits - 1):
            dividend -= 1 << dbits
        if divisor >> (bits - 1):
            divisor -= 1 << bits
        q = abs(dividend) // abs(divisor)
        if (dividend < 0) != (divisor < 0):
            q = -q
        r = dividend - q * divisor
        if q > m >> 1 or q < -(m >> 1) - 1:
            raise X86Exception(EXCP00_DIVZ)
    else:
        q, r = divmod(dividend, divisor)
        if q > m:
            raise X86Exception(EXCP00_DIVZ)
    q &= m
    r &= m
    if ot == 0:
        env[REGS] = (rax & ~0xFFFF & M64) | (r << 8) | q
    elif ot == 1:
        env[REGS] = (rax & ~0xFFFF & M64) | q
        env[REGS + 2] = (rdx & ~0xFFFF & M64) | r
    else:
        env[REGS] = q
        env[REGS + 2] = r


HELPER_DIV = Helper("div", _div, None, (I32, I64, I32))


def _gen_div(s, insn, signed: int):
    ot = s.op_ot(insn, 0)
    src = s.ld_op(insn, 0, ot, mem_ea(s, insn))
    s.call(HELPER_DIV, [], [s.const(ot, I32), src, s.const(signed, I32)])


@insn("DIV_RM8", "DIV_RM16", "DIV_RM32", "DIV_RM64")
def gen_DIV(s, insn):
    _gen_div(s, insn, 0)


@insn("IDIV_RM8", "IDIV_RM16", "IDIV_RM32", "IDIV_RM64")
def gen_IDIV(s, insn):
    _gen_div(s, insn, 1)


# -------------------------------------------------------------- exchange and compare


@insn("XADD_RM8_R8", "XADD_RM16_R16", "XADD_RM32_R32", "XADD_RM64_R64")
def gen_XADD(s, insn):
    c = s.c
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    a = s.ld_op(insn, 0, ot, ea)
    b = s.ld_op(insn, 1, ot)
    r = s.tmp()
    c.gen_add_i64(r, a, b)
    if ea is not None:
        s.st(ea, ot, r)
        s.st_op(insn, 1, ot, a)
    else:
        s.st_op(insn, 1, ot, a)
        s.st_op(insn, 0, ot, r)
    s.set_flags_result(CC.CC_OP_ADDB, ot, r, b)


@insn("CMPXCHG_RM8_R8", "CMPXCHG_RM16_R16", "CMPXCHG_RM32_R32", "CMPXCHG_RM64_R64")
def gen_CMPXCHG(s, insn):
    c = s.c
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    old = s.ld_op(insn, 0, ot, ea)
    src = s.ld_op(insn, 1, ot)
    acc = s.ld_gpr(0, ot)
    newv = s.tmp()
    c.gen_movcond_i64(newv, acc, old, src, old, Cond.EQ)
    if ea is not None:
        s.st(ea, ot, newv)          # the destination is written in both cases
    # when they differ the accumulator receives the old value
    full = s.tmp()
    if ot == 3:
        c.gen_mov_i64(full, old)
    elif ot == 2:
        c.gen_ext32u_i64(full, old)
    else:
        c.gen_deposit_i64(full, G_REGS[0], old, 0, 8 << ot)
    c.gen_movcond_i64(G_REGS[0], acc, old, G_REGS[0], full, Cond.EQ)
    if ea is None:
        if ot == 2:
            # a 32-bit register destination is written (and zero-extended) only on
            # success; when the comparison fails it is left untouched
            g = G_REGS[REG_INFO[insn.op_register(0)][0]]
            wide = s.tmp()
            c.gen_ext32u_i64(wide, src)
            c.gen_movcond_i64(g, acc, old, wide, g, Cond.EQ)
        else:
            s.st_op(insn, 0, ot, newv)
    diff = s.tmp()
    c.gen_sub_i64(diff, acc, old)
    s.set_flags_result(CC.CC_OP_SUBB, ot, diff, old, None, acc)


@insn("CMPXCHG8B_M64", "CMPXCHG16B_M128")
def gen_CMPXCHG8B_16B(s, insn):
    c = s.c
    wide = insn.code == Code.CMPXCHG16B_M128
    ea = s.ea(insn)
    half = 3 if wide else 2
    step = 8 if wide else 4
    if wide:
        s.call(HELPER_CHECK_ALIGN16, [], [ea])
    elif s.align:
        s.call(HELPER_CHECK_AC, [], [ea, s.const(8, I32)])     # #AC for the whole m64
    lo = s.ld(ea, half)
    ea2 = s.tmp()
    c.gen_add_i64(ea2, ea, step)
    hi = s.ld(ea2, half)
    eax, edx = s.ld_gpr(0, half), s.ld_gpr(2, half)
    ebx, ecx = s.ld_gpr(3, half), s.ld_gpr(1, half)
    e1, e2, eq = s.tmp(), s.tmp(), s.tmp()
    c.gen_setcond_i64(e1, lo, eax, Cond.EQ)
    c.gen_setcond_i64(e2, hi, edx, Cond.EQ)
    c.gen_and_i64(eq, e1, e2)
    nlo, nhi = s.tmp(), s.tmp()
    c.gen_movcond_i64(nlo, eq, 0, lo, ebx, Cond.EQ)
    c.gen_movcond_i64(nhi, eq, 0, hi, ecx, Cond.EQ)
    s.st(ea, half, nlo)
    s.st(ea2, half, nhi)
    # on failure EDX:EAX receive the memory value
    ra, rd = s.tmp(), s.tmp()
    if half == 2:
        za, zd = s.ext(lo, 2), s.ext(hi, 2)
        c.gen_movcond_i64(ra, eq, 0, za, G_REGS[0], Cond.EQ)
        c.gen_movcond_i64(rd, eq, 0, zd, G_REGS[2], Cond.EQ)
    else:
        c.gen_movcond_i64(ra, eq, 0, lo, G_REGS[0], Cond.EQ)
        c.gen_movcond_i64(rd, eq, 0, hi, G_REGS[2], Cond.EQ)
    c.gen_mov_i64(G_REGS[0], ra)
    c.gen_mov_i64(G_REGS[2], rd)
    s.compute_eflags()
    zf = s.tmp()
    c.gen_shl_i64(zf, eq, 6)
    c.gen_andc_i64(G_CC_SRC, G_CC_SRC, CC_Z)
    c.gen_or_i64(G_CC_SRC, G_CC_SRC, zf)


def _check_align16(cpu, addr: int):
    if addr & 15:
        raise X86Exception(EXCP0D_GPF, 0)


HELPER_CHECK_ALIGN16 = Helper("check_align16", _check_align16, None, (I64,))


def _adx(s, insn, flag: int):
    c = s.c
    ot = s.op_ot(insn, 0)
    ea = mem_ea(s, insn)
    a = s.ld_op(insn, 0, ot)
    b = s.ld_op(insn, 1, ot, ea)
    s.compute_eflags()
    cin = s.tmp()
    c.gen_extract_i64(cin, G_CC_SRC, flag.bit_length() - 1, 1)
    r = s.tmp()
    c.gen_add_i64(r, a, b)
    cout = s.tmp()
    if ot == 3:
        t1, t2 = s.tmp(), s.tmp()
        c.gen_add2_i64(r, t1, a, 0, b, 0)
        c.gen_add2_i64(r, t2, r, t1, cin, 0)
        c.gen_mov_i64(cout, t2)
    else:
        c.gen_add_i64(r, r, cin)
        c.gen_shr_i64(cout, r, 32)
    s.st_op(insn, 0, ot, r)
    sh = s.tmp()
    c.gen_shl_i64(sh, cout, flag.bit_length() - 1)
    c.gen_andc_i64(G_CC_SRC, G_CC_SRC, flag)
    c.gen_or_i64(G_CC_SRC, G_CC_SRC, sh)


@insn("ADCX_R32_RM32", "ADCX_R64_RM64")
def gen_ADCX(s, insn):
    _adx(s, insn, CC_C)


@insn("ADOX_R32_RM32", "ADOX_R64_RM64")
def gen_ADOX(s, insn):
    _adx(s, insn, CC_O)


# ------------------------------------------------------------------- sign extension


@insn("CBW", "CWDE", "CDQE")
def gen_CBW_CWDE_CDQE(s, insn):
    ot = {"CBW": 1, "CWDE": 2, "CDQE": 3}[_name(insn)]
    v = s.ld_gpr(0, ot - 1)
    s.st_gpr(0, ot, s.ext(v, ot - 1, True))


@insn("CWD", "CDQ", "CQO")
def gen_CWD_CDQ_CQO(s, insn):
    ot = {"CWD": 1, "CDQ": 2, "CQO": 3}[_name(insn)]
    v = s.ext(s.ld_gpr(0, ot), ot, True)
    t = s.tmp()
    s.c.gen_sar_i64(t, v, 63)
    s.st_gpr(2, ot, t)


def _name(insn) -> str:
    return code_name(insn.code)


__all__ = ["alu_binary", "mem_ea", "MASKS", "MemOp", "MemOpIdx"]
