"""The x86-64 CPU state: one native buffer of u64 slots, and the bit names.

Everything architectural lives in :class:`X86State` (a ctypes structure), so
a native backend can address it directly; ``SLOT_*`` are u64 indexes (byte
offset = 8 * index). Arithmetic flags are kept lazily in ``cc_op``/``cc_dst``/
``cc_src``/``cc_src2`` (see :mod:`.cc`); ``eflags`` holds the other bits and
``df`` the direction as +1/-1.
"""

from __future__ import annotations

import ctypes

M64 = 0xFFFF_FFFF_FFFF_FFFF            # the 64-bit mask; every target/i386 module takes it from here

_LAYOUT = [
    ("regs", 16), ("rip", 1), ("eflags", 1), ("cc_dst", 1), ("cc_src", 1), ("cc_src2", 1),
    ("cc_op", 1), ("df", 1), ("budget", 1),
    ("segs", 24),          # es cs ss ds fs gs: selector, base, limit, flags
    ("ldt", 4), ("tr", 4),
    ("gdt_base", 1), ("gdt_limit", 1), ("idt_base", 1), ("idt_limit", 1),
    ("cr0", 1), ("cr2", 1), ("cr3", 1), ("cr4", 1), ("cr8", 1),
    ("efer", 1), ("star", 1), ("lstar", 1), ("cstar", 1), ("fmask", 1), ("kernel_gs_base", 1),
    ("tsc_aux", 1), ("sysenter_cs", 1), ("sysenter_esp", 1), ("sysenter_eip", 1), ("pat", 1),
    ("tsc_offset", 1), ("misc_enable", 1), ("xcr0", 1), ("hflags", 1), ("hflags2", 1),
    ("dr", 8), ("mxcsr", 1), ("fpstt", 1), ("fpus", 1), ("fpuc", 1), ("fptags", 1),
    ("fpop", 1), ("fpip", 1), ("fpdp", 1),
    ("xmm", 32),           # 16 registers, low and high quadword
    ("fpregs", 16),        # 8 x87 registers: mantissa, sign|exponent
    ("scratch", 8),
]

SLOT: dict[str, int] = {}
_n = 0
for _name, _count in _LAYOUT:
    SLOT[_name] = _n
    _n += _count
NSLOTS = _n


class X86State(ctypes.Structure):
    _fields_ = [("slots", ctypes.c_uint64 * NSLOTS)]


# u64 slot indexes
REGS = SLOT["regs"]
RIP = SLOT["rip"]
EFLAGS = SLOT["eflags"]
CC_DST = SLOT["cc_dst"]
CC_SRC = SLOT["cc_src"]
CC_SRC2 = SLOT["cc_src2"]
CC_OP = SLOT["cc_op"]
DF = SLOT["df"]
BUDGET = SLOT["budget"]
SEGS = SLOT["segs"]
LDT = SLOT["ldt"]
TR = SLOT["tr"]
GDT_BASE, GDT_LIMIT = SLOT["gdt_base"], SLOT["gdt_limit"]
IDT_BASE, IDT_LIMIT = SLOT["idt_base"], SLOT["idt_limit"]
CR0, CR2, CR3, CR4, CR8 = (SLOT[n] for n in ("cr0", "cr2", "cr3", "cr4", "cr8"))
EFER, STAR, LSTAR, CSTAR, FMASK = (SLOT[n] for n in ("efer", "star", "lstar", "cstar", "fmask"))
KERNEL_GS_BASE, TSC_AUX = SLOT["kernel_gs_base"], SLOT["tsc_aux"]
SYSENTER_CS, SYSENTER_ESP, SYSENTER_EIP = (SLOT[n] for n in ("sysenter_cs", "sysenter_esp",
                                                              "sysenter_eip"))
PAT, TSC_OFFSET, MISC_ENABLE, XCR0 = (SLOT[n] for n in ("pat", "tsc_offset", "misc_enable",
                                                        "xcr0"))
HFLAGS, HFLAGS2 = SLOT["hflags"], SLOT["hflags2"]
DR = SLOT["dr"]
MXCSR = SLOT["mxcsr"]
FPSTT, FPUS, FPUC, FPTAGS, FPOP, FPIP, FPDP = (SLOT[n] for n in (
    "fpstt", "fpus", "fpuc", "fptags", "fpop", "fpip", "fpdp"))
XMM = SLOT["xmm"]
FPREGS = SLOT["fpregs"]
SCRATCH = SLOT["scratch"]

# segment registers (x86 encoding order) and descriptor-cache fields
R_ES, R_CS, R_SS, R_DS, R_FS, R_GS = range(6)
SEG_NAMES = ("es", "cs", "ss", "ds", "fs", "gs")
SEG_SEL, SEG_BASE, SEG_LIMIT, SEG_FLAGS = range(4)


def seg_slot(seg: int, field: int) -> int:
    return SEGS + 4 * seg + field


GPR_NAMES = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")
R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI = range(8)

