"""CPUID: advertise exactly what this CPU implements.

Every feature bit set here names instructions or architectural behaviour the
translator and helpers implement; ``tests/unit/target/i386/test_cpuid.py``
checks that each advertised instruction feature has handlers for its
instruction forms. Vendor string "GenuineIntel"-compatible leaves are kept
minimal: family 6, model 6 ("QEMU Virtual CPU" as brand string).
"""

from __future__ import annotations

from .state import (CR4_DE, CR4_FSGSBASE, CR4_MCE, CR4_OSFXSR, CR4_OSXMMEXCPT, CR4_PAE,
                    CR4_PCE, CR4_PGE, CR4_PSE, CR4_TSD, EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE)

# leaf 1 EDX
FEAT_FPU = 1 << 0
FEAT_DE = 1 << 2
FEAT_PSE = 1 << 3
FEAT_TSC = 1 << 4
FEAT_MSR = 1 << 5
FEAT_PAE = 1 << 6
FEAT_CX8 = 1 << 8
FEAT_APIC = 1 << 9
FEAT_SEP = 1 << 11
FEAT_PGE = 1 << 13
FEAT_CMOV = 1 << 15
FEAT_PAT = 1 << 16
FEAT_CLFLUSH = 1 << 19
FEAT_MMX = 1 << 23
FEAT_FXSR = 1 << 24
FEAT_SSE = 1 << 25
FEAT_SSE2 = 1 << 26
# leaf 1 ECX
FEAT_SSE3 = 1 << 0
FEAT_PCLMULQDQ = 1 << 1
FEAT_SSSE3 = 1 << 9
FEAT_CX16 = 1 << 13
FEAT_SSE41 = 1 << 19
FEAT_SSE42 = 1 << 20
FEAT_MOVBE = 1 << 22
FEAT_POPCNT = 1 << 23
FEAT_HYPERVISOR = 1 << 31
# leaf 7 EBX
FEAT7_FSGSBASE = 1 << 0
FEAT7_BMI1 = 1 << 3
FEAT7_BMI2 = 1 << 8
FEAT7_ERMS = 1 << 9
FEAT7_ADX = 1 << 19
# 0x80000001 EDX / ECX
EXT_SYSCALL = 1 << 11
EXT_NX = 1 << 20
EXT_RDTSCP = 1 << 27
EXT_LM = 1 << 29
EXT3_LAHF_LM = 1 << 0
EXT3_ABM = 1 << 5

# SSE/SSE2 floating point is exact (softfloat.py, MXCSR applied): always advertised
LEAF1_EDX = (FEAT_DE | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_PAE | FEAT_CX8 |
             FEAT_APIC | FEAT_PGE | FEAT_CMOV | FEAT_PAT | FEAT_CLFLUSH | FEAT_MMX | FEAT_FXSR |
             FEAT_SSE | FEAT_SSE2)
# x87 floating point is approximate (binary64): advertised, and decoded, only by a
# CPU created with fp=True (-cpu max)
FP_EDX = FEAT_FPU
# SSE3, SSSE3, SSE4.1 and SSE4.2: every XMM form implemented (insn_sse3/ssse3/sse41/
# sse42.py)
LEAF1_ECX = (FEAT_SSE3 | FEAT_SSSE3 | FEAT_CX16 | FEAT_SSE41 | FEAT_SSE42 | FEAT_MOVBE |
             FEAT_POPCNT | FEAT_HYPERVISOR)
LEAF7_EBX = FEAT7_FSGSBASE | FEAT7_BMI1 | FEAT7_BMI2 | FEAT7_ERMS | FEAT7_ADX
EXT_EDX = EXT_SYSCALL | EXT_NX | EXT_RDTSCP | EXT_LM | (LEAF1_EDX & 0x0183F3FF)
EXT_ECX = EXT3_LAHF_LM | EXT3_ABM

CR4_SUPPORTED = (CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | CR4_PCE | CR4_OSFXSR |
                 CR4_OSXMMEXCPT | CR4_TSD | CR4_FSGSBASE)
EFER_SUPPORTED = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE

VENDOR = "GenuineIntel"             # the default; X86CPU.vendor may name another
VENDOR_INTEL, VENDOR_AMD = "GenuineIntel", "AuthenticAMD"
BRAND = b"QEMU Virtual CPU version 2.5+".ljust(48, b"\0")


def _regs(s: bytes):
    return [int.from_bytes(s[i:i + 4], "little") for i in range(0, len(s), 4)]


def cpuid(cpu, leaf: int, subleaf: int) -> tuple[int, int, int, int]:
    """(eax, ebx, ecx, edx) for LEAF/SUBLEAF."""
    v = _regs(getattr(cpu, "vendor", VENDOR).encode())
    apic_id = cpu.cpu_index if cpu is not None else 0
    if leaf == 0:
        return 0xD, v[0], v[2], v[1]
    fp = FP_EDX if getattr(cpu, "fp_enabled", False) else 0
    if leaf == 1:
        eax = (6 << 8) | (6 << 4) | 3           # family 6, model 6, stepping 3
        ebx = (apic_id << 24) | (1 << 16) | (8 << 8)   # CLFLUSH line 64 bytes
        return eax, ebx, LEAF1_ECX, LEAF1_EDX | fp
    if leaf == 7:
        return (0, LEAF7_EBX, 0, 0) if subleaf == 0 else (0, 0, 0, 0)
    if leaf == 0xD:
        return 0, 0, 0, 0
    if leaf == 0x80000000:
        return 0x80000008, v[0], v[2], v[1]
    if leaf == 0x80000001:
        return 0x663, 0, EXT_ECX, EXT_EDX | (fp & FEAT_FPU)
    if 0x80000002 <= leaf <= 0x80000004:
        r = _regs(BRAND[(leaf - 0x80000002) * 16:(leaf - 0x80000001) * 16])
        return r[0], r[1], r[2], r[3]
    if leaf == 0x80000008:
        return 0x3028, 0, 0, 0                   # 40 physical, 48 virtual address bits
    if leaf > 0xD and leaf < 0x80000000:
        return cpuid(cpu, 0xD, subleaf)          # Intel: out of range -> highest basic leaf
    return 0, 0, 0, 0


