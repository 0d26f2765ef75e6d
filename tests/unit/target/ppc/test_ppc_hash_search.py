"""Hash functions and PTEG search (spec 3.5), checked against the 3.7 vectors."""

import pytest
from ppc_hpt_testlib import BACKENDS, VECTORS, make_backend

from qemu_py.target.ppc.hash_lookup import hash_key, htab_lookup, pteg_index
from qemu_py.target.ppc.mmu_models import MMU_POWER9

MASK = 0x7FFF
SPS = {s.page_shift: s for s in MMU_POWER9.sps}


@pytest.mark.parametrize(
    "v,hash_value,ptem",
    [
        (VECTORS[0], 0x123455, 0x123456001),
        (VECTORS[1], 0x123451, 0x123456001),
        (VECTORS[2], 0x55A8, 0x55AA001),
        (VECTORS[3], 0x1234 ^ (0x1234 << 25) ^ 9, 0x4000001234000001),
    ],
    ids=lambda x: getattr(x, "name", None),
)
def test_hash_and_ptem_of_the_vectors(v, hash_value, ptem):
    shift = 16 if v.slbv & 0x110 == 0x110 else 12
    key = hash_key(v.slbv, v.ea, shift)
    assert key.hash == hash_value
    assert key.ptem == ptem


def test_vector_pteg_numbers():
    assert pteg_index(0x123455, MASK) == 0x1A2A8  # PTEG 0x3455
    assert pteg_index(~0x123451, MASK) == 0x4BAE * 8  # secondary PTEG 0x4BAE
    assert pteg_index(0x55A8, MASK) == 0x2AD40
    assert pteg_index(0x1234 ^ (0x1234 << 25) ^ 9, MASK) == 0x91E8


@pytest.mark.parametrize("kind", BACKENDS)
def test_secondary_search_sets_h_in_the_key(kind):
    backend, _ = make_backend(kind, 22)
    backend.write_hpte(0x25D73, 0x123456041, 0x6012)  # H clear: must not match secondary
    assert htab_lookup(backend, 0x123456000, SPS[12], 0x10007000) is None
    backend.write_hpte(0x25D73, 0x123456043, 0x6012)
    found = htab_lookup(backend, 0x123456000, SPS[12], 0x10007000)
    assert (found.ptex, found.page_shift) == (0x25D73, 12)


@pytest.mark.parametrize("kind", BACKENDS)
def test_first_matching_slot_wins_and_bad_page_size_is_skipped(kind):
    backend, _ = make_backend(kind, 22)
    # slot 1 matches the compare but is a 64K-in-64K-segment large page: in a
    # 4K segment its size does not decode, so the search skips it
    backend.write_hpte(0x1A2A9, 0x123456045, 0x71010)
    backend.write_hpte(0x1A2AB, 0x123456041, 0x8012)
    backend.write_hpte(0x1A2AE, 0x123456041, 0x9012)
    found = htab_lookup(backend, 0x123456000, SPS[12], 0x10003000)
    assert found.ptex == 0x1A2AB
    assert found.pte1 == 0x8012


@pytest.mark.parametrize("kind", BACKENDS)
def test_primary_wins_over_secondary(kind):
    backend, _ = make_backend(kind, 22)
    backend.write_hpte(0x25D70, 0x123456043, 0x6012)  # secondary of 0x10007000
    backend.write_hpte(0x1A288, 0x123456041, 0x7012)  # primary PTEG 0x3451
    found = htab_lookup(backend, 0x123456000, SPS[12], 0x10007000)
    assert found.ptex == 0x1A288


def test_avpn_bits_of_the_epn_enter_ptem_for_256m_segments():
    key = hash_key(0x123456000, 0x0FFF0000, 12)
    assert key.ptem == 0x123456000 | (0xFFF0000 >> 16) & 0x3FFFFFFFFFFFFF80 | 1
    assert key.ptem & 0xF80 == 0xF80
