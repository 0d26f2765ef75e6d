"""x87 FPU: the subset compiled code and boot code use.

Control and state: FNINIT FNCLEX FWAIT FNOP FNSTCW FLDCW FNSTSW FFREE FINCSTP
FDECSTP, and the FPU part of FXSAVE/FXRSTOR. Data: FLD/FST/FSTP (m32, m64,
m80, ST(i)), FILD/FIST/FISTP (m16, m32, m64), FISTTP, FLD1 FLDZ FLDPI FLDL2E
FLDLN2 FLDL2T FLDLG2, FXCH. Arithmetic: FADD FSUB FSUBR FMUL FDIV FDIVR in
their memory, register and pop forms, FIADD & co., FCHS FABS FSQRT FRNDINT
FTST FXAM, FCOM/FCOMP/FCOMPP/FUCOM*/FCOMI/FUCOMI(P) (C0 C2 C3 or ZF PF CF).

The control and state group (FNINIT FNCLEX FNOP FWAIT FNSTCW FLDCW FNSTSW
FINCSTP FDECSTP FFREE) is exact and decodes on every CPU: kernels run FNINIT,
FNSTSW and FNSTCW while probing the FPU (Linux's early FPU init does, whatever
CPUID says). The data and arithmetic forms decode only with ``fp=True``.

Deviation (documented): registers hold 80-bit images in the CPU state, but
arithmetic is done in IEEE binary64, so results are rounded to double
precision (QEMU uses softfloat extended precision); exceptions are masked
(the default control word) and not raised; the tag word is kept as
"empty/valid" only.
"""

from __future__ import annotations

import math
import struct

from iced_x86 import OpKind, Register

from qemu_py.tcg.ir import I32, I64, CallFlags, Helper

from . import cc as CC
from .cpuid import VENDOR_AMD
from .state import (CC_C, CC_P, CC_Z, EXCP06_ILLOP, EXCP07_PREX, FPDP, FPIP, FPOP, FPREGS,
                    FPSTT, FPTAGS, FPUC, FPUS, HF_EM_MASK, HF_TS_MASK, MXCSR, XMM)
from .translate import G_CC_SRC, code_name
from .translate import insn as insn_state
from .translate import insn_opt as insn
from .state import M64

C0, C1, C2, C3 = 0x100, 0x200, 0x400, 0x4000


# -- 80-bit extended images --------------------------------------------------------------------


def to_ext(x: float) -> tuple[int, int]:
    """(mantissa with explicit integer bit, sign|exponent) of X."""
    sign = 0x8000 if math.copysign(1.0, x) < 0 else 0
    if x == 0:
        return 0, sign
    if math.isinf(x):
        return 1 << 63, sign | 0x7FFF
    if math.isnan(x):
        return 0xC000_0000_0000_0000, sign | 0x7FFF
    m, e = math.frexp(abs(x))           # x = m * 2**e, 0.5 <= m < 1
    mant = int(m * (1 << 64))           # exact: a double has 53 bits
    return mant & M64, sign | (e - 1 + 16383)


def from_ext(mant: int, se: int) -> float:
    sign = -1.0 if se & 0x8000 else 1.0
    exp = se & 0x7FFF
    if exp == 0x7FFF:
        return sign * math.inf if (mant << 1) & M64 == 0 else math.nan
    if mant == 0:
        return sign * 0.0
    try:
        return sign * math.ldexp(mant, exp - 16383 - 63)
    except OverflowError:
        return sign * math.inf


# -- stack access ------------------------------------------------------------------------------------


def _top(cpu) -> int:
    return cpu.env_q[FPSTT] & 7


def st_get(cpu, i: int) -> float:
    """ST(i); an empty register is a stack underflow: IE|SF set, the QNaN
    indefinite read (masked response)."""
    env = cpu.env_q
    r = (_top(cpu) + i) & 7
    if env[FPTAGS] & (1 << r):
        env[FPUS] = (env[FPUS] | 0x41) & ~C1       # IE, SF; C1 = 0: underflow
        return from_ext(0xC000_0000_0000_0000, 0xFFFF)
    return from_ext(env[FPREGS + 2 * r], env[FPREGS + 2 * r + 1])