# EFLAGS
CC_C = 0x0001
CC_P = 0x0004
CC_A = 0x0010
CC_Z = 0x0040
CC_S = 0x0080
CC_O = 0x0800
CC_MASK = CC_C | CC_P | CC_A | CC_Z | CC_S | CC_O
TF_MASK = 0x100
IF_MASK = 0x200
DF_MASK = 0x400
IOPL_MASK = 0x3000
IOPL_SHIFT = 12
NT_MASK = 0x4000
RF_MASK = 0x10000
VM_MASK = 0x20000
AC_MASK = 0x40000
VIF_MASK = 0x80000
VIP_MASK = 0x100000
ID_MASK = 0x200000

# hflags (QEMU's bit positions, so that eflags bits can be or-ed in)
HF_CPL_MASK = 3
HF_INHIBIT_IRQ_MASK = 1 << 3
HF_CS32_MASK = 1 << 4
HF_SS32_MASK = 1 << 5
HF_ADDSEG_MASK = 1 << 6
HF_PE_MASK = 1 << 7
HF_TF_MASK = 1 << 8
HF_MP_MASK = 1 << 9
HF_EM_MASK = 1 << 10
HF_TS_MASK = 1 << 11
HF_IOPL_MASK = 3 << 12
HF_LMA_MASK = 1 << 14
HF_CS64_MASK = 1 << 15
HF_RF_MASK = 1 << 16
HF_VM_MASK = 1 << 17
HF_AC_MASK = 1 << 18
HF_SMM_MASK = 1 << 19
HF_AM_MASK = 1 << 20            # CR0.AM (with EFLAGS.AC and CPL 3: alignment checks)
HF_OSFXSR_MASK = 1 << 22
HF2_NMI_MASK = 1 << 2

# control registers
CR0_PE = 1 << 0
CR0_MP = 1 << 1
CR0_EM = 1 << 2
CR0_TS = 1 << 3
CR0_ET = 1 << 4
CR0_NE = 1 << 5
CR0_WP = 1 << 16
CR0_AM = 1 << 18
CR0_NW = 1 << 29
CR0_CD = 1 << 30
CR0_PG = 1 << 31
CR4_VME = 1 << 0
CR4_PVI = 1 << 1
CR4_TSD = 1 << 2
CR4_DE = 1 << 3
CR4_PSE = 1 << 4
CR4_PAE = 1 << 5
CR4_MCE = 1 << 6
CR4_PGE = 1 << 7
CR4_PCE = 1 << 8
CR4_OSFXSR = 1 << 9
CR4_OSXMMEXCPT = 1 << 10
CR4_FSGSBASE = 1 << 16

EFER_SCE = 1 << 0
EFER_LME = 1 << 8
EFER_LMA = 1 << 10
EFER_NXE = 1 << 11

# descriptor flags (high dword of a segment descriptor)
DESC_G_MASK = 1 << 23
DESC_B_MASK = 1 << 22
DESC_L_MASK = 1 << 21
DESC_AVL_MASK = 1 << 20
DESC_P_MASK = 1 << 15
DESC_DPL_SHIFT = 13
DESC_DPL_MASK = 3 << 13
DESC_S_MASK = 1 << 12
DESC_TYPE_SHIFT = 8
DESC_TYPE_MASK = 15 << 8
DESC_A_MASK = 1 << 8
DESC_CS_MASK = 1 << 11
DESC_C_MASK = 1 << 10
DESC_R_MASK = 1 << 9
DESC_E_MASK = 1 << 10
DESC_W_MASK = 1 << 9

# exception vectors
EXCP00_DIVZ = 0
EXCP01_DB = 1
EXCP02_NMI = 2
EXCP03_INT3 = 3
EXCP04_INTO = 4
EXCP05_BOUND = 5
EXCP06_ILLOP = 6
EXCP07_PREX = 7
EXCP08_DBLE = 8
EXCP0A_TSS = 10
EXCP0B_NOSEG = 11
EXCP0C_STACK = 12
EXCP0D_GPF = 13
EXCP0E_PAGE = 14
EXCP10_COPR = 16
EXCP11_ALGN = 17
EXCP12_MCHK = 18
EXCP13_XMM = 19

MMU_KERNEL_IDX = 0
MMU_USER_IDX = 1
NB_MMU_MODES = 2

# MSR numbers
MSR_IA32_TSC = 0x10
MSR_IA32_APICBASE = 0x1B
MSR_IA32_MISC_ENABLE = 0x1A0
MSR_PAT = 0x277
MSR_IA32_SYSENTER_CS = 0x174
MSR_IA32_SYSENTER_ESP = 0x175
MSR_IA32_SYSENTER_EIP = 0x176
MSR_MTRRcap = 0xFE
MSR_EFER = 0xC0000080
MSR_STAR = 0xC0000081
MSR_LSTAR = 0xC0000082
MSR_CSTAR = 0xC0000083
MSR_FMASK = 0xC0000084
MSR_FSBASE = 0xC0000100
MSR_GSBASE = 0xC0000101
MSR_KERNELGSBASE = 0xC0000102
MSR_TSC_AUX = 0xC0000103
