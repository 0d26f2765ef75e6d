"""Random bodies over every instruction form the TCG front end implements.

The instruction forms come from the translator's own registry
(``qemu_py.target.i386.translate.HANDLERS``, iced ``Code`` -> handler), grouped
into classes by the handler's module (``insn_arith`` -> ``arith``), minus
what cannot be compared (see :data:`EXCLUDED`), plus a ``fault`` class of
instructions that fault at CPL3. Operands are drawn per iced
``OpCodeOperandKind``; memory operands address the case's data page through
a base register reserved for the case (sometimes pointing at the read-only
page, page 0 or a non-canonical address, or near the page end so that an
access crosses into the unmapped guard page). Prefixes: LOCK on lockable
memory forms (and, as a #UD case, on others), REP/REPE/REPNE on strings,
segment overrides DS/ES/SS/CS (ignored in 64-bit mode), address size
(0x67, the same addresses since the image lies below 4 GiB).

Choices go through a :class:`Chooser`, so the same generator runs from a
seeded ``random.Random`` (the campaign) or from hypothesis ``draw`` (the
property tests, which then shrink). A body is rejected when it reads a
flag or register that is undefined at that point (:mod:`.flags`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import random

from iced_x86 import (Code, Encoder, Instruction, MemoryOperand, OpAccess, OpCodeInfo,
                      OpCodeOperandKind as K, Register as R, RegisterExt)

from . import image as im
from .case import END, Case, fake_ip
from .flags import _INFO

_ENC = Encoder(64)

M64 = 0xFFFF_FFFF_FFFF_FFFF
GPR64 = [R.RAX, R.RCX, R.RDX, R.RBX, R.RSP, R.RBP, R.RSI, R.RDI,
         R.R8, R.R9, R.R10, R.R11, R.R12, R.R13, R.R14, R.R15]
NAME = {r: n for r, n in zip(GPR64, im.GPRS)}
EDGE = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000,
        0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, M64,
        M64 - 1, 0x5555_5555_5555_5555, 0xAAAA_AAAA_AAAA_AAAA, 31, 32, 33, 63, 64, 65, 16, 17]

# Not compared: non-deterministic, environment-dependent, or leaving the sandbox.
EXCLUDED = {
    "system": "privileged/environment instructions; the ones that fault at CPL3 are in 'fault'",
    "CLI/STI": "IF/IOPL handling differs on PVM hosts (spec 1.2)",
    "PUSHF*/POPF*": "IF/IOPL and RF as seen by PUSHF differ between hosts",
    "MOV moffs": "absolute 64-bit address of the data page differs per slot",
    "PUSH/POP FS/GS": "segment registers differ between a VM and a Linux process",
    "INS/OUTS/IN/OUT": "port I/O leaves the sandbox",
    "INT n/INTO/IRET/RET*/SYSCALL/SYSRET/far and indirect branches":
        "control leaves the body; INT3 is in 'fault'",
    "16-bit branches, ENTER/LEAVE with 16/32-bit operand size":
        "truncate RIP/RSP outside the sandbox",
    "CPUID/RDTSC(P)/RDPID/SGDT/SIDT/SLDT/SMSW/STR": "non-deterministic or UMIP-emulated",
}

_KIND_REG = {K.R8_REG: 1, K.R16_REG: 2, K.R32_REG: 4, K.R64_REG: 8,
             K.R8_OPCODE: 1, K.R16_OPCODE: 2, K.R32_OPCODE: 4, K.R64_OPCODE: 8,
             K.R32_VVVV: 4, K.R64_VVVV: 8, K.R32_RM: 4, K.R64_RM: 8}
_KIND_RM = {K.R8_OR_MEM: 1, K.R16_OR_MEM: 2, K.R32_OR_MEM: 4, K.R64_OR_MEM: 8}
_KIND_XMM = {K.XMM_REG, K.XMM_RM}
_KIND_FIXED = {K.AL: R.AL, K.AX: R.AX, K.EAX: R.EAX, K.RAX: R.RAX, K.CL: R.CL}
_KIND_IMM = {K.IMM8: ("u", 8), K.IMM16: ("u", 16), K.IMM32: ("u", 32), K.IMM64: ("u64", 64),
             K.IMM8SEX16: ("i", 8), K.IMM8SEX32: ("i", 8), K.IMM8SEX64: ("i", 8),
             K.IMM32SEX64: ("i", 32)}
_BRANCH_OK = {"JMP_REL8_64", "JMP_REL32_64", "CALL_REL32_64", "LOOP_REL8_64_RCX",
              "LOOPE_REL8_64_RCX", "LOOPNE_REL8_64_RCX", "JRCXZ_REL8_64", "JECXZ_REL8_64"}
_FAULT_CODES = ["UD2", "UD0_R32_RM32", "UD1_R32_RM32", "HLT", "INT3", "MOV_R64_CR",
                "MOV_CR_R64", "MOV_R64_DR", "WRMSR", "RDMSR", "WBINVD", "INVD", "CLTS",
                "INVLPG_M", "LGDT_M1664", "LIDT_M1664", "SWAPGS"]
_SKIP_NAME_PREFIX = ("CLI", "STI", "PUSHF", "POPF", "INSB", "INSW", "INSD", "OUTS", "ENTERW",
                     "ENTERD", "LEAVEW", "LEAVED", "XLAT")


def _code_name(code: int) -> str:
    for name, value in vars(Code).items():
        if value == code and name.isupper():
            return name
    return str(code)


def _accept(name: str, module: str, oc) -> bool:
    if not oc.mode64 or name.startswith(_SKIP_NAME_PREFIX):
        return False
    kinds = [oc.op_kind(i) for i in range(oc.op_count)]
    if any(k in (K.MEM_OFFS, K.FS, K.GS, K.DX, K.SEG_RBX_AL) for k in kinds):
        return False
    if module == "branch":
        if name in _BRANCH_OK:
            return True
        return name.startswith("J") and name.endswith(("_REL8_64", "_REL32_64"))
    if module == "stack" and any(k in (K.BR16_1, K.BR16_2) for k in kinds):
        return False
    supported = set(_KIND_REG) | set(_KIND_RM) | set(_KIND_FIXED) | set(_KIND_IMM) | \
        _KIND_XMM | {K.MEM, K.XMM_OR_MEM, K.IMM8_CONST_1, K.ES_RDI, K.SEG_RSI}
    return all(k in supported for k in kinds)


def instruction_classes() -> dict[str, list[int]]:
    """Class name -> iced Codes the TCG implements (and the harness can compare)."""
    from qemu_py.target.i386 import insn_all  # noqa: F401  (registers every handler)
    from qemu_py.target.i386.translate import HANDLERS
    classes: dict[str, list[int]] = {}
    for code, fn in HANDLERS.items():
        module = fn.__module__.rsplit(".", 1)[-1].removeprefix("insn_")
        if module == "system":
            continue
        name = _code_name(code)
        if _accept(name, module, OpCodeInfo(code)):
            classes.setdefault(module, []).append(code)
    faults = [getattr(Code, n) for n in _FAULT_CODES if hasattr(Code, n) and
              getattr(Code, n) in HANDLERS]
    faults.append(Code.INT3)
    classes["fault"] = sorted(set(faults))
    return {k: sorted(v) for k, v in sorted(classes.items())}


# ----------------------------------------------------------------------------------------- choices


class Chooser(ABC):
    """Where random decisions come from (a seeded RNG, or hypothesis draws)."""

    @abstractmethod
    def int(self, lo: int, hi: int) -> int:
        """A number in [lo, hi]."""

    def choice(self, seq):
        return seq[self.int(0, len(seq) - 1)]

    def chance(self, percent: int) -> bool:
        return self.int(0, 99) < percent


class RandomChooser(Chooser):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def int(self, lo, hi):
        return self.rng.randint(lo, hi)


class DrawChooser(Chooser):
    """Choices from hypothesis ``draw`` (so hypothesis can shrink them)."""

    def __init__(self, draw):
        from hypothesis import strategies as st
        self.draw = draw
        self.st = st

    def int(self, lo, hi):
        return self.draw(self.st.integers(lo, hi))


def xmm_value(ch: Chooser) -> int:
    """A 128-bit register value: lanes of edge values, or random bits."""
    r = ch.int(0, 9)
    if r < 2:
        return 0
    if r < 5:
        return value(ch) | value(ch) << 64
    if r < 7:                          # one repeated lane of 8/16/32 bits
        bits = ch.choice([8, 16, 32])
        lane = ch.choice([0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF,
                          0x8000_0000, 0xFFFF_FFFF]) & ((1 << bits) - 1)
        return sum(lane << (bits * i) for i in range(128 // bits))
    return ch.int(0, (1 << 128) - 1)


def mem_size(name: str, kind: int) -> int:
    """Bytes a memory operand of instruction form NAME accesses (for page-end cases)."""
    for tag, n in (("M128", 16), ("M64", 8), ("M32", 4), ("M512", 512)):
        if tag in name:
            return n
    return _KIND_RM.get(kind, 8)


def value(ch: Chooser) -> int:
    r = ch.int(0, 9)
    if r < 4:
        return ch.choice(EDGE)
    if r < 6:
        return ch.int(0, 0xFFFF)
    if r < 7:
        return (-ch.int(1, 0x10000)) & M64
    return ch.int(0, M64)


# --------------------------------------------------------------------------------- case building


class Body:
    """State while building one body: reserved registers, taint, instructions."""

    def __init__(self, ch: Chooser, classes: dict[str, list[int]]):
        self.ch = ch
        self.classes = classes
        self.insns: list[Instruction] = []
        self.regs = {n: value(ch) for n in im.GPRS}
        self.pointers = {"rsp"}
        self.tainted: set[int] = set()
        # the memory base register and where it points
        self.base = ch.choice([R.RBX, R.RBP, R.R12, R.R13, R.R14, R.R15, R.R11, R.R10])
        where = ch.int(0, 99)
        if where < 90:
            self._ptr(self.base, 0x800)
        elif where < 95:
            self.regs[NAME[self.base]] = im.RO_PAGE + 0x800
        elif where < 97:
            self.regs[NAME[self.base]] = 0x800                          # page 0: unmapped
        else:
            self.regs[NAME[self.base]] = 0x8000_0000_0000_0800          # non-canonical
        self.index = None
        if ch.chance(30):
            self.index = ch.choice([r for r in (R.RAX, R.RCX, R.RDX, R.R8, R.R9)
                                    if r != self.base])
            self.regs[NAME[self.index]] = ch.int(0, 0x20)
        self.reserved = {self.base, R.RSP} | ({self.index} if self.index else set())
        self._ptr(R.RSP, ch.choice([0xC00, 0xC00, 0xC00, 0x800, 0x18]))
        if ch.chance(50):
            self._ptr(R.RSI, ch.int(0, 0x40) * 8)
        if ch.chance(50):
            self._ptr(R.RDI, 0x600 + ch.int(0, 0x40) * 8)
        if ch.chance(40):
            self.regs["rcx"] = ch.int(0, 12)
        if ch.chance(30):
            self._ptr(R.RBP, 0xC40) if R.RBP not in self.reserved else None

    def _ptr(self, reg: int, off: int):
        self.regs[NAME[reg]] = off
        self.pointers.add(NAME[reg])

    # -- operands --------------------------------------------------------------------------------
    def reg(self, size: int, writable: bool) -> int:
        ch = self.ch
        while True:
            n = ch.int(0, 15)
            full = GPR64[n]
            if writable and full in self.reserved:
                continue
            if size == 8:
                return full
            if size == 4:
                return R.EAX + n
            if size == 2:
                return R.AX + n
            if n < 4 and ch.chance(25):
                return R.AH + n
            return [R.AL, R.CL, R.DL, R.BL, R.SPL, R.BPL, R.SIL, R.DIL][n] if n < 8 \
                else R.R8L + n - 8

    def mem(self, size: int) -> MemoryOperand:
        ch = self.ch
        disp = ch.int(-0x800, 0x7F0)
        r = ch.int(0, 99)
        if r < 8:
            disp = 0x800 - size + ch.int(-1, size)          # may cross into the guard page
        elif r < 10:
            disp = -0x800 - ch.int(1, 8)                    # below the page: unmapped
        elif r < 60:
            disp = (disp // 8) * 8
        index, scale = R.NONE, 1
        if self.index is not None and ch.chance(50):
            index, scale = self.index, ch.choice([1, 2, 4, 8])
        dsize = 1 if -128 <= disp <= 127 else 8
        return MemoryOperand(self.base, index, scale, disp, dsize)

    def imm(self, kind: int) -> tuple[str, int]:
        ch = self.ch
        sign, bits = _KIND_IMM[kind]
        if sign == "u64":
            return "u64", value(ch)
        if sign == "u":
            v = ch.choice([0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 0x7F, 0x80, 0xFF])
            if ch.chance(50):
                v = ch.int(0, (1 << bits) - 1)
            return "u32", v & ((1 << bits) - 1)
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        v = ch.choice([0, 1, -1, lo, hi, 2, -2]) if ch.chance(40) else ch.int(lo, hi)
        return "i32", v

    # -- instructions ------------------------------------------------------------------------------
    def make(self, code: int) -> Instruction | None:
        oc = OpCodeInfo(code)
        name = _code_name(code)
        if name.startswith(("MOVS", "CMPS", "STOS", "LODS", "SCAS")) and \
                oc.op_count and oc.op_kind(0) in (K.ES_RDI, K.SEG_RSI):
            return self.string(name)
        ops, shape = [], []
        rm_is_mem = None
        for i in range(oc.op_count):
            k = oc.op_kind(i)
            if k in _KIND_RM:
                rm_is_mem = self.ch.chance(45)
                if rm_is_mem:
                    ops.append(self.mem(_KIND_RM[k]))
                    shape.append("mem")
                else:
                    ops.append(self.reg(_KIND_RM[k], i == 0))
                    shape.append("reg")
            elif k == K.MEM:
                ops.append(self.mem(min(mem_size(name, k), 16)))
                shape.append("mem")
            elif k in _KIND_XMM:
                ops.append(R.XMM0 + self.ch.int(0, 15))
                shape.append("reg")
            elif k == K.XMM_OR_MEM:
                rm_is_mem = self.ch.chance(45)
                if rm_is_mem:
                    ops.append(self.mem(mem_size(name, k)))
                    shape.append("mem")
                else:
                    ops.append(R.XMM0 + self.ch.int(0, 15))
                    shape.append("reg")
            elif k in _KIND_REG:
                ops.append(self.reg(_KIND_REG[k], i == 0))
                shape.append("reg")
            elif k in _KIND_FIXED:
                ops.append(_KIND_FIXED[k])
                shape.append("reg")
            elif k in _KIND_IMM:
                t, v = self.imm(k)
                ops.append(v)
                shape.append(t)
            elif k == K.IMM8_CONST_1:
                ops.append(1)
                shape.append("u32")
            else:
                return None
        factory = "create" + "".join("_" + s for s in shape)
        try:
            insn = getattr(Instruction, factory)(code, *ops)
        except (AttributeError, ValueError, OverflowError, TypeError):
            return None
        if name.startswith(("BT_RM", "BTS_RM", "BTR_RM", "BTC_RM")) and shape == ["mem", "reg"]:
            if not self.bounded_bit_offset(ops[1]):
                return None
        if name.startswith("ENTERQ"):
            insn = Instruction.create_u32_u32(code, self.ch.int(0, 0x80) * 8, self.ch.int(0, 1))
        self.prefixes(insn, oc, rm_is_mem)
        return insn

    def bounded_bit_offset(self, reg: int) -> bool:
        """Load REG (a BT/BTS/BTR/BTC bit offset into memory) with an offset of at most
        +-2 KiB, so the access stays in the case's data page or its guard pages: a
        larger one could reach another case's page, and the case would not reproduce
        alone."""
        full = RegisterExt.full_register(reg)
        if full in self.reserved:
            return False
        v = self.ch.int(-0x4000, 0x3FFF)
        self.add(Instruction.create_reg_i32(Code.MOV_RM64_IMM32, full, v))
        self.tainted.discard(full)
        return True

    def prefixes(self, insn: Instruction, oc, rm_is_mem):
        ch = self.ch
        if rm_is_mem and oc.can_use_lock_prefix and ch.chance(25):
            insn.has_lock_prefix = True
        elif "fault" in self.classes and ch.chance(1):
            insn.has_lock_prefix = True                   # #UD unless lockable memory form
        if rm_is_mem and ch.chance(8):
            insn.segment_prefix = ch.choice([R.DS, R.ES, R.SS, R.CS])

    def string(self, name: str) -> Instruction | None:
        ch = self.ch
        suffix = name[4] if name[:4] in ("MOVS", "CMPS", "STOS", "LODS", "SCAS") else None
        base = name[:4].lower()
        if suffix not in "BWDQ":
            return None
        # RSI/RDI/RCX must still be pointers/small: reload them when tainted
        needs = {"movs": (R.RSI, R.RDI), "cmps": (R.RSI, R.RDI), "stos": (R.RDI,),
                 "lods": (R.RSI,), "scas": (R.RDI,)}[base]
        if NAME[self.base] not in self.pointers:
            return None
        for r in needs:
            if r in self.reserved:
                return None
            if r in self.tainted or NAME[r] not in self.pointers:
                self.add(Instruction.create_reg_mem(
                    Code.LEA_R64_M, r, MemoryOperand(self.base, R.NONE, 1,
                                                     ch.int(-0x40, 0x40) * 8, 1)))
                self.tainted.discard(r)
        rep = ch.choice(["", "", "rep", "repe", "repne"])
        if rep and R.RCX not in self.reserved:
            if R.RCX in self.tainted or self.regs["rcx"] > 16:
                self.add(Instruction.create_reg_u32(Code.MOV_R32_IMM32, R.ECX, ch.int(0, 9)))
                self.tainted.discard(R.RCX)
        elif rep:
            rep = ""
        if base in ("movs", "stos", "lods") and rep in ("repe", "repne"):
            rep = "rep"
        if base in ("cmps", "scas") and rep == "rep":
            rep = "repe"
        fn = f"create_{rep + '_' if rep else ''}{base}{suffix.lower()}"
        try:
            return getattr(Instruction, fn)(64)
        except (AttributeError, ValueError):
            return None

    def branch(self, code: int, k: int, length: int) -> Instruction:
        target = self.ch.int(k + 1, length)
        ip = END if target >= length else fake_ip(target)
        return Instruction.create_branch(code, ip)

    def add(self, insn: Instruction) -> bool:
        """Append INSN unless it writes a reserved register or RSP explicitly, or does
        not encode."""
        if not insn.is_jcc_short_or_near and insn.flow_control == 0:
            try:
                _ENC.encode(insn, im.CODE_BASE)
            except ValueError:
                return False
        info = _INFO.info(insn)
        written = set()
        for u in info.used_registers():
            if u.access in (OpAccess.WRITE, OpAccess.READ_WRITE, OpAccess.COND_WRITE,
                            OpAccess.READ_COND_WRITE) and RegisterExt.is_gpr(u.register):
                written.add(RegisterExt.full_register(u.register))
        explicit = {RegisterExt.full_register(insn.op_register(i)) for i in range(insn.op_count)
                    if insn.op_kind(i) == 0 and
                    info.op_access(i) in (OpAccess.WRITE, OpAccess.READ_WRITE,
                                          OpAccess.COND_WRITE, OpAccess.READ_COND_WRITE)}
        if (written - {R.RSP}) & self.reserved or R.RSP in explicit:
            return False
        if insn.code in (Code.LEAVEQ,) and (R.RBP in self.tainted or "rbp" not in self.pointers):
            return False
        self.insns.append(insn)
        self.tainted |= written
        return True


def generate(ch: Chooser, classes: dict[str, list[int]], max_len: int = 6,
             min_len: int = 1) -> Case:
    """One random case over CLASSES (class name -> Codes)."""
    body = Body(ch, classes)
    names = sorted(classes)
    length = ch.int(min_len, max_len)
    tries = 0
    drawn: dict[int, str] = {}               # id(instruction) -> its class
    while len(body.insns) < length and tries < 20 * length:
        tries += 1
        cls = ch.choice(names)
        code = ch.choice(classes[cls])
        k = len(body.insns)
        if cls == "branch":
            insn = body.branch(code, k, length)
        elif cls == "fault":
            insn = fault_insn(body, code)
        else:
            insn = body.make(code)
        if insn is None:
            continue
        drawn[id(insn)] = cls
        body.add(insn)
    for k, insn in enumerate(body.insns):
        insn.ip = fake_ip(k)
    body.insns = valid_prefix(body.insns, body.regs)
    rflags = 0x202 | (ch.int(0, 0xFFF) & 0x8D5)
    if ch.chance(20):
        rflags |= 0x400                                    # DF
    if ch.chance(10):
        rflags |= 0x40000                                  # AC: alignment checks (#AC)
    data = bytes(ch.int(0, 255) for _ in range(16)) * 256 if ch.chance(50) else \
        random.Random(ch.int(0, 1 << 30)).randbytes(im.PAGE)
    xmm = tuple(xmm_value(ch) for _ in range(16))
    mxcsr = ch.int(0, 0xFFFF) if ch.chance(20) else 0x1F80
    return Case(insns=body.insns, regs=body.regs, rflags=rflags, data=data,
                pointers=frozenset(body.pointers), xmm=xmm, mxcsr=mxcsr,
                classes=frozenset(drawn[id(i)] for i in body.insns if id(i) in drawn))


def fault_insn(body: Body, code: int) -> Instruction | None:
    name = _code_name(code)
    try:
        if name in ("MOV_R64_CR",):
            return Instruction.create_reg_reg(code, body.reg(8, True),
                                              body.ch.choice([R.CR0, R.CR3, R.CR4]))
        if name == "MOV_CR_R64":
            return Instruction.create_reg_reg(code, body.ch.choice([R.CR0, R.CR3]),
                                              body.reg(8, False))
        if name == "MOV_R64_DR":
            return Instruction.create_reg_reg(code, body.reg(8, True), R.DR7)
        if name in ("INVLPG_M", "LGDT_M1664", "LIDT_M1664"):
            return Instruction.create_mem(code, body.mem(8))
        if name in ("UD0_R32_RM32", "UD1_R32_RM32"):
            return Instruction.create_reg_reg(code, body.reg(4, False), body.reg(4, False))
        return Instruction.create(code)
    except (ValueError, AttributeError):
        return None


def valid_prefix(insns: list[Instruction], regs: dict[str, int]) -> list[Instruction]:
    """INSNS up to the first instruction that reads an undefined flag or register
    (branches into the cut part go to the end of the body)."""
    from .flags import analyse
    known = {GPR64[i]: regs.get(n, 0) for i, n in enumerate(im.GPRS)}
    for k in range(len(insns), 0, -1):
        a = analyse(insns[:k], None, known)
        if not a.consumes:
            break
    else:
        k = 0
    out = insns[:k]
    for insn in out:
        if insn.flow_control != 0 and insn.near_branch_target >= fake_ip(k):
            insn.near_branch64 = END
    return out
