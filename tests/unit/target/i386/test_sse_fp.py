"""SSE/SSE2 floating point through the translator on both TCG backends: MXCSR
rounding, flags and masks, #XM vs #UD with the destination unchanged, packed
pre- vs post-computation exceptions, COMIS EFLAGS, conversions. Expected values
are worked out by hand from the Intel SDM (vol. 1 11.5, vol. 2 instruction pages).
"""

import pytest

from checks import flags, run_case
from harness import CODE, DATA, STACK, asm
from simd import xmm, set_xmm

from qemu_py.target.i386.state import CR4, MXCSR

M64 = 2**64 - 1
IE, DE, ZE, OE, UE, PE = 1, 2, 4, 8, 16, 32
ONE, TWO, HALF = 0x3F800000, 0x40000000, 0x3F000000
CR4_OSXMMEXCPT = 1 << 10


def lanes32(*ls):
    return sum(x << (32 * i) for i, x in enumerate(ls))


def unmask(*fl):
    """The default MXCSR with the masks of FL cleared."""
    m = 0x1F80
    for f in fl:
        m &= ~(f << 7)
    return m


def test_scalar_ops_write_the_low_lane_and_accumulate_flags(bed):
    set_xmm(bed, 0, lanes32(ONE, 0x11111111, 0x22222222, 0x33333333))
    set_xmm(bed, 1, lanes32(0x33800000, 5, 6, 7))          # 2**-24
    set_xmm(bed, 2, lanes32(0, 0, 0, 0))
    run_case(bed, "addss xmm0, xmm1; divss xmm2, xmm2", {}, {})
    assert xmm(bed, 0) == lanes32(ONE, 0x11111111, 0x22222222, 0x33333333)   # RN: to even
    assert xmm(bed, 2) == lanes32(0xFFC00000, 0, 0, 0)      # 0/0: real indefinite
    assert bed.env[MXCSR] == 0x1F80 | PE | IE


@pytest.mark.parametrize("rc, want", [(0, ONE), (1, ONE), (2, ONE + 1), (3, ONE)])
def test_rounding_control_loaded_with_ldmxcsr(bed, rc, want):
    bed.wq(DATA, 0x1F80 | rc << 13)
    set_xmm(bed, 0, ONE)
    set_xmm(bed, 1, 0x33800000)
    run_case(bed, "ldmxcsr [rdi]; addss xmm0, xmm1; stmxcsr [rdi+8]", {"rdi": DATA}, {})
    assert xmm(bed, 0) == want
    assert bed.rq(DATA + 8) & 0xFFFFFFFF == 0x1F80 | rc << 13 | PE


def test_ftz_and_daz(bed):
    bed.env[MXCSR] = 0x1F80 | 0x8000 | 0x40
    set_xmm(bed, 0, lanes32(0x00800000, 1, ONE, 0))
    set_xmm(bed, 1, lanes32(HALF, ONE, 1, 0))
    run_case(bed, "mulps xmm0, xmm1", {}, {})
    # 2**-127 flushed (UE PE); denormal sources are zeros under DAZ (no DE)
    assert xmm(bed, 0) == lanes32(0, 0, 0, 0)
    assert bed.env[MXCSR] == 0x1F80 | 0x8040 | UE | PE


def test_unmasked_exception_without_osxmmexcpt_is_ud_and_keeps_the_destination(bed):
    bed.env[MXCSR] = unmask(ZE)
    set_xmm(bed, 0, lanes32(ONE, TWO, 3, 4))
    set_xmm(bed, 1, lanes32(0, ONE, 3, 4))
    bed.run("divss xmm0, xmm1")
    assert bed.exception_vector() == 6
    assert xmm(bed, 0) == lanes32(ONE, TWO, 3, 4)
    assert bed.env[MXCSR] == unmask(ZE) | ZE


def test_unmasked_exception_with_osxmmexcpt_is_xm_at_the_instruction(bed):
    bed.env[CR4] |= CR4_OSXMMEXCPT
    bed.env[MXCSR] = unmask(ZE)
    set_xmm(bed, 0, ONE)
    set_xmm(bed, 1, 0)
    code = asm("add eax, ebx; divss xmm0, xmm1; hlt")
    bed.run(code=code, rax=0xFFFFFFFF, rbx=1)
    assert bed.exception_vector() == 19
    assert xmm(bed, 0) == ONE
    frame = STACK - 40                          # RIP, CS, RFLAGS, RSP, SS
    assert bed.rq(frame) == CODE + 2            # the faulting DIVSS (after the 2-byte ADD)
    # the lazy flags of the ADD were in the CPU state when the helper raised
    assert bed.rq(frame + 16) & 0x8D5 == flags("ZCPA") & 0x8D5


