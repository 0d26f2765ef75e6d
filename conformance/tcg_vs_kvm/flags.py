"""What may legitimately differ after a body: undefined RFLAGS bits and undefined results.

Walks the body as the CPU will see it (decoded from the encoded bytes, so
raw prefixes count) with iced-x86's per-instruction RFLAGS information:

* ``mask = (mask & ~defined_written) | undefined`` per instruction, with the
  iced ``RflagsBits`` converted to EFLAGS positions;
* shifts and rotates whose count is not a constant 1..width never clear mask
  bits (a count of 0 leaves the older, possibly undefined, flags in place);
  an immediate count of 1 makes OF defined (iced marks it undefined for
  every immediate form);
* instructions inside a forward branch's shadow (maybe skipped) only add
  undefined bits;
* BSF/BSR with a source that may be zero, BSWAP r16 and 16-bit SHLD/SHRD
  with a count that may exceed 16 make the destination register undefined.

Every masked bit carries its reasons (``mask_reasons``), e.g.
``"AF: and eax,ebx (AND: AF undefined)"``; they are printed with a
mismatch and listed in ``docs/kvm.md``. :func:`consumes_undefined` tells
whether an instruction reads a flag that is undefined at that point: the
generator rejects such bodies, as the differential-testing literature does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from iced_x86 import (Code, Decoder, Formatter, FormatterSyntax, Instruction,
                      InstructionInfoFactory, Mnemonic, OpAccess, OpKind, RflagsBits, Register,
                      RegisterExt)

CF, PF, AF, ZF, SF, DF, OF, AC = 0x1, 0x4, 0x10, 0x40, 0x80, 0x400, 0x800, 0x40000
COMPARED = CF | PF | AF | ZF | SF | DF | OF | AC
FLAG_NAMES = ((CF, "CF"), (PF, "PF"), (AF, "AF"), (ZF, "ZF"), (SF, "SF"), (DF, "DF"),
              (OF, "OF"), (AC, "AC"))
_ICED = ((RflagsBits.OF, OF), (RflagsBits.SF, SF), (RflagsBits.ZF, ZF), (RflagsBits.AF, AF),
         (RflagsBits.CF, CF), (RflagsBits.PF, PF), (RflagsBits.DF, DF), (RflagsBits.AC, AC))

SHIFTS = {Mnemonic.SHL, Mnemonic.SAL, Mnemonic.SHR, Mnemonic.SAR, Mnemonic.ROL, Mnemonic.ROR,
          Mnemonic.RCL, Mnemonic.RCR, Mnemonic.SHLD, Mnemonic.SHRD}
_FMT = Formatter(FormatterSyntax.INTEL)


def eflags(iced_bits: int) -> int:
    out = 0
    for ib, eb in _ICED:
        if iced_bits & ib:
            out |= eb
    return out


def flag_names(bits: int) -> str:
    return " ".join(n for b, n in FLAG_NAMES if bits & b) or "-"


def decode_body(code: bytes, address: int, end: int) -> list[Instruction]:
    """The instructions of a body placed at ADDRESS, up to (not including) END."""
    out = []
    for insn in Decoder(64, code, ip=address):
        if insn.ip >= end:
            break
        out.append(insn)
    return out


def _count_is_one(insn: Instruction) -> bool:
    k = insn.op_kind(insn.op_count - 1)
    if k == OpKind.IMMEDIATE8 and insn.mnemonic not in (Mnemonic.SHLD, Mnemonic.SHRD):
        return insn.immediate8 == 1
    if insn.op_count == 3 and insn.op_kind(2) == OpKind.IMMEDIATE8:
        return insn.immediate8 == 1
    return insn.op_count == 2 and insn.op_kind(1) == OpKind.IMMEDIATE8 and insn.immediate8 == 1


def _dest_reg(insn: Instruction) -> int | None:
    if insn.op_count and insn.op_kind(0) == OpKind.REGISTER:
        return RegisterExt.full_register(insn.op_register(0))
    return None


@dataclass
class Analysis:
    flag_mask: int = 0
    reasons: dict[int, list[str]] = field(default_factory=dict)   # flag bit -> reasons
    undefined_regs: dict[int, str] = field(default_factory=dict)  # full register -> reason
    consumes: str = ""                                            # first bad flag read

    def reason_lines(self) -> list[str]:
        out = [f"{n}: " + "; ".join(self.reasons[b]) for b, n in FLAG_NAMES
               if self.flag_mask & b and b in self.reasons]
        out += [f"{_reg_name(r)}: {why}" for r, why in self.undefined_regs.items()]
        return out


def _reg_name(r: int) -> str:
    for name, value in vars(Register).items():
        if value == r and name.isupper():
            return name.lower()
    return str(r)


def analyse(insns: list[Instruction], stop_at: int | None = None,
            known_regs: dict[int, int] | None = None) -> Analysis:
    """Masks for the state after the first STOP_AT instructions (all when None).

    KNOWN_REGS maps full registers to values known at the start (the initial
    GPRs); registers written by an earlier instruction become unknown."""
    a = Analysis()
    known = dict(known_regs or {})
    shadow_end = None                    # ip where the current branch shadow ends
    mask = 0
    for k, insn in enumerate(insns):
        if stop_at is not None and k >= stop_at:
            break
        text = _FMT.format(insn)
        in_shadow = shadow_end is not None and insn.ip < shadow_end
        if shadow_end is not None and insn.ip >= shadow_end:
            shadow_end = None
        read = eflags(insn.rflags_read)
        if read & mask and not a.consumes:
            a.consumes = f"{text} reads {flag_names(read & mask)} while undefined"
        undef = eflags(insn.rflags_undefined)
        defined = eflags(insn.rflags_written | insn.rflags_cleared | insn.rflags_set)
        mn = insn.mnemonic
        if mn in SHIFTS:
            if _count_is_one(insn) and mn not in (Mnemonic.SHLD, Mnemonic.SHRD):
                undef &= ~OF
                defined |= OF & eflags(insn.rflags_modified)
            elif _count_is_one(insn):
                undef &= ~OF
            # the count may be 0 (flags unchanged) unless it is a non-zero constant
            if not _count_is_one(insn) and not _const_nonzero_count(insn):
                defined = 0
            if not _count_is_one(insn):
                undef |= OF                      # OF is defined for a count of 1 only
        if (insn.has_rep_prefix or insn.has_repne_prefix) and \
                insn.mnemonic in (Mnemonic.CMPSB, Mnemonic.CMPSW, Mnemonic.CMPSD,
                                  Mnemonic.CMPSQ, Mnemonic.SCASB, Mnemonic.SCASW,
                                  Mnemonic.SCASD, Mnemonic.SCASQ):
            defined = 0                          # RCX = 0: no iteration, flags unchanged
        why16 = _shld16_reason(insn, known)
        if why16:
            undef |= CF | PF | AF | ZF | SF | OF             # flags undefined too
            if insn.op_kind(0) == OpKind.MEMORY and not a.consumes:
                a.consumes = f"{text}: {why16} (into memory, which is compared)"
        if in_shadow:
            defined = 0
        new_mask = (mask & ~defined) | undef
        for b, _ in FLAG_NAMES:
            if undef & b:
                a.reasons.setdefault(b, []).append(
                    f"{text} ({Mnemonic_name(mn)}: {'undefined' if not in_shadow else 'undefined, maybe skipped'})")
            elif mask & b and not new_mask & b:
                a.reasons.pop(b, None)
        mask = new_mask
        if not a.consumes:
            bad = _read_regs(insn) & set(a.undefined_regs)
            if bad:
                a.consumes = f"{text} reads {_reg_name(min(bad))}, whose value is undefined"
        _result_undefined(insn, text, known, a)
        # registers written by this instruction lose their known values (an undefined
        # register stays masked: a partial write would leave undefined bits behind)
        for r in _written_regs(insn):
            known.pop(r, None)
        if insn.is_jcc_short_or_near or insn.is_jmp_short_or_near or \
                insn.is_jcx_short or insn.is_loop or insn.is_loopcc or \
                insn.mnemonic == Mnemonic.CALL:
            t = insn.near_branch_target
            if t <= insn.ip:                     # the end of the body (a fake address)
                t = 1 << 64
            shadow_end = max(shadow_end or 0, t)
    a.flag_mask = mask
    return a


def Mnemonic_name(mn: int) -> str:
    for name, value in vars(Mnemonic).items():
        if value == mn and name.isupper():
            return name
    return str(mn)


def _const_nonzero_count(insn: Instruction) -> bool:
    last = insn.op_count - 1
    if insn.op_kind(last) == OpKind.IMMEDIATE8:
        width = 64 if insn.op_count and _opsize(insn) == 8 else 32
        return (insn.immediate8 % width) != 0 or (
            insn.mnemonic in (Mnemonic.RCL, Mnemonic.RCR) and _opsize(insn) < 4
            and insn.immediate8 % 32 != 0)
    if insn.op_kind(last) == OpKind.IMMEDIATE8_2ND:
        return False
    # shl r/m, 1 forms have the constant 1 as an implicit operand
    return last >= 1 and insn.op_kind(last) != OpKind.REGISTER


def _opsize(insn: Instruction) -> int:
    if insn.op_kind(0) == OpKind.REGISTER:
        return RegisterExt.size(insn.op_register(0))
    from iced_x86 import MemorySizeExt
    return MemorySizeExt.size(insn.memory_size)


_WRITES = {OpAccess.WRITE, OpAccess.READ_WRITE, OpAccess.COND_WRITE, OpAccess.READ_COND_WRITE}
_READS = {OpAccess.READ, OpAccess.READ_WRITE, OpAccess.COND_READ, OpAccess.READ_COND_WRITE}


def _regs_with(insn: Instruction, accesses) -> set[int]:
    out = set()
    for u in _INFO.info(insn).used_registers():
        if u.access in accesses and RegisterExt.is_gpr(u.register):
            out.add(RegisterExt.full_register(u.register))
    return out


def _written_regs(insn: Instruction) -> set[int]:
    return _regs_with(insn, _WRITES)


def _read_regs(insn: Instruction) -> set[int]:
    return _regs_with(insn, _READS)


def _source_reg(insn: Instruction) -> int | None:
    if insn.op_count >= 2 and insn.op_kind(1) == OpKind.REGISTER:
        return insn.op_register(1)
    return None


def _result_undefined_reason(insn: Instruction, known: dict[int, int]) -> str:
    mn = insn.mnemonic
    if mn in (Mnemonic.BSF, Mnemonic.BSR):
        src = _source_reg(insn)
        if src is not None:
            full = RegisterExt.full_register(src)
            if full in known:
                size = RegisterExt.size(src)
                v = known[full] & ((1 << (8 * size)) - 1)
                return "" if v else "source is zero: destination undefined"
        return "source may be zero: destination undefined"
    if insn.code == Code.BSWAP_R16:
        return "BSWAP r16: result undefined"
    return _shld16_reason(insn, known)


def _shld16_reason(insn: Instruction, known: dict[int, int]) -> str:
    if insn.mnemonic not in (Mnemonic.SHLD, Mnemonic.SHRD) or _opsize(insn) != 2:
        return ""
    if insn.op_kind(2) == OpKind.IMMEDIATE8 and (insn.immediate8 & 31) <= 16:
        return ""
    if insn.op_kind(2) == OpKind.REGISTER and Register.RCX in known and \
            (known[Register.RCX] & 31) <= 16:
        return ""
    return "16-bit SHLD/SHRD count may exceed 16: result and flags undefined"


def _result_undefined(insn: Instruction, text: str, known: dict[int, int], a: Analysis):
    why = _result_undefined_reason(insn, known)
    dest = _dest_reg(insn)
    if why and dest is not None:
        a.undefined_regs[dest] = f"{text}: {why}"


_INFO = InstructionInfoFactory()
