"""Hashed page table entry (HPTE) layout, pre-ISA-3.0 ("old") format.

An HPTE is 16 bytes: dword0 (``pte0``, "V") and dword1 (``pte1``, "R"), both
stored big-endian.  The layouts below are the single declaration of every mask
(spec ppc_hpt.md section 3.1); the module-level constants are taken from them.

pte0 software bits (0x78) have three users that disagree:
``0x10`` BOLTED (Linux and KVM), ``0x20`` ABSENT and ``0x40`` HVLOCK (KVM,
in the host's copy), and ``0x40`` "HPTE dirty" (QEMU's spapr migration
tracking, stored by every QEMU hypercall).  QEMU's compare mask ignores them.

The ISA 3.0 (POWER9) hardware format moves B from dword0 to dword1; the two
conversion functions at the end implement the formulas of section 3.1.  A
pseries (virtual hypervisor) HPT and the KVM HTAB stream are always in the old
format, so the MMU code here never converts.
"""

from __future__ import annotations

from .bitfield import BitLayout, Field, ibm_mask

HPTE_SIZE = 16
HPTES_PER_GROUP = 8
PTEG_SIZE = HPTE_SIZE * HPTES_PER_GROUP

PTE0 = BitLayout(
    "pte0",
    [
        Field("B", ibm_mask(0, 1), "segment size: 00 = 256M, 01 = 1T, 1x reserved"),
        Field("AVPN", ibm_mask(2, 56), "abbreviated virtual page number"),
        Field("SW", ibm_mask(57, 60), "software bits (bolted, absent, lock/dirty)"),
        Field("L", ibm_mask(61), "large page: size encoded in pte1's low RPN bits"),
        Field("H", ibm_mask(62), "entry lives in the secondary PTEG"),
        Field("V", ibm_mask(63), "valid"),
    ],
)

PTE1 = BitLayout(
    "pte1",
    [
        Field("PP0", ibm_mask(0), "page protection, high bit"),
        Field("TS", ibm_mask(1), "tag set (KVM reuses this bit as HPTE_GR_MODIFIED)"),
        Field("KEY_HI", ibm_mask(2, 3), "storage key, bits 0:1"),
        Field("RPN", ibm_mask(4, 51), "real page number plus LP encoding"),
        Field("KEY_LO", ibm_mask(52, 54), "storage key, bits 2:4"),
        Field("R", ibm_mask(55), "referenced"),
        Field("C", ibm_mask(56), "changed"),
        Field("W", ibm_mask(57), "write-through"),
        Field("I", ibm_mask(58), "caching inhibited"),
        Field("M", ibm_mask(59), "memory coherence"),
        Field("G", ibm_mask(60), "guarded"),
        Field("N", ibm_mask(61), "no-execute"),
        Field("PP", ibm_mask(62, 63), "page protection, low bits"),
    ],
)

# pte0
HPTE64_V_SSIZE = PTE0["B"].mask  # 0xC000000000000000
HPTE64_V_SSIZE_256M = 0x0000000000000000
HPTE64_V_SSIZE_1T = 0x4000000000000000
HPTE64_V_AVPN = PTE0["AVPN"].mask  # 0x3FFFFFFFFFFFFF80
HPTE64_V_SW = PTE0["SW"].mask  # 0x78
HPTE64_V_LARGE = PTE0["L"].mask  # 0x4
HPTE64_V_SECONDARY = PTE0["H"].mask  # 0x2
HPTE64_V_VALID = PTE0["V"].mask  # 0x1
HPTE64_V_BOLTED = 0x10  # software convention (Linux, KVM)
HPTE_V_ABSENT = 0x20  # KVM host copy only
HPTE_V_HVLOCK = 0x40  # KVM host copy only
HPTE64_V_HPTE_DIRTY = 0x40  # QEMU spapr migration tracking

#: ``HPTE64_V_COMPARE``: B, AVPN, H and V must match; L and SW are ignored.
HPTE64_V_COMPARE_MASK = 0xFFFFFFFFFFFFFF83

# pte1
HPTE64_R_PP0 = PTE1["PP0"].mask  # 0x8000000000000000
HPTE64_R_TS = PTE1["TS"].mask  # 0x4000000000000000
HPTE64_R_KEY_HI = PTE1["KEY_HI"].mask  # 0x3000000000000000
HPTE64_R_RPN = PTE1["RPN"].mask  # 0x0FFFFFFFFFFFF000
HPTE64_R_RPN_SHIFT = 12
HPTE64_R_KEY_LO = PTE1["KEY_LO"].mask  # 0xE00
HPTE64_R_R = PTE1["R"].mask  # 0x100
HPTE64_R_C = PTE1["C"].mask  # 0x80
HPTE64_R_W = PTE1["W"].mask  # 0x40
HPTE64_R_I = PTE1["I"].mask  # 0x20
HPTE64_R_M = PTE1["M"].mask  # 0x10
HPTE64_R_G = PTE1["G"].mask  # 0x08
HPTE64_R_WIMG = HPTE64_R_W | HPTE64_R_I | HPTE64_R_M | HPTE64_R_G
HPTE64_R_N = PTE1["N"].mask  # 0x4
HPTE64_R_PP = PTE1["PP"].mask  # 0x3

# ISA 3.0 format
HPTE_V_COMMON_BITS = 0x000FFFFFFFFFFFFF
HPTE_R_3_0_SSIZE_MASK = 0x0C00000000000000
HPTE_R_3_0_SSIZE_SHIFT = 58


def hpte_compare(pte0: int, ptem: int) -> bool:
    """QEMU's ``HPTE64_V_COMPARE``: B, AVPN, H and V of ``pte0`` equal ``ptem``'s."""
    return ((pte0 ^ ptem) & HPTE64_V_COMPARE_MASK) == 0


def storage_key(pte1: int) -> int:
    """The 5-bit storage key: KEY_HI gives bits 0:1, KEY_LO bits 2:4."""
    return ((pte1 & HPTE64_R_KEY_HI) >> 57) | ((pte1 & HPTE64_R_KEY_LO) >> 9)


def pp_bits(pte1: int) -> int:
    """The 3-bit page protection ``PP0 || PP`` used by the protection tables."""
    return (pte1 & HPTE64_R_PP) | (4 if pte1 & HPTE64_R_PP0 else 0)


def hpte_new_to_old(pte0: int, pte1: int) -> tuple[int, int]:
    """ISA 3.0 (POWER9 hardware) format to the pre-3.0 format."""
    old0 = (pte0 & HPTE_V_COMMON_BITS) | ((pte1 & HPTE_R_3_0_SSIZE_MASK) << 4)
    old1 = pte1 & ~HPTE_R_3_0_SSIZE_MASK & 0xFFFFFFFFFFFFFFFF
    return old0, old1


def hpte_old_to_new(pte0: int, pte1: int) -> tuple[int, int]:
    """Pre-3.0 format to the ISA 3.0 format (B moves into dword1).

    dword0 bits above ``HPTE_V_COMMON_BITS`` other than B are not representable
    in the new format and are dropped, as the hardware format has no room for
    them.
    """
    new0 = pte0 & HPTE_V_COMMON_BITS
    new1 = (pte1 & ~HPTE_R_3_0_SSIZE_MASK & 0xFFFFFFFFFFFFFFFF) | (
        (pte0 >> 62) << HPTE_R_3_0_SSIZE_SHIFT
    )
    return new0, new1
