"""A tiny assembler on iced-x86: instructions built with ``Instruction.create_*``, labels.

The Python binding of iced has no CodeAssembler, so labels are fake
instruction addresses: every instruction gets a unique ``ip`` from a private
range, a label names the ``ip`` of the instruction that follows it, and
``BlockEncoder`` (with branch fixing) resolves the branches to labels when
the block is placed at its real address.

``A`` has one short method per shape the harness needs (``mov_rm``,
``mov_mr``, ``jmp``, ``jcc``...); anything else is ``emit(Instruction)``.
"""

from __future__ import annotations

from iced_x86 import BlockEncoder, Code, Instruction, MemoryOperand, Register

_FAKE_BASE = 0x7F00_0000_0000


def mem(base=Register.NONE, disp: int = 0, index=Register.NONE, scale: int = 1,
        displ_size: int | None = None) -> MemoryOperand:
    """[base + index*scale + disp]; with no base and no index an absolute disp32."""
    if displ_size is None:
        # iced: 8 = disp32 with 64-bit addressing (4 would mean a 0x67 prefix)
        if base == Register.NONE and index == Register.NONE:
            displ_size = 8
        else:
            displ_size = 8 if disp < -128 or disp > 127 else (1 if disp else 0)
    return MemoryOperand(base, index, scale, disp, displ_size)


class A:
    """An instruction list with labels, encoded at one address by ``assemble``."""

    def __init__(self):
        self.insns: list[Instruction] = []
        self.labels: dict[str, int] = {}
        self._pending: list[str] = []
        self._fixups: list[tuple[Instruction, str]] = []
        self._next_ip = _FAKE_BASE

    # -- building -----------------------------------------------------------------------------------
    def emit(self, insn: Instruction) -> Instruction:
        insn.ip = self._next_ip
        self._next_ip += 16
        for name in self._pending:
            self.labels[name] = insn.ip
        self._pending = []
        self.insns.append(insn)
        return insn

    def label(self, name: str):
        if name in self.labels or name in self._pending:
            raise ValueError(f"label {name!r} defined twice")
        self._pending.append(name)

    def raw(self, data: bytes):
        for i in range(0, len(data), 16):
            chunk = data[i:i + 16]
            self.emit(getattr(Instruction, "create_declare_byte_%d" % len(chunk))(*chunk))

    def branch(self, code: int, target: str):
        insn = Instruction.create_branch(code, 0)
        self.emit(insn)
        self._fixups.append((insn, target))

    def jmp(self, target: str):
        self.branch(Code.JMP_REL32_64, target)

    def jcc(self, code: int, target: str):
        self.branch(code, target)

    def call(self, target: str):
        self.branch(Code.CALL_REL32_64, target)

    # common shapes
    def mov_rm(self, reg, m: MemoryOperand):
        self.emit(Instruction.create_reg_mem(Code.MOV_R64_RM64, reg, m))

    def mov_mr(self, m: MemoryOperand, reg):
        self.emit(Instruction.create_mem_reg(Code.MOV_RM64_R64, m, reg))

    def mov_mi(self, m: MemoryOperand, imm: int):
        self.emit(Instruction.create_mem_i32(Code.MOV_RM64_IMM32, m, imm))

    def mov_ri(self, reg, imm: int):
        if 0 <= imm <= 0xFFFF_FFFF:
            r32 = Register.EAX + (reg - Register.RAX)
            self.emit(Instruction.create_reg_u32(Code.MOV_R32_IMM32, r32, imm))
        else:
            self.emit(Instruction.create_reg_u64(Code.MOV_R64_IMM64, reg, imm))

    def op(self, code: int, *args):
        """Instruction.create(code)/create_reg/...: picked from the argument types."""
        kinds = "".join("m" if isinstance(a, MemoryOperand) else
                        ("i" if isinstance(a, int) and not _is_reg(a, code, i) else "r")
                        for i, a in enumerate(args))
        name = {"": "create", "r": "create_reg", "rr": "create_reg_reg",
                "rm": "create_reg_mem", "mr": "create_mem_reg", "ri": "create_reg_i32",
                "mi": "create_mem_i32", "m": "create_mem", "i": "create_i32"}[kinds]
        self.emit(getattr(Instruction, name)(code, *args))

    # -- encoding -----------------------------------------------------------------------------------
    def assemble(self, address: int) -> bytes:
        if self._pending:
            raise ValueError(f"label(s) {self._pending} at the end of the block")
        for insn, target in self._fixups:
            if target not in self.labels:
                raise ValueError(f"undefined label {target!r}")
            insn.near_branch64 = self.labels[target]
        enc = BlockEncoder(64, True)
        enc.add_many(self.insns)
        return enc.encode(address)

    def addresses(self, address: int) -> dict[str, int]:
        """Label -> real address once the block is placed at ADDRESS."""
        code = self.assemble(address)
        by_fake, pos = {}, address
        for insn, n in zip(self.insns, _lengths(self.insns, code)):
            by_fake[insn.ip] = pos
            pos += n
        return {name: by_fake[fake] for name, fake in self.labels.items()}


def _is_reg(value: int, code: int, index: int) -> bool:
    from iced_x86 import OpCodeInfo, OpCodeOperandKind as K
    kind = OpCodeInfo(code).op_kind(index)
    return kind not in (K.IMM8, K.IMM16, K.IMM32, K.IMM64, K.IMM8SEX16, K.IMM8SEX32,
                        K.IMM8SEX64, K.IMM32SEX64, K.IMM8_CONST_1, K.IMM4_M2Z)


def _lengths(insns: list[Instruction], code: bytes) -> list[int]:
    """Encoded length of each instruction: BlockEncoder keeps the order, so decode the
    output in lock step (a declare-byte pseudo instruction takes its own byte count)."""
    from iced_x86 import Decoder
    out, pos = [], 0
    for insn in insns:
        if insn.code == Code.DECLAREBYTE:
            n = insn.declare_data_len
        else:
            n = Decoder(64, code[pos:pos + 15]).decode().len
        out.append(n)
        pos += n
    return out
