"""The simulated kernel's HTAB write algorithm (spec 1.6)."""

import errno

import pytest
from ppc_hpt_testlib import spec17_kvm, spec17_words

from qemu_py.target.ppc.kvm_htab_abi import KVM_GET_HTAB_WRITE, HtabHeader, pack_hpte
from qemu_py.target.ppc.kvm_htab_sim import HPTE_GR_MODIFIED, KvmHtabSim, kvm_hpte_page_shifts


def hdr(index, n_valid, n_invalid, order="little"):
    return HtabHeader(index, n_valid, n_invalid).pack(order)


def write(kvm, data):
    with kvm.get_htab_fd(KVM_GET_HTAB_WRITE, 12345) as fd:
        return fd.write(data)


def errno_of(kvm, data):
    with pytest.raises(OSError) as e:
        write(kvm, data)
    return e.value.errno


def test_one_valid_record_replaces_an_entry():
    kvm = spec17_kvm()
    assert write(kvm, hdr(3, 1, 0) + pack_hpte(0x7781, 0x9010)) == 24
    assert kvm.guest_view(3) == (0x77C1, 0x9010)
    assert kvm.hw_v[3] == 0x7781


def test_invalid_records_remove_entries():
    kvm = spec17_kvm()
    assert write(kvm, hdr(8, 0, 4)) == 8
    assert [kvm.guest_view(i) for i in range(8, 12)] == [(0, 0)] * 4
    assert kvm.guest_view(12) != (0, 0)


def test_several_records_in_one_write_and_start_index_is_ignored():
    kvm = KvmHtabSim(8)
    data = (
        hdr(0, 2, 1)
        + pack_hpte(0x81, 0x10)
        + pack_hpte(0x101, 0x1010)
        + hdr(10, 1, 0)
        + pack_hpte(0x501, 0x10)
    )
    assert write(kvm, data) == len(data)
    assert [kvm.guest_view(i)[0] for i in (0, 1, 2, 10)] == [0xC1, 0x141, 0, 0x541]


def test_writes_fail_with_ebusy_while_vcpus_run():
    kvm = spec17_kvm()
    kvm.vcpus_running = 2
    assert errno_of(kvm, hdr(3, 1, 0) + pack_hpte(0x7781, 0x9010)) == errno.EBUSY
    assert kvm.guest_view(3)[0] == spec17_words(3)[0] | 0x40
    assert kvm.mmu_ready


def test_before_mmu_setup_a_running_count_does_not_block_writes():
    kvm = spec17_kvm()
    kvm.mmu_ready = False
    kvm.vcpus_running = 1
    assert write(kvm, hdr(3, 1, 0) + pack_hpte(0x7781, 0x9010)) == 24


@pytest.mark.parametrize(
    "data",
    [
        hdr(16, 0, 1),  # index >= npte
        hdr(15, 1, 1) + pack_hpte(0x81, 0x10),  # runs past the end
        hdr(0, 0, 17),
    ],
)
def test_bad_index_or_range_is_einval(data):
    assert errno_of(spec17_kvm(), data) == errno.EINVAL


def test_valid_entry_without_v_is_einval_and_the_old_entry_stays():
    kvm = spec17_kvm()
    assert errno_of(kvm, hdr(3, 1, 0) + pack_hpte(0x7780, 0x9010)) == errno.EINVAL
    assert kvm.guest_view(3) == (spec17_words(3)[0] | 0x40, spec17_words(3)[1])


def test_undecodable_page_size_is_einval():
    assert kvm_hpte_page_shifts(0x5, 0x2000) == 0
    assert errno_of(spec17_kvm(), hdr(3, 1, 0) + pack_hpte(0x7785, 0x2000)) == errno.EINVAL


def test_earlier_records_stay_applied_when_a_later_one_fails():
    kvm = spec17_kvm()
    data = hdr(1, 1, 0) + pack_hpte(0x1081, 0x10) + hdr(99, 0, 1)
    assert errno_of(kvm, data) == errno.EINVAL
    assert kvm.guest_view(1)[0] == 0x10C1


