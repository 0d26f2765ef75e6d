"""x86 front end: decode with iced-x86 once per instruction, emit TCG IR.

``gen_intermediate_code`` walks guest code from a TB's pc, decodes each
instruction with iced-x86 and calls the handler registered for its iced
``Code`` (the instruction form). Handlers live in the ``insn_*`` modules,
one module per ISA group, and are declared with :func:`insn`; shared
shapes (operand access, effective addresses, lazy flags, jumps, stack) are
methods of :class:`DisasContext`.

A TB ends after a jump or a state-changing instruction, after 512
instructions (or the ``cflags`` limit), or when the next instruction would
start on another page than the first. Every TB begins with the
budget check (QEMU's ``gen_tb_start``): the instruction budget global is
decremented by the TB's instruction count, or the TB exits untouched.
"""

from __future__ import annotations

import fnmatch

import iced_x86
from iced_x86 import (Code, Decoder, DecoderError, InstructionInfoFactory, MemorySizeExt, OpAccess,
                       OpKind, Register)

from qemu_py.system.log import LOG
from qemu_py.tcg.ir import (EXIT_NOCHAIN, EXIT_REQUESTED, EXIT_SLOT0, I32, I64, CallFlags,
                            Cond, GlobalSet, Helper, MemOp, MemOpIdx, TCGContext, invert_cond)
from qemu_py.tcg.tb import CF_COUNT_MASK, CF_NOCHAIN, TranslationBlock

from . import cc as CC
from .state import (AC_MASK, HF_AM_MASK, BUDGET, CC_DST, CC_OP, CC_SRC, CC_SRC2, DF, EFLAGS, GPR_NAMES,
                    HF_ADDSEG_MASK, HF_CPL_MASK, HF_CS32_MASK, HF_CS64_MASK,
                    HF_INHIBIT_IRQ_MASK, HF_LMA_MASK, HF_PE_MASK, HF_SS32_MASK, HF_TF_MASK,
                    HF_VM_MASK, HFLAGS, IOPL_MASK, IOPL_SHIFT, MMU_KERNEL_IDX, MMU_USER_IDX,
                    R_CS, R_DS, R_ES, R_FS, R_GS, R_SS, REGS, RIP, SEG_BASE, SEG_NAMES,
                    EXCP06_ILLOP, EXCP0D_GPF, seg_slot)
from .state import M64

TCG_MAX_INSNS = 512
PAGE_SIZE = 4096

# ---------------------------------------------------------------------- globals

GLOBALS = GlobalSet()
G_REGS = [GLOBALS.add(I64, 8 * (REGS + i), GPR_NAMES[i]) for i in range(16)]
G_RIP = GLOBALS.add(I64, 8 * RIP, "rip")
G_EFLAGS = GLOBALS.add(I64, 8 * EFLAGS, "eflags")
G_CC_DST = GLOBALS.add(I64, 8 * CC_DST, "cc_dst")
G_CC_SRC = GLOBALS.add(I64, 8 * CC_SRC, "cc_src")
G_CC_SRC2 = GLOBALS.add(I64, 8 * CC_SRC2, "cc_src2")
G_CC_OP = GLOBALS.add(I32, 8 * CC_OP, "cc_op")
G_DF = GLOBALS.add(I64, 8 * DF, "df")
G_BUDGET = GLOBALS.add(I64, 8 * BUDGET, "budget")
G_SEG_BASE = [GLOBALS.add(I64, 8 * seg_slot(i, SEG_BASE), SEG_NAMES[i] + "_base")
              for i in range(6)]

# --------------------------------------------------------------------- registers

REG_INFO: dict[int, tuple[int, int, bool]] = {}   # iced Register -> (gpr, size ot, high8)
for _i in range(4):
    REG_INFO[Register.AL + _i] = (_i, 0, False)
    REG_INFO[Register.AH + _i] = (_i, 0, True)
for _i in range(4):
    REG_INFO[Register.SPL + _i] = (4 + _i, 0, False)
for _i in range(8):
    REG_INFO[Register.R8L + _i] = (8 + _i, 0, False)
for _i in range(16):
    REG_INFO[Register.AX + _i] = (_i, 1, False)
    REG_INFO[Register.EAX + _i] = (_i, 2, False)
    REG_INFO[Register.RAX + _i] = (_i, 3, False)

SEG_REG = {Register.ES: R_ES, Register.CS: R_CS, Register.SS: R_SS, Register.DS: R_DS,
           Register.FS: R_FS, Register.GS: R_GS}

_IMM_KINDS = {OpKind.IMMEDIATE8, OpKind.IMMEDIATE8_2ND, OpKind.IMMEDIATE16, OpKind.IMMEDIATE32,
              OpKind.IMMEDIATE64, OpKind.IMMEDIATE8TO16, OpKind.IMMEDIATE8TO32,
              OpKind.IMMEDIATE8TO64, OpKind.IMMEDIATE32TO64}
MASKS = (0xFF, 0xFFFF, 0xFFFF_FFFF, M64)

# ---------------------------------------------------------------- handler registry