def test_packed_unmasked_pre_computation_exception_sets_only_pre_flags(bed):
    bed.env[CR4] |= CR4_OSXMMEXCPT
    bed.env[MXCSR] = unmask(IE)
    old = lanes32(0x7F800001, ONE, 1, 4)                     # SNaN, 1.0, denormal
    set_xmm(bed, 0, old)
    set_xmm(bed, 1, lanes32(ONE, 0x33800000, ONE, 4))
    bed.run("addps xmm0, xmm1")
    assert bed.exception_vector() == 19
    assert xmm(bed, 0) == old
    assert bed.env[MXCSR] == unmask(IE) | IE | DE             # no PE: nothing was computed


def test_packed_unmasked_post_computation_exception_sets_every_flag(bed):
    bed.env[CR4] |= CR4_OSXMMEXCPT
    bed.env[MXCSR] = unmask(PE)
    old = lanes32(0x7F800001, ONE, 1, 4)
    set_xmm(bed, 0, old)
    set_xmm(bed, 1, lanes32(ONE, 0x33800000, ONE, 4))
    bed.run("addps xmm0, xmm1")
    assert bed.exception_vector() == 19
    assert xmm(bed, 0) == old
    assert bed.env[MXCSR] == unmask(PE) | IE | DE | PE


def test_packed_all_masked_results(bed):
    set_xmm(bed, 0, lanes32(0x7F800001, ONE, 1, 0x7F7FFFFF))
    set_xmm(bed, 1, lanes32(ONE, 0x33800000, ONE, 0x7F7FFFFF))
    run_case(bed, "addps xmm0, xmm1", {}, {})
    assert xmm(bed, 0) == lanes32(0x7FC00001, ONE, ONE, 0x7F800000)
    assert bed.env[MXCSR] == 0x1F80 | IE | DE | OE | PE


def test_unmasked_overflow_sets_pe_only_when_the_wide_result_is_inexact(bed):
    bed.env[CR4] |= CR4_OSXMMEXCPT
    bed.env[MXCSR] = unmask(OE)
    set_xmm(bed, 0, 0x7F000000)                 # 2**127 * 2**127: exact, too big
    set_xmm(bed, 1, 0x7F000000)
    bed.run("mulss xmm0, xmm1")
    assert bed.exception_vector() == 19
    assert bed.env[MXCSR] == unmask(OE) | OE
    assert xmm(bed, 0) == 0x7F000000


def test_memory_scalar_source_and_aligned_packed_source(bed):
    bed.wq(DATA, 0xFFFFFFFF_40000000)           # only the low 4 bytes are the operand
    set_xmm(bed, 0, lanes32(ONE, 7, 8, 9))
    run_case(bed, "addss xmm0, [rdi]", {"rdi": DATA}, {})
    assert xmm(bed, 0) == lanes32(0x40400000, 7, 8, 9)
    bed.run("addps xmm0, [rdi]", rdi=DATA + 4)
    assert bed.exception_vector() == 13


def test_min_max_and_sqrt(bed):
    set_xmm(bed, 0, lanes32(0, 0x80000000, 0x7FC00000, ONE))
    set_xmm(bed, 1, lanes32(0x80000000, 0, ONE, TWO))
    set_xmm(bed, 3, lanes32(0, 0x80000000, 0x7FC00000, ONE))
    set_xmm(bed, 2, lanes32(0x40800000, 0x80000000, 0xBF800000, 0x3F800000))
    run_case(bed, "minps xmm0, xmm1; maxps xmm3, xmm1; sqrtps xmm2, xmm2", {}, {})
    assert xmm(bed, 0) == lanes32(0x80000000, 0, ONE, ONE)
    assert xmm(bed, 3) == lanes32(0x80000000, 0, ONE, TWO)
    assert xmm(bed, 2) == lanes32(TWO, 0x80000000, 0xFFC00000, ONE)
    assert bed.env[MXCSR] == 0x1F80 | IE


@pytest.mark.parametrize("imm, want", [(0, 0b0010), (1, 0b0001), (2, 0b0011), (3, 0b1000),
                                       (4, 0b1101), (5, 0b1110), (6, 0b1100), (7, 0b0111)])
def test_cmpps_predicates(bed, imm, want):
    # lanes: 1 < 2, 1 == 1, 2 > 1, 1 ? QNaN
    set_xmm(bed, 0, lanes32(ONE, ONE, TWO, ONE))
    set_xmm(bed, 1, lanes32(TWO, ONE, ONE, 0x7FC00000))
    run_case(bed, f"cmpps xmm0, xmm1, {imm}", {}, {})
    assert xmm(bed, 0) == sum(0xFFFFFFFF << (32 * i) for i in range(4) if want >> i & 1)
    assert bed.env[MXCSR] == 0x1F80 | (IE if imm in (1, 2, 5, 6) else 0)


