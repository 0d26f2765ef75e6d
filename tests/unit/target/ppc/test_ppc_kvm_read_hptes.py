"""kvmppc_read_hptes / kvmppc_write_hpte and the KvmSimHPT backend (spec 2.2, 2.3)."""

import errno

import pytest
from ppc_hpt_testlib import RecordingOpener, spec17_expected, spec17_kvm, spec17_words

from qemu_py.target.ppc.kvm_hptes import (
    KvmHptError,
    KvmSimHPT,
    kvmppc_read_hptes,
    kvmppc_remove_hpte,
    kvmppc_write_hpte,
)
from qemu_py.target.ppc.kvm_htab_abi import HtabHeader
from qemu_py.target.ppc.kvm_htab_sim import KvmHtabSim

SPEC17_REQUESTS = [(0, 8), (8, 8), (6, 4), (1, 8), (3, 2), (3, 1)]


@pytest.mark.parametrize("ptex,n", SPEC17_REQUESTS)
def test_spec_1_7_decoded_results(ptex, n):
    kvm = spec17_kvm()
    assert kvmppc_read_hptes(kvm.get_htab_fd, ptex, n) == spec17_expected(ptex, n)
    assert kvm.hpte_mod_interest == 0


@pytest.mark.parametrize("ptex,n", SPEC17_REQUESTS[:-1])
def test_qemu_buffer_size_gives_the_same_results_where_qemu_terminates(ptex, n):
    kvm = spec17_kvm()
    opener = RecordingOpener(kvm)
    assert kvmppc_read_hptes(opener, ptex, n, spare_byte=False) == spec17_expected(ptex, n)
    assert set(opener.read_sizes) == {8 + 16 * min(n, 8)}


def test_qemu_needs_two_reads_for_a_full_pteg_and_we_need_one():
    kvm = spec17_kvm()
    opener = RecordingOpener(kvm)
    kvmppc_read_hptes(opener, 8, 8, spare_byte=False)
    assert opener.read_sizes == [136, 136]
    opener = RecordingOpener(kvm)
    kvmppc_read_hptes(opener, 8, 8)
    assert opener.read_sizes == [137]


def test_single_hpte_read_that_hangs_qemu_terminates():
    """Spec 2.3: with n=1 QEMU reads 24 bytes, the kernel returns 0 every time and
    QEMU spins forever.  Without the rc == 0 check and the read bound this test
    would hang; with QEMU's buffer size it must fail instead, after one read."""
    kvm = spec17_kvm()
    opener = RecordingOpener(kvm)
    with pytest.raises(
        KvmHptError,
        match=r"read\(24\) returned 0 bytes at ptex 0x3 with 1 HPTEs missing "
        r"\(QEMU 7.2 loops forever here\)",
    ):
        kvmppc_read_hptes(opener, 3, 1, spare_byte=False)
    assert opener.read_sizes == [24]
    assert opener.fds[0].closed
    assert kvmppc_read_hptes(kvm.get_htab_fd, 3, 1) == spec17_expected(3, 1)


class EndlessFd:
    """An fd that never makes progress: each read returns the same record."""

    def __init__(self, payload):
        self.payload = payload
        self.reads = 0
        self.closed = False

    def read(self, count):
        self.reads += 1
        if self.reads > 1000:
            raise AssertionError("reader did not stop")
        return self.payload

    def close(self):
        self.closed = True


@pytest.mark.parametrize(
    "payload,message",
    [
        (b"", "returned 0 bytes"),
        (HtabHeader(5, 0, 0).pack("little"), "made no progress"),
    ],
)
def test_reader_is_bounded_against_a_stuck_fd(payload, message):
    fd = EndlessFd(payload)
    with pytest.raises(KvmHptError, match=message):
        kvmppc_read_hptes(lambda flags, start: fd, 5, 3)
    assert fd.reads == 1 and fd.closed


def test_reader_bound_is_n_plus_one_reads():
    """An fd that returns one entry per read, forever, is read at most n + 1 times."""

    class OneByOne(EndlessFd):
        def __init__(self):
            super().__init__(b"")
            self.next = 7

        def read(self, count):
            self.reads += 1
            rec = HtabHeader(self.next, 0, 1).pack("little")
            self.next += 1
            return rec

    fd = OneByOne()
    assert kvmppc_read_hptes(lambda f, s: fd, 7, 5) == [(0, 0)] * 5
    assert fd.reads == 5


def test_unexpected_index_is_an_error():
    fd = EndlessFd(HtabHeader(9, 0, 1).pack("little"))
    with pytest.raises(KvmHptError, match="Unexpected HPTE index 0x9, expected 0x8"):
        kvmppc_read_hptes(lambda f, s: fd, 8, 1)


def test_truncated_record_is_an_error():
    fd = EndlessFd(HtabHeader(8, 2, 0).pack("little") + bytes(16))
    with pytest.raises(KvmHptError, match="claims 2 HPTEs but the read returned only 24 bytes"):
        kvmppc_read_hptes(lambda f, s: fd, 8, 2)


@pytest.mark.parametrize("n", [0, -1])
def test_n_below_one_is_a_value_error_naming_n(n):
    with pytest.raises(ValueError, match=f"n={n}, must be at least 1"):
        kvmppc_read_hptes(spec17_kvm().get_htab_fd, 0, n)
    with pytest.raises(ValueError, match=f"read_hptes: n={n}, must be at least 1"):
        KvmSimHPT.for_sim(spec17_kvm()).read_hptes(0, n)


