"""SSE3 through the translator on both TCG backends: ADDSUBPS/PD, HADDPS/PD,
HSUBPS/PD (exact, MXCSR flags, #XM/#UD with the destination unchanged), MOVSHDUP,
MOVSLDUP, MOVDDUP; #UD with CR4.OSFXSR clear, #NM with CR0.TS, #GP for a
misaligned m128. Expected values worked out by hand from the SDM vol. 2 pages.
"""

import struct

import pytest

from checks import run_case
from harness import DATA
from simd import (assert_misaligned_m128_is_gp, assert_ud_without_osfxsr_and_nm_with_ts, set_xmm,
                  xmm)

from qemu_py.target.i386.state import CR4, MXCSR

M64 = 2**64 - 1
IE, DE, ZE, OE, UE, PE = 1, 2, 4, 8, 16, 32


def f(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def d(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def ps(*xs):
    return sum(f(x) << (32 * i) for i, x in enumerate(xs))


def pd(*xs):
    return sum(d(x) << (64 * i) for i, x in enumerate(xs))


@pytest.mark.parametrize("text, a, b, want", [
    ("addsubps xmm0, xmm1", ps(1, 2, 3, 4), ps(0.5, 0.5, 0.5, 0.5), ps(0.5, 2.5, 2.5, 4.5)),
    ("addsubpd xmm0, xmm1", pd(1, 2), pd(0.25, 0.25), pd(0.75, 2.25)),
    ("haddps xmm0, xmm1", ps(1, 2, 3, 4), ps(10, 20, 30, 40), ps(3, 7, 30, 70)),
    ("hsubps xmm0, xmm1", ps(1, 2, 3, 5), ps(10, 20, 30, 45), ps(-1, -2, -10, -15)),
    ("haddpd xmm0, xmm1", pd(1, 2), pd(4, 8), pd(3, 12)),
    ("hsubpd xmm0, xmm1", pd(1, 2), pd(4, 8), pd(-1, -4)),
])
def test_exact_results_without_flags(bed, text, a, b, want):
    set_xmm(bed, 0, a)
    set_xmm(bed, 1, b)
    run_case(bed, text, {}, {})
    assert xmm(bed, 0) == want
    assert bed.env[MXCSR] == 0x1F80


def test_haddps_returns_the_lower_lane_nan_and_flags_invalid_for_an_snan(bed):
    set_xmm(bed, 0, 0x3F800000_7F800002_7FC00001 | f(1.0) << 96)   # QNaN, SNaN, 1, 1
    set_xmm(bed, 1, ps(1, 1, 1, 1))
    run_case(bed, "haddps xmm0, xmm1", {}, {})
    assert xmm(bed, 0) == 0x7FC00001 | f(2.0) << 32 | f(2.0) << 64 | f(2.0) << 96
    assert bed.env[MXCSR] == 0x1F80 | IE


def test_hsubpd_rounds_under_mxcsr_rc(bed):
    bed.env[MXCSR] = 0x1F80 | 2 << 13                     # round up
    set_xmm(bed, 0, pd(1.0, -2.0 ** -60))
    set_xmm(bed, 1, pd(0, 0))
    run_case(bed, "hsubpd xmm0, xmm1", {}, {})
    assert xmm(bed, 0) == d(1.0) + 1                      # 1 + 2**-60 rounded up: next double
    assert bed.env[MXCSR] == 0x1F80 | 2 << 13 | PE


def test_unmasked_precision_raises_xm_and_keeps_the_destination(bed):
    bed.env[CR4] |= 1 << 10                               # OSXMMEXCPT
    bed.env[MXCSR] = 0x1F80 & ~(PE << 7)
    old = ps(1, 2.0 ** -30, 5, 6)
    set_xmm(bed, 0, old)
    set_xmm(bed, 1, ps(1, 1, 1, 1))
    bed.run("haddps xmm0, xmm1")
    assert bed.exception_vector() == 19
    assert xmm(bed, 0) == old
    assert bed.env[MXCSR] == (0x1F80 & ~(PE << 7)) | PE


def test_unmasked_exception_without_osxmmexcpt_is_ud(bed):
    bed.env[MXCSR] = 0x1F80 & ~(IE << 7)
    set_xmm(bed, 0, pd(float("inf"), 1))
    set_xmm(bed, 1, pd(float("inf"), 1))
    bed.run("addsubpd xmm0, xmm1")                        # inf - inf: invalid
    assert bed.exception_vector() == 6
    assert xmm(bed, 0) == pd(float("inf"), 1)
    assert bed.env[MXCSR] == (0x1F80 & ~(IE << 7)) | IE


def test_dup_moves(bed):
    v = 0x44444444_33333333_22222222_11111111
    set_xmm(bed, 1, v)
    run_case(bed, "movshdup xmm2, xmm1; movsldup xmm3, xmm1; movddup xmm4, xmm1", {}, {})
    assert xmm(bed, 2) == 0x44444444_44444444_22222222_22222222
    assert xmm(bed, 3) == 0x33333333_33333333_11111111_11111111
    assert xmm(bed, 4) == 0x22222222_11111111_22222222_11111111


def test_movddup_m64_need_not_be_aligned_and_m128_forms_must_be(bed):
    bed.wq(DATA, 0x0123456789ABCDEF)
    bed.wq(DATA + 8, 0xFEDCBA9876543210)
    run_case(bed, "movddup xmm5, [rdi+4]", {"rdi": DATA}, {})
    assert xmm(bed, 5) == 0x76543210_01234567_76543210_01234567
    run_case(bed, "movshdup xmm6, [rdi]", {"rdi": DATA}, {})
    assert xmm(bed, 6) == 0xFEDCBA98_FEDCBA98_01234567_01234567


@pytest.mark.parametrize("text", ["addsubps xmm0, [rdi]", "addsubpd xmm0, [rdi]",
                                  "haddps xmm0, [rdi]", "haddpd xmm0, [rdi]",
                                  "hsubps xmm0, [rdi]", "hsubpd xmm0, [rdi]",
                                  "movshdup xmm0, [rdi]", "movsldup xmm0, [rdi]"])
def test_misaligned_m128_is_gp(bed, text):
    assert_misaligned_m128_is_gp(bed, text, DATA + 8)


@pytest.mark.parametrize("text", ["haddps xmm0, xmm1", "movddup xmm0, xmm1",
                                  "addsubpd xmm0, xmm1"])
def test_osfxsr_clear_is_ud_and_cr0_ts_is_nm(bed, text):
    assert_ud_without_osfxsr_and_nm_with_ts(bed, text)
