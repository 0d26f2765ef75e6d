"""CPUID and the SIMD extensions above SSE2: every instruction form of SSE3, SSSE3
and SSE4.1 (XMM forms; FISTTP is x87, which is opt-in) has a handler, so each
extension is complete and may be advertised; SSE4.2 is only partly implemented
(CRC32, PCMPGTQ; not the string compares) and must not be.
"""

import iced_x86
import pytest

import qemu_py.target.i386.insn_all  # noqa: F401
from qemu_py.target.i386.cpuid import cpuid
from qemu_py.target.i386.translate import HANDLERS

EXTENSION_FORMS = {
    "SSE3": (0, ["ADDSUBPS_XMM_XMMM128", "ADDSUBPD_XMM_XMMM128", "HADDPS_XMM_XMMM128",
                 "HADDPD_XMM_XMMM128", "HSUBPS_XMM_XMMM128", "HSUBPD_XMM_XMMM128",
                 "MOVSHDUP_XMM_XMMM128", "MOVSLDUP_XMM_XMMM128", "MOVDDUP_XMM_XMMM64",
                 "LDDQU_XMM_M128"]),
    "SSSE3": (9, [f"{m}_XMM_XMMM128" for m in (
        "PABSB", "PABSW", "PABSD", "PHADDW", "PHADDD", "PHADDSW", "PHSUBW", "PHSUBD",
        "PHSUBSW", "PMADDUBSW", "PMULHRSW", "PSHUFB", "PSIGNB", "PSIGNW", "PSIGND")] +
        ["PALIGNR_XMM_XMMM128_IMM8"]),
    "SSE4.1": (19, [f"{m}_XMM_XMMM128" for m in (
        "BLENDVPS", "BLENDVPD", "PBLENDVB", "PMINSB", "PMINSD", "PMAXSB", "PMAXSD", "PMINUW",
        "PMINUD", "PMAXUW", "PMAXUD", "PMULLD", "PMULDQ", "PCMPEQQ", "PACKUSDW", "PTEST",
        "PHMINPOSUW")] +
        [f"{m}_XMM_XMMM128_IMM8" for m in ("PBLENDW", "BLENDPS", "BLENDPD", "MPSADBW",
                                            "ROUNDPS", "ROUNDPD", "DPPS", "DPPD")] +
        ["ROUNDSS_XMM_XMMM32_IMM8", "ROUNDSD_XMM_XMMM64_IMM8", "INSERTPS_XMM_XMMM32_IMM8",
         "MOVNTDQA_XMM_M128", "PEXTRB_R32M8_XMM_IMM8", "PEXTRB_R64M8_XMM_IMM8",
         "PEXTRW_R32M16_XMM_IMM8", "PEXTRW_R64M16_XMM_IMM8", "PEXTRD_RM32_XMM_IMM8",
         "PEXTRQ_RM64_XMM_IMM8", "EXTRACTPS_RM32_XMM_IMM8", "EXTRACTPS_R64M32_XMM_IMM8",
         "PINSRB_XMM_R32M8_IMM8", "PINSRB_XMM_R64M8_IMM8", "PINSRD_XMM_RM32_IMM8",
         "PINSRQ_XMM_RM64_IMM8"] +
        [f"PMOV{s}{n}_XMM_XMMM{m}" for s in ("SX", "ZX") for n, m in (
            ("BW", 64), ("BD", 32), ("BQ", 16), ("WD", 64), ("WQ", 32), ("DQ", 64))]),
}
SSE42_FORMS = ["CRC32_R32_RM8", "CRC32_R64_RM8", "CRC32_R32_RM16", "CRC32_R32_RM32",
               "CRC32_R64_RM64", "PCMPGTQ_XMM_XMMM128", "PCMPESTRI_XMM_XMMM128_IMM8",
               "PCMPESTRI64_XMM_XMMM128_IMM8", "PCMPESTRM_XMM_XMMM128_IMM8",
               "PCMPESTRM64_XMM_XMMM128_IMM8", "PCMPISTRI_XMM_XMMM128_IMM8",
               "PCMPISTRM_XMM_XMMM128_IMM8"]


@pytest.mark.parametrize("ext", sorted(EXTENSION_FORMS))
def test_every_form_of_the_extension_has_a_handler(ext):
    _, forms = EXTENSION_FORMS[ext]
    missing = [f for f in forms if getattr(iced_x86.Code, f) not in HANDLERS]
    assert not missing, f"{ext}: no handler for {missing}"


def test_an_advertised_extension_is_complete():
    _, _, ecx, _ = cpuid(None, 1, 0)
    for ext, (bit, forms) in EXTENSION_FORMS.items():
        if ecx >> bit & 1:
            assert all(getattr(iced_x86.Code, f) in HANDLERS for f in forms), ext


def test_sse42_is_complete_and_advertised():
    assert all(getattr(iced_x86.Code, f) in HANDLERS for f in SSE42_FORMS)
    _, _, ecx, _ = cpuid(None, 1, 0)
    assert ecx >> 20 & 1


def test_linux_tsc_calibration_reads_1ghz_from_leaf_15_and_16():
    """Linux's PIT calibration failed ("Fast TSC calibration failed", then "Marking
    TSC unstable"): leaves 0x15/0x16 give the TSC rate, which is the virtual clock's."""
    from qemu_py.target.i386.cpuid import cpuid
    assert cpuid(None, 0, 0)[0] == 0x16
    eax, ebx, ecx, _ = cpuid(None, 0x15, 0)
    assert ecx * ebx // eax == 1_000_000_000
    assert cpuid(None, 0x16, 0)[:3] == (1000, 1000, 1000)
    assert cpuid(None, 0x17, 0) == cpuid(None, 0x16, 0)     # out of range: highest leaf


def test_tsc_counts_virtual_nanoseconds():
    from qemu_py.target.i386.cpu import X86CPU
    from qemu_py.memory import AddressSpace, MemoryRegion
    cpu = X86CPU(AddressSpace(MemoryRegion("m", 1 << 20), "mem"))
    cpu.time_ns = lambda: 2_000_000_000
    assert cpu.tsc() == 2_000_000_000                     # 1 GHz: the rate leaf 0x15 states