def test_every_request_on_the_spec_table():
    kvm = spec17_kvm()
    backend = KvmSimHPT.for_sim(kvm)
    for spare in (True, False):
        backend.spare_byte = spare
        for ptex in range(16):
            for n in range(1, 17 - ptex):
                if not spare and n == 1:
                    continue  # QEMU's 24-byte read never returns anything (tested above)
                assert backend.read_hptes(ptex, n) == spec17_expected(ptex, n), (spare, ptex, n)


def test_near_the_end_of_the_table():
    kvm = KvmHtabSim(18)
    npte = kvm.npte
    for k in (npte - 9, npte - 3, npte - 1):
        kvm.poke(k, (k << 7) | 1, 0x10)
    backend = KvmSimHPT.for_sim(kvm)
    assert backend.read_hptes(npte - 1, 1) == [(((npte - 1) << 7) | 0x41, 0x10)]
    tail = backend.read_hptes(npte - 10, 10)
    assert [i for i, (v, _) in enumerate(tail) if v] == [1, 7, 9]
    with pytest.raises(ValueError, match=r"ptex=0x3fff n=2 runs outside the table of 0x4000 HPTEs"):
        backend.read_hptes(npte - 1, 2)


def test_reading_past_the_end_without_the_backend_check_fails_cleanly():
    kvm = spec17_kvm()
    with pytest.raises(KvmHptError, match="returned 0 bytes at ptex 0x10"):
        kvmppc_read_hptes(kvm.get_htab_fd, 14, 4)


def test_big_endian_host_headers():
    kvm = spec17_kvm("big")
    assert kvmppc_read_hptes(kvm.get_htab_fd, 1, 8, host_byteorder="big") == spec17_expected(1, 8)
    with pytest.raises(KvmHptError, match="Unexpected HPTE index"):
        kvmppc_read_hptes(kvm.get_htab_fd, 1, 8, host_byteorder="little")


def test_write_is_one_24_byte_record_on_a_write_fd():
    kvm = spec17_kvm()
    sent = []

    def opener(flags, start):
        fd = kvm.get_htab_fd(flags, start)
        real = fd.write
        fd.write = lambda data: sent.append((flags, start, data)) or real(data)
        return fd

    kvmppc_write_hpte(opener, 0x5, 0x1234501, 0x6010)
    assert sent == [
        (
            2,
            0,
            HtabHeader(5, 1, 0).pack("little") + bytes.fromhex("00000000012345010000000000006010"),
        )
    ]
    assert kvm.guest_view(5) == (0x1234541, 0x6010)


def test_write_failures_raise_with_the_errno():
    kvm = spec17_kvm()
    kvm.vcpus_running = 1
    with pytest.raises(
        KvmHptError, match=r"kvmppc_write_hpte: Unable to update KVM HPT at ptex 0x5 \(EBUSY\)"
    ) as e:
        kvmppc_write_hpte(kvm.get_htab_fd, 5, 0x1234501, 0x6010)
    assert e.value.errno == errno.EBUSY
    kvm.vcpus_running = 0
    with pytest.raises(KvmHptError, match=r"\(EINVAL\)"):
        kvmppc_write_hpte(kvm.get_htab_fd, 5, 0x1234500, 0x6010)  # QEMU cannot remove


def test_short_write_is_an_error():
    class Short:
        def write(self, data):
            return 8

        def close(self):
            pass

    with pytest.raises(KvmHptError, match=r"wrote 8 of 24 bytes"):
        kvmppc_write_hpte(lambda f, s: Short(), 1, 0x81, 0x10)


def test_remove_record():
    kvm = spec17_kvm()
    kvmppc_remove_hpte(kvm.get_htab_fd, 3)
    assert kvm.guest_view(3) == (0, 0)


def test_backend_write_round_trips_and_invalid_pte0_removes():
    kvm = KvmHtabSim(18)
    backend = KvmSimHPT.for_sim(kvm)
    backend.write_hpte(0x100, 0x123456041, 0x5012)
    assert backend.read_hptes(0x100, 1) == [(0x123456041, 0x5012)]
    backend.write_hpte(0x100, 0x40, 0)
    assert backend.read_hptes(0x100, 1) == [(0, 0)]
    backend.write_hpte(0x100, 0x40, 0)  # removing an empty slot is fine
    with pytest.raises(ValueError, match="write_hpte: ptex=0x4000"):
        backend.write_hpte(0x4000, 0x41, 0)
    assert kvm.hpte_mod_interest == 0


def test_open_failure_is_reported():
    def opener(flags, start):
        raise OSError(errno.ENOTTY, "no KVM_CAP_PPC_HTAB_FD")

    with pytest.raises(KvmHptError, match="Unable to open KVM HPT fd at ptex 0x0"):
        kvmppc_read_hptes(opener, 0, 1)
    with pytest.raises(KvmHptError, match="Unable to open KVM HPT write fd"):
        kvmppc_write_hpte(opener, 0, 0x81, 0)


def test_valid_entries_carry_the_words_of_the_spec_table():
    assert spec17_expected(3, 1) == [(spec17_words(3)[0] | 0x40, spec17_words(3)[1])]
