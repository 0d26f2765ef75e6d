"""The simulated kernel's HTAB read algorithm (spec 1.4, 1.5) and the 1.7 examples."""

import errno

import pytest
from ppc_hpt_testlib import parse_records, records, spec17_kvm, spec17_words

from qemu_py.target.ppc.kvm_htab_abi import (
    KVM_GET_HTAB_BOLTED_ONLY,
    KVM_GET_HTAB_WRITE,
    HtabHeader,
    pack_hpte,
)
from qemu_py.target.ppc.kvm_htab_sim import HPTE_GR_MODIFIED, KvmHtabSim


def reads(kvm, start, count, times):
    fd = kvm.get_htab_fd(0, start)
    out = [records(fd.read(count)) for _ in range(times)]
    fd.close()
    return out


@pytest.mark.parametrize(
    "start,count,expected",
    [
        (0, 136, [[(0, 1, 2), (3, 2, 3), (8, 3, 0)]]),
        (8, 136, [[(8, 7, 0)], [(15, 1, 0)]]),
        (6, 72, [[(6, 0, 2), (8, 3, 0)]]),
        (1, 136, [[(1, 0, 2), (3, 2, 3), (8, 4, 0)]]),
        (3, 40, [[(3, 1, 0)], [(4, 1, 3)]]),
        (3, 24, [[], [], []]),
    ],
)
def test_spec_1_7_worked_examples(start, count, expected):
    assert reads(spec17_kvm(), start, count, len(expected)) == expected


def test_spec_1_7_byte_counts():
    fd = spec17_kvm().get_htab_fd(0, 0)
    assert len(fd.read(136)) == 120
    fd = spec17_kvm().get_htab_fd(0, 8)
    assert [len(fd.read(136)), len(fd.read(136))] == [120, 24]


@pytest.mark.parametrize("count", [0, 1, 8, 23, 24])
def test_reads_of_24_bytes_or_less_return_nothing(count):
    assert spec17_kvm().get_htab_fd(0, 8).read(count) == b""


def test_a_pteg_sized_buffer_gets_only_seven_valid_entries():
    (rec,) = parse_records(spec17_kvm().get_htab_fd(0, 8).read(8 + 16 * 8))
    assert rec[:3] == (8, 7, 0)
    assert spec17_kvm().get_htab_fd(0, 8).read(8 + 16 * 8 + 1)[:8] == HtabHeader(8, 8, 0).pack(
        "little"
    )


def test_hpte_words_are_big_endian_with_hvlock_and_guest_rpte():
    (rec,) = parse_records(spec17_kvm().get_htab_fd(0, 0).read(25))
    assert rec == (0, 1, 2, [(spec17_words(0)[0] | 0x40, spec17_words(0)[1])])


def test_report_hvlock_false_gives_the_plain_words():
    kvm = KvmHtabSim(8, report_hvlock=False)
    kvm.poke(0, 0x81, 0x10)
    assert parse_records(kvm.get_htab_fd(0, 0).read(25))[0][3] == [(0x81, 0x10)]


def test_big_endian_host_header():
    kvm = spec17_kvm("big")
    assert records(kvm.get_htab_fd(0, 0).read(136), "big") == [(0, 1, 2), (3, 2, 3), (8, 3, 0)]


def test_end_of_table_ends_the_read_then_only_dirty_entries_come_back():
    kvm = spec17_kvm()
    fd = kvm.get_htab_fd(0, 12)
    assert records(fd.read(1000)) == [(12, 4, 0)]
    assert fd.read(1000) == b""  # nothing dirty
    assert (fd.index, fd.first_pass) == (0, False)
    # modify entries 1 (new valid) and 9 (removed) through a write fd
    w = kvm.get_htab_fd(KVM_GET_HTAB_WRITE)
    w.write(
        HtabHeader(1, 1, 0).pack("little")
        + pack_hpte(0x1081, 0x1010)
        + HtabHeader(9, 0, 1).pack("little")
    )
    w.close()
    assert kvm.is_dirty(1) and kvm.is_dirty(9)
    recs = parse_records(fd.read(1000))
    assert [(i, v, n) for i, v, n, _ in recs] == [(1, 1, 0), (9, 0, 1)]
    assert recs[0][3] == [(0x10C1, 0x1010)]
    assert not kvm.is_dirty(1) and not kvm.is_dirty(9)
    assert fd.read(1000) == b""


def test_entries_before_start_index_are_not_reported_in_the_first_pass():
    fd = spec17_kvm().get_htab_fd(0, 10)
    assert records(fd.read(1000)) == [(10, 6, 0)]
    assert fd.read(1000) == b""


def test_modifications_are_tracked_only_while_a_read_fd_is_open():
    kvm = spec17_kvm()
    w = kvm.get_htab_fd(KVM_GET_HTAB_WRITE)
    w.write(HtabHeader(1, 1, 0).pack("little") + pack_hpte(0x1081, 0x1010))
    assert not kvm.is_dirty(1)
    assert kvm.hpte_mod_interest == 0
    fd = kvm.get_htab_fd(0, 0)
    assert kvm.hpte_mod_interest == 1
    w.write(HtabHeader(2, 1, 0).pack("little") + pack_hpte(0x1101, 0x2010))
    assert kvm.is_dirty(2)
    fd.close()
    fd.close()
    assert kvm.hpte_mod_interest == 0


