"""pseries HPT sizing and backend construction (spec 3.2)."""

import pytest
from spapr_testlib import make_machine

from qemu_py.hw.ppc.spapr_hpt import (
    create_spapr_hpt,
    dirty_htab_image,
    hpt_mask_for_shift,
    pft_size_property,
    pow2ceil,
    spapr_hpt_shift_for_ramsize,
    validate_htab_shift,
)
from qemu_py.target.ppc.hpt_backend import MemoryHPT
from qemu_py.target.ppc.kvm_hptes import KvmSimHPT
from qemu_py.target.ppc.kvm_htab_sim import KvmHtabSim

MiB, GiB, TiB = 1 << 20, 1 << 30, 1 << 40


@pytest.mark.parametrize(
    "ram,shift",
    [
        (512 * MiB, 22),  # observed: 4 MiB table, mask 0x7FFF
        (768 * MiB, 23),  # rounded up to 1 GiB
        (1 * GiB, 23),
        (1 * GiB + 1, 24),
        (32 * MiB, 18),  # 1/128 would be 256 KiB: exactly the minimum
        (16 * MiB, 18),  # clamped up
        (0, 18),
        (1, 18),
        (8 * 1024 * TiB, 46),  # 2^53 / 128 = 2^46
        (16 * 1024 * TiB, 46),  # clamped down
    ],
)
def test_default_shift_is_one_128th_of_ram_clamped(ram, shift):
    assert spapr_hpt_shift_for_ramsize(ram) == shift


def test_pow2ceil():
    assert [pow2ceil(x) for x in (0, 1, 2, 3, 4, 5)] == [1, 1, 2, 4, 4, 8]


def test_negative_ram_size_is_rejected():
    with pytest.raises(ValueError, match="ram_size=-1 is negative"):
        spapr_hpt_shift_for_ramsize(-1)


def test_mask_and_pft_size_for_512m():
    assert hpt_mask_for_shift(22) == 0x7FFF
    assert pft_size_property(22) == (0, 22)


@pytest.mark.parametrize(
    "bad,error,message",
    [
        (17, ValueError, "htab-shift=17: must be between 18 and 46"),
        (47, ValueError, "htab-shift=47: must be between 18 and 46"),
        ("20", TypeError, "htab-shift='20': expected an integer"),
        (True, TypeError, "htab-shift=True: expected an integer"),
    ],
)
def test_explicit_htab_shift_is_validated(bad, error, message):
    with pytest.raises(error, match=message):
        validate_htab_shift(bad)


def test_explicit_htab_shift_overrides_the_ram_rule():
    hpt, _ = make_machine("memory", htab_shift=19)
    assert (hpt.htab_shift, hpt.hpt_mask, hpt.backend.npte) == (19, 0xFFF, 0x8000)


def test_unknown_backend_is_named():
    with pytest.raises(ValueError, match="hpt-backend='tcg': expected one of memory, kvm-sim"):
        create_spapr_hpt("tcg", ram_size=512 * MiB)


def test_memory_backend_starts_with_qemus_dirty_bit_in_every_entry():
    hpt, _ = make_machine("memory")
    assert isinstance(hpt.backend, MemoryHPT)
    assert hpt.backend.read_hptes(0, 2) == [(0x40, 0), (0x40, 0)]
    assert hpt.backend.read_hptes(hpt.backend.npte - 1, 1) == [(0x40, 0)]
    assert dirty_htab_image(18)[:16] == bytes.fromhex("0000000000000040" + "00" * 8)


def test_kvm_sim_backend_is_allocated_by_the_kernel_model():
    hpt, _ = make_machine("kvm-sim")
    assert isinstance(hpt.backend, KvmSimHPT)
    assert hpt.kvm.order == 22 and hpt.kvm.npte == 0x40000
    assert hpt.backend.read_hptes(0, 1) == [(0, 0)]


def test_kvm_allocating_another_order_is_an_error():
    class OddKernel(KvmHtabSim):
        def allocate_htab(self, order):
            super().allocate_htab(order)
            return order + 1

    with pytest.raises(ValueError, match="Requested order 22 HPT, but kernel allocated order 23"):
        create_spapr_hpt("kvm-sim", ram_size=512 * MiB, kvm=OddKernel(18))


def test_kvm_sim_marks_addresses_beyond_ram_as_emulated_mmio():
    hpt, hcalls = make_machine("kvm-sim", ram_size=256 * MiB)
    hcalls.hcall(0x08, [0, 0x100, 0x81, 0x10000020])  # I/O page, WIMG = I
    assert hpt.kvm.hw_v[0x100] & 0x20  # stored ABSENT
    assert hpt.backend.read_hptes(0x100, 1) == [(0xC1, 0x10000020)]