def st_set(cpu, i: int, x: float):
    env = cpu.env_q
    r = (_top(cpu) + i) & 7
    env[FPREGS + 2 * r], env[FPREGS + 2 * r + 1] = to_ext(x)
    env[FPTAGS] &= ~(1 << r)                 # valid


def push(cpu, x: float):
    env = cpu.env_q
    top = (_top(cpu) - 1) & 7
    env[FPSTT] = top
    _sync_top(cpu)
    st_set(cpu, 0, x)


def pop(cpu):
    env = cpu.env_q
    env[FPTAGS] |= 1 << _top(cpu)           # empty
    env[FPSTT] = (_top(cpu) + 1) & 7
    _sync_top(cpu)


def _sync_top(cpu):
    env = cpu.env_q
    env[FPUS] = (env[FPUS] & ~0x3800) | (_top(cpu) << 11)


def _set_cc(cpu, bits: int):
    env = cpu.env_q
    env[FPUS] = (env[FPUS] & ~(C0 | C1 | C2 | C3)) | bits


def _round(cpu, x: float) -> float:
    rc = (cpu.env_q[FPUC] >> 10) & 3
    if rc == 0:
        return float(round(x))
    if rc == 1:
        return float(math.floor(x))
    if rc == 2:
        return float(math.ceil(x))
    return float(math.trunc(x))


def _arith(op: str, a: float, b: float) -> float:
    try:
        if op == "add":
            return a + b
        if op == "sub":
            return a - b
        if op == "subr":
            return b - a
        if op == "mul":
            return a * b
        if op in ("div", "divr"):
            x, y = (a, b) if op == "div" else (b, a)
            if y == 0:
                if x == 0 or math.isnan(x):
                    return math.nan
                return math.copysign(math.inf, x) * math.copysign(1.0, y)
            return x / y
    except OverflowError:
        return math.inf
    raise ValueError(op)


# -- memory formats --------------------------------------------------------------------------------------


def _load_mem(cpu, addr: int, fmt: str, mmu: int) -> float:
    if fmt == "m32":
        return struct.unpack("<f", cpu.ld_mmu(addr, 4, mmu).to_bytes(4, "little"))[0]
    if fmt == "m64":
        return struct.unpack("<d", cpu.ld_mmu(addr, 8, mmu).to_bytes(8, "little"))[0]
    if fmt == "m80":
        return from_ext(cpu.ld_mmu(addr, 8, mmu), cpu.ld_mmu(addr + 8, 2, mmu))
    size = {"i16": 2, "i32": 4, "i64": 8}[fmt]
    v = cpu.ld_mmu(addr, size, mmu)
    bits = 8 * size
    return float(v - (1 << bits) if v >> (bits - 1) else v)


def _store_mem(cpu, addr: int, fmt: str, x: float, mmu: int, truncate: bool = False):
    if fmt == "m32":
        try:
            b = struct.pack("<f", x)
        except OverflowError:
            b = struct.pack("<f", math.copysign(math.inf, x))
        cpu.st_mmu(addr, int.from_bytes(b, "little"), 4, mmu)
    elif fmt == "m64":
        cpu.st_mmu(addr, int.from_bytes(struct.pack("<d", x), "little"), 8, mmu)
    elif fmt == "m80":
        m, se = to_ext(x)
        cpu.st_mmu(addr, m, 8, mmu)
        cpu.st_mmu(addr + 8, se, 2, mmu)
    else:
        size = {"i16": 2, "i32": 4, "i64": 8}[fmt]
        bits = 8 * size
        if math.isnan(x) or math.isinf(x):
            n = 1 << (bits - 1)
        else:
            n = int(math.trunc(x)) if truncate else int(_round(cpu, x))
            if not -(1 << (bits - 1)) <= n < (1 << (bits - 1)):
                n = 1 << (bits - 1)            # integer indefinite
        cpu.st_mmu(addr, n & ((1 << bits) - 1), size, mmu)


# -- helpers called from generated code ------------------------------------------------------------------

def _h(name, fn, args, flags=CallFlags.NO_RWG, ret=None):
    return Helper(f"x87_{name}", fn, ret, args, flags)


def _fninit(cpu):
    env = cpu.env_q
    env[FPUC], env[FPUS], env[FPSTT], env[FPTAGS] = 0x37F, 0, 0, 0xFF
    env[FPOP] = env[FPIP] = env[FPDP] = 0


