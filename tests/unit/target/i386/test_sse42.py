"""SSE4.2 (CRC32, PCMPGTQ, PCMPESTRI/M, PCMPISTRI/M) through the translator on both
TCG backends. CRC32 values: the CRC-32C check value of "123456789" (0xE3069283, with
the customary initial and final inversion done by the program) and one-byte steps
worked out from the polynomial; PCMPGTQ compares signed quadwords. The string
compares are worked by hand from the SDM's imm8 description (vol. 2, 4.1): each
aggregation, polarity and output selection, byte/word and signed formats, explicit
lengths (absolute value, saturated) and implicit ones, and the flags.
"""

import pytest

from checks import flags, run_case
from harness import DATA
from simd import b, set_xmm, w, xmm

from qemu_py.target.i386.state import CR0, CR4

M64 = 2**64 - 1


def test_crc32_check_value_byte_by_byte(bed):
    bed.write(DATA, b"123456789")
    text = "mov eax, -1; " + "".join(f"crc32 eax, byte ptr [rdi+{i}]; " for i in range(9)) + \
        "not eax"
    run_case(bed, text, {"rdi": DATA}, {"rax": 0xE3069283})


@pytest.mark.parametrize("text", [
    "crc32 rax, qword ptr [rdi]; crc32 eax, byte ptr [rdi+8]",
    "crc32 eax, dword ptr [rdi]; crc32 eax, word ptr [rdi+4]; crc32 eax, word ptr [rdi+6]; "
    "mov cl, [rdi+8]; crc32 rax, cl",
])
def test_crc32_operand_sizes_give_the_same_crc(bed, text):
    bed.write(DATA, b"123456789")
    init = {"rdi": DATA, "rax": 0xFFFF_FFFF_FFFF_FFFF, "rflags": flags("CZ")}
    want = {"rax": 0xE3069283 ^ 0xFFFFFFFF}
    if "cl" in text:
        want["rcx"] = ord("9")
    run_case(bed, text, init, want)               # flags unchanged, upper half cleared


def test_crc32_of_one_zero_byte_from_one(bed):
    # 1 ^ 0 = 1, then eight steps: 1 -> P -> P>>1 ... (polynomial 0x82F63B78)
    crc = 1
    for _ in range(8):
        crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    run_case(bed, "xor ecx, ecx; crc32 eax, cl", {"rax": 1}, {"rax": crc, "rflags": 0x46},
             mask=0)
    assert crc == 0xF26B8303                      # entry 1 of the usual CRC-32C table


def test_pcmpgtq_is_signed(bed):
    set_xmm(bed, 1, (1 << 64) | (M64))            # lanes: -1, 1
    set_xmm(bed, 2, (M64 << 64) | 0)              # lanes: 0, -1
    run_case(bed, "pcmpgtq xmm1, xmm2", {}, {})
    assert xmm(bed, 1) == M64 << 64


def test_pcmpgtq_faults(bed):
    bed.run("pcmpgtq xmm0, [rdi]", rdi=DATA + 8)
    assert bed.exception_vector() == 13
    bed.io_log.clear()
    bed.env[CR0] |= 0x8
    bed.cpu.update_hflags()
    bed.run("pcmpgtq xmm0, xmm1")
    assert bed.exception_vector() == 7
    bed.env[CR0] &= ~0x8
    bed.env[CR4] &= ~0x200
    bed.cpu.update_hflags()
    bed.io_log.clear()
    bed.run("pcmpgtq xmm0, xmm1")
    assert bed.exception_vector() == 6


# -- string compares ---------------------------------------------------------------------------


def s8(text: str) -> int:
    return int.from_bytes(text.encode(), "little")


def pcmp(bed, text, src1, src2, init=None, expect=None):
    """Run TEXT with XMM1 = SRC1 and XMM2 = SRC2; the flags are always compared (AF and
    PF start set and must be cleared)."""
    set_xmm(bed, 1, src1)
    set_xmm(bed, 2, src2)
    init = {"rflags": flags("AP"), **(init or {})}
    return run_case(bed, text, init, expect)


HELLO = s8("hello world")                         # 11 bytes, then nulls


@pytest.mark.parametrize("imm, rcx, fl", [
    (0x00, 1, "CZS"),         # equal any: 'e' 'o' 'o' at 1, 4, 7 -> IntRes = 0x92; least
    (0x40, 7, "CZS"),         # most significant
    (0x10, 0, "CZSO"),        # negative: ~0x92 over 16 bits = 0xFF6D
    (0x30, 0, "CZSO"),        # masked negative: 0x92 ^ 0x7FF (11 valid) = 0x76D
    (0x70, 10, "CZSO"),       # ... its most significant bit is the last valid byte
    (0x20, 1, "CZS"),         # masked positive is positive
])
def test_pcmpistri_equal_any_polarity_and_index(bed, imm, rcx, fl):
    pcmp(bed, f"pcmpistri xmm1, xmm2, {imm}", s8("aeiou"), HELLO, {"rcx": -1},
         {"rcx": rcx, "rflags": flags(fl)})


