"""SSE4.1 (XMM forms) through the translator on both TCG backends, against values
worked out by hand from the SDM vol. 2 pages: blends (imm8 and XMM0), signed/unsigned
min/max, PMULLD, PMULDQ, PCMPEQQ, PACKUSDW, PMOVSX/ZX, PEXTR*/EXTRACTPS, PINSR*/
INSERTPS, PTEST's flags, PHMINPOSUW, MPSADBW, ROUND* (imm8 rounding control, MXCSR.RC,
precision suppression), DPPS/DPPD (rounded intermediate sums), MOVNTDQA; #UD with
CR4.OSFXSR clear, #NM with CR0.TS, #GP for a misaligned m128.
"""

import struct

import pytest

from checks import flags, run_case
from harness import DATA
from simd import (assert_misaligned_m128_is_gp, assert_ud_without_osfxsr_and_nm_with_ts, b, dw,
                  lanes, qw, set_xmm, w, xmm)

from qemu_py.target.i386.state import CR4, MXCSR

M64 = 2**64 - 1
IE, PE = 1, 32


def f(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def d(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def ps(*xs):
    return dw(*[f(x) for x in xs])


def pd(*xs):
    return qw(*[d(x) for x in xs])


A = dw(0x11111111, 0x22222222, 0x33333333, 0x44444444)
B = dw(0xAAAAAAAA, 0xBBBBBBBB, 0xCCCCCCCC, 0xDDDDDDDD)

CASES = [
    ("pblendw xmm1, xmm2, 0xA5", A, B, dw(0x1111AAAA, 0x2222BBBB, 0xCCCC3333, 0xDDDD4444)),
    ("blendps xmm1, xmm2, 6", A, B, dw(0x11111111, 0xBBBBBBBB, 0xCCCCCCCC, 0x44444444)),
    ("blendpd xmm1, xmm2, 2", A, B, dw(0x11111111, 0x22222222, 0xCCCCCCCC, 0xDDDDDDDD)),
    ("pminsb xmm1, xmm2", b(-128, 127, 5, -5), b(0, 0, 6, -6), b(-128, 0, 5, -6)),
    ("pmaxsb xmm1, xmm2", b(-128, 127, 5, -5), b(0, 0, 6, -6), b(0, 127, 6, -5)),
    ("pminsd xmm1, xmm2", dw(-1, 1, -2**31, 7), dw(0, 0, 2**31 - 1, 7), dw(-1, 0, -2**31, 7)),
    ("pmaxsd xmm1, xmm2", dw(-1, 1, -2**31, 7), dw(0, 0, 2**31 - 1, 7), dw(0, 1, 2**31 - 1, 7)),
    ("pminuw xmm1, xmm2", w(0xFFFF, 1, 0x8000, 9), w(0, 2, 0x7FFF, 9), w(0, 1, 0x7FFF, 9)),
    ("pmaxuw xmm1, xmm2", w(0xFFFF, 1, 0x8000, 9), w(0, 2, 0x7FFF, 9), w(0xFFFF, 2, 0x8000, 9)),
    ("pminud xmm1, xmm2", dw(-1, 1, 2**31, 0), dw(0, 2, 2**31 - 1, 0), dw(0, 1, 2**31 - 1, 0)),
    ("pmaxud xmm1, xmm2", dw(-1, 1, 2**31, 0), dw(0, 2, 2**31 - 1, 0), dw(-1, 2, 2**31, 0)),
    ("pmulld xmm1, xmm2", dw(0x10000, -2, 0x7FFFFFFF, 3), dw(0x10000, 3, 2, 5),
     dw(0, -6, 0xFFFFFFFE, 15)),
    ("pmuldq xmm1, xmm2", dw(-1, 99, 0x7FFFFFFF, 99), dw(5, 99, 0x7FFFFFFF, 99),
     qw(-5, 0x3FFFFFFF00000001)),
    ("pcmpeqq xmm1, xmm2", qw(5, 6), qw(5, 7), qw(M64, 0)),
    ("packusdw xmm1, xmm2", dw(-1, 0x10000, 0x1234, 0xFFFF), dw(0, -2**31, 2**31 - 1, 1),
     w(0, 0xFFFF, 0x1234, 0xFFFF, 0, 0, 0xFFFF, 1)),
    ("phminposuw xmm1, xmm2", A, w(5, 3, 9, 3, 0xFFFF, 4, 3, 8), dw(0x00010003, 0, 0, 0)),
    ("phminposuw xmm1, xmm2", A, w(7, 7, 7, 7, 7, 7, 7, 0), dw(0x00070000, 0, 0, 0)),
    # imm8[2] = 1: A from byte 4; imm8[1:0] = 1: B's bytes 4..7
    ("mpsadbw xmm1, xmm2, 5", b(*range(16)), b(0, 0, 0, 0, 1, 2, 3, 4, *([0] * 8)),
     w(*[abs(4 + i - 1) + abs(5 + i - 2) + abs(6 + i - 3) + abs(7 + i - 4) for i in range(8)])),
    ("mpsadbw xmm1, xmm2, 0", b(*([10] * 16)), b(0, 20, 10, 9, *([0] * 12)), w(*[21] * 8)),
    ("pmovsxbw xmm1, xmm2", 0, b(-1, 2, -128, 127, 0, 0, 0, 5, 9, 9), w(-1, 2, -128, 127, 0, 0, 0, 5)),
    ("pmovzxbw xmm1, xmm2", 0, b(-1, 2, -128, 127, 0, 0, 0, 5, 9, 9),
     w(255, 2, 128, 127, 0, 0, 0, 5)),
    ("pmovsxbd xmm1, xmm2", 0, b(-1, 2, -128, 127, 9), dw(-1, 2, -128, 127)),
    ("pmovzxbd xmm1, xmm2", 0, b(-1, 2, -128, 127, 9), dw(255, 2, 128, 127)),
    ("pmovsxbq xmm1, xmm2", 0, b(-2, 3, 9), qw(-2, 3)),
    ("pmovzxbq xmm1, xmm2", 0, b(-2, 3, 9), qw(254, 3)),
    ("pmovsxwd xmm1, xmm2", 0, w(-1, 5, -32768, 32767, 9), dw(-1, 5, -32768, 32767)),
    ("pmovzxwd xmm1, xmm2", 0, w(-1, 5, -32768, 32767, 9), dw(0xFFFF, 5, 0x8000, 32767)),
    ("pmovsxwq xmm1, xmm2", 0, w(-7, 7, 9), qw(-7, 7)),
    ("pmovzxwq xmm1, xmm2", 0, w(-7, 7, 9), qw(0xFFF9, 7)),
    ("pmovsxdq xmm1, xmm2", 0, dw(-7, 2**31 - 1, 9), qw(-7, 2**31 - 1)),
    ("pmovzxdq xmm1, xmm2", 0, dw(-7, 2**31 - 1, 9), qw(0xFFFFFFF9, 2**31 - 1)),
    ("insertps xmm1, xmm2, 0x98", A, B, dw(0x11111111, 0xCCCCCCCC, 0x33333333, 0)),
    ("insertps xmm1, xmm2, 0xF5", A, B, dw(0, 0x22222222, 0, 0xDDDDDDDD)),
]


@pytest.mark.parametrize("text, a, src, want", CASES, ids=[c[0] for c in CASES])
def test_register_forms(bed, text, a, src, want):
    set_xmm(bed, 1, a)
    set_xmm(bed, 2, src)
    run_case(bed, text, {}, {})
    assert xmm(bed, 1) == want


@pytest.mark.parametrize("mn, bits", [("pblendvb", 8), ("blendvps", 32), ("blendvpd", 64)])
def test_variable_blends_use_the_sign_bits_of_xmm0(bed, mn, bits):
    n = 128 // bits
    mask = lanes(bits, *[(1 << (bits - 1)) if i % 3 == 0 else (1 << (bits - 1)) - 1
                         for i in range(n)])
    set_xmm(bed, 0, mask)
    set_xmm(bed, 4, lanes(bits, *range(1, n + 1)))
    set_xmm(bed, 5, lanes(bits, *range(101, 101 + n)))
    run_case(bed, f"{mn} xmm4, xmm5", {}, {})
    assert xmm(bed, 4) == lanes(bits, *[101 + i if i % 3 == 0 else 1 + i for i in range(n)])


def test_blendv_with_xmm0_as_destination(bed):
    set_xmm(bed, 0, dw(0x80000000, 1, 0x80000000, 2))
    set_xmm(bed, 1, dw(7, 8, 9, 10))
    run_case(bed, "blendvps xmm0, [rdi]", {"rdi": DATA}, {})     # memory source too
    assert xmm(bed, 0) == dw(0, 1, 0, 2)                          # DATA is zeroed


def test_narrow_memory_sources_need_not_be_aligned(bed):
    bed.wq(DATA, 0x8877665544332211)
    bed.wq(DATA + 8, 0xFFEEDDCCBBAA9988)
    run_case(bed, "pmovzxbw xmm1, [rdi+3]; pmovsxwq xmm2, [rdi+1]; pmovzxbq xmm3, [rdi+7]",
             {"rdi": DATA}, {})
    assert xmm(bed, 1) == w(0x44, 0x55, 0x66, 0x77, 0x88, 0x88, 0x99, 0xAA)
    assert xmm(bed, 2) == qw(0x3322, 0x5544)
    assert xmm(bed, 3) == qw(0x88, 0x88)


def test_pextr_and_extractps(bed):
    set_xmm(bed, 3, dw(0x44332211, 0x88776655, 0xCCBBAA99, 0x00FFEEDD))
    run_case(bed, "mov rax, -1; pextrb eax, xmm3, 0x1E; mov rcx, -1; "
             ".byte 0x66, 0x0f, 0x3a, 0x15, 0xd9, 0x05; "   # pextrw ecx, xmm3, 5 (0F 3A 15)
             "pextrd edx, xmm3, 7; pextrq rbx, xmm3, 3; extractps r8d, xmm3, 1; "
             "pextrb [rdi], xmm3, 3; pextrw [rdi+1], xmm3, 8; pextrq [rdi+8], xmm3, 0",
             {"rdi": DATA}, {"rax": 0xFF, "rcx": 0xCCBB, "rdx": 0x00FFEEDD,
                             "rbx": 0x00FFEEDD_CCBBAA99, "r8": 0x88776655})
    assert bed.rq(DATA) == 0x221144
    assert bed.rq(DATA + 8) == 0x88776655_44332211


def test_pinsr(bed):
    set_xmm(bed, 6, 0)
    bed.wq(DATA, 0x0123456789ABCDEF)
    run_case(bed, "mov eax, 0x1234; pinsrb xmm6, eax, 0x11; pinsrb xmm6, [rdi+1], 15; "
             "pinsrd xmm6, [rdi], 2; mov rcx, -2; pinsrq xmm6, rcx, 0",
             {"rdi": DATA}, {"rax": 0x1234, "rcx": M64 - 1})
    assert xmm(bed, 6) == qw(-2, 0xCD000000_89ABCDEF) | 0x3400


def test_insertps_from_memory_ignores_the_source_select(bed):
    bed.wq(DATA, 0x5555555566666666)
    set_xmm(bed, 1, A)
    run_case(bed, "insertps xmm1, [rdi+4], 0xE0", {"rdi": DATA}, {})
    assert xmm(bed, 1) == dw(0x11111111, 0x22222222, 0x55555555, 0x44444444)


@pytest.mark.parametrize("a, src, fl", [
    (0xF0, 0x0F, "Z"),              # no common bit: ZF; src has bits a lacks: not CF
    (0xFF, 0x0F, "C"),              # src within a: CF
    (0, 0, "ZC"),
    (1 << 127, 1 << 127 | 1, ""),
])
def test_ptest_sets_zf_cf_and_clears_the_rest(bed, a, src, fl):
    set_xmm(bed, 1, a)
    set_xmm(bed, 2, src)
    run_case(bed, "ptest xmm1, xmm2", {"rflags": flags("OSAP")}, {"rflags": flags(fl)})


@pytest.mark.parametrize("imm, want", [
    (0, ps(2, -2, 0, -0.0)), (1, ps(2, -3, 0, -1)), (2, ps(3, -2, 1, -0.0)),
    (3, ps(2, -2, 0, -0.0))])
def test_roundps_rounding_control(bed, imm, want):
    set_xmm(bed, 1, ps(2.5, -2.5, 0.3, -0.3))
    run_case(bed, f"roundps xmm2, xmm1, {imm}", {}, {})
    assert xmm(bed, 2) == want
    assert bed.env[MXCSR] == 0x1F80 | PE


def test_round_mxcsr_rc_precision_suppression_and_nans(bed):
    bed.env[MXCSR] = 0x1F80 | 1 << 13                 # round down
    set_xmm(bed, 1, pd(-0.5, 7.0))
    set_xmm(bed, 2, pd(9, 9))
    run_case(bed, "roundsd xmm2, xmm1, 0xC", {}, {})  # MXCSR.RC, precision suppressed
    assert xmm(bed, 2) == pd(-1, 9)
    assert bed.env[MXCSR] == 0x1F80 | 1 << 13
    set_xmm(bed, 1, qw(0x7FF0_0000_0000_0001, 0xFFF0_0000_0000_0000))   # SNaN, -inf
    run_case(bed, "roundpd xmm3, xmm1, 0", {}, {})
    assert xmm(bed, 3) == qw(0x7FF8_0000_0000_0001, 0xFFF0_0000_0000_0000)
    assert bed.env[MXCSR] == 0x1F80 | 1 << 13 | IE


def test_roundss_large_values_are_already_integral(bed):
    set_xmm(bed, 1, ps(2.0 ** 23 + 1, 5))
    set_xmm(bed, 2, ps(1, 5, 6, 7))
    run_case(bed, "roundss xmm2, xmm1, 1", {}, {})
    assert xmm(bed, 2) == ps(2.0 ** 23 + 1, 5, 6, 7)
    assert bed.env[MXCSR] == 0x1F80


def test_dpps_sums_pairs_with_intermediate_rounding(bed):
    set_xmm(bed, 1, ps(1, 2, 3, 4))
    set_xmm(bed, 2, ps(5, 6, 7, 8))
    run_case(bed, "dpps xmm1, xmm2, 0xF5", {}, {})
    assert xmm(bed, 1) == ps(70, 0, 70, 0)
    # (2**24 + 1) + (-2**24 + 1): the first sum rounds to 2**24, so 1.0, not the exact 2.0
    set_xmm(bed, 1, ps(2.0 ** 24, 1, -(2.0 ** 24), 1))
    set_xmm(bed, 2, ps(1, 1, 1, 1))
    run_case(bed, "dpps xmm1, xmm2, 0xF2", {}, {})
    assert xmm(bed, 1) == ps(0, 1, 0, 0)
    assert bed.env[MXCSR] == 0x1F80 | PE


def test_dpps_product_mask_and_dppd(bed):
    set_xmm(bed, 1, ps(1, 2, 3, 4))
    set_xmm(bed, 2, ps(5, 6, 7, 8))
    run_case(bed, "dpps xmm1, xmm2, 0x58", {}, {})      # lanes 0 and 2: 5 + 21
    assert xmm(bed, 1) == ps(0, 0, 0, 26)
    set_xmm(bed, 3, pd(1.5, 2))
    set_xmm(bed, 4, pd(2, 4))
    run_case(bed, "dppd xmm3, xmm4, 0x33", {}, {})
    assert xmm(bed, 3) == pd(11, 11)
    set_xmm(bed, 3, pd(1.5, 2))
    run_case(bed, "dppd xmm3, xmm4, 0x21", {}, {})
    assert xmm(bed, 3) == pd(8, 0)


def test_unmasked_invalid_in_dpps_raises_xm_and_keeps_the_destination(bed):
    bed.env[CR4] |= 1 << 10
    bed.env[MXCSR] = 0x1F80 & ~(IE << 7)
    old = ps(float("inf"), 0, 0, 0)
    set_xmm(bed, 1, old)
    set_xmm(bed, 2, ps(0, 0, 0, 0))                      # inf * 0: invalid
    bed.run("dpps xmm1, xmm2, 0xFF")
    assert bed.exception_vector() == 19
    assert xmm(bed, 1) == old
    assert bed.env[MXCSR] == (0x1F80 & ~(IE << 7)) | IE


def test_movntdqa(bed):
    bed.wq(DATA + 16, 0x1111)
    bed.wq(DATA + 24, 0x2222)
    run_case(bed, "movntdqa xmm7, [rdi+16]", {"rdi": DATA}, {})
    assert xmm(bed, 7) == qw(0x1111, 0x2222)


@pytest.mark.parametrize("text", [
    "movntdqa xmm0, [rdi]", "ptest xmm0, [rdi]", "pblendw xmm0, [rdi], 1",
    "blendvpd xmm0, [rdi]", "pmulld xmm0, [rdi]", "packusdw xmm0, [rdi]",
    "mpsadbw xmm0, [rdi], 0", "roundps xmm0, [rdi], 0", "dppd xmm0, [rdi], 0x31",
    "phminposuw xmm0, [rdi]", "pcmpeqq xmm0, [rdi]"])
def test_misaligned_m128_is_gp(bed, text):
    assert_misaligned_m128_is_gp(bed, text, DATA + 8)


@pytest.mark.parametrize("text", ["ptest xmm0, xmm1", "pextrb eax, xmm1, 0",
                                  "pinsrq xmm0, rax, 1", "roundsd xmm0, xmm1, 0",
                                  "pmovzxbw xmm0, xmm1", "insertps xmm0, xmm1, 0"])
def test_osfxsr_clear_is_ud_and_cr0_ts_is_nm(bed, text):
    assert_ud_without_osfxsr_and_nm_with_ts(bed, text)