def _fld_mem(cpu, addr, fmt, mmu):
    push(cpu, _load_mem(cpu, addr, _FMT[fmt], mmu))


def _fst_mem(cpu, addr, fmt, mmu, do_pop, truncate):
    _store_mem(cpu, addr, _FMT[fmt], st_get(cpu, 0), mmu, bool(truncate))
    if do_pop:
        pop(cpu)


def _fld_st(cpu, i):
    push(cpu, st_get(cpu, i))


def _fst_st(cpu, i, do_pop):
    st_set(cpu, i, st_get(cpu, 0))
    if do_pop:
        pop(cpu)


def _fxch(cpu, i):
    a, b = st_get(cpu, 0), st_get(cpu, i)
    st_set(cpu, 0, b)
    st_set(cpu, i, a)


def _fconst(cpu, k):
    push(cpu, _CONSTS[k])


def _farith_mem(cpu, op, addr, fmt, mmu):
    st_set(cpu, 0, _arith(_OPN[op], st_get(cpu, 0), _load_mem(cpu, addr, _FMT[fmt], mmu)))


def _farith_st(cpu, op, dst, src, do_pop):
    st_set(cpu, dst, _arith(_OPN[op], st_get(cpu, dst), st_get(cpu, src)))
    if do_pop:
        pop(cpu)


def _funary(cpu, k):
    x = st_get(cpu, 0)
    if k == 0:
        x = -x
    elif k == 1:
        x = abs(x)
    elif k == 2:
        x = math.sqrt(x) if x >= 0 else math.nan
    elif k == 3:
        x = _round(cpu, x) if math.isfinite(x) else x
    st_set(cpu, 0, x)


def _compare(a: float, b: float) -> int:
    if math.isnan(a) or math.isnan(b):
        return 3      # unordered
    return 1 if a < b else (2 if a == b else 0)


def _fcom(cpu, src_kind, i, addr, fmt, mmu, pops):
    a = st_get(cpu, 0)
    b = st_get(cpu, i) if src_kind == 0 else (0.0 if src_kind == 2 else
                                             _load_mem(cpu, addr, _FMT[fmt], mmu))
    r = _compare(a, b)
    _set_cc(cpu, {0: 0, 1: C0, 2: C3, 3: C0 | C2 | C3}[r])
    for _ in range(pops):
        pop(cpu)


def _fcomi(cpu, i, pops) -> int:
    r = _compare(st_get(cpu, 0), st_get(cpu, i))
    for _ in range(pops):
        pop(cpu)
    return {0: 0, 1: CC_C, 2: CC_Z, 3: CC_Z | CC_P | CC_C}[r]


def _fxam(cpu):
    env = cpu.env_q
    r = _top(cpu)
    if env[FPTAGS] & (1 << r):
        _set_cc(cpu, C3 | C0)
        return
    x = st_get(cpu, 0)
    sign = C1 if math.copysign(1.0, x) < 0 else 0
    if math.isnan(x):
        c = C0
    elif math.isinf(x):
        c = C2 | C0
    elif x == 0:
        c = C3
    else:
        c = C2
    _set_cc(cpu, c | sign)


def _fstsw(cpu) -> int:
    _sync_top(cpu)
    return cpu.env_q[FPUS] & 0xFFFF


def _fldcw(cpu, v):
    cpu.env_q[FPUC] = v & 0x1F7F | 0x40


def _fincdec(cpu, d):
    env = cpu.env_q
    env[FPSTT] = (_top(cpu) + d) & 7
    _sync_top(cpu)


def _ffree(cpu, i):
    cpu.env_q[FPTAGS] |= 1 << ((_top(cpu) + i) & 7)


_FMT = ("m32", "m64", "m80", "i16", "i32", "i64")
_OPN = ("add", "mul", "sub", "subr", "div", "divr")
_CONSTS = (1.0, 0.0, math.pi, math.log2(math.e), math.log(2), math.log2(10), math.log10(2))

