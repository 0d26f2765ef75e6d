"""SSSE3 (XMM forms) through the translator on both TCG backends, against values
worked out by hand from the SDM vol. 2 pages: PABS*, PSIGN*, PHADD*/PHSUB* (and the
saturating word forms), PMADDUBSW, PMULHRSW, PSHUFB, PALIGNR; #UD with CR4.OSFXSR
clear, #NM with CR0.TS, #GP for a misaligned m128.
"""

import pytest

from checks import run_case
from harness import DATA
from simd import (assert_misaligned_m128_is_gp, assert_ud_without_osfxsr_and_nm_with_ts, b, dw,
                  set_xmm, w, xmm)


M64 = 2**64 - 1


CASES = [
    ("pabsb", 0, b(-128, -1, 0, 1, 127, -5, 5, 0, 0, 0, 0, 0, 0, 0, 0, -2),
     b(0x80, 1, 0, 1, 127, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 2)),
    ("pabsw", 0, w(-32768, -1, 0, 32767, -300, 300, 7, -7), w(0x8000, 1, 0, 32767, 300, 300, 7, 7)),
    ("pabsd", 0, dw(-2**31, -1, 0, 12345), dw(0x80000000, 1, 0, 12345)),
    ("psignb", b(1, 2, 3, -4, 5, -128, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
     b(-1, 0, 1, -1, 1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, -128),
     b(-1, 0, 3, 4, 5, -128, 0, 0, 0, 0, 0, 0, 0, 0, 0, -16)),
    ("psignw", w(100, -100, 5, -32768, 1, 2, 3, 4), w(-3, -3, 0, -1, 1, 1, 1, 1),
     w(-100, 100, 0, -32768, 1, 2, 3, 4)),
    ("psignd", dw(7, 7, 7, 7), dw(-9, 0, 9, -2**31), dw(-7, 0, 7, -7)),
    ("phaddw", w(1, 2, 3, 4, 0x7FFF, 1, -1, -2), w(10, 20, 30, 40, 50, 60, 70, 80),
     w(3, 7, -32768, -3, 30, 70, 110, 150)),
    ("phaddsw", w(1, 2, 3, 4, 0x7FFF, 1, -32768, -2), w(10, 20, 30, 40, 50, 60, 70, 80),
     w(3, 7, 0x7FFF, -32768, 30, 70, 110, 150)),
    ("phaddd", dw(1, 2, 0x7FFFFFFF, 1), dw(5, 6, 7, 8), dw(3, -2**31, 11, 15)),
    ("phsubw", w(5, 2, 3, 4, -32768, 1, 0, 0), w(10, 20, 30, 40, 50, 60, 70, 80),
     w(3, -1, 0x7FFF, 0, -10, -10, -10, -10)),
    ("phsubsw", w(5, 2, 3, 4, -32768, 1, 0x7FFF, -1), w(10, 20, 30, 40, 50, 60, 70, 80),
     w(3, -1, -32768, 0x7FFF, -10, -10, -10, -10)),
    ("phsubd", dw(10, 3, 0, 1), dw(1, 2, 3, 4), dw(7, -1, -1, -1)),
    # A unsigned bytes, B signed bytes; pairs summed with signed saturation
    ("pmaddubsw", b(255, 255, 2, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255),
     b(127, 127, -4, 5, -128, -128, 0, 0, 0, 0, 0, 0, 0, 0, -128, -128),
     w(0x7FFF, 7, -256, 0, 0, 0, 0, -32768)),
    # ((a*b >> 14) + 1) >> 1
    ("pmulhrsw", w(0x4000, -32768, 3, 0x7FFF, 0, 1, -1, 0x100),
     w(0x4000, -32768, 0x2AAB, 0x7FFF, 5, 0x4000, 0x4000, -0x100),
     w(0x2000, -32768, 1, 0x7FFE, 0, 1, 0, -2)),
    ("pshufb", b(*range(0x10, 0x20)), b(15, 0, 0x80, 0x81, 0x8F, 1, 0x11, 0x7F, 2, 2, 2, 2,
                                         0xFF, 14, 3, 16),
     b(0x1F, 0x10, 0, 0, 0, 0x11, 0x11, 0x1F, 0x12, 0x12, 0x12, 0x12, 0, 0x1E, 0x13, 0x10)),
]


@pytest.mark.parametrize("mn, a, src, want", CASES, ids=[c[0] for c in CASES])
def test_register_and_aligned_memory_forms(bed, mn, a, src, want):
    set_xmm(bed, 3, a)
    set_xmm(bed, 9, src)
    run_case(bed, f"{mn} xmm3, xmm9", {}, {})
    assert xmm(bed, 3) == want
    set_xmm(bed, 3, a)
    bed.wq(DATA + 16, src & M64)
    bed.wq(DATA + 24, src >> 64)
    run_case(bed, f"{mn} xmm3, [rsi+16]", {"rsi": DATA}, {})
    assert xmm(bed, 3) == want


@pytest.mark.parametrize("imm, want", [
    (0, 0xBBBBBBBB_BBBBBBBB_BBBBBBBB_BBBBBBBB),
    (4, 0xAAAAAAAA_BBBBBBBB_BBBBBBBB_BBBBBBBB),
    (17, 0x00AAAAAA_AAAAAAAA_AAAAAAAA_AAAAAAAA),
    (31, 0xAA), (32, 0), (255, 0)])
def test_palignr(bed, imm, want):
    set_xmm(bed, 1, 0xAAAAAAAA_AAAAAAAA_AAAAAAAA_AAAAAAAA)
    set_xmm(bed, 2, 0xBBBBBBBB_BBBBBBBB_BBBBBBBB_BBBBBBBB)
    run_case(bed, f"palignr xmm1, xmm2, {imm}", {}, {})
    assert xmm(bed, 1) == want


def test_palignr_byte_order(bed):
    set_xmm(bed, 1, b(*range(16, 32)))
    set_xmm(bed, 2, b(*range(0, 16)))
    run_case(bed, "palignr xmm1, xmm2, 5", {}, {})
    assert xmm(bed, 1) == b(*range(5, 21))


@pytest.mark.parametrize("mn", ["pabsb", "psignw", "phaddd", "phsubsw", "pmaddubsw",
                                "pmulhrsw", "pshufb"])
def test_misaligned_m128_is_gp(bed, mn):
    assert_misaligned_m128_is_gp(bed, f"{mn} xmm0, [rdi]", DATA + 4)


@pytest.mark.parametrize("text", ["pshufb xmm0, xmm1", "palignr xmm0, xmm1, 3",
                                  "pabsd xmm0, xmm1"])
def test_osfxsr_clear_is_ud_and_cr0_ts_is_nm(bed, text):
    assert_ud_without_osfxsr_and_nm_with_ts(bed, text)