def test_cmpsd_keeps_the_high_lane(bed):
    set_xmm(bed, 0, (0x1234 << 64) | 0x3FF0000000000000)
    set_xmm(bed, 1, 0x4000000000000000)
    run_case(bed, "cmpsd xmm0, xmm1, 1", {}, {})
    assert xmm(bed, 0) == (0x1234 << 64) | M64


@pytest.mark.parametrize("a, b, want, ie_comis, ie_ucomis", [
    (ONE, TWO, "C", 0, 0), (ONE, ONE, "Z", 0, 0), (TWO, ONE, "", 0, 0),
    (ONE, 0x7FC00000, "ZPC", IE, 0), (0x7F800001, ONE, "ZPC", IE, IE)])
def test_comiss_and_ucomiss(bed, a, b, want, ie_comis, ie_ucomis):
    for insn, ie in (("comiss", ie_comis), ("ucomiss", ie_ucomis)):
        bed.env[MXCSR] = 0x1F80
        set_xmm(bed, 0, a)
        set_xmm(bed, 1, b)
        run_case(bed, f"{insn} xmm0, xmm1", {"rflags": 0x8D3}, {"rflags": flags(want)})
        assert bed.env[MXCSR] == 0x1F80 | ie, insn


def test_float_to_int_conversions(bed):
    bed.env[MXCSR] = 0x1F80 | 1 << 13           # round down
    set_xmm(bed, 0, 0xC0200000)                 # -2.5
    set_xmm(bed, 1, 0x4F000000)                 # 2**31
    set_xmm(bed, 2, 0x41DFFFFFFFE00000)         # 2147483647.5
    run_case(bed, "cvtss2si eax, xmm0; cvttss2si rbx, xmm0; cvtss2si ecx, xmm1; "
             "cvtss2si rdx, xmm1; cvttsd2si esi, xmm2; cvtsd2si rdi, xmm2",
             {"rax": M64, "rcx": M64}, {"rax": 0xFFFFFFFD, "rbx": M64 - 1, "rcx": 0x80000000,
                                        "rdx": 2**31, "rsi": 0x7FFFFFFF, "rdi": 0x7FFFFFFF})
    assert bed.env[MXCSR] == 0x1F80 | 1 << 13 | IE | PE


def test_packed_conversions(bed):
    set_xmm(bed, 0, (0x7FF0000000000001 << 64) | 0x47EFFFFFE0000000)   # SNaN, FLT_MAX
    set_xmm(bed, 1, lanes32(0xFFFFFFFF, 7, 0x11, 0x22))                 # -1, 7
    set_xmm(bed, 2, lanes32(0x40200000, 0xC0200000, 0x4F000000, 0x7FC00000))
    run_case(bed, "cvtpd2ps xmm3, xmm0; cvtdq2pd xmm4, xmm1; cvtps2dq xmm5, xmm2; "
             "cvttps2dq xmm6, xmm2; cvtdq2ps xmm7, xmm1", {}, {})
    assert xmm(bed, 3) == lanes32(0x7F7FFFFF, 0x7FC00000, 0, 0)
    assert xmm(bed, 4) == (0x401C000000000000 << 64) | 0xBFF0000000000000
    assert xmm(bed, 5) == lanes32(2, 0xFFFFFFFE, 0x80000000, 0x80000000)
    assert xmm(bed, 6) == lanes32(2, 0xFFFFFFFE, 0x80000000, 0x80000000)
    assert xmm(bed, 7) == lanes32(0xBF800000, 0x40E00000, 0x41880000, 0x42080000)
    assert bed.env[MXCSR] == 0x1F80 | IE | PE


def test_int_to_float_and_float_to_float_merge_into_the_low_lane(bed):
    set_xmm(bed, 0, lanes32(0, 1, 2, 3))
    set_xmm(bed, 1, (5 << 64) | 0)
    set_xmm(bed, 2, lanes32(0x7F800001, 9, 9, 9))
    run_case(bed, "cvtsi2ss xmm0, rax; cvtsi2sd xmm1, ecx; cvtss2sd xmm2, xmm2",
             {"rax": 2**24 + 1, "rcx": 0xFFFFFFFF}, {})
    assert xmm(bed, 0) == lanes32(0x4B800000, 1, 2, 3)
    assert xmm(bed, 1) == (5 << 64) | 0xBFF0000000000000
    assert xmm(bed, 2) == lanes32(0, 0x7FF80000, 9, 9) | (0x20000000)
    assert bed.env[MXCSR] == 0x1F80 | IE | PE


def test_sse_fp_decodes_without_fp_option():
    from harness import X86Bed
    bed = X86Bed("python")
    set_xmm(bed, 0, 0x3FF0000000000000)
    run_case(bed, "addsd xmm0, xmm0", {}, {})
    assert xmm(bed, 0) == 0x4000000000000000