H_FNINIT = _h("fninit", _fninit, ())
H_FLD_MEM = _h("fld_mem", _fld_mem, (I64, I32, I32), CallFlags.NONE)
H_FST_MEM = _h("fst_mem", _fst_mem, (I64, I32, I32, I32, I32), CallFlags.NONE)
H_FLD_ST = _h("fld_st", _fld_st, (I32,))
H_FST_ST = _h("fst_st", _fst_st, (I32, I32))
H_FXCH = _h("fxch", _fxch, (I32,))
H_FCONST = _h("fconst", _fconst, (I32,))
H_FARITH_MEM = _h("farith_mem", _farith_mem, (I32, I64, I32, I32), CallFlags.NONE)
H_FARITH_ST = _h("farith_st", _farith_st, (I32, I32, I32, I32))
H_FUNARY = _h("funary", _funary, (I32,))
H_FCOM = _h("fcom", _fcom, (I32, I32, I64, I32, I32, I32), CallFlags.NONE)
H_FCOMI = _h("fcomi", _fcomi, (I32, I32), ret=I64)
H_FXAM = _h("fxam", _fxam, ())
H_FSTSW = _h("fstsw", _fstsw, (), ret=I64)
H_FLDCW = _h("fldcw", _fldcw, (I64,))
H_FINCDEC = _h("fincdec", _fincdec, (I32,))
H_FFREE = _h("ffree", _ffree, (I32,))


# -- translation -------------------------------------------------------------------------------------------------


def fpu_check(s) -> bool:
    if s.flags & (HF_EM_MASK | HF_TS_MASK):
        s.gen_exception(EXCP07_PREX)
        return False
    return True


def _sti(insn, k) -> int:
    return insn.op_register(k) - Register.ST0


def _mem_fmt(insn) -> int:
    name = code_name(insn.code)
    tail = name.rsplit("_", 1)[-1]
    if name.startswith("FI"):
        return {"M16INT": 3, "M32INT": 4, "M64INT": 5}[tail]
    return {"M32FP": 0, "M64FP": 1, "M80FP": 2}[tail]


def _mem_args(s, insn):
    return [s.ea(insn), s.const(_mem_fmt(insn), I32), s.const(s.mmu_idx, I32)]


@insn_state("FNINIT", "FINIT")
def gen_FNINIT(s, insn):
    if fpu_check(s):
        s.c.call(H_FNINIT, [], [])


@insn_state("FNCLEX", "FCLEX", "FNOP")
def gen_FNCLEX(s, insn):
    if fpu_check(s) and code_name(insn.code) != "FNOP":
        t = s.tmp()
        from .state import FPUS as _S
        s.c.gen_ld_i64(t, 8 * _S)
        s.c.gen_and_i64(t, t, 0x7F00)
        s.c.gen_st_i64(t, 8 * _S)


@insn_state("WAIT")
def gen_FWAIT(s, insn):
    if s.flags & HF_TS_MASK and s.flags & (1 << 9):       # TS and MP
        s.gen_exception(EXCP07_PREX)


@insn_state("FNSTCW_M2BYTE", "FSTCW_M2BYTE")
def gen_FNSTCW(s, insn):
    if fpu_check(s):
        t = s.tmp()
        s.c.gen_ld_i64(t, 8 * FPUC)
        s.st(s.ea(insn), 1, t)


@insn_state("FLDCW_M2BYTE")
def gen_FLDCW(s, insn):
    if fpu_check(s):
        s.c.call(H_FLDCW, [], [s.ld(s.ea(insn), 1)])


@insn_state("FNSTSW_M2BYTE", "FSTSW_M2BYTE", "FNSTSW_AX", "FSTSW_AX")
def gen_FNSTSW(s, insn):
    if fpu_check(s):
        t = s.tmp()
        s.c.call(H_FSTSW, [t], [])
        if insn.op_kind(0) == OpKind.MEMORY:
            s.st(s.ea(insn), 1, t)
        else:
            s.st_gpr(0, 1, t)


@insn("FLD_M32FP", "FLD_M64FP", "FLD_M80FP", "FILD_M16INT", "FILD_M32INT", "FILD_M64INT")
def gen_FLD_mem(s, insn):
    if fpu_check(s):
        s.call(H_FLD_MEM, [], _mem_args(s, insn))


@insn("FST_M32FP", "FST_M64FP", "FSTP_M32FP", "FSTP_M64FP", "FSTP_M80FP", "FIST_M16INT",
      "FIST_M32INT", "FISTP_M16INT", "FISTP_M32INT", "FISTP_M64INT", "FISTTP_M16INT",
      "FISTTP_M32INT", "FISTTP_M64INT")