def test_data_beyond_count_stops_processing_and_returns_bytes_consumed():
    kvm = KvmHtabSim(8)
    data = hdr(0, 1, 0) + pack_hpte(0x81, 0x10) + hdr(1, 2, 0) + pack_hpte(0x101, 0x10)
    # second record claims 2 HPTEs (nb 24 + 32 > 48 bytes): stop after the first
    assert write(kvm, data) == 24
    assert kvm.guest_view(1) == (0, 0)


def test_kernel_size_check_does_not_count_the_header():
    """nb + n_valid*16 <= count passes although the data ends 8 bytes past count:
    the kernel would read user memory beyond the buffer; there is none here."""
    kvm = KvmHtabSim(8)
    data = hdr(0, 1, 0) + pack_hpte(0x81, 0x10)[:8]
    assert errno_of(kvm, data) == errno.EFAULT


def test_a_trailing_partial_header_is_ignored():
    kvm = KvmHtabSim(8)
    assert write(kvm, hdr(0, 1, 0) + pack_hpte(0x81, 0x10) + b"\x01\x02\x03") == 24


def test_kernel_h_enter_failure_is_eio():
    kvm = KvmHtabSim(8, reject_reserved_segment_size=True)
    assert errno_of(kvm, hdr(2, 1, 0) + pack_hpte(0x8000000000000081, 0x10)) == errno.EIO


def test_emulated_mmio_is_stored_absent_with_key_31_but_reads_back_as_written():
    kvm = KvmHtabSim(8, is_ram=lambda gpa: gpa < 0x10000000)
    write(kvm, hdr(4, 1, 0) + pack_hpte(0x81, 0x10000000 | 0x22))
    assert kvm.hw_v[4] == 0xA0  # ABSENT, no V
    assert kvm.hw_r[4] == 0x3000000010000E22  # key 31 in the hardware copy
    assert kvm.guest_view(4) == (0xC1, 0x10000022)


def test_hvlock_absent_and_modified_bits_of_the_written_words_are_dropped():
    kvm = KvmHtabSim(8)
    write(kvm, hdr(0, 1, 0) + pack_hpte(0xF9, 0x10 | HPTE_GR_MODIFIED))
    assert kvm.hw_v[0] == 0x99
    assert kvm.guest_view(0) == (0xD9, 0x10)


def test_vrma_hpte_before_setup_derives_the_vrma_slb():
    kvm = KvmHtabSim(18)
    kvm.mmu_ready = False
    vrma_v = 0x4000000000000000 | (0x1FFFFFF << 24) | 0x5  # 1T, VRMA VSID, L
    write(kvm, hdr(0, 1, 0) + pack_hpte(vrma_v, 0x1010))  # 64K page
    assert kvm.mmu_ready
    assert kvm.vrma_slb_v == 0x110 | 0x4000000000000000 | (0x1FFFFFF << 24)


def test_allocate_htab_enforces_the_kernel_range_and_clears_the_table():
    kvm = spec17_kvm()
    for order in (17, 47):
        with pytest.raises(OSError) as e:
            kvm.allocate_htab(order)
        assert e.value.errno == errno.EINVAL
    assert kvm.allocate_htab(18) == 18
    assert kvm.npte == 1 << 14 and kvm.guest_view(0) == (0, 0)
    kvm.vcpus_running = 1
    with pytest.raises(OSError) as e:
        kvm.allocate_htab(18)
    assert e.value.errno == errno.EBUSY


def test_radix_guest_write_is_einval():
    kvm = spec17_kvm()
    kvm.radix = True
    assert errno_of(kvm, hdr(0, 0, 1)) == errno.EINVAL


@pytest.mark.parametrize(
    "v,r,shifts",
    [
        (0x1, 0, 12),
        (0x5, 0x0000, 24),
        (0x5, 0x1000, 16),
        (0x5, 0x3000, 34),
        (0x5, 0x7000, (16 << 8) + 12),
        (0x5, 0x8000, (24 << 8) + 16),
        (0x5, 0x38000, (24 << 8) + 12),
        (0x5, 0x18000, 0),
        (0x5, 0x10000, 0),
    ],
)
def test_kernel_page_size_decoder(v, r, shifts):
    assert kvm_hpte_page_shifts(v, r) == shifts