_INFO_FACTORY = InstructionInfoFactory()
HANDLERS: dict[int, object] = {}
FORMS: dict[str, list[str]] = {}          # handler name -> iced Code names it serves
_CODE_NAMES = {v: k for k, v in vars(Code).items() if k.isupper() and isinstance(v, int)}
_ALL_CODE_NAMES = sorted(_CODE_NAMES.values())


OPTIONAL_HANDLERS: dict[int, object] = {}


def insn_opt(*patterns: str):
    """Like :func:`insn`, for forms implemented only approximately (x87
    arithmetic in binary64): they decode only on a CPU created with ``fp=True``
    (``-cpu max``), whose CPUID then also advertises the FPU. SSE/SSE2 floating
    point is exact and always decodes (:mod:`.softfloat`)."""
    return insn(*patterns, _registry=OPTIONAL_HANDLERS)


def insn(*patterns: str, _registry=None):
    """Register the decorated handler for iced Codes whose names match PATTERNS.

    Patterns are shell-style (``ADD_RM*_R*``); each must match at least one
    Code, and a Code may have only one handler.
    """
    registry = HANDLERS if _registry is None else _registry

    def deco(fn):
        names = []
        for p in patterns:
            hits = _match(p) if any(ch in p for ch in "*?[") else [p]
            if not hits or any(h not in vars(Code) for h in hits):
                raise ValueError(f"{fn.__name__}: pattern {p!r} matches no iced Code")
            names.extend(hits)
        for n in names:
            code = getattr(Code, n)
            if code in registry and registry[code] is not fn:
                raise ValueError(f"{n} already handled by {registry[code].__name__}")
            registry[code] = fn
        FORMS.setdefault(fn.__name__, []).extend(names)
        return fn
    return deco


def _match(pattern: str) -> list[str]:
    """Code names matching PATTERN (only names sharing its literal prefix are tried)."""
    import bisect
    lit = pattern[:min(pattern.find(ch) if ch in pattern else len(pattern) for ch in "*?[")]
    lo = bisect.bisect_left(_ALL_CODE_NAMES, lit)
    hits = []
    for name in _ALL_CODE_NAMES[lo:]:
        if not name.startswith(lit):
            break
        if fnmatch.fnmatchcase(name, pattern):
            hits.append(name)
    return hits


def code_name(code: int) -> str:
    return _CODE_NAMES.get(code, str(code))


# -------------------------------------------------------------------- TB endings

DISAS_NEXT = 0          # keep translating
DISAS_NORETURN = 1      # an exit was emitted already
DISAS_EOB_NEXT = 2      # state changed: store rip = next insn and leave (no chaining)
DISAS_EOB_ONLY = 3      # rip already stored: leave (no chaining)
DISAS_JUMP = 4          # rip stored: look up the successor
DISAS_TOO_MANY = 5      # size limit: jump to the next insn

# ----------------------------------------------------------------------- helpers


def _raise_exception(cpu, vector: int):
    cpu.raise_exception(vector, 0)


def _raise_exception_err(cpu, vector: int, err: int):
    cpu.raise_exception(vector, err)


HELPER_RAISE_EXCEPTION = Helper("raise_exception", _raise_exception, None, (I32,))
HELPER_RAISE_EXCEPTION_ERR = Helper("raise_exception_err", _raise_exception_err, None,
                                    (I32, I32))


PROBE_ALIGN = 0x100     # in probe_write's SIZE: alignment checking is on (#AC first)


def _probe_write(cpu, addr: int, size: int, mmu_idx: int):
    """Check that SIZE bytes at ADDR are writable (the write-access page fault of a
    read-modify-write instruction is raised before its load); with PROBE_ALIGN in
    SIZE a misaligned ADDR raises #AC (after the canonical check) before any #PF."""
    mmu = cpu.mmu
    if size & PROBE_ALIGN:
        size &= 0xFF
        if addr & (size - 1):
            cpu._on_unaligned(addr & M64, 1, mmu_idx)
    mmu.lookup(addr & M64, 1, mmu_idx)
    last = (addr + size - 1) & M64
    if (last ^ addr) & ~(PAGE_SIZE - 1):
        mmu.lookup(last & ~(PAGE_SIZE - 1), 1, mmu_idx)     # CR2: the second page's start


HELPER_PROBE_WRITE = Helper("probe_write", _probe_write, None, (I64, I32, I32))


def _check_ac(cpu, addr: int, size: int):
    """Alignment checking is on (translation-time ``s.align``) and one operand of SIZE
    bytes is accessed in smaller pieces (CMPXCHG8B, 16-byte SSE): a misaligned ADDR
    raises #AC for the whole operand, after the canonical check."""
    if addr & (size - 1):
        cpu._on_unaligned(addr & M64, 0, 0)


HELPER_CHECK_AC = Helper("check_ac", _check_ac, None, (I64, I32))


def _probe_read(cpu, addr: int, mmu_idx: int):
    """Fault as a byte load from ADDR would, without reading (no MMIO side effect)."""
    cpu.mmu.lookup(addr & M64, 0, mmu_idx)


HELPER_PROBE_READ = Helper("probe_read", _probe_read, None, (I64, I32))


class UnsupportedInsn(Exception):
    pass