def gen_FST_mem(s, insn):
    if not fpu_check(s):
        return
    name = code_name(insn.code)
    do_pop = int(name.startswith(("FSTP", "FISTP", "FISTTP")))
    s.call(H_FST_MEM, [], _mem_args(s, insn) + [s.const(do_pop, I32),
                                                s.const(int(name.startswith("FISTTP")), I32)])


@insn("FLD_STI")
def gen_FLD_st(s, insn):
    if fpu_check(s):
        s.c.call(H_FLD_ST, [], [s.const(_sti(insn, 0), I32)])


@insn("FST_STI", "FSTP_STI", "FSTP_STI_DFD0", "FSTP_STI_DFD8")
def gen_FST_st(s, insn):
    if fpu_check(s):
        do_pop = int(code_name(insn.code).startswith("FSTP"))
        s.c.call(H_FST_ST, [], [s.const(_sti(insn, 0), I32), s.const(do_pop, I32)])


@insn("FXCH_ST0_STI", "FXCH_ST0_STI_DDC8", "FXCH_ST0_STI_DFC8")
def gen_FXCH(s, insn):
    if fpu_check(s):
        s.c.call(H_FXCH, [], [s.const(_sti(insn, 1), I32)])


@insn("FLD1", "FLDZ", "FLDPI", "FLDL2E", "FLDLN2", "FLDL2T", "FLDLG2")
def gen_FLDconst(s, insn):
    if fpu_check(s):
        k = ("FLD1", "FLDZ", "FLDPI", "FLDL2E", "FLDLN2", "FLDL2T", "FLDLG2").index(
            code_name(insn.code))
        s.c.call(H_FCONST, [], [s.const(k, I32)])


_ARITH = ("FADD", "FMUL", "FSUB", "FSUBR", "FDIV", "FDIVR")


@insn(*[f"{op}_M{n}FP" for op in _ARITH for n in (32, 64)],
      *[f"FI{op[1:]}_M{n}INT" for op in _ARITH for n in (16, 32)])
def gen_FARITH_mem(s, insn):
    if not fpu_check(s):
        return
    name = code_name(insn.code).split("_")[0]
    op = _ARITH.index(name if not name.startswith("FI") else "F" + name[2:])
    s.call(H_FARITH_MEM, [], [s.const(op, I32)] + _mem_args(s, insn))


@insn(*[f"{op}_ST0_STI" for op in _ARITH], *[f"{op}_STI_ST0" for op in _ARITH],
      *[f"{op}P_STI_ST0" for op in _ARITH])
def gen_FARITH_st(s, insn):
    if not fpu_check(s):
        return
    name = code_name(insn.code)
    base = name.split("_")[0]
    do_pop = base.endswith("P")
    op = _ARITH.index(base[:-1] if do_pop else base)
    dst, src = _sti(insn, 0), _sti(insn, 1)
    s.c.call(H_FARITH_ST, [], [s.const(op, I32), s.const(dst, I32), s.const(src, I32),
                               s.const(int(do_pop), I32)])


@insn("FCHS", "FABS", "FSQRT", "FRNDINT")
def gen_FUNARY(s, insn):
    if fpu_check(s):
        k = ("FCHS", "FABS", "FSQRT", "FRNDINT").index(code_name(insn.code))
        s.c.call(H_FUNARY, [], [s.const(k, I32)])


@insn("FCOM_ST0_STI", "FCOMP_ST0_STI", "FUCOM_ST0_STI", "FUCOMP_ST0_STI", "FCOMPP",
      "FUCOMPP", "FCOM_M32FP", "FCOM_M64FP", "FCOMP_M32FP", "FCOMP_M64FP", "FTST",
      "FCOM_ST0_STI_DCD0", "FCOMP_ST0_STI_DCD8", "FCOMP_ST0_STI_DED0")
def gen_FCOM(s, insn):
    if not fpu_check(s):
        return
    name = code_name(insn.code)
    base = name.split("_")[0]
    pops = 2 if base.endswith("PP") else (1 if base.endswith("P") else 0)
    if base == "FTST":
        kind, i, addr, fmt, mmu = 2, 0, s.const(0), 0, 0
    elif insn.op_count and insn.op_kind(insn.op_count - 1) == OpKind.MEMORY:
        kind, i, addr, fmt, mmu = 1, 0, s.ea(insn), _mem_fmt(insn), s.mmu_idx
    else:
        kind, i, addr, fmt, mmu = 0, (_sti(insn, 1) if insn.op_count > 1 else 1), s.const(0), 0, 0
    args = [s.const(kind, I32), s.const(i, I32), addr, s.const(fmt, I32), s.const(mmu, I32)]
    s.call(H_FCOM, [], args + [s.const(pops, I32)])


