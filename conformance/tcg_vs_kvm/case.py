"""Test cases, batches and results.

A :class:`Case` is a body (iced ``Instruction`` list, branch targets given as
the fake ``ip`` of a later instruction or :data:`END`), the 16 initial GPRs,
the initial RFLAGS bits and the initial contents of the case's data page.
Registers named in ``pointers`` hold an offset into the data page and are
relocated to the page of the slot the case runs in; RSP always is one.

A :class:`Batch` places up to ``MAX_CASES`` cases in slots and renders the
memory every engine loads: code, case-in records and data pages. Engines
return a :class:`Result` per slot.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from iced_x86 import BlockEncoder, Code, Formatter, FormatterSyntax, Instruction

from . import image as im

FAKE_IP0 = 0x6000_0000_0000
END = FAKE_IP0 - 16                 # branch target: the end of the body


def fake_ip(k: int) -> int:
    return FAKE_IP0 + 16 * k


@dataclass
class Case:
    insns: list                                  # iced Instructions, ip = fake_ip(k)
    regs: dict[str, int]                         # all 16 GPRs (pointer regs: offsets)
    rflags: int = 0x202
    data: bytes = b""                            # initial data page (padded with zeros)
    pointers: frozenset = frozenset({"rsp"})
    name: str = ""
    tags: frozenset = frozenset()                # e.g. {"ac"}: needs alignment checks
    xmm: tuple = ()                              # initial XMM0..15 (128-bit ints; missing: 0)
    mxcsr: int = 0x1F80                          # initial MXCSR
    classes: frozenset = frozenset()             # instruction classes it was drawn from

    def fx_image(self) -> bytes:
        """The FXSAVE64 image the runner loads before the body: x87 in its FNINIT
        state, this case's MXCSR and XMM registers."""
        img = bytearray(im.FX_SIZE)
        struct.pack_into("<H", img, 0, 0x037F)
        struct.pack_into("<I", img, 24, self.mxcsr)
        for i, v in enumerate(self.xmm):
            img[160 + 16 * i:176 + 16 * i] = v.to_bytes(16, "little")
        return bytes(img)

    def asm_lines(self) -> list[str]:
        fmt = Formatter(FormatterSyntax.INTEL)
        fmt.hex_prefix, fmt.hex_suffix = "0x", ""
        fmt.branch_leading_zeros = False
        out = []
        for k, insn in enumerate(self.insns):
            text = fmt.format(insn)
            if insn.is_jcc_short_or_near or insn.is_jmp_short_or_near:
                t = insn.near_branch_target
                text = text.split()[0] + (" end" if t == END else f" L{(t - FAKE_IP0) // 16}")
            out.append(f"L{k}: {text}")
        return out

    def describe(self) -> str:
        return "\n".join(["  " + line for line in self.asm_lines()] +
                         ["  " + line for line in self.initial_lines()])

    def initial_lines(self) -> list[str]:
        """The initial state as text: GPRs and RFLAGS, then MXCSR and non-zero XMMs."""
        regs = " ".join(f"{n}={'data+' + hex(v) if n in self.pointers else hex(v)}"
                        for n, v in self.regs.items())
        out = [f"initial: rflags={self.rflags:#x} {regs}"]
        xmm = " ".join(f"xmm{i}={v:#034x}" for i, v in enumerate(self.xmm) if v)
        if xmm or self.mxcsr != 0x1F80:
            out.append(f"initial: mxcsr={self.mxcsr:#x} {xmm}".rstrip())
        return out


def encode_body(insns: list, address: int, save_ok: int) -> bytes:
    """The body at ADDRESS followed by ``jmp save_ok`` (which END names)."""
    tail = Instruction.create_branch(Code.JMP_REL32_64, save_ok)
    tail.ip = END
    copies = []
    for k, insn in enumerate(insns):
        c = insn.copy() if hasattr(insn, "copy") else insn
        c.ip = fake_ip(k)
        copies.append(c)
    enc = BlockEncoder(64, True)
    enc.add_many(copies + [tail])
    return enc.encode(address)