class DisasContext:
    """Translation state of one TB (QEMU's DisasContext)."""

    def __init__(self, cpu, tb: TranslationBlock, ctx: TCGContext):
        self.cpu = cpu
        self.tb = tb
        self.c = ctx
        flags = tb.flags
        self.flags = flags
        self.cs_base = tb.cs_base
        self.pe = bool(flags & HF_PE_MASK)
        self.code64 = bool(flags & HF_CS64_MASK)
        self.code32 = bool(flags & HF_CS32_MASK) or self.code64
        self.ss32 = bool(flags & HF_SS32_MASK)
        self.lma = bool(flags & HF_LMA_MASK)
        self.addseg = bool(flags & HF_ADDSEG_MASK)
        self.vm86 = bool(flags & HF_VM_MASK)
        self.cpl = flags & HF_CPL_MASK
        self.iopl = (flags & IOPL_MASK) >> IOPL_SHIFT
        self.tf = bool(flags & HF_TF_MASK)
        self.mmu_idx = MMU_USER_IDX if self.cpl == 3 else MMU_KERNEL_IDX
        # alignment checking (#AC): CR0.AM, EFLAGS.AC and CPL 3 (all part of the TB flags)
        self.align = MemOp.MO_ALIGN if (flags & HF_AM_MASK and flags & AC_MASK and
                                        self.cpl == 3) else 0
        self.bitness = 64 if self.code64 else (32 if self.code32 else 16)
        self.stack_ot = 3 if self.code64 else (2 if self.ss32 else 1)
        self.cc_op = CC.CC_OP_DYNAMIC
        self.cc_op_dirty = False
        self.is_jmp = DISAS_NEXT
        self.jmp_opt = not tb.cflags & CF_NOCHAIN and not self.tf and \
            not flags & HF_INHIBIT_IRQ_MASK
        self.pc = tb.pc            # linear address of the current instruction
        self.pc_next = tb.pc
        self.insn = None
        self._rmw_for = None
        self._rmw = False
        self.cc_srcT = ctx.temp_local()
        self.rip_stored_mid = False
        self.num_insns = 0
        self.base_page = tb.pc & ~(PAGE_SIZE - 1)

    # -- temporaries --------------------------------------------------------------------
    def tmp(self, type_=I64):
        return self.c.temp_new(type_)

    def const(self, v, type_=I64):
        return self.c.const(v, type_)

    @property
    def eip(self) -> int:
        return (self.pc - self.cs_base) & self.eip_mask

    @property
    def eip_next(self) -> int:
        return (self.pc_next - self.cs_base) & self.eip_mask

    @property
    def eip_mask(self) -> int:
        return M64 if self.code64 else 0xFFFF_FFFF

    # -- registers ----------------------------------------------------------------------
    def reg_ot(self, reg) -> int:
        return REG_INFO[reg][1]

    def ld_reg(self, reg, dst=None):
        """Zero-extended value of iced register REG."""
        idx, ot, high = REG_INFO[reg]
        g = G_REGS[idx]
        c = self.c
        t = dst if dst is not None else self.tmp()
        if high:
            c.gen_extract_i64(t, g, 8, 8)
        elif ot == 0:
            c.gen_ext8u_i64(t, g)
        elif ot == 1:
            c.gen_ext16u_i64(t, g)
        elif ot == 2:
            c.gen_ext32u_i64(t, g)
        else:
            c.gen_mov_i64(t, g)
        return t

    def st_reg(self, reg, val):
        idx, ot, high = REG_INFO[reg]
        self.st_gpr(idx, ot, val, high)

    def st_gpr(self, idx: int, ot: int, val, high: bool = False):
        g = G_REGS[idx]
        c = self.c
        if high:
            c.gen_deposit_i64(g, g, val, 8, 8)
        elif ot == 0:
            c.gen_deposit_i64(g, g, val, 0, 8)
        elif ot == 1:
            c.gen_deposit_i64(g, g, val, 0, 16)
        elif ot == 2:
            c.gen_ext32u_i64(g, val)
        else:
            c.gen_mov_i64(g, val)

    def ld_gpr(self, idx: int, ot: int):
        t = self.tmp()
        self._ext(t, G_REGS[idx], ot)
        return t

    def _ext(self, dst, src, ot: int, sign: bool = False):
        c = self.c
        if ot == 3:
            c.gen_mov_i64(dst, src)
        elif sign:
            (c.gen_ext8s_i64, c.gen_ext16s_i64, c.gen_ext32s_i64)[ot](dst, src)
        else:
            (c.gen_ext8u_i64, c.gen_ext16u_i64, c.gen_ext32u_i64)[ot](dst, src)
        return dst

    def ext(self, src, ot: int, sign: bool = False):
        return self._ext(self.tmp(), src, ot, sign)

    # -- memory ----------------------------------------------------------------------------
    def addr_mask_for(self, insn) -> int:
        base = insn.memory_base
        index = insn.memory_index
        r = base if base != Register.NONE else index
        if r == Register.RIP:
            return M64
        if r == Register.EIP:
            return 0xFFFF_FFFF
        if r != Register.NONE:
            return MASKS[REG_INFO[r][1]]
        ds = insn.memory_displ_size
        return {8: M64, 4: 0xFFFF_FFFF, 2: 0xFFFF}.get(ds, M64 if self.code64 else
                                                      (0xFFFF_FFFF if self.code32 else 0xFFFF))

    def ea(self, insn, seg_override: int | None = None):
        """Linear address of INSN's memory operand."""
        c = self.c
        base = insn.memory_base
        index = insn.memory_index
        disp = insn.memory_displacement
        amask = self.addr_mask_for(insn)
        if base in (Register.RIP, Register.EIP):
            t = self.const(disp & amask)
        else:
            t = None                       # fresh temporaries: one definition each
            if base != Register.NONE:
                t = G_REGS[REG_INFO[base][0]]
            if index != Register.NONE:
                scale = insn.memory_index_scale
                it = G_REGS[REG_INFO[index][0]]
                if scale != 1:
                    it2 = self.tmp()
                    c.gen_shl_i64(it2, it, {2: 1, 4: 2, 8: 3}[scale])
                    it = it2
                if t is None:
                    t = it
                else:
                    t2 = self.tmp()
                    c.gen_add_i64(t2, t, it)
                    t = t2
            if t is None:
                t = self.const(disp & amask)
            else:
                if disp & amask:
                    t2 = self.tmp()
                    c.gen_add_i64(t2, t, disp & amask)
                    t = t2
                if amask != M64:
                    t2 = self.tmp()
                    c.gen_and_i64(t2, t, amask)
                    t = t2
            if t.is_global:
                t2 = self.tmp()
                c.gen_mov_i64(t2, t)
                t = t2
        seg = SEG_REG[insn.memory_segment] if seg_override is None else seg_override
        return self.add_seg(t, seg, amask)

    def add_seg(self, t, seg: int, amask: int):
        c = self.c
        if self.code64:
            if seg in (R_FS, R_GS):
                t2 = self.tmp()
                c.gen_add_i64(t2, t, G_SEG_BASE[seg])
                return t2
            return t
        if self.addseg or seg in (R_FS, R_GS, R_CS) or not self.pe or self.vm86:
            t2, t3 = self.tmp(), self.tmp()
            c.gen_add_i64(t2, t, G_SEG_BASE[seg])
            c.gen_ext32u_i64(t3, t2)
            return t3
        return t

    def insn_is_rmw(self) -> bool:
        """Whether the current instruction reads and writes its memory operand."""
        ins = self.insn
        if ins is None:
            return False
        if self._rmw_for is not ins:
            self._rmw_for = ins
            # CMPXCHG* (iced: read, conditional write) write their destination always
            self._rmw = any(m.access in (OpAccess.READ_WRITE, OpAccess.READ_COND_WRITE)
                            for m in _INFO_FACTORY.info(ins).used_memory())
        return self._rmw

    def ld(self, addr, ot: int, sign: bool = False, dst=None):
        if self.insn_is_rmw():
            # a read-modify-write access faults as a write (error code W set)
            size = (1 << ot) | (PROBE_ALIGN if self.align and ot else 0)
            self.call(HELPER_PROBE_WRITE, [], [addr, self.const(size, I32),
                                               self.const(self.mmu_idx, I32)])
        t = dst if dst is not None else self.tmp()
        mop = ot | (MemOp.MO_SIGN if sign else 0) | (self.align if ot else 0)
        self.c.gen_qemu_ld_i64(t, addr, MemOpIdx(mop, self.mmu_idx))
        return t

    def st(self, addr, ot: int, val):
        self.c.gen_qemu_st_i64(val, addr, MemOpIdx(ot | (self.align if ot else 0),
                                                   self.mmu_idx))

    def ld_idx(self, addr, ot: int, mmu_idx: int):
        t = self.tmp()
        self.c.gen_qemu_ld_i64(t, addr, MemOpIdx(ot, mmu_idx))
        return t

    # -- operands ----------------------------------------------------------------------------
    def op_ot(self, insn, i: int) -> int:
        k = insn.op_kind(i)
        if k == OpKind.REGISTER:
            return REG_INFO[insn.op_register(i)][1]
        if k == OpKind.MEMORY:
            return {1: 0, 2: 1, 4: 2, 8: 3}[MemorySizeExt.size(insn.memory_size)]
        raise UnsupportedInsn(f"operand {i} has no integer size")

    def is_mem(self, insn, i: int) -> bool:
        return insn.op_kind(i) == OpKind.MEMORY

    def imm(self, insn, i: int, ot: int) -> int:
        return insn.immediate(i) & MASKS[ot]

    def ld_op(self, insn, i: int, ot: int, ea=None, sign: bool = False):
        """Value of operand I (register, memory or immediate), zero-extended."""
        k = insn.op_kind(i)
        if k == OpKind.REGISTER:
            t = self.ld_reg(insn.op_register(i))
            return self.ext(t, ot, True) if sign else t
        if k == OpKind.MEMORY:
            if ea is None:
                ea = self.ea(insn)
            return self.ld(ea, ot, sign)
        if k in _IMM_KINDS:
            return self.const(insn.immediate(i) & MASKS[ot])
        raise UnsupportedInsn(f"operand kind {k}")

    def st_op(self, insn, i: int, ot: int, val, ea=None):
        k = insn.op_kind(i)
        if k == OpKind.REGISTER:
            self.st_reg(insn.op_register(i), val)
        elif k == OpKind.MEMORY:
            if ea is None:
                ea = self.ea(insn)
            self.st(ea, ot, val)
        else:
            raise UnsupportedInsn(f"cannot store to operand kind {k}")

    # -- lazy flags ------------------------------------------------------------------------
    _LIVE = None

    def set_cc_op(self, op: int):
        """Record that flags now follow OP; discard operands OP does not use."""
        if self.cc_op == op:
            return
        old_live = cc_live(self.cc_op)
        new_live = cc_live(op)
        dead = old_live & ~new_live
        c = self.c
        if dead & 1:
            c.discard(G_CC_DST)
        if dead & 2:
            c.discard(G_CC_SRC)
        if dead & 4:
            c.discard(G_CC_SRC2)
        if op == CC.CC_OP_DYNAMIC:
            self.cc_op_dirty = False
        else:
            if self.cc_op == CC.CC_OP_DYNAMIC:
                pass
            self.cc_op_dirty = True
        self.cc_op = op

    def update_cc_op(self):
        if self.cc_op_dirty:
            self.c.gen_mov_i32(G_CC_OP, self.cc_op)
            self.cc_op_dirty = False

    def compute_eflags(self):
        """Materialise the flags into cc_src with cc_op = EFLAGS."""
        if self.cc_op == CC.CC_OP_EFLAGS:
            return
        if self.cc_op == CC.CC_OP_CLR:
            self.c.gen_mov_i64(G_CC_SRC, CC_Z_P)
            self.set_cc_op(CC.CC_OP_EFLAGS)
            return
        t = self.tmp()
        self.call_cc(CC.HELPER_CC_COMPUTE_ALL, t)
        self.c.gen_mov_i64(G_CC_SRC, t)
        self.set_cc_op(CC.CC_OP_EFLAGS)

    def call_cc(self, helper, out):
        base, size = CC.cc_group(self.cc_op)
        if size >= 0:
            # a cc_op known here: a helper specialised for it
            h_all, h_c = CC.special_helpers(self.cc_op)
            h = h_all if helper is CC.HELPER_CC_COMPUTE_ALL else h_c
            self.c.call(h, [out], [G_CC_DST, G_CC_SRC, G_CC_SRC2])
            return
        op = self.cc_op_temp()
        self.c.call(helper, [out], [G_CC_DST, G_CC_SRC, G_CC_SRC2, op])

    def cc_op_temp(self):
        if self.cc_op == CC.CC_OP_DYNAMIC:
            t = self.tmp()
            self.c.gen_extu_i32_i64(t, G_CC_OP)
            return t
        return self.const(self.cc_op)

    def gen_compute_c(self):
        """A temp holding CF (0/1) for the current lazy state."""
        c = self.c
        base, size = CC.cc_group(self.cc_op)
        t = self.tmp()
        if base in (CC.CC_OP_ADDB, CC.CC_OP_SUBB) and size >= 0:
            if base == CC.CC_OP_SUBB:
                a = self.ext(self.cc_srcT, size)
                b = self.ext(G_CC_SRC, size)
                c.gen_setcond_i64(t, a, b, Cond.LTU)
            else:
                a = self.ext(G_CC_DST, size)
                b = self.ext(G_CC_SRC, size)
                c.gen_setcond_i64(t, a, b, Cond.LTU)
            return t
        if base in (CC.CC_OP_LOGICB,) or self.cc_op in (CC.CC_OP_CLR, CC.CC_OP_POPCNT):
            c.gen_mov_i64(t, 0)
            return t
        if base in (CC.CC_OP_INCB, CC.CC_OP_DECB):
            c.gen_mov_i64(t, G_CC_SRC)
            return t
        if base == CC.CC_OP_SHLB:
            c.gen_extract_i64(t, G_CC_SRC, (8 << size) - 1, 1)
            return t
        if base == CC.CC_OP_SARB:
            c.gen_and_i64(t, G_CC_SRC, 1)
            return t
        if base == CC.CC_OP_MULB:
            c.gen_setcond_i64(t, self.ext(G_CC_SRC, size), 0, Cond.NE)
            return t
        if base == CC.CC_OP_BMILGB:
            c.gen_setcond_i64(t, self.ext(G_CC_SRC, size), 0, Cond.EQ)
            return t
        if self.cc_op == CC.CC_OP_EFLAGS:
            c.gen_and_i64(t, G_CC_SRC, 1)
            return t
        if self.cc_op in (CC.CC_OP_ADCX, CC.CC_OP_ADCOX):
            c.gen_mov_i64(t, G_CC_DST)
            return t
        self.call_cc(CC.HELPER_CC_COMPUTE_C, t)
        return t

    def prepare_cc(self, b: int):
        """(cond, a, b) such that jcc condition B (0..15) holds iff a COND b."""
        c = self.c
        inv = b & 1
        jcc = b >> 1        # 0 O, 1 B, 2 Z, 3 BE, 4 S, 5 P, 6 L, 7 LE
        base, size = CC.cc_group(self.cc_op)
        res = None
        if base in (CC.CC_OP_SUBB,) and size >= 0:
            if jcc in (1, 3):
                a = self.ext(self.cc_srcT, size)
                bb = self.ext(G_CC_SRC, size)
                res = (Cond.LTU if jcc == 1 else Cond.LEU, a, bb)
            elif jcc in (6, 7):
                a = self.ext(self.cc_srcT, size, True)
                bb = self.ext(G_CC_SRC, size, True)
                res = (Cond.LT if jcc == 6 else Cond.LE, a, bb)
        if res is None and jcc == 2 and base == CC.CC_OP_SUBB and size >= 0:
            res = (Cond.EQ, self.ext(self.cc_srcT, size), self.ext(G_CC_SRC, size))
        if res is None and jcc == 2 and size >= 0 and base != CC.CC_OP_MULB:
            res = (Cond.EQ, self.ext(G_CC_DST, size), self.const(0))
        if res is None and jcc == 4 and size >= 0:
            t = self.tmp()
            c.gen_extract_i64(t, G_CC_DST, (8 << size) - 1, 1)
            res = (Cond.NE, t, self.const(0))
        if res is None and base == CC.CC_OP_LOGICB and jcc in (0, 1, 6, 7):
            if jcc in (0, 1):
                res = (Cond.NEVER, self.const(0), self.const(0))
            elif jcc == 6:
                res = (Cond.LT, self.ext(G_CC_DST, size, True), self.const(0))
            else:
                res = (Cond.LE, self.ext(G_CC_DST, size, True), self.const(0))
        if res is None and jcc == 1:
            res = (Cond.NE, self.gen_compute_c(), self.const(0))
        if res is None:
            flags = self.tmp()
            if self.cc_op == CC.CC_OP_EFLAGS:
                c.gen_mov_i64(flags, G_CC_SRC)
            else:
                self.call_cc(CC.HELPER_CC_COMPUTE_ALL, flags)
            t = self.tmp()
            if jcc == 0:
                c.gen_and_i64(t, flags, 0x800)
            elif jcc == 2:
                c.gen_and_i64(t, flags, 0x40)
            elif jcc == 3:
                c.gen_and_i64(t, flags, 0x41)
            elif jcc == 4:
                c.gen_and_i64(t, flags, 0x80)
            elif jcc == 5:
                c.gen_and_i64(t, flags, 0x04)
            elif jcc in (6, 7):
                # SF != OF (or ZF for LE)
                t2 = self.tmp()
                c.gen_shr_i64(t2, flags, 4)         # OF (bit 11) -> bit 7
                c.gen_xor_i64(t2, t2, flags)
                c.gen_and_i64(t, t2, 0x80)
                if jcc == 7:
                    t3 = self.tmp()
                    c.gen_and_i64(t3, flags, 0x40)
                    c.gen_or_i64(t, t, t3)
            res = (Cond.NE, t, self.const(0))
        cond, a, bb = res
        if inv:
            cond = invert_cond(cond)
        return cond, a, bb

    def setcc(self, b: int):
        cond, a, bb = self.prepare_cc(b)
        t = self.tmp()
        self.c.gen_setcond_i64(t, a, bb, cond)
        return t

    def set_flags_result(self, op_base: int, ot: int, dst, src=None, src2=None, srcT=None):
        """Record a flag-setting result for cc group OP_BASE at size OT."""
        c = self.c
        c.gen_mov_i64(G_CC_DST, dst)
        if src is not None:
            c.gen_mov_i64(G_CC_SRC, src)
        if src2 is not None:
            c.gen_mov_i64(G_CC_SRC2, src2)
        if srcT is not None:
            c.gen_mov_i64(self.cc_srcT, srcT)
        self.set_cc_op(op_base + ot)

    # -- control flow ------------------------------------------------------------------------
    def gen_update_eip_cur(self):
        self.c.gen_mov_i64(G_RIP, self.eip)
        self.rip_stored_mid = True

    def gen_update_eip_next(self):
        self.c.gen_mov_i64(G_RIP, self.eip_next)
        self.rip_stored_mid = True

    def use_goto_tb(self, target_pc: int) -> bool:
        return (self.jmp_opt and (target_pc & ~(PAGE_SIZE - 1)) == self.base_page
                and target_pc not in self.cpu.breakpoints)

    def gen_jmp_tb(self, eip: int, n: int):
        """Jump to constant EIP through goto_tb slot N when possible."""
        self.update_cc_op()
        eip &= self.eip_mask
        target = (eip + self.cs_base) & M64
        c = self.c
        if target != self.tb.pc or self.rip_stored_mid or not self.use_goto_tb(target):
            # (a jump back to the start of this TB, with rip never stored on the
            # way, leaves rip as it was on entry: exactly the target)
            c.gen_mov_i64(G_RIP, eip)
        if self.use_goto_tb(target):
            self.tb.jmp_target[n] = target
            c.goto_tb(n)
            c.exit_tb(EXIT_SLOT0 + n)
        else:
            self.end_tb_lookup()

    def gen_jmp_dyn(self, eip_temp):
        """Jump to a computed EIP (already masked)."""
        self.update_cc_op()
        self.c.gen_mov_i64(G_RIP, eip_temp)
        self.end_tb_lookup()
        self.is_jmp = DISAS_NORETURN

    def end_tb_lookup(self):
        self.gen_end_hooks()
        if self.jmp_opt:
            self.c.lookup_and_goto_ptr()
        else:
            self.c.exit_tb(EXIT_NOCHAIN)

    def gen_end_hooks(self):
        if self.flags & HF_INHIBIT_IRQ_MASK:
            t = self.tmp()
            self.c.gen_ld_i64(t, 8 * HFLAGS)
            self.c.gen_and_i64(t, t, M64 ^ HF_INHIBIT_IRQ_MASK)
            self.c.gen_st_i64(t, 8 * HFLAGS)

    def gen_eob(self, inhibit: bool = False):
        """Leave the TB without chaining (the CPU state may have changed)."""
        self.update_cc_op()
        if inhibit and not (self.flags & HF_INHIBIT_IRQ_MASK):
            t = self.tmp()
            self.c.gen_ld_i64(t, 8 * HFLAGS)
            self.c.gen_or_i64(t, t, HF_INHIBIT_IRQ_MASK)
            self.c.gen_st_i64(t, 8 * HFLAGS)
        elif not inhibit:
            self.gen_end_hooks()
        self.c.exit_tb(EXIT_NOCHAIN)
        self.is_jmp = DISAS_NORETURN

    def gen_exception(self, vector: int, err: int | None = None):
        """Raise exception VECTOR at the current instruction (precise)."""
        self.update_cc_op()
        if err is None:
            self.c.call(HELPER_RAISE_EXCEPTION, [], [self.const(vector, I32)])
        else:
            self.c.call(HELPER_RAISE_EXCEPTION_ERR, [], [self.const(vector, I32),
                                                         self.const(err, I32)])
        self.c.exit_tb(EXIT_NOCHAIN)
        self.is_jmp = DISAS_NORETURN

    def illegal(self):
        self.gen_exception(EXCP06_ILLOP)

    def require_cpl0(self) -> bool:
        """#GP(0) unless CPL 0; True when the instruction may proceed."""
        if self.cpl != 0:
            self.gen_exception(EXCP0D_GPF, 0)
            return False
        return True

    def call(self, helper, outs=(), ins=()):
        """Call a helper that may read/write the CPU state: cc_op and rip synced."""
        self.update_cc_op()
        return self.c.call(helper, outs, ins)

    # -- stack -------------------------------------------------------------------------------
    def stack_addr(self, off_temp):
        """Linear address of SS:off."""
        t = self.tmp()
        self.c.gen_mov_i64(t, off_temp)
        return self.add_seg(t, R_SS, MASKS[self.stack_ot])

    def push_ot(self, insn_ot: int) -> int:
        return insn_ot

    def gen_push(self, val, ot: int):
        """Push VAL (OT-sized) on the stack; rsp updated after the store."""
        c = self.c
        sot = self.stack_ot
        new_sp = self.tmp()
        c.gen_sub_i64(new_sp, G_REGS[4], 1 << ot)
        if sot < 3:
            c.gen_and_i64(new_sp, new_sp, MASKS[sot])
        addr = self.stack_addr(new_sp)
        self.st(addr, ot, val)
        self.st_gpr(4, sot, new_sp)

    def gen_pop_value(self, ot: int):
        """(value, new rsp) of a pop; the caller commits rsp."""
        c = self.c
        sp = self.ld_gpr(4, self.stack_ot)
        addr = self.stack_addr(sp)
        val = self.ld(addr, ot)
        new_sp = self.tmp()
        c.gen_add_i64(new_sp, sp, 1 << ot)
        return val, new_sp

    def commit_sp(self, new_sp):
        self.st_gpr(4, self.stack_ot, new_sp)


