"""The differential guest image: long mode, an IDT that reports faults, a CPL3 batch runner.

One image serves every engine (KVM, TCG, the host CPU): the same bytes at
the same addresses. Physical = virtual (identity map, 4 KiB pages, U/S set
except where noted)::

    0x000000-0x00FFFF unmapped (as in a Linux process)
    0x010000 runner code (CPL3)     0x011000 runner variables + scratch record
    0x012000 runner stack (top 0x014000)
    0x016000 signal stack (host-CPU oracle only)
    0x020000 case table in   (256 bytes per case)
    0x030000 case table out  (256 bytes per case)
    0x042000 read-only page (stores fault with #PF error code 7; 0x41000 and 0x43000 unmapped)
    0x100000 case code (CODE_STRIDE bytes per case)
    0x050000 PML4   0x051000 PDPT   0x052000 PD   0x053000.. PTs (0-4 MiB)
    0x058000 GDT    0x058100 TSS (RSP0 = KSTACK_TOP)
    0x059000 IDT (32 interrupt gates, DPL 0 except INT3/INTO)
    0x05A000 fault stubs and the CPL0 fault handler
    0x05C000 kernel stack (top 0x05E000)          (0x050000-0x05FFFF: supervisor only)
    0x060000 x87/SSE state in  (FXSAVE64 image, 512 bytes per case)
    0x080000 x87/SSE state out (FXSAVE64 image, 512 bytes per case)
    0x200000 case data: one RW page per case, followed by an unmapped guard page

No memory operand a generated body can form reaches the supervisor area or
the runner's pages, so a body cannot break the harness.

The runner (CPL3, IOPL 3) loops over the cases: loads the case's x87/SSE
state (``fxrstor64``: FCW, MXCSR, XMM0-15), RFLAGS (``popfq``) and the 16 GPRs
from the case record and jumps to the body, so every case starts from its own
state whatever the previous one did. A body ends with
``jmp save_ok``, which stores GPRs and RFLAGS into the scratch record. A
fault enters the CPL0 handler through the IDT; it records vector, error
code, RIP, RFLAGS, RSP and CR2 and returns with ``iretq`` to ``save_fault``
at CPL3 with the faulting GPRs intact, which stores them. Either way the
scratch record is copied to the case's out record, the x87/SSE state is
stored with ``fxsave64`` into the case's state-out image, and the next case
runs.
After the last case the runner jumps through ``VAR_DONE``: ``out 0x10, al``
for a VM, a ``ret`` to the caller for the host CPU oracle (which saves the
caller's x87/SSE state on entry and restores it before returning).

The host-CPU oracle has no IDT: its SIGSEGV/SIGILL/SIGFPE/SIGBUS/SIGTRAP
handler (machine code, :func:`signal_handler_code`) copies ``trapno``,
``err``, ``cr2`` and the registers from the ``ucontext`` into the scratch
record and resumes at ``common_save``.
"""

from __future__ import annotations

import struct

from iced_x86 import Code, Instruction, Register as R

from .asm import A, mem

PAGE = 0x1000
PML4, PDPT, PD, PT0 = 0x50000, 0x51000, 0x52000, 0x53000
N_PT = 2                                   # page tables: 0 .. 4 MiB in 4 KiB pages
GDT, TSS, IDT, STUBS = 0x58000, 0x58100, 0x59000, 0x5A000
RUNNER, VARS = 0x10000, 0x11000
RUNNER_STACK_TOP = 0x14000
KSTACK_TOP = 0x5E000
SIGSTACK, SIGSTACK_SIZE = 0x16000, 0x8000
CASE_IN, CASE_OUT = 0x20000, 0x30000
RO_PAGE = 0x42000
CODE_BASE, CODE_STRIDE = 0x100000, 0x400
DATA_BASE, DATA_STRIDE = 0x200000, 0x2000
FX_IN, FX_OUT, FX_SIZE = 0x60000, 0x80000, 512
MAX_CASES = 256
RECORD = 256
IMAGE_SIZE = 0x400000
GUEST_RAM = 0x800000

# selectors
KCODE, KDATA, UDATA, UCODE, TSS_SEL = 0x08, 0x10, 0x2B, 0x33, 0x18