@insn("FCOMI_ST0_STI", "FCOMIP_ST0_STI", "FUCOMI_ST0_STI", "FUCOMIP_ST0_STI")
def gen_FCOMI(s, insn):
    if not fpu_check(s):
        return
    pops = int(code_name(insn.code).split("_")[0].endswith("P"))
    f = s.tmp()
    s.c.call(H_FCOMI, [f], [s.const(_sti(insn, 1), I32), s.const(pops, I32)])
    s.c.gen_mov_i64(G_CC_SRC, f)
    s.set_cc_op(CC.CC_OP_EFLAGS)


@insn("FXAM")
def gen_FXAM(s, insn):
    if fpu_check(s):
        s.c.call(H_FXAM, [], [])


@insn_state("FINCSTP", "FDECSTP")
def gen_FINCSTP(s, insn):
    if fpu_check(s):
        s.c.call(H_FINCDEC, [], [s.const(1 if code_name(insn.code) == "FINCSTP" else -1, I32)])


@insn_state("FFREE_STI", "FFREEP_STI")
def gen_FFREE(s, insn):
    if fpu_check(s):
        s.c.call(H_FFREE, [], [s.const(_sti(insn, 0), I32)])


# -- FXSAVE/FXRSTOR images -------------------------------------------------------------------------------------


def fxsave_image(cpu, is64: int) -> bytes:
    """The FXSAVE image; IS64 bit 0: REX.W (FXSAVE64), bit 1: 64-bit code (XMM8-15 are
    in the image in 64-bit mode with or without REX.W)."""
    env = cpu.env_q
    _sync_top(cpu)
    ftw = 0
    for r in range(8):
        if not env[FPTAGS] & (1 << r):
            ftw |= 1 << r
    img = bytearray(512)
    struct.pack_into("<HHBxH", img, 0, env[FPUC] & 0xFFFF, env[FPUS] & 0xFFFF, ftw,
                     env[FPOP] & 0xFFFF)
    struct.pack_into("<QQ", img, 8, env[FPIP], env[FPDP])
    struct.pack_into("<II", img, 24, env[MXCSR] & 0xFFFF_FFFF, 0xFFFF)
    for i in range(8):
        r = (_top(cpu) + i) & 7
        struct.pack_into("<QH", img, 32 + 16 * i, env[FPREGS + 2 * r], env[FPREGS + 2 * r + 1])
    for i in range(16 if is64 & 2 else 8):
        struct.pack_into("<QQ", img, 160 + 16 * i, env[XMM + 2 * i], env[XMM + 2 * i + 1])
    return bytes(img)


def fxrstor_image(cpu, img: bytes, is64: int):
    env = cpu.env_q
    fcw, fsw, ftw, fop = struct.unpack_from("<HHBxH", img, 0)
    env[FPUC], env[FPUS], env[FPOP] = fcw & 0x1F7F | 0x40, fsw, fop   # FCW as FLDCW loads it
    env[FPSTT] = (fsw >> 11) & 7
    env[FPIP], env[FPDP] = struct.unpack_from("<QQ", img, 8)
    if cpu.vendor == VENDOR_AMD and not fsw & 0x80:
        env[FPOP] = env[FPIP] = env[FPDP] = 0     # AMD: only with an exception pending
    env[MXCSR] = struct.unpack_from("<I", img, 24)[0]
    env[FPTAGS] = (~ftw) & 0xFF
    for i in range(8):
        r = (env[FPSTT] + i) & 7
        m, se = struct.unpack_from("<QH", img, 32 + 16 * i)
        env[FPREGS + 2 * r], env[FPREGS + 2 * r + 1] = m, se
    for i in range(16 if is64 & 2 else 8):
        env[XMM + 2 * i], env[XMM + 2 * i + 1] = struct.unpack_from("<QQ", img, 160 + 16 * i)


_ = (EXCP06_ILLOP,)
