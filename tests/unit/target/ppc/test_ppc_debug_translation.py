"""gdbstub debug translation (spec section 5) on both backends."""

import pytest
from ppc_hpt_testlib import (
    BACKENDS,
    RAM_512M,
    VECTOR_HTAB_SHIFT,
    VECTORS,
    load_vectors,
    make_backend,
    vector_slb,
)

from qemu_py.target.ppc.debug import get_phys_page_debug, memory_rw_debug
from qemu_py.target.ppc.guest_memory import SparseMemory
from qemu_py.target.ppc.kvm_hptes import KvmHptError
from qemu_py.target.ppc.mmu_state import MSR_DR, MSR_IR, MSR_SF, MmuState

DR_ONLY = MmuState(MSR_SF | MSR_DR)  # the observed guest: IR=0, DR=1
BOTH = MmuState(MSR_SF | MSR_DR | MSR_IR)


@pytest.fixture(params=BACKENDS)
def setup(request):
    backend, kvm = make_backend(request.param, VECTOR_HTAB_SHIFT)
    load_vectors(backend)
    ram = SparseMemory(RAM_512M)
    return backend, kvm, ram


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
def test_page_address_of_each_vector(setup, v):
    backend, _, _ = setup
    assert get_phys_page_debug(v.ea, DR_ONLY, vector_slb(), backend) == v.raddr & ~0xFFF


def test_64k_page_reads_up_to_its_end_and_fails_past_it(setup):
    """Case C: gdb can read EA 0x3002FFF8; EA 0x30030000 has no HPTE and its
    real-mode fallback address lies beyond the 512 MiB of RAM."""
    backend, _, ram = setup
    ram.write(0x7FFF8, b"ABCDEFGH")
    assert memory_rw_debug(0x3002FFF8, 8, DR_ONLY, vector_slb(), backend, ram) == b"ABCDEFGH"
    assert get_phys_page_debug(0x30030000, DR_ONLY, vector_slb(), backend) == 0x30030000
    assert memory_rw_debug(0x30030000, 8, DR_ONLY, vector_slb(), backend, ram) is None
    assert memory_rw_debug(0x3002FFF8, 16, DR_ONLY, vector_slb(), backend, ram) is None


def test_instruction_side_fallback_reads_unmapped_ea_below_ram_end(setup):
    backend, _, ram = setup
    assert memory_rw_debug(0x10004000, 8, DR_ONLY, vector_slb(), backend, ram) == bytes(8)
    assert get_phys_page_debug(0x10004000, BOTH, vector_slb(), backend) is None


def test_debug_read_sets_r(setup):
    """Observed: after a gdb read of 0x10007000, pte1 went from 0x6013 to 0x6113."""
    backend, _, ram = setup
    backend.write_hpte(0x25D73, 0x123456043, 0x6013)
    memory_rw_debug(0x10007000, 4, DR_ONLY, vector_slb(), backend, ram)
    assert backend.read_hptes(0x25D73, 1)[0] == (0x123456043, 0x6113)


def test_debug_read_without_rc_update_leaves_r_clear(setup):
    backend, _, ram = setup
    memory_rw_debug(0x10003000, 4, DR_ONLY, vector_slb(), backend, ram, update_rc=False)
    assert backend.read_hptes(0x1A2A8, 1)[0][1] == 0x5012


def test_debug_write_goes_to_the_translated_address(setup):
    backend, _, ram = setup
    assert (
        memory_rw_debug(
            0x30021230, 4, DR_ONLY, vector_slb(), backend, ram, data=b"\x01\x02\x03\x04"
        )
        == b""
    )
    assert ram.read(0x71230, 4) == b"\x01\x02\x03\x04"


def test_debug_access_spanning_two_pages_translates_each_page(setup):
    backend, _, ram = setup
    ram.write(0x5FFC, b"\xaa" * 4)
    # 0x10003FFC..0x10004003: first page mapped (RA 0x5000), second falls back to real mode
    data = memory_rw_debug(0x10003FFC, 8, DR_ONLY, vector_slb(), backend, ram)
    assert data == b"\xaa" * 4 + ram.read(0x10004000, 4)


def test_length_mismatch_is_an_error(setup):
    backend, _, ram = setup
    with pytest.raises(ValueError, match="length=4 but 2 bytes of data"):
        memory_rw_debug(0x10003000, 4, DR_ONLY, vector_slb(), backend, ram, data=b"xx")


def test_kvm_sim_opens_one_fd_per_pteg_searched():
    backend, kvm = make_backend("kvm-sim", VECTOR_HTAB_SHIFT)
    load_vectors(backend)
    opened = kvm.fds_opened
    get_phys_page_debug(0x10003000, DR_ONLY, vector_slb(), backend, update_rc=False)
    assert kvm.fds_opened - opened == 1  # primary hit
    opened = kvm.fds_opened
    get_phys_page_debug(0x10007000, DR_ONLY, vector_slb(), backend, update_rc=False)
    assert kvm.fds_opened - opened == 2  # primary miss, secondary hit
    assert kvm.hpte_mod_interest == 0  # every read fd was closed


def test_kvm_sim_rc_update_needs_a_stopped_vm():
    backend, kvm = make_backend("kvm-sim", VECTOR_HTAB_SHIFT)
    load_vectors(backend)
    kvm.vcpus_running = 1
    assert (
        get_phys_page_debug(0x10003000, DR_ONLY, vector_slb(), backend, update_rc=False) == 0x5000
    )
    with pytest.raises(KvmHptError, match=r"Unable to update KVM HPT at ptex 0x1a2a8 \(EBUSY\)"):
        get_phys_page_debug(0x10003000, DR_ONLY, vector_slb(), backend)