def test_hardware_rc_bits_make_an_entry_dirty_and_are_harvested():
    kvm = spec17_kvm()
    fd = kvm.get_htab_fd(0, 0)
    fd.read(10000)
    kvm.hw_set_rc(4, 0x180)
    assert kvm.is_dirty(4)
    recs = parse_records(fd.read(1000))
    assert [(i, v, n) for i, v, n, _ in recs] == [(4, 1, 0)]
    assert recs[0][3][0][1] == spec17_words(4)[1] | 0x180
    assert kvm.guest_rpte[4] == spec17_words(4)[1] | 0x180
    assert fd.read(1000) == b""


def test_first_pass_clears_the_modified_flag_of_what_it_reports():
    kvm = spec17_kvm()
    kvm.poke(3, 0x181, 0x3010, guest_r=0x3010 | HPTE_GR_MODIFIED)
    fd = kvm.get_htab_fd(0, 0)
    (rec,) = [r for r in parse_records(fd.read(1000)) if r[0] == 3]
    assert rec[3][0] == (0x1C1, 0x3010)  # bit 62 never leaves the kernel
    assert kvm.guest_rpte[3] == 0x3010
    fd.read(1000)
    assert fd.read(1000) == b""


def test_bolted_only_reports_unbolted_entries_as_invalid():
    kvm = KvmHtabSim(8)
    kvm.poke(0, 0x91, 0x10)  # bolted
    kvm.poke(1, 0x81, 0x10)  # valid, not bolted
    kvm.poke(2, 0x10, 0x10)  # bolted bit but invalid
    kvm.poke(3, 0x11, 0x10)  # bolted
    fd = kvm.get_htab_fd(KVM_GET_HTAB_BOLTED_ONLY, 0)
    assert records(fd.read(1000)) == [(0, 1, 2), (3, 1, 12)]
    assert records(kvm.get_htab_fd(0, 0).read(1000)) == [(0, 2, 1), (3, 1, 12)]


def test_absent_entries_are_reported_valid():
    kvm = KvmHtabSim(8)
    kvm.poke(5, 0x120, 0x3E10, guest_r=0x10)  # ABSENT, hardware key 31
    recs = parse_records(kvm.get_htab_fd(0, 0).read(1000))
    assert [(i, v, n) for i, v, n, _ in recs] == [(0, 0, 5), (5, 1, 10)]
    assert recs[1][3] == [(0x141, 0x10)]  # ABSENT (0x20) shown as V, r = guest view


def test_invalid_runs_are_capped_at_0xffff():
    kvm = KvmHtabSim(21)  # 131072 HPTEs, all invalid
    fd = kvm.get_htab_fd(0, 0)
    assert records(fd.read(1000)) == [(0, 0, 0xFFFF), (0xFFFF, 0, 0xFFFF), (0x1FFFE, 0, 2)]
    assert fd.read(1000) == b""


def test_valid_runs_are_capped_at_0xffff():
    kvm = KvmHtabSim(21)
    for i in range(0x10001):
        kvm.poke(i, 0x1, 0x10)
    fd = kvm.get_htab_fd(0, 0)
    data = fd.read(8 + 16 * 0x10002 + 8 + 1)
    assert records(data)[:2] == [(0, 0xFFFF, 0), (0xFFFF, 2, 0x1FFFF - 0x10000)]


def test_start_index_past_the_end_returns_nothing():
    fd = spec17_kvm().get_htab_fd(0, 16)
    assert fd.read(1000) == b""
    assert fd.first_pass is False


def test_radix_guest_reads_nothing():
    kvm = spec17_kvm()
    kvm.radix = True
    assert kvm.get_htab_fd(0, 0).read(1000) == b""


def test_unknown_flags_are_einval():
    with pytest.raises(OSError) as e:
        spec17_kvm().get_htab_fd(0x4, 0)
    assert e.value.errno == errno.EINVAL
    assert "flags 0x4" in str(e.value)


def test_wrong_direction_and_closed_fd_are_ebadf():
    kvm = spec17_kvm()
    for fd, op in (
        (kvm.get_htab_fd(KVM_GET_HTAB_WRITE), lambda f: f.read(100)),
        (kvm.get_htab_fd(0), lambda f: f.write(b"x" * 8)),
    ):
        with pytest.raises(OSError) as e:
            op(fd)
        assert e.value.errno == errno.EBADF
    fd = kvm.get_htab_fd(0)
    fd.close()
    with pytest.raises(OSError) as e:
        fd.read(100)
    assert e.value.errno == errno.EBADF


def test_ioctl_struct_entry_point():
    from qemu_py.target.ppc.kvm_htab_abi import pack_get_htab_fd

    kvm = spec17_kvm()
    with kvm.ioctl_get_htab_fd(pack_get_htab_fd(0, 3, "little")) as fd:
        assert records(fd.read(40)) == [(3, 1, 0)]
    assert kvm.hpte_mod_interest == 0
