"""SSE4.2, the implemented part (CRC32, PCMPGTQ), through the translator on both TCG
backends. CRC32 values: the CRC-32C check value of "123456789" (0xE3069283, with the
customary initial and final inversion done by the program) and one-byte steps worked
out from the polynomial; PCMPGTQ compares signed quadwords.
"""

import pytest

from checks import flags, run_case
from harness import DATA
from simd import xmm, set_xmm

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