# runner variables (absolute addresses)
VAR_INDEX = VARS + 0x00
VAR_COUNT = VARS + 0x08
VAR_OUT = VARS + 0x10
VAR_TARGET = VARS + 0x18
VAR_DONE = VARS + 0x20
VAR_HOSTRSP = VARS + 0x28
VAR_FXOUT = VARS + 0x30
FX_HOST = VARS + 0x800                # the host CPU oracle's caller's x87/SSE state
SCR = VARS + 0x100                   # scratch record, RECORD_QWORDS qwords

# record layout (qword index): GPRs in encoding order, then the rest
GPRS = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
IN_RFLAGS, IN_TARGET = 16, 17
OUT_RFLAGS, OUT_KIND, OUT_ERR, OUT_FRIP, OUT_CR2, OUT_DONE = 16, 17, 18, 19, 20, 21
RECORD_QWORDS = 22
KIND_OK = 0xFFFF_FFFF_FFFF_FFFF
DONE_MAGIC = 0xD0E5_D0E5_D0E5_D0E5

DOORBELL_PORT = 0x10                 # end of batch
KFAULT_PORT = 0x12                   # a fault at CPL0 (the harness itself is broken)

ERROR_CODE_VECTORS = frozenset({8, 10, 11, 12, 13, 14, 17, 21, 29, 30})

_REG64 = {n: getattr(R, n.upper()) for n in GPRS}


def scr(i: int) -> int:
    return SCR + 8 * i


def case_code(i: int) -> int:
    return CODE_BASE + i * CODE_STRIDE


def case_data(i: int) -> int:
    return DATA_BASE + i * DATA_STRIDE


def case_in(i: int) -> int:
    return CASE_IN + i * RECORD


def case_out(i: int) -> int:
    return CASE_OUT + i * RECORD


def fx_in(i: int) -> int:
    return FX_IN + i * FX_SIZE


def fx_out(i: int) -> int:
    return FX_OUT + i * FX_SIZE


# ------------------------------------------------------------------------------ system structures


