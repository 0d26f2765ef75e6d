"""Bit-field machinery and the HPTE/SLB layouts against the spec's mask tables."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qemu_py.target.ppc.bitfield import BitLayout, Field, ibm_mask
from qemu_py.target.ppc.hpte import (
    HPTE64_V_COMPARE_MASK,
    PTE0,
    PTE1,
    hpte_compare,
    hpte_new_to_old,
    hpte_old_to_new,
    pp_bits,
    storage_key,
)
from qemu_py.target.ppc.slb import SLB_ESID, SLB_VSID

u64 = st.integers(0, (1 << 64) - 1)


def test_ibm_mask_numbers_bits_from_the_msb():
    assert ibm_mask(0) == 0x8000000000000000
    assert ibm_mask(63) == 0x1
    assert ibm_mask(2, 56) == 0x3FFFFFFFFFFFFF80


def test_ibm_mask_rejects_a_reversed_range():
    with pytest.raises(ValueError, match="bad IBM bit range 5:3"):
        ibm_mask(5, 3)


@pytest.mark.parametrize(
    "layout,name,mask,bits",
    [
        (PTE0, "B", 0xC000000000000000, "0:1"),
        (PTE0, "AVPN", 0x3FFFFFFFFFFFFF80, "2:56"),
        (PTE0, "SW", 0x78, "57:60"),
        (PTE0, "L", 0x4, "61"),
        (PTE0, "H", 0x2, "62"),
        (PTE0, "V", 0x1, "63"),
        (PTE1, "PP0", 0x8000000000000000, "0"),
        (PTE1, "TS", 0x4000000000000000, "1"),
        (PTE1, "KEY_HI", 0x3000000000000000, "2:3"),
        (PTE1, "RPN", 0x0FFFFFFFFFFFF000, "4:51"),
        (PTE1, "KEY_LO", 0xE00, "52:54"),
        (PTE1, "R", 0x100, "55"),
        (PTE1, "C", 0x80, "56"),
        (PTE1, "W", 0x40, "57"),
        (PTE1, "I", 0x20, "58"),
        (PTE1, "M", 0x10, "59"),
        (PTE1, "G", 0x08, "60"),
        (PTE1, "N", 0x4, "61"),
        (PTE1, "PP", 0x3, "62:63"),
        (SLB_ESID, "ESID", 0xFFFFFFFFF0000000, "0:35"),
        (SLB_ESID, "V", 0x0000000008000000, "36"),
        (SLB_VSID, "B", 0xC000000000000000, "0:1"),
        (SLB_VSID, "VSID", 0x3FFFFFFFFFFFF000, "2:51"),
        (SLB_VSID, "Ks", 0x800, "52"),
        (SLB_VSID, "Kp", 0x400, "53"),
        (SLB_VSID, "N", 0x200, "54"),
        (SLB_VSID, "L", 0x100, "55"),
        (SLB_VSID, "C", 0x80, "56"),
        (SLB_VSID, "LP", 0x30, "58:59"),
    ],
)
def test_layout_masks_match_the_spec(layout, name, mask, bits):
    assert layout[name].mask == mask
    assert layout[name].ibm_bits == bits


def test_hpte_layouts_cover_every_bit():
    assert PTE0.undefined_bits((1 << 64) - 1) == 0
    assert PTE1.undefined_bits((1 << 64) - 1) == 0


def test_overlapping_fields_are_refused():
    with pytest.raises(ValueError, match="field b overlaps"):
        BitLayout("x", [Field("a", 0xF0), Field("b", 0x18)])


def test_field_put_names_the_field_when_the_value_does_not_fit():
    with pytest.raises(ValueError, match=r"value 0x4 does not fit field PP \(0x3\)"):
        PTE1["PP"].put(0, 4)


@given(u64)
def test_decode_encode_round_trip(word):
    assert PTE0.encode(**PTE0.decode(word)) == word
    assert PTE1.encode(**PTE1.decode(word)) == word


def test_describe_lists_nonzero_fields():
    assert PTE0.describe(0x123456041) == "pte0{AVPN=0x2468ac0,SW=0x8,V=0x1}"


def test_compare_mask_checks_b_avpn_h_v_but_not_l_or_software_bits():
    assert HPTE64_V_COMPARE_MASK == 0xFFFFFFFFFFFFFF83
    assert hpte_compare(0x55AA005 | 0x78, 0x55AA001)
    assert not hpte_compare(0x55AA003, 0x55AA001)  # H differs
    assert not hpte_compare(0x55AA000, 0x55AA001)  # V differs
    assert not hpte_compare(0x4000000055AA001, 0x55AA001)  # B differs


def test_storage_key_joins_key_hi_and_key_lo():
    assert storage_key(0x3000000000000000) == 0x18
    assert storage_key(0xE00) == 0x7
    assert storage_key(0x3000000000000E00) == 31
    assert storage_key(0x1000000000000200) == 0x9


def test_pp_bits_put_pp0_on_top():
    assert pp_bits(0x8000000000000002) == 6
    assert pp_bits(0x3) == 3


def test_isa300_conversion_moves_b_between_dwords():
    new0, new1 = hpte_old_to_new(0x4000001234000001, 0x9012)
    assert (new0, new1) == (0x0000001234000001, 0x0400000000009012)
    assert hpte_new_to_old(new0, new1) == (0x4000001234000001, 0x9012)


@given(st.integers(0, 3), st.integers(0, (1 << 52) - 1), u64)
def test_isa300_conversion_round_trips_representable_entries(b, low, pte1):
    pte0 = (b << 62) | low
    pte1 &= ~0x0C00000000000000
    assert hpte_new_to_old(*hpte_old_to_new(pte0, pte1)) == (pte0, pte1)
