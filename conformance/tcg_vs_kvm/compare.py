"""Comparing two results of one case, with the masks of :mod:`.flags`.

Compared: the 16 GPRs (minus registers whose value is architecturally
undefined), RFLAGS bits CF PF AF ZF SF DF OF AC minus the undefined ones
(IF, IOPL, RF, TF and the reserved bits are never compared: PVM hosts
report IF/IOPL differently and QEMU does not set RF in fault frames), how
the body ended (normally, or the exception vector), the error code for
vectors that push one, the faulting RIP, CR2 for #PF, the data page, and the
x87/SSE state the runner stores after the body (:data:`FX_FIELDS`: FCW, FSW,
FTW, FOP, FIP, FDP, MXCSR, ST0-7, XMM0-15; not MXCSR_MASK, a property of the
CPU model, nor the reserved bytes).

CR2 is not compared when CMPS faults and each side's CR2 lies in one of its two
operands: which operand a CPU reads first is not architectural (Intel parts
fault on ES:[rDI], AMD EPYC on [rSI]), so either order is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from iced_x86 import Code, RegisterExt

from . import image as im
from .case import Batch, Case, Result
from .flags import COMPARED, Analysis, analyse, decode_body, flag_names
from .gen import GPR64

VECTOR_NAMES = {0: "#DE", 1: "#DB", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM",
                8: "#DF", 10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF",
                17: "#AC", 18: "#MC", 19: "#XM"}


# (name, offset, length) of the compared fields of an FXSAVE64 image
FX_FIELDS = ([("fcw", 0, 2), ("fsw", 2, 2), ("ftw", 4, 1), ("fop", 6, 2), ("fip", 8, 8),
              ("fdp", 16, 8), ("mxcsr", 24, 4)] +
             [(f"st{i}", 32 + 16 * i, 10) for i in range(8)] +
             [(f"xmm{i}", 160 + 16 * i, 16) for i in range(16)])


def fx_lines(a: Result, b: Result, names) -> list[str]:
    na, nb = names
    out = []
    for name, off, n in FX_FIELDS:
        va = int.from_bytes(a.fx[off:off + n], "little")
        vb = int.from_bytes(b.fx[off:off + n], "little")
        if va != vb:
            w = 2 * n + 2
            out.append(f"{name}: {na} {va:#0{w}x} {nb} {vb:#0{w}x}")
    return out


_FXSAVE = {Code.FXSAVE_M512BYTE, Code.FXSAVE64_M512BYTE}


def model_specific(offs: list[int], a: bytes, b: bytes, insns) -> list[int]:
    """OFFS minus the bytes of MXCSR_MASK fields that a body with FXSAVE wrote: the
    field (image offset 28, so 12 mod 16 in a page) names the MXCSR bits the CPU model
    supports: 0x0000FFFF on TCG (as on QEMU), a superset on CPUs with extra bits (AMD's
    MisAlignSse MM bit 17 gives 0x0002FFFF)."""
    if not any(i.code in _FXSAVE for i in insns):
        return offs
    out = []
    for o in offs:
        w = o & ~3
        if w & 15 == 12:
            va = int.from_bytes(a[w:w + 4], "little")
            vb = int.from_bytes(b[w:w + 4], "little")
            if 0xFFFF in (va, vb) and va & 0xFFFF == vb & 0xFFFF == 0xFFFF:
                continue
        out.append(o)
    return out


def end_text(r: Result) -> str:
    if r.ok:
        return "end of body"
    v = VECTOR_NAMES.get(r.kind, f"vector {r.kind}")
    text = f"{v} at {r.frip:#x}"
    if r.kind in im.ERROR_CODE_VECTORS:
        text += f" error {r.err:#x}"
    if r.kind == 14:
        text += f" cr2 {r.cr2:#x}"
    return text


@dataclass
class Mismatch:
    slot: int
    case: Case
    lines: list[str]          # one per differing item
    analysis: Analysis
    asm: list[str]
    insns: list = None        # the decoded body

    def summary(self) -> str:
        return "; ".join(self.lines)

    def report(self, label: str, names=("kvm", "tcg")) -> str:
        out = [f"MISMATCH {label}: {self.summary()}"]
        out += ["  " + a for a in self.asm]
        out += ["  " + line for line in self.case.initial_lines()]
        for line in self.analysis.reason_lines():
            out.append(f"  masked {line}")
        return "\n".join(out)


def body_insns(batch: Batch, slot: int):
    addr = im.case_code(slot)
    code = batch.code[addr]
    end = _body_end(code, addr, batch.image.labels["save_ok"])
    return decode_body(code, addr, end)


def _body_end(code: bytes, addr: int, save_ok: int) -> int:
    """Address of the tail ``jmp save_ok``: the last instruction before the 0xCC padding."""
    from iced_x86 import Decoder
    stripped = len(code.rstrip(b"\xcc"))
    last = addr
    for insn in Decoder(64, code[:stripped], ip=addr):
        last = insn.ip
    return last


def initial_known(batch: Batch, slot: int) -> dict[int, int]:
    case = batch.cases[slot]
    base = im.case_data(slot)
    return {GPR64[i]: (case.regs.get(n, 0) + (base if n in case.pointers else 0))
            & 0xFFFF_FFFF_FFFF_FFFF for i, n in enumerate(im.GPRS)}


# CMPS forms and their operand size: two memory reads in an unspecified order
_CMPS_SIZE = {Code.CMPSB_M8_M8: 1, Code.CMPSW_M16_M16: 2, Code.CMPSD_M32_M32: 4,
              Code.CMPSQ_M64_M64: 8}
_RSI, _RDI = im.GPRS.index("rsi"), im.GPRS.index("rdi")


def _cr2_order_unspecified(insns, a: Result, b: Result) -> bool:
    """True when A and B fault in the same CMPS and each CR2 lies in one of its operands."""
    insn = next((i for i in insns if i.ip == a.frip), None)
    size = _CMPS_SIZE.get(insn.code) if insn is not None else None
    if size is None:
        return False

    def in_operand(r: Result) -> bool:
        return any(0 <= r.cr2 - r.gprs[k] < size for k in (_RSI, _RDI))
    return in_operand(a) and in_operand(b)


def compare(batch: Batch, slot: int, a: Result, b: Result, names=("kvm", "tcg")) -> Mismatch | None:
    insns = body_insns(batch, slot)
    stop = None
    for r in (a, b):
        if not r.ok:
            idx = next((k for k, i in enumerate(insns) if i.ip == r.frip), None)
            if idx is not None:
                stop = idx if stop is None else min(stop, idx)
    an = analyse(insns, stop, initial_known(batch, slot))
    lines = []
    na, nb = names
    if not a.done or not b.done:
        lines.append(f"case did not complete ({na}: {a.done}, {nb}: {b.done})")
    if a.kind != b.kind or (not a.ok and (a.frip != b.frip or (
            a.kind in im.ERROR_CODE_VECTORS and a.err != b.err) or
            (a.kind == 14 and a.cr2 != b.cr2 and not _cr2_order_unspecified(insns, a, b)))):
        lines.append(f"end: {na} {end_text(a)}, {nb} {end_text(b)}")
    undefined = {RegisterExt.full_register(r) for r in an.undefined_regs}
    for i, n in enumerate(im.GPRS):
        if GPR64[i] in undefined:
            continue
        if a.gprs[i] != b.gprs[i]:
            lines.append(f"{n}: {na} {a.gprs[i]:#x} {nb} {b.gprs[i]:#x}")
    diff = (a.rflags ^ b.rflags) & COMPARED & ~an.flag_mask
    if diff:
        lines.append(f"rflags {flag_names(diff)}: {na} {a.rflags & COMPARED:#x} "
                     f"{nb} {b.rflags & COMPARED:#x}")
    lines += fx_lines(a, b, names)
    offs = [] if a.data == b.data else model_specific(
        [i for i in range(im.PAGE) if a.data[i] != b.data[i]], a.data, b.data, insns)
    if offs:
        o = offs[0]
        lines.append(f"memory data+{o:#x} ({len(offs)} bytes differ): {na} "
                     f"{a.data[o:o + 8].hex()} {nb} {b.data[o:o + 8].hex()}")
    if not lines:
        return None
    from iced_x86 import Formatter, FormatterSyntax
    fmt = Formatter(FormatterSyntax.INTEL)
    asm = [f"{i.ip:#x}: {fmt.format(i)}" for i in insns]
    return Mismatch(slot, batch.cases[slot], lines, an, asm, insns)
