"""SLB store/lookup rules and the MPSS page-size decoders (spec 3.3, 3.4)."""

import pytest

from qemu_py.target.ppc.mmu_models import (
    MMU_970,
    MMU_POWER7,
    MMU_POWER9,
    hpte_page_shift,
    hpte_page_shift_noslb,
)
from qemu_py.target.ppc.slb import Slb, SlbStoreError


def test_slbmte_stores_the_esid_word_without_the_slot_bits():
    slb = Slb()
    entry = slb.slbmte(0x123456000, 0x18000000 | 5)
    assert entry.esid == 0x18000000
    assert slb.entries[5] is entry
    assert entry.sps.page_shift == 12


@pytest.mark.parametrize(
    "model,rs,rb,message",
    [
        (MMU_POWER9, 0, 0x18000000 | 32, "slot 32 out of range (SLB has 32 entries)"),
        (MMU_970, 0, 0x18000000 | 64, "slot 64 out of range (SLB has 64 entries)"),
        (MMU_POWER9, 0, 0x18001000, "reserved bits set in ESID word 0x18001000"),
        (MMU_POWER9, 0x8000000000000000, 0x18000000, "reserved segment size B=1x"),
        (
            MMU_970,
            0x4000000000000000,
            0x18000000,
            "1T segment in VSID word 0x4000000000000000 on the 970",
        ),
        (MMU_POWER9, 0x130, 0x18000000, "unknown L|LP page size encoding in VSID word 0x130"),
        (MMU_970, 0x110, 0x18000000, "unknown L|LP page size encoding in VSID word 0x110"),
    ],
)
def test_slbmte_refuses_what_qemu_refuses(model, rs, rb, message):
    slb = Slb(model)
    with pytest.raises(
        SlbStoreError, match=message.replace("|", r"\|").replace("(", r"\(").replace(")", r"\)")
    ):
        slb.slbmte(rs, rb)


@pytest.mark.parametrize("llp,shift", [(0x000, 12), (0x110, 16), (0x100, 24), (0x120, 34)])
def test_base_page_size_from_l_lp(llp, shift):
    assert Slb().slbmte(0x1000 | llp, 0x8000000).sps.page_shift == shift


def test_970_slb_has_64_slots_and_power7_32():
    assert len(Slb(MMU_970).entries) == 64
    assert len(Slb(MMU_POWER7).entries) == 32


def test_lookup_256m_and_1t_segments():
    slb = Slb()
    s256 = slb.slbmte(0x123456000, 0x18000000 | 0)
    s1t = slb.slbmte(0x4000001234000000, 0x20008000000 | 1)
    assert slb.lookup(0x10003000) is s256
    assert slb.lookup(0x1FFFFFFF) is s256
    assert slb.lookup(0x20000000) is None
    assert slb.lookup(0x20000009000) is s1t
    assert slb.lookup(0x2FFFFFFFFFF) is s1t
    assert slb.lookup(0x30000000000) is None


def test_a_256m_entry_does_not_match_with_1t_semantics():
    slb = Slb()
    slb.slbmte(0x0, 0x20008000000)  # ESID of a 1T segment, but B=00
    assert slb.lookup(0x20000009000) is not None  # inside the 256M segment at 0x200_0000_0000
    assert slb.lookup(0x20010009000) is None  # inside the 1T segment, outside the 256M one


def test_first_matching_slot_wins():
    slb = Slb()
    slb.slbmte(0x111000, 0x18000000 | 3)
    first = slb.slbmte(0x222000, 0x18000000 | 1)
    assert slb.lookup(0x10000000) is first


def test_load_kvm_sregs_stores_only_valid_entries():
    slb = Slb()
    slb.slbmte(0x999000, 0x48000000 | 7)
    slb.load_kvm_sregs([(0x18000000 | 2, 0x123456000), (0x10000000 | 3, 0x777000)])
    assert slb.entries[2].vsid == 0x123456000
    assert not slb.entries[3].valid
    assert slb.lookup(0x40000000) is None


P7 = {sps.page_shift: sps for sps in MMU_POWER7.sps}


@pytest.mark.parametrize(
    "seg,pte0,pte1,shift",
    [
        (12, 0x1, 0x5012, 12),  # L=0 in a 4K segment
        (16, 0x1, 0x5012, 0),  # L=0 in a 64K segment does not match
        (16, 0x5, 0x71012, 16),  # spec: 64K in 64K needs pte1 & 0xF000 == 0x1000
        (16, 0x5, 0x72000, 0),
        (16, 0x5, 0x1008000, 24),  # 16M in a 64K segment: enc 0x8
        (12, 0x5, 0x77000, 16),  # 64K in a 4K segment: enc 0x7
        (12, 0x5, 0x1038000, 24),  # 16M in a 4K segment: enc 0x38
        (12, 0x5, 0x1000000, 0),  # enc 0 is not allowed in a 4K segment
        (24, 0x5, 0x1000000, 24),
        (24, 0x5, 0x1001000, 0),
        (34, 0x5, 0x400003000, 34),  # 16G: enc 0x3
    ],
)
def test_hpte_page_shift(seg, pte0, pte1, shift):
    assert hpte_page_shift(P7[seg], pte0, pte1) == shift


@pytest.mark.parametrize(
    "pte0,pte1,shift",
    [
        (0x1, 0xFFF000, 12),
        (0x5, 0x77000, 16),
        (0x5, 0x71000, 16),
        (0x5, 0x1008000, 24),
        (0x5, 0x2000000, 24),
        (0x5, 0x400003000, 34),
        (0x5, 0x72000, 0),
    ],
)
def test_hpte_page_shift_noslb_tries_each_segment_size(pte0, pte1, shift):
    assert hpte_page_shift_noslb(MMU_POWER9, pte0, pte1) == shift


def test_970_knows_only_4k_and_16m():
    assert hpte_page_shift_noslb(MMU_970, 0x5, 0x71000) == 0
    assert hpte_page_shift_noslb(MMU_970, 0x5, 0x2000000) == 24