def test_pcmpistri_no_match_gives_the_element_count(bed):
    pcmp(bed, "pcmpistri xmm1, xmm2, 0", s8("xyz"), HELLO, {"rcx": -1},
         {"rcx": 16, "rflags": flags("ZS")})
    pcmp(bed, "pcmpistri xmm1, xmm2, 1", s8("xyz"), HELLO, {"rcx": -1},
         {"rcx": 8, "rflags": flags("ZS")})


@pytest.mark.parametrize("imm, want", [
    (0x00, 0x92),                                        # the bit mask, zero-extended
    (0x40, b(0, -1, 0, 0, -1, 0, 0, -1)),                # the byte mask
    (0x30, 0x76D),
])
def test_pcmpistrm_masks(bed, imm, want):
    set_xmm(bed, 0, -1 & (2**128 - 1))
    pcmp(bed, f"pcmpistrm xmm1, xmm2, {imm}", s8("aeiou"), HELLO, {},
         {"rflags": flags("CZS" + ("O" if imm == 0x30 else ""))})
    assert xmm(bed, 0) == want


@pytest.mark.parametrize("src1, imm, rcx, fl", [
    (s8("az"), 0x04, 0, "CZSO"),            # "aZ09bz{": a, b, z in [a, z] -> 0x31
    (s8("AZaz"), 0x04, 0, "CZSO"),          # two ranges -> 0x33
    (s8("AZaz"), 0x44, 5, "CZSO"),
    (s8("0"), 0x04, 16, "ZS"),              # a lone lower bound is no range
    (s8("09a"), 0x44, 3, "CZS"),            # the pair counts, the odd bound does not
])
def test_pcmpistri_ranges(bed, src1, imm, rcx, fl):
    pcmp(bed, f"pcmpistri xmm1, xmm2, {imm}", src1, s8("aZ09bz{"), {},
         {"rcx": rcx, "rflags": flags(fl)})


@pytest.mark.parametrize("imm, rcx, fl", [
    (0x06, 1, "CZS"),        # signed: -5 <= x <= 5 for -5, 0, 5 (elements 1..3)
    (0x04, 16, "ZS"),        # unsigned: 0xFB <= x <= 0x05 holds for nothing
])
def test_pcmpestri_ranges_signed_and_unsigned_bytes(bed, imm, rcx, fl):
    pcmp(bed, f"pcmpestri xmm1, xmm2, {imm}", b(-5, 5), b(-6, -5, 0, 5, 6, -128, 127),
         {"rax": 2, "rdx": 7}, {"rcx": rcx, "rflags": flags(fl)})


@pytest.mark.parametrize("imm, rdx, rcx, fl", [
    (0x08, 6, 0, "CZSO"),     # equal each: 0, 1, 3, 4 and the invalid tail -> 0xFFDB
    (0x18, 6, 2, "CZS"),      # negative: 0x0024, the first difference is at 2
    (0x08, 4, 0, "CZSO"),     # src2 shorter: 4, 5 differ -> 0xFFCB
    (0x38, 4, 2, "CZS"),      # masked negative: 0xFFCB ^ 0xF = 0xFFC4
    (0x78, 4, 15, "CZS"),
])
def test_pcmpestri_equal_each(bed, imm, rdx, rcx, fl):
    pcmp(bed, f"pcmpestri xmm1, xmm2, {imm}", s8("abcdef"), s8("abXdeZ"),
         {"rax": 6, "rdx": rdx}, {"rcx": rcx, "rflags": flags(fl)})


def test_pcmpistri_equal_ordered_finds_a_substring(bed):
    pcmp(bed, "pcmpistri xmm1, xmm2, 0x0C", s8("lo"), HELLO, {},
         {"rcx": 3, "rflags": flags("CZS")})


def test_pcmpestri_equal_ordered_partial_match_at_the_end(bed):
    # the needle's tail past element 15 is not compared: "ab" matches at 15
    pcmp(bed, "pcmpestri xmm1, xmm2, 0x0C", s8("ab"), s8("x" * 15 + "a"),
         {"rax": 2, "rdx": 16}, {"rcx": 15, "rflags": flags("CS")})


def test_pcmpestrm_equal_ordered_empty_needle_matches_everywhere(bed):
    pcmp(bed, "pcmpestrm xmm1, xmm2, 0x0C", s8("ab"), HELLO, {"rax": 0, "rdx": 11},
         {"rflags": flags("CZSO")})
    assert xmm(bed, 0) == 0xFFFF