CC_Z_P = 0x44


def cc_live(op: int) -> int:
    """Which of cc_dst(1)/cc_src(2)/cc_src2(4) cc_op OP reads."""
    base, size = CC.cc_group(op)
    if op == CC.CC_OP_DYNAMIC:
        return 7
    if op == CC.CC_OP_EFLAGS or op == CC.CC_OP_POPCNT:
        return 2
    if op == CC.CC_OP_CLR:
        return 0
    if op in (CC.CC_OP_ADCX,):
        return 3
    if op in (CC.CC_OP_ADOX,):
        return 6
    if op == CC.CC_OP_ADCOX:
        return 7
    if base in (CC.CC_OP_ADCB, CC.CC_OP_SBBB):
        return 7
    if base == CC.CC_OP_LOGICB:
        return 1
    return 3


# ------------------------------------------------------------------------- the loop


class CodeFetchFault(Exception):
    pass


def gen_intermediate_code(cpu, tb: TranslationBlock, fetch, log_in_asm=None):
    """Translate guest code at TB into a fresh op list; returns the TCGContext.

    FETCH(vaddr, n) returns up to N code bytes at linear VADDR inside one
    page, raising the guest's fault when the page is not executable.
    """
    ctx = TCGContext(GLOBALS)
    s = DisasContext(cpu, tb, ctx)
    max_insns = tb.cflags & CF_COUNT_MASK or TCG_MAX_INSNS
    if tb.flags & HF_INHIBIT_IRQ_MASK:
        max_insns = 1
    # prologue: budget check (the instruction count is patched in at the end)
    exit_label = ctx.label()
    bud_cmp = ctx.gen_brcond_i64(G_BUDGET, 1, Cond.LTU, exit_label)
    bud_sub = ctx.gen_sub_i64(G_BUDGET, G_BUDGET, 1)
    insn_data = []
    data = b""
    data_pc = tb.pc
    decoder = None
    pages = [tb.phys_pc & ~(PAGE_SIZE - 1)]
    size = 0
    asm_lines = []
    formatter = None
    while True:
        pc = s.pc_next
        off = pc - data_pc
        if decoder is None or off >= len(data):
            avail = PAGE_SIZE - (pc & (PAGE_SIZE - 1))
            data = fetch(pc, avail)
            data_pc = pc
            off = 0
            decoder = Decoder(s.bitness, data, ip=(pc - s.cs_base) & s.eip_mask)
        decoder.position = off
        decoder.ip = (pc - s.cs_base) & s.eip_mask
        ins = decoder.decode()
        if ins.code == Code.INVALID and decoder.last_error == DecoderError.NO_MORE_BYTES:
            # the instruction crosses into the next page
            nxt = (pc | (PAGE_SIZE - 1)) + 1
            try:
                more = fetch(nxt, 15)
                phys2 = cpu.get_phys_page_code(nxt)
            except Exception:
                if s.num_insns > 0:
                    s.is_jmp = DISAS_TOO_MANY
                    break
                raise
            data = data[off:] + more
            data_pc = pc
            decoder = Decoder(s.bitness, data, ip=(pc - s.cs_base) & s.eip_mask)
            ins = decoder.decode()
            if phys2 not in pages:
                pages.append(phys2)
        s.pc = pc
        s.pc_next = pc + ins.len if ins.code != Code.INVALID else pc + 1
        s.insn = ins
        ctx.insn_start(pc, s.cc_op)
        insn_data.append((pc, s.cc_op))
        s.num_insns += 1
        if log_in_asm is not None:
            if formatter is None:
                formatter = iced_x86.Formatter(iced_x86.FormatterSyntax.GAS)
            raw = data[decoder.position - ins.len:decoder.position].hex(" ") \
                if ins.code != Code.INVALID else data[off:off + 1].hex()
            asm_lines.append(f"0x{pc:016x}:  {raw:<24} {formatter.format(ins)}")
        handler = HANDLERS.get(ins.code) if ins.code != Code.INVALID else None
        if handler is None and getattr(cpu, "fp_enabled", False):
            handler = OPTIONAL_HANDLERS.get(ins.code)
        if handler is None:
            if ins.code != Code.INVALID and LOG.enabled("unimp"):
                LOG.write(f"x86: no handler for {iced_x86.Formatter(iced_x86.FormatterSyntax.GAS).format(ins)}"
                          f" at 0x{pc:x}: raising #UD\n")
            s.illegal()
        else:
            saved = (s.cc_op, s.cc_op_dirty)
            try:
                handler(s, ins)
            except UnsupportedInsn:
                del ctx.ops[_last_insn_start(ctx.ops) + 1:]
                s.cc_op, s.cc_op_dirty = saved
                s.illegal()
        size = s.pc_next - tb.pc
        if s.is_jmp != DISAS_NEXT:
            break
        if s.num_insns >= max_insns or s.pc_next in cpu.breakpoints:
            s.is_jmp = DISAS_TOO_MANY
            break
        if (s.pc_next & ~(PAGE_SIZE - 1)) != s.base_page:
            s.is_jmp = DISAS_TOO_MANY
            break
        if s.tf:
            s.is_jmp = DISAS_EOB_NEXT
            break
    if s.is_jmp in (DISAS_TOO_MANY, DISAS_NEXT):
        s.gen_jmp_tb(s.eip_next, 0)
    elif s.is_jmp == DISAS_EOB_NEXT:
        s.update_cc_op()
        s.gen_update_eip_next()
        s.gen_eob()
    elif s.is_jmp == DISAS_EOB_ONLY:
        s.gen_eob()
    elif s.is_jmp == DISAS_JUMP:
        s.update_cc_op()
        s.end_tb_lookup()
    ctx.set_label(exit_label)
    ctx.exit_tb(EXIT_REQUESTED)
    n = s.num_insns
    bud_cmp.args[1] = ctx.const(n)
    bud_sub.args[2] = ctx.const(n)
    tb.icount = n
    tb.size = max(size, 1)
    tb.insn_data = insn_data
    tb.pages = tuple(pages)
    if log_in_asm is not None:
        log_in_asm("\n".join(asm_lines))
    return ctx


def _last_insn_start(ops) -> int:
    for i in range(len(ops) - 1, -1, -1):
        if ops[i].opdef.base == "insn_start":
            return i
    return -1


__all__ = ["gen_intermediate_code", "insn", "DisasContext", "GLOBALS", "HANDLERS",
           "CallFlags"]
