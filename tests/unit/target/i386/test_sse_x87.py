"""SSE/SSE2 and x87 subset, and CPUID advertising only what is implemented."""

import struct

import pytest

from checks import flags, run_case
from harness import DATA, X86Bed
from simd import xmm, set_xmm

from qemu_py.target.i386.state import CR0, CR4, HFLAGS, XMM

M64 = 2**64 - 1


@pytest.fixture
def bed(backend):
    """A CPU with the approximate x87/SSE floating point enabled (-cpu max)."""
    return X86Bed(backend, fp=True)


def d(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def test_moves_and_integer_simd(bed):
    bed.write(DATA, bytes(range(16)))
    run_case(bed, "movdqa xmm0, [rdi]; movdqa xmm1, xmm0; paddb xmm1, xmm0; "
             "pcmpeqb xmm2, xmm2; pxor xmm2, xmm1; movq rax, xmm1; pmovmskb ecx, xmm2; "
             "movdqu [rdi+17], xmm1", {"rdi": DATA},
             {"rax": 0x0E0C0A0806040200, "rcx": 0xFFFF})
    assert xmm(bed, 1) == int.from_bytes(bytes(2 * i for i in range(16)), "little")
    assert bed.read(DATA + 17, 16) == bytes(2 * i for i in range(16))


def test_shuffles_unpack_shifts(bed):
    set_xmm(bed, 0, 0x44444444_33333333_22222222_11111111)
    set_xmm(bed, 1, 0x0000000000000000_00000000000000FF)
    run_case(bed, "pshufd xmm2, xmm0, 0x1B; punpcklbw xmm1, xmm1; psllq xmm0, 4; "
             "psrldq xmm2, 4", {}, {})
    assert xmm(bed, 2) == 0x00000000_11111111_22222222_33333333
    assert xmm(bed, 1) == 0xFFFF
    assert xmm(bed, 0) == 0x44444443_33333330_22222221_11111110


def test_scalar_double_arithmetic_and_compare(bed):
    set_xmm(bed, 0, d(1.5))
    set_xmm(bed, 1, d(2.25))
    run_case(bed, "addsd xmm0, xmm1; mulsd xmm0, xmm1; sqrtsd xmm2, xmm1; "
             "cvttsd2si rax, xmm0; comisd xmm0, xmm1", {}, {"rax": 8, "rflags": 2})
    assert xmm(bed, 0) & M64 == d((1.5 + 2.25) * 2.25)
    assert xmm(bed, 2) & M64 == d(1.5)


def test_int_float_conversions(bed):
    run_case(bed, "mov rax, -7; cvtsi2sd xmm3, rax; cvtsd2ss xmm4, xmm3; cvtss2sd xmm5, xmm4; "
             "cvtsd2si ecx, xmm5; ucomisd xmm3, xmm5", {}, {"rax": M64 - 6,
                                                            "rcx": 0xFFFFFFF9,
                                                            "rflags": flags("Z")})


def test_unaligned_movaps_faults(bed):
    bed.run("movaps xmm0, [rdi]", rdi=DATA + 8)
    assert bed.exception_vector() == 13


def test_sse_disabled_by_cr4_is_ud_and_cr0_ts_is_nm(bed):
    bed.env[CR4] &= ~0x200
    bed.cpu.update_hflags()
    bed.run("pxor xmm0, xmm0")
    assert bed.exception_vector() == 6
    bed.env[CR4] |= 0x200
    bed.env[CR0] |= 0x8
    bed.cpu.update_hflags()
    bed.io_log.clear()
    bed.run("pxor xmm0, xmm0")
    assert bed.exception_vector() == 7
    assert bed.env[HFLAGS] & (1 << 11)


def test_x87_arithmetic_and_store(bed):
    bed.wq(DATA, d(2.5))
    bed.wq(DATA + 8, 3)
    run_case(bed, "fninit; fld qword ptr [rdi]; fild qword ptr [rdi+8]; fmulp st(1), st; "
             "fld1; faddp st(1), st; fstp qword ptr [rdi+16]; fld1; fldz; fcomip st, st(1); "
             "fstp st(0); fnstsw ax", {"rdi": DATA}, {"rflags": flags("C")}, mask=0x45)
    assert bed.rq(DATA + 16) == d(8.5)
    assert bed.cpu.gpr(0) & 0x3800 == 0            # stack empty again: TOP = 0


def test_x87_integer_store_rounding(bed):
    bed.wq(DATA, d(2.5))
    run_case(bed, "fninit; fld qword ptr [rdi]; fistp dword ptr [rdi+8]; fld qword ptr [rdi]; "
             "fisttp dword ptr [rdi+12]", {"rdi": DATA}, {})
    assert bed.rq(DATA + 8) == (2 << 32) | 2       # round-to-even, then truncation


def test_fxsave_fxrstor_round_trip(bed):
    set_xmm(bed, 7, 0x1234_5678_9ABC_DEF0_0FED_CBA9_8765_4321)
    run_case(bed, "fninit; fld1; fxsave [rdi]; pxor xmm7, xmm7; fninit; fxrstor [rdi]; "
             "fstp qword ptr [rdi+512]", {"rdi": DATA}, {})
    assert xmm(bed, 7) == 0x1234_5678_9ABC_DEF0_0FED_CBA9_8765_4321
    assert bed.rq(DATA + 512) == d(1.0)
    assert bed.rq(DATA) & 0xFFFF == 0x37F           # FCW in the image


# -- CPUID advertises only implemented features --------------------------------------------------

# one representative iced Code (instruction form) per advertised feature bit
FEATURE_FORMS = {
    ("1.edx", 0): ["FLD_M64FP", "FADDP_STI_ST0", "FNSTCW_M2BYTE"],            # FPU
    ("1.edx", 4): ["RDTSC"], ("1.edx", 5): ["RDMSR", "WRMSR"], ("1.edx", 8): ["CMPXCHG8B_M64"],
    ("1.edx", 15): ["CMOVE_R64_RM64"], ("1.edx", 19): ["CLFLUSH_M8"],
    ("1.edx", 23): ["PADDB_MM_MMM64", "MOVQ_MM_RM64", "EMMS", "PSRLQ_MM_IMM8"],  # MMX
    ("e1.edx", 23): ["PADDB_MM_MMM64", "MOVQ_MM_RM64", "EMMS", "PSRLQ_MM_IMM8"],
    ("1.edx", 24): ["FXSAVE64_M512BYTE", "FXRSTOR64_M512BYTE"],
    ("1.edx", 25): ["MOVAPS_XMM_XMMM128", "ADDSS_XMM_XMMM32", "LDMXCSR_M32"],  # SSE
    ("1.edx", 26): ["PADDQ_XMM_XMMM128", "ADDSD_XMM_XMMM64", "CVTSI2SD_XMM_RM64"],  # SSE2
    ("1.ecx", 0): ["HADDPS_XMM_XMMM128", "MOVDDUP_XMM_XMMM64", "LDDQU_XMM_M128"],   # SSE3
    ("1.ecx", 9): ["PSHUFB_XMM_XMMM128", "PALIGNR_XMM_XMMM128_IMM8"],             # SSSE3
    ("1.ecx", 19): ["PBLENDVB_XMM_XMMM128", "ROUNDSD_XMM_XMMM64_IMM8", "PTEST_XMM_XMMM128",
                    "PEXTRQ_RM64_XMM_IMM8"],                                     # SSE4.1
    ("1.ecx", 20): ["CRC32_R64_RM64", "PCMPGTQ_XMM_XMMM128", "PCMPESTRI_XMM_XMMM128_IMM8",
                    "PCMPESTRM64_XMM_XMMM128_IMM8", "PCMPISTRI_XMM_XMMM128_IMM8",
                    "PCMPISTRM_XMM_XMMM128_IMM8"],                               # SSE4.2
    ("1.ecx", 13): ["CMPXCHG16B_M128"], ("1.ecx", 22): ["MOVBE_R64_M64"],
    ("1.ecx", 23): ["POPCNT_R64_RM64"],
    ("7.ebx", 0): ["RDFSBASE_R64", "WRGSBASE_R64"],
    ("7.ebx", 3): ["VEX_ANDN_R64_R64_RM64", "VEX_BEXTR_R64_RM64_R64", "VEX_BLSR_R64_RM64",
                   "TZCNT_R64_RM64"],
    ("7.ebx", 8): ["VEX_BZHI_R64_RM64_R64", "VEX_PDEP_R64_R64_RM64", "VEX_MULX_R64_R64_RM64",
                   "VEX_SARX_R64_RM64_R64", "VEX_RORX_R64_RM64_IMM8"],
    ("7.ebx", 19): ["ADCX_R64_RM64", "ADOX_R64_RM64"],
    ("e1.edx", 11): ["SYSCALL", "SYSRETQ"], ("e1.edx", 27): ["RDTSCP"],
    ("e1.ecx", 0): ["LAHF", "SAHF"], ("e1.ecx", 5): ["LZCNT_R64_RM64"],
}
NON_INSTRUCTION_BITS = {("1.edx", b) for b in (2, 3, 6, 9, 13, 16)} | {("1.ecx", 31)} | \
    {("7.ebx", 9)} | {("e1.edx", b) for b in (20, 29)} | \
    {("e1.edx", b) for b in (0, 2, 3, 4, 5, 6, 8, 9, 13, 15, 16, 19, 24, 25)}


@pytest.mark.parametrize("fp", [False, True])
def test_every_advertised_instruction_feature_has_handlers(fp):
    import iced_x86

    import qemu_py.target.i386.insn_all  # noqa: F401
    from qemu_py.target.i386.cpuid import cpuid
    from qemu_py.target.i386.translate import HANDLERS, OPTIONAL_HANDLERS

    class Model:
        fp_enabled = fp
        cpu_index = 0

    decodes = dict(HANDLERS)
    if fp:
        decodes.update(OPTIONAL_HANDLERS)
    regs = {}
    a, b, c, dd = cpuid(Model, 1, 0)
    regs["1.ecx"], regs["1.edx"] = c, dd
    regs["7.ebx"] = cpuid(Model, 7, 0)[1]
    _, _, c, dd = cpuid(Model, 0x80000001, 0)
    regs["e1.ecx"], regs["e1.edx"] = c, dd
    for reg, value in regs.items():
        for bit in range(32):
            if not value >> bit & 1:
                continue
            key = (reg, bit)
            if key in NON_INSTRUCTION_BITS:
                continue
            assert key in FEATURE_FORMS, f"CPUID {reg} bit {bit} advertised without a check"
            for form in FEATURE_FORMS[key]:
                assert getattr(iced_x86.Code, form) in decodes, f"{form} ({reg}.{bit})"
    fp_bits = regs["1.edx"] & ((1 << 0) | (1 << 25) | (1 << 26))
    assert fp_bits == (0x6000001 if fp else 0x6000000)    # SSE/SSE2 always, x87 with fp


def test_approximate_floating_point_decodes_only_when_enabled():
    bed = X86Bed("python", fp=False)
    bed.run("fld1")
    assert bed.exception_vector() == 6
    bed.io_log.clear()
    bed.run("pxor xmm0, xmm0; paddq xmm0, xmm1; movq rax, xmm0")   # exact: always there
    assert bed.exception_vector() is None
    bed.run("addsd xmm0, xmm1")                 # SSE floating point is exact: always there
    assert bed.exception_vector() is None


def test_unimplemented_extensions_are_not_advertised():
    from qemu_py.target.i386.cpuid import cpuid
    _, _, c, _ = cpuid(None, 1, 0)
    for bit, name in ((28, "AVX"),
                      (26, "XSAVE"), (30, "RDRAND"), (21, "x2APIC")):
        assert not c >> bit & 1, name


_ = (pytest, X86Bed)


def test_invalid_operations_give_the_default_nan(bed):
    set_xmm(bed, 0, d(-1.0))
    set_xmm(bed, 1, d(0.0))
    set_xmm(bed, 2, d(0.0))
    run_case(bed, "sqrtsd xmm3, xmm0; divsd xmm2, xmm1", {}, {})
    assert xmm(bed, 3) & M64 == 0xFFF8_0000_0000_0000
    assert xmm(bed, 2) & M64 == 0xFFF8_0000_0000_0000


def test_x87_stack_underflow_stores_the_integer_indefinite(bed):
    run_case(bed, "fninit; fisttp dword ptr [rdi]; fnstsw ax", {"rdi": DATA}, {"rax": 0x0841})
    assert bed.rq(DATA) & 0xFFFFFFFF == 0x80000000


def test_pextrw_pinsrw_sse2_forms(bed):
    """SSE2 PEXTRW r32, xmm, imm8 (66 0F C5) and PINSRW xmm, r32/m16, imm8 (66 0F C4)."""
    env = bed.env
    env[XMM + 2 * 3], env[XMM + 2 * 3 + 1] = 0x4444_3333_2222_1111, 0x8888_7777_6666_5555
    bed.run("pextrw eax, xmm3, 6; pextrw ecx, xmm3, 9; pinsrw xmm3, edx, 2; "
            "pinsrw xmm3, word ptr [rdi], 7", rax=M64, rdx=0xABCD_EF01, rdi=DATA)
    assert bed.cpu.gpr(0) == 0x7777 and bed.cpu.gpr(1) == 0x2222   # imm8 modulo 8
    assert env[XMM + 2 * 3] == 0x4444_EF01_2222_1111
    assert env[XMM + 2 * 3 + 1] >> 48 == bed.rq(DATA) & 0xFFFF