@pytest.mark.parametrize("text, imm, rcx", [
    ("pcmpestri", 0x01, 1), ("pcmpestri", 0x41, 4),     # equal any, unsigned words: 0x16
    ("pcmpestri", 0x11, 0),                             # negative: 0xE9
])
def test_pcmpestri_words(bed, text, imm, rcx):
    fl = "CZS" + ("O" if imm & 0x10 else "")
    pcmp(bed, f"{text} xmm1, xmm2, {imm}", w(0x1234, 0xFFFF), w(0, 0xFFFF, 0x1234, 5, 0x1234),
         {"rax": 2, "rdx": 5}, {"rcx": rcx, "rflags": flags(fl)})


def test_pcmpestrm_word_mask(bed):
    pcmp(bed, "pcmpestrm xmm1, xmm2, 0x41", w(0x1234, 0xFFFF), w(0, 0xFFFF, 0x1234, 5, 0x1234),
         {"rax": 2, "rdx": 5}, {"rflags": flags("CZS")})
    assert xmm(bed, 0) == w(0, -1, -1, 0, -1)


@pytest.mark.parametrize("imm, rcx, fl", [
    (0x07, 1, "CZS"),         # signed words: -100 <= x <= 100 for -100, 0, 100
    (0x05, 8, "ZS"),          # unsigned: 0xFF9C <= x <= 0x0064 is empty
])
def test_pcmpestri_ranges_words(bed, imm, rcx, fl):
    pcmp(bed, f"pcmpestri xmm1, xmm2, {imm}", w(-100, 100), w(-101, -100, 0, 100, 101, -0x8000),
         {"rax": 2, "rdx": 6}, {"rcx": rcx, "rflags": flags(fl)})


def test_pcmpistri_word_null_ends_the_string(bed):
    # src1 "ab" in words; src2 words 'b', 0, 'a': the 'a' after the null is invalid
    pcmp(bed, "pcmpistri xmm1, xmm2, 0x41", w(ord("a"), ord("b")), w(ord("b"), 0, ord("a")),
         {}, {"rcx": 0, "rflags": flags("CZSO")})


@pytest.mark.parametrize("text, rax, rdx, fl", [
    ("pcmpestri", -20, 0x80000000, "O"),      # |-20| and |-2**31| saturate to 16
    ("pcmpestri", 0xFFFFFFFF, 16, "SO"),      # EAX = -1: length 1
    ("pcmpestriq", 0xFFFFFFFF, 16, "O"),      # RAX = 2**32 - 1: saturated
    ("pcmpestriq", -1, 2**63, "SO"),          # RAX = -1, |RDX| is huge
    ("pcmpestri", 3, 0x1_0000_0001, "SZO"),   # EDX = 1 (the upper half is ignored)
])
def test_pcmpestri_lengths_saturate(bed, text, rax, rdx, fl):
    # equal each of two equal strings: IntRes2[0] = 1, so CF and OF are set, index 0
    pcmp(bed, f"{text} xmm1, xmm2, 0x08", s8("abcdefghijklmnop"), s8("abcdefghijklmnop"),
         {"rax": rax & (2**64 - 1), "rdx": rdx}, {"rcx": 0, "rflags": flags("C" + fl)})


def test_pcmpistri_index_zero_extends_into_rcx_and_m128_may_be_misaligned(bed):
    bed.write(DATA + 3, b"hello world\0")
    set_xmm(bed, 1, s8("w"))
    run_case(bed, "pcmpistri xmm1, [rdi], 0", {"rdi": DATA + 3, "rcx": -1},
             {"rcx": 6, "rflags": flags("CZS")})


def test_pcmpestrm64_writes_xmm0_only(bed):
    set_xmm(bed, 3, s8("aeiou"))
    set_xmm(bed, 4, HELLO)
    run_case(bed, "pcmpestrmq xmm3, xmm4, 0", {"rax": 5, "rdx": 11},
             {"rflags": flags("CZS")})
    assert xmm(bed, 0) == 0x92
    assert xmm(bed, 3) == s8("aeiou")


@pytest.mark.parametrize("text", ["pcmpistri xmm0, xmm1, 0", "pcmpestrm xmm0, xmm1, 0"])
def test_pcmpstr_faults(bed, text):
    bed.env[CR0] |= 0x8
    bed.cpu.update_hflags()
    bed.run(text)
    assert bed.exception_vector() == 7
    bed.env[CR0] &= ~0x8
    bed.env[CR4] &= ~0x200
    bed.cpu.update_hflags()
    bed.io_log.clear()
    bed.run(text)
    assert bed.exception_vector() == 6
