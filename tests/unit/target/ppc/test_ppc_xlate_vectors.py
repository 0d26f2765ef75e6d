"""The four QEMU 7.2 translation vectors of spec 3.7, on both HPT backends."""

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

from qemu_py.target.ppc.debug import memory_rw_debug
from qemu_py.target.ppc.faults import Interrupt
from qemu_py.target.ppc.guest_memory import SparseMemory
from qemu_py.target.ppc.mmu_state import (
    MSR_DR,
    MSR_IR,
    MSR_SF,
    PAGE_EXEC,
    PAGE_READ,
    PAGE_WRITE,
    AccessType,
    MmuState,
    narrow_ea,
)
from qemu_py.target.ppc.xlate import Translation, xlate

STATE = MmuState(MSR_SF | MSR_IR | MSR_DR)


@pytest.fixture(params=BACKENDS)
def loaded(request):
    backend, _ = make_backend(request.param, VECTOR_HTAB_SHIFT)
    load_vectors(backend)
    return backend


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
def test_vector_translates_to_the_observed_real_address(loaded, v):
    result = xlate(v.ea, AccessType.DATA_LOAD, STATE, vector_slb(), loaded)
    assert result == Translation(v.raddr, PAGE_READ | PAGE_EXEC, v.page_shift, v.ptex)


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
def test_translation_sets_r_and_a_store_sets_c(loaded, v):
    xlate(v.ea, AccessType.DATA_LOAD, STATE, vector_slb(), loaded)
    assert loaded.read_hptes(v.ptex, 1)[0] == (v.pte0 | 0x40, v.pte1 | 0x100)
    result = xlate(v.ea, AccessType.DATA_STORE, STATE, vector_slb(), loaded)
    assert result.prot == PAGE_READ | PAGE_WRITE | PAGE_EXEC
    assert loaded.read_hptes(v.ptex, 1)[0] == (v.pte0 | 0x40, v.pte1 | 0x180)


def test_store_to_a_fresh_entry_sets_both_r_and_c(loaded):
    v = VECTORS[0]
    xlate(v.ea, AccessType.DATA_STORE, STATE, vector_slb(), loaded)
    assert loaded.read_hptes(v.ptex, 1)[0][1] == v.pte1 | 0x180


def test_update_rc_false_leaves_the_hpte_alone(loaded):
    v = VECTORS[2]
    result = xlate(v.ea, AccessType.DATA_STORE, STATE, vector_slb(), loaded, update_rc=False)
    assert isinstance(result, Translation)
    assert loaded.read_hptes(v.ptex, 1)[0][1] == v.pte1


@pytest.mark.parametrize("kind", BACKENDS)
def test_guest_and_debug_reads_see_the_values_stored_at_the_real_addresses(kind):
    backend, _ = make_backend(kind, VECTOR_HTAB_SHIFT)
    load_vectors(backend)
    ram = SparseMemory(RAM_512M)
    for i, v in enumerate(VECTORS):
        ram.write(v.raddr, (0x1111111111111111 * (i + 1)).to_bytes(8, "big"))
    for i, v in enumerate(VECTORS):
        t = xlate(v.ea, AccessType.DATA_LOAD, STATE, vector_slb(), backend)
        assert ram.read(t.raddr, 8) == (0x1111111111111111 * (i + 1)).to_bytes(8, "big")
        assert memory_rw_debug(v.ea, 8, STATE, vector_slb(), backend, ram) == ram.read(v.raddr, 8)


def test_32_bit_mode_truncates_the_1t_ea_into_a_segment_fault(loaded):
    """Spec 3.7 caveat: with MSR[SF]=0 the EA 0x20000009000 faults with DAR 0x9000."""
    msr = MSR_IR | MSR_DR
    ea = narrow_ea(VECTORS[3].ea, msr)
    result = xlate(ea, AccessType.DATA_LOAD, MmuState(msr), vector_slb(), loaded)
    assert result.interrupt == Interrupt.DSEG
    assert result.dar == 0x9000