@dataclass
class Result:
    gprs: tuple                                   # 16 values, image.GPRS order
    rflags: int
    kind: int                                     # image.KIND_OK or the vector
    err: int
    frip: int
    cr2: int
    data: bytes
    done: bool = True
    note: str = ""
    fx: bytes = bytes(im.FX_SIZE)                 # x87/SSE state after the body (FXSAVE64)

    @property
    def ok(self) -> bool:
        return self.kind == im.KIND_OK

    @classmethod
    def from_record(cls, rec: bytes, data: bytes, fx: bytes) -> "Result":
        q = struct.unpack_from(f"<{im.RECORD_QWORDS}Q", rec)
        return cls(gprs=q[:16], rflags=q[im.OUT_RFLAGS], kind=q[im.OUT_KIND],
                   err=q[im.OUT_ERR] & 0xFFFF_FFFF, frip=q[im.OUT_FRIP], cr2=q[im.OUT_CR2],
                   data=data, done=q[im.OUT_DONE] == im.DONE_MAGIC, fx=fx)

    @property
    def mxcsr(self) -> int:
        return struct.unpack_from("<I", self.fx, 24)[0]

    def xmm(self, i: int) -> int:
        return int.from_bytes(self.fx[160 + 16 * i:176 + 16 * i], "little")


@dataclass
class Batch:
    cases: list[Case]
    image: im.Image
    code: dict[int, bytes] = field(default_factory=dict)
    records: bytes = b""
    pages: dict[int, bytes] = field(default_factory=dict)
    fx: bytes = b""

    def __post_init__(self):
        if len(self.cases) > im.MAX_CASES:
            raise ValueError(f"a batch holds at most {im.MAX_CASES} cases")
        save_ok = self.image.labels["save_ok"]
        rec = bytearray(im.RECORD * len(self.cases))
        for slot, case in enumerate(self.cases):
            addr = im.case_code(slot)
            body = encode_body(case.insns, addr, save_ok)
            if len(body) > im.CODE_STRIDE:
                raise ValueError(f"case {case.name or slot}: body of {len(body)} bytes "
                                 f"exceeds {im.CODE_STRIDE}")
            self.code[addr] = body.ljust(im.CODE_STRIDE, b"\xcc")
            base = im.case_data(slot)
            vals = [(case.regs.get(n, 0) + (base if n in case.pointers else 0))
                    & 0xFFFF_FFFF_FFFF_FFFF for n in im.GPRS]
            struct.pack_into("<16QQQ", rec, slot * im.RECORD, *vals, case.rflags, addr)
            self.pages[base] = bytes(case.data).ljust(im.PAGE, b"\0")[:im.PAGE]
        self.records = bytes(rec)
        self.fx = b"".join(case.fx_image() for case in self.cases)

    def write_to(self, write):
        """Everything a run needs besides the fixed image, as WRITE(address, bytes) calls."""
        for addr, data in self.code.items():
            write(addr, data)
        write(im.CASE_IN, self.records)
        write(im.CASE_OUT, bytes(im.RECORD * len(self.cases)))
        write(im.FX_IN, self.fx)
        write(im.FX_OUT, bytes(im.FX_SIZE * len(self.cases)))
        for addr, data in self.pages.items():
            write(addr, data)
        write(im.VARS, struct.pack("<QQ", 0, len(self.cases)))

    def results(self, read) -> list[Result]:
        """Results from READ(address, length) after a run."""
        n = len(self.cases)
        out = read(im.CASE_OUT, im.RECORD * n)
        fx = read(im.FX_OUT, im.FX_SIZE * n)
        return [Result.from_record(out[i * im.RECORD:(i + 1) * im.RECORD],
                                   read(im.case_data(i), im.PAGE),
                                   fx[i * im.FX_SIZE:(i + 1) * im.FX_SIZE])
                for i in range(n)]