def _desc(base: int, limit: int, access: int, flags: int) -> int:
    return ((limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (access << 40) |
            (((limit >> 16) & 0xF) << 48) | (flags << 52) | (((base >> 24) & 0xFF) << 56))


def page_tables() -> dict[int, bytes]:
    """PML4/PDPT/PD and 4 KiB PTs for 0..4 MiB. Unmapped: page 0, the guard pages,
    everything between the listed areas; read-only: RO_PAGE."""
    out = {PML4: struct.pack("<Q", PDPT | 7).ljust(PAGE, b"\0"),
           PDPT: struct.pack("<Q", PD | 7).ljust(PAGE, b"\0")}
    pd = b"".join(struct.pack("<Q", (PT0 + PAGE * i) | 7) for i in range(N_PT))
    out[PD] = pd.ljust(PAGE, b"\0")
    pages = {}
    for a in range(RUNNER, SIGSTACK + SIGSTACK_SIZE, PAGE):
        pages[a] = 7
    for a in range(PML4, KSTACK_TOP, PAGE):
        pages[a] = 3                                   # supervisor only
    for a in range(CASE_IN, CASE_OUT + MAX_CASES * RECORD, PAGE):
        pages[a] = 7
    for a in range(FX_IN, FX_OUT + MAX_CASES * FX_SIZE, PAGE):
        pages[a] = 7
    pages[RO_PAGE] = 5                                 # present, user, read-only
    for a in range(CODE_BASE, CODE_BASE + MAX_CASES * CODE_STRIDE, PAGE):
        pages[a] = 7
    for i in range(MAX_CASES):
        pages[case_data(i)] = 7                        # the next page stays unmapped
    pts = bytearray(N_PT * PAGE)
    for a, bits in pages.items():
        struct.pack_into("<Q", pts, 8 * (a >> 12), a | bits)
    for i in range(N_PT):
        out[PT0 + PAGE * i] = bytes(pts[i * PAGE:(i + 1) * PAGE])
    return out


def gdt() -> bytes:
    entries = [0,
               _desc(0, 0xFFFFF, 0x9B, 0xA),          # 0x08 kernel code, L=1 D=0
               _desc(0, 0xFFFFF, 0x93, 0xC),          # 0x10 kernel data
               _desc(TSS, 0x67, 0x8B, 0x0), 0,        # 0x18 busy 64-bit TSS (16 bytes)
               _desc(0, 0xFFFFF, 0xF3, 0xC),          # 0x28 user data, DPL 3
               _desc(0, 0xFFFFF, 0xFB, 0xA)]          # 0x30 user code, L=1 D=0, DPL 3
    return b"".join(struct.pack("<Q", e) for e in entries)


GDT_LIMIT = 7 * 8 - 1


def tss() -> bytes:
    t = bytearray(0x68)
    struct.pack_into("<Q", t, 4, KSTACK_TOP)                # RSP0
    struct.pack_into("<H", t, 0x66, 0x68)                   # no I/O bitmap
    return bytes(t)


def idt(stub_addrs: list[int]) -> bytes:
    out = bytearray()
    for v, addr in enumerate(stub_addrs):
        dpl = 3 if v in (3, 4) else 0          # INT3/INTO allowed from CPL3, as on Linux
        lo = (addr & 0xFFFF) | (KCODE << 16) | ((0x8E | dpl << 5) << 40) | \
            (((addr >> 16) & 0xFFFF) << 48)
        out += struct.pack("<QQ", lo, addr >> 32)
    return bytes(out)


IDT_LIMIT = 32 * 16 - 1

# ------------------------------------------------------------------------------------ runner code


def _m(addr: int):
    return mem(disp=addr)


def runner_code() -> tuple[bytes, dict[str, int]]:
    """The CPL3 batch runner; returns (code at RUNNER, label addresses)."""
    a = A()
    # host-CPU oracle entry: called as a C function, keeps the callee-saved registers
    a.label("native_entry")
    for r in (R.RBX, R.RBP, R.R12, R.R13, R.R14, R.R15):
        a.op(Code.PUSH_R64, r)
    a.mov_mr(_m(VAR_HOSTRSP), R.RSP)
    a.emit(Instruction.create_mem(Code.FXSAVE64_M512BYTE, _m(FX_HOST)))
    a.label("next_case")
    a.mov_ri(R.RSP, RUNNER_STACK_TOP)
    a.mov_rm(R.RAX, _m(VAR_INDEX))
    a.emit(Instruction.create_reg_mem(Code.CMP_R64_RM64, R.RAX, _m(VAR_COUNT)))
    a.jcc(Code.JAE_REL32_64, "done")
    a.emit(Instruction.create_reg_i32(Code.SHL_RM64_IMM8, R.RAX, 8))
    a.emit(Instruction.create_reg_mem(Code.LEA_R64_M, R.RSI, mem(R.RAX, CASE_IN)))
    a.emit(Instruction.create_reg_mem(Code.LEA_R64_M, R.RDI, mem(R.RAX, CASE_OUT)))
    a.mov_mr(_m(VAR_OUT), R.RDI)
    # FX images are 512 bytes a case: index * 512 = (index << 8) * 2
    a.emit(Instruction.create_mem(Code.FXRSTOR64_M512BYTE, mem(index=R.RAX, scale=2,
                                                                disp=FX_IN)))
    a.emit(Instruction.create_reg_mem(Code.LEA_R64_M, R.RDX, mem(index=R.RAX, scale=2,
                                                                  disp=FX_OUT)))
    a.mov_mr(_m(VAR_FXOUT), R.RDX)
    a.mov_rm(R.RAX, mem(R.RSI, 8 * IN_TARGET))
    a.mov_mr(_m(VAR_TARGET), R.RAX)
    a.emit(Instruction.create_mem(Code.PUSH_RM64, mem(R.RSI, 8 * IN_RFLAGS)))
    a.emit(Instruction.create(Code.POPFQ))
    for i, name in enumerate(GPRS):
        if name not in ("rsp", "rsi"):
            a.mov_rm(_REG64[name], mem(R.RSI, 8 * i))
    a.mov_rm(R.RSP, mem(R.RSI, 8 * GPRS.index("rsp")))
    a.mov_rm(R.RSI, mem(R.RSI, 8 * GPRS.index("rsi")))
    a.emit(Instruction.create_mem(Code.JMP_RM64, _m(VAR_TARGET)))

    # a body ends here
    a.label("save_ok")
    a.mov_mr(_m(scr(GPRS.index("rsp"))), R.RSP)
    a.mov_ri(R.RSP, RUNNER_STACK_TOP)
    a.emit(Instruction.create(Code.PUSHFQ))
    a.emit(Instruction.create_mem(Code.POP_RM64, _m(scr(OUT_RFLAGS))))
    for i, name in enumerate(GPRS):
        if name != "rsp":
            a.mov_mr(_m(scr(i)), _REG64[name])
    a.mov_mi(_m(scr(OUT_KIND)), -1)
    a.mov_mi(_m(scr(OUT_ERR)), 0)
    a.mov_mi(_m(scr(OUT_FRIP)), 0)
    a.mov_mi(_m(scr(OUT_CR2)), 0)
    a.jmp("common_save")

    # the CPL0 handler returns here with the faulting GPRs, RSP and RFLAGS
    a.label("save_fault")
    for i, name in enumerate(GPRS):
        if name != "rsp":
            a.mov_mr(_m(scr(i)), _REG64[name])
    a.label("common_save")
    a.mov_ri(R.RSP, RUNNER_STACK_TOP)
    a.emit(Instruction.create_i32(Code.PUSHQ_IMM32, 0x202))
    a.emit(Instruction.create(Code.POPFQ))             # DF, AC and the rest cleared
    a.mov_rm(R.RAX, _m(VAR_FXOUT))
    a.emit(Instruction.create_mem(Code.FXSAVE64_M512BYTE, mem(R.RAX, 0)))
    a.mov_ri(R.RAX, DONE_MAGIC)
    a.mov_mr(_m(scr(OUT_DONE)), R.RAX)
    a.mov_rm(R.RDI, _m(VAR_OUT))
    a.mov_ri(R.RSI, SCR)
    a.mov_ri(R.RCX, RECORD_QWORDS)
    a.emit(Instruction.create_rep_movsq(64))
    a.emit(Instruction.create_mem(Code.INC_RM64, _m(VAR_INDEX)))
    a.jmp("next_case")

    a.label("done")
    a.emit(Instruction.create_mem(Code.JMP_RM64, _m(VAR_DONE)))

    a.label("vm_done")                  # #GP at CPL3; the CPL0 handler rings the doorbell
    a.emit(Instruction.create(Code.HLT))
    a.jmp("vm_done")

    a.label("native_done")
    a.mov_rm(R.RSP, _m(VAR_HOSTRSP))
    a.emit(Instruction.create_mem(Code.FXRSTOR64_M512BYTE, _m(FX_HOST)))
    for r in (R.R15, R.R14, R.R13, R.R12, R.RBP, R.RBX):
        a.op(Code.POP_R64, r)
    a.emit(Instruction.create(Code.RETNQ))
    return a.assemble(RUNNER), a.addresses(RUNNER)


def fault_code(save_fault: int, vm_done: int) -> tuple[bytes, list[int]]:
    """32 IDT stubs and the CPL0 handler; returns (code at STUBS, stub addresses).

    A fault at ``vm_done`` (the runner's ``hlt``) ends the batch: ``out 0x10, al``
    at CPL0, where it is legal whatever IOPL the vCPU ended up with (a PVM host
    loses the guest's IOPL across exits)."""
    a = A()
    for v in range(32):
        a.label(f"stub{v}")
        if v not in ERROR_CODE_VECTORS:
            a.emit(Instruction.create_i32(Code.PUSHQ_IMM8, 0))
        a.emit(Instruction.create_i32(Code.PUSHQ_IMM8, v))
        a.jmp("common")
    a.label("common")
    # stack: [rax] [vector] [error] [rip] [cs] [rflags] [rsp] [ss]
    a.op(Code.PUSH_R64, R.RAX)
    a.mov_rm(R.RAX, mem(R.RSP, 24))
    a.emit(Instruction.create_reg_i32(Code.CMP_RM64_IMM32, R.RAX, vm_done))
    a.jcc(Code.JE_REL32_64, "doorbell")
    for slot, off in ((OUT_KIND, 8), (OUT_ERR, 16), (OUT_FRIP, 24), (OUT_RFLAGS, 40),
                      (GPRS.index("rsp"), 48)):
        a.mov_rm(R.RAX, mem(R.RSP, off))
        a.mov_mr(_m(scr(slot)), R.RAX)
    a.emit(Instruction.create_reg_reg(Code.MOV_R64_CR, R.RAX, R.CR2))
    a.mov_mr(_m(scr(OUT_CR2)), R.RAX)
    a.mov_rm(R.RAX, mem(R.RSP, 32))
    a.emit(Instruction.create_reg_i32(Code.TEST_AL_IMM8, R.AL, 3))
    a.jcc(Code.JE_REL32_64, "kernel_fault")
    a.emit(Instruction.create_mem_i32(Code.MOV_RM64_IMM32, mem(R.RSP, 24), save_fault))
    a.op(Code.POP_R64, R.RAX)
    a.emit(Instruction.create_reg_i32(Code.ADD_RM64_IMM8, R.RSP, 16))
    a.emit(Instruction.create(Code.IRETQ))
    a.label("doorbell")
    a.emit(Instruction.create_u32_reg(Code.OUT_IMM8_AL, DOORBELL_PORT, R.AL))
    a.emit(Instruction.create(Code.HLT))
    a.jmp("doorbell")
    a.label("kernel_fault")
    a.emit(Instruction.create_u32_reg(Code.OUT_IMM8_AL, KFAULT_PORT, R.AL))
    a.emit(Instruction.create(Code.HLT))
    a.jmp("kernel_fault")
    code = a.assemble(STUBS)
    addrs = a.addresses(STUBS)
    return code, [addrs[f"stub{v}"] for v in range(32)]


# ucontext_t on x86-64 Linux: uc_mcontext.gregs at offset 40, in this order
UC_GREGS = 40
_GREG_ORDER = ("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp",
               "rbx", "rdx", "rax", "rcx", "rsp", "rip", "efl", "csgsfs", "err", "trapno",
               "oldmask", "cr2")
_GREG = {n: UC_GREGS + 8 * i for i, n in enumerate(_GREG_ORDER)}


def signal_handler_code(common_save: int) -> bytes:
    """SA_SIGINFO handler (rdi=signo, rsi=siginfo, rdx=ucontext) for the host-CPU oracle."""
    a = A()
    for name in GPRS:
        a.mov_rm(R.RAX, mem(R.RDX, _GREG[name]))
        a.mov_mr(_m(scr(GPRS.index(name))), R.RAX)
    for slot, name in ((OUT_RFLAGS, "efl"), (OUT_KIND, "trapno"), (OUT_ERR, "err"),
                       (OUT_FRIP, "rip"), (OUT_CR2, "cr2")):
        a.mov_rm(R.RAX, mem(R.RDX, _GREG[name]))
        a.mov_mr(_m(scr(slot)), R.RAX)
    a.mov_ri(R.RAX, common_save)
    a.mov_mr(mem(R.RDX, _GREG["rip"]), R.RAX)
    a.mov_ri(R.RAX, RUNNER_STACK_TOP)
    a.mov_mr(mem(R.RDX, _GREG["rsp"]), R.RAX)
    a.emit(Instruction.create_mem_i32(Code.AND_RM64_IMM32, mem(R.RDX, _GREG["efl"]),
                                      ~0x40500))        # clear AC, DF, TF
    a.emit(Instruction.create(Code.RETNQ))
    return a.assemble(0)     # position independent: no branches, absolute data addresses


class Image:
    """The fixed parts of the image as {address: bytes}, plus the runner's labels."""

    def __init__(self):
        self.runner, self.labels = runner_code()
        self.faults, self.stubs = fault_code(self.labels["save_fault"],
                                              self.labels["vm_done"])
        self.blobs: dict[int, bytes] = dict(page_tables())
        self.blobs[GDT] = gdt()
        self.blobs[TSS] = tss()
        self.blobs[IDT] = idt(self.stubs)
        self.blobs[STUBS] = self.faults
        self.blobs[RUNNER] = self.runner
        self.blobs[RO_PAGE] = bytes(range(256)) * 16
        self.sighandler = signal_handler_code(self.labels["common_save"])

    def write_to(self, write):
        """Call WRITE(address, bytes) for every fixed part."""
        for addr, data in sorted(self.blobs.items()):
            write(addr, data)
