"""Faults, protection and real mode in xlate (spec 3.6)."""

import pytest
from ppc_hpt_testlib import make_backend

from qemu_py.target.ppc.faults import (
    DSISR_AMR,
    DSISR_ISSTORE,
    DSISR_NOPTE,
    DSISR_PROTFAULT,
    SRR1_IAMR,
    SRR1_NOEXEC_GUARD,
    SRR1_NOPTE,
    SRR1_PROTFAULT,
    Interrupt,
    MmuFault,
)
from qemu_py.target.ppc.mmu_models import MMU_970, MMU_POWER7, MMU_POWER8
from qemu_py.target.ppc.mmu_state import (
    LPCR_ISL,
    LPCR_VPM1,
    MSR_DR,
    MSR_HV,
    MSR_IR,
    MSR_PR,
    MSR_SF,
    PAGE_EXEC,
    PAGE_READ,
    PAGE_RWX,
    PAGE_WRITE,
    AccessType,
    MmuState,
)
from qemu_py.target.ppc.protection import PP_TABLE, pp_prot
from qemu_py.target.ppc.slb import Slb
from qemu_py.target.ppc.xlate import Translation, xlate

ON = MSR_SF | MSR_IR | MSR_DR
LOAD, STORE, FETCH = AccessType.DATA_LOAD, AccessType.DATA_STORE, AccessType.INST_FETCH
EA = 0x10003000
PTEX = 0x1A2A8


def setup(pte1=0x5192, vsid=0x123456000, model=None, kind="memory"):
    """One 4K page at EA 0x10003000 (R and C already set unless pte1 says otherwise)."""
    backend, _ = make_backend(kind, 22)
    slb = Slb(model) if model else Slb()
    slb.slbmte(vsid, 0x18000000)
    backend.write_hpte(PTEX, 0x123456041, pte1)
    return slb, backend


def test_real_mode_drops_the_top_four_ea_bits():
    slb, backend = setup()
    result = xlate(0xF000000012345678, LOAD, MmuState(MSR_SF), slb, backend)
    assert result == Translation(0x12345678, PAGE_RWX, 12)


def test_real_mode_is_chosen_per_access_side():
    slb, backend = setup()
    state = MmuState(MSR_SF | MSR_DR)  # IR=0
    assert xlate(0x10004000, FETCH, state, slb, backend).raddr == 0x10004000
    assert isinstance(xlate(0x10004000, LOAD, state, slb, backend), MmuFault)


def test_slb_miss_is_a_segment_interrupt():
    slb, backend = setup()
    assert xlate(0x50000000, LOAD, MmuState(ON), slb, backend) == MmuFault(
        Interrupt.DSEG, 0x50000000, dar=0x50000000
    )
    assert xlate(0x50000000, FETCH, MmuState(ON), slb, backend) == MmuFault(
        Interrupt.ISEG, 0x50000000
    )


def test_fetch_from_a_no_execute_segment():
    slb, backend = setup(vsid=0x123456000 | 0x200)
    fault = xlate(EA, FETCH, MmuState(ON), slb, backend)
    assert (fault.interrupt, fault.srr1) == (Interrupt.ISI, SRR1_NOEXEC_GUARD)
    assert isinstance(xlate(EA, LOAD, MmuState(ON), slb, backend), Translation)


@pytest.mark.parametrize(
    "access,irq,dsisr,srr1",
    [
        (LOAD, Interrupt.DSI, DSISR_NOPTE, None),
        (STORE, Interrupt.DSI, DSISR_NOPTE | DSISR_ISSTORE, None),
        (FETCH, Interrupt.ISI, None, SRR1_NOPTE),
    ],
)
def test_no_hpte(access, irq, dsisr, srr1):
    slb, backend = setup()
    fault = xlate(0x10005000, access, MmuState(ON), slb, backend)
    assert fault == MmuFault(
        irq, 0x10005000, dar=0x10005000 if dsisr else None, dsisr=dsisr, srr1=srr1
    )


def test_vpm1_sends_non_hv_faults_to_the_hypervisor_interrupts():
    slb, backend = setup()
    state = MmuState(ON, lpcr=LPCR_VPM1)
    assert xlate(0x10005000, LOAD, state, slb, backend).interrupt == Interrupt.HDSI
    assert xlate(0x10005000, FETCH, state, slb, backend).interrupt == Interrupt.HISI
    hv = MmuState(ON | MSR_HV, lpcr=LPCR_VPM1)
    assert xlate(0x10005000, LOAD, hv, slb, backend).interrupt == Interrupt.DSI


RWX, RX, NONE = PAGE_RWX, PAGE_READ | PAGE_EXEC, 0
SPEC_PP = {
    0: {0: RWX, 1: RWX, 2: RWX, 3: RX, 4: NONE, 5: NONE, 6: RX, 7: NONE},
    1: {0: NONE, 1: RX, 2: RWX, 3: RX, 4: NONE, 5: NONE, 6: NONE, 7: NONE},
}


@pytest.mark.parametrize("key", [0, 1])
@pytest.mark.parametrize("pp", range(8))
def test_pp_table_matches_the_spec(key, pp):
    pte1 = (0x8000000000000000 if pp & 4 else 0) | (pp & 3)
    # key comes from Ks in privileged state and Kp in problem state
    assert pp_prot(0x800 if key else 0, False, pte1) == SPEC_PP[key][pp]
    assert pp_prot(0x400 if key else 0, True, pte1) == SPEC_PP[key][pp]
    assert PP_TABLE[key].get(pp, 0) == SPEC_PP[key][pp]


def test_store_to_a_read_only_page_is_a_protection_dsi():
    slb, backend = setup(pte1=0x5193)  # pp=3, key 0 -> RX
    fault = xlate(EA, STORE, MmuState(ON), slb, backend)
    assert fault == MmuFault(Interrupt.DSI, EA, dar=EA, dsisr=DSISR_PROTFAULT | DSISR_ISSTORE)


def test_problem_state_uses_kp():
    slb, backend = setup(pte1=0x5190, vsid=0x123456000 | 0x400)  # pp=0, Kp=1 -> none
    assert isinstance(xlate(EA, LOAD, MmuState(ON), slb, backend), Translation)
    fault = xlate(EA, LOAD, MmuState(ON | MSR_PR), slb, backend)
    assert fault.dsisr == DSISR_PROTFAULT


@pytest.mark.parametrize("bit", [0x4, 0x8], ids=["N", "G"])
def test_no_execute_or_guarded_page(bit):
    slb, backend = setup(pte1=0x5192 | bit)
    fault = xlate(EA, FETCH, MmuState(ON), slb, backend)
    assert (fault.interrupt, fault.srr1) == (Interrupt.ISI, SRR1_NOEXEC_GUARD)
    assert xlate(EA, STORE, MmuState(ON), slb, backend).prot == PAGE_READ | PAGE_WRITE


def test_fetch_denied_by_pp_is_protfault():
    slb, backend = setup(pte1=0x8000000000005192, vsid=0x123456000 | 0x800)  # key 1, pp=6
    fault = xlate(EA, FETCH, MmuState(ON), slb, backend)
    assert fault.srr1 == SRR1_PROTFAULT


KEY9 = 0x1000000000000200  # storage key 9


def test_amr_denies_loads_and_stores_by_key():
    slb, backend = setup(pte1=0x5192 | KEY9)
    amr_store = 0x2 << (2 * (31 - 9))
    amr_load = 0x1 << (2 * (31 - 9))
    fault = xlate(EA, STORE, MmuState(ON, amr=amr_store), slb, backend)
    assert fault.dsisr == DSISR_ISSTORE | DSISR_AMR
    assert xlate(EA, LOAD, MmuState(ON, amr=amr_store), slb, backend).prot == PAGE_READ | PAGE_EXEC
    fault = xlate(EA, LOAD, MmuState(ON, amr=amr_load), slb, backend)
    assert fault.dsisr == DSISR_AMR
    other_key = 0x3 << (2 * (31 - 10))
    assert isinstance(xlate(EA, STORE, MmuState(ON, amr=other_key), slb, backend), Translation)


def test_iamr_exists_from_mmu_2_07():
    iamr = 0x1 << (2 * (31 - 9))
    slb, backend = setup(pte1=0x5192 | KEY9, model=MMU_POWER8)
    fault = xlate(EA, FETCH, MmuState(ON, iamr=iamr), slb, backend, model=MMU_POWER8)
    assert fault.srr1 == SRR1_IAMR
    slb7, backend7 = setup(pte1=0x5192 | KEY9, model=MMU_POWER7)
    assert isinstance(xlate(EA, FETCH, MmuState(ON, iamr=iamr), slb7, backend7), Translation)


def test_970_ignores_the_amr():
    slb, backend = setup(pte1=0x5192 | KEY9, model=MMU_970)
    amr = 0x3 << (2 * (31 - 9))
    assert isinstance(xlate(EA, STORE, MmuState(ON, amr=amr), slb, backend), Translation)


def test_load_from_a_clean_page_drops_write_until_c_is_set():
    slb, backend = setup(pte1=0x5112)  # R set, C clear
    assert xlate(EA, LOAD, MmuState(ON), slb, backend).prot == PAGE_READ | PAGE_EXEC
    assert backend.read_hptes(PTEX, 1)[0][1] == 0x5112


def test_isl_hashes_a_64k_segment_as_4k():
    backend, _ = make_backend("memory", 22)
    slb = Slb()
    slb.slbmte(0x55AA110, 0x38000000)
    ea = 0x30021230
    # with ISL the hash uses p=12 and the 4K table: 4K HPTE in PTEG (0x55AA ^ 0x21) & mask
    ptex = ((0x55AA ^ 0x21) & 0x7FFF) * 8
    backend.write_hpte(ptex, 0x55AA041, 0x81012)
    result = xlate(ea, LOAD, MmuState(ON, lpcr=LPCR_ISL), slb, backend)
    assert result == Translation(0x81230, PAGE_READ | PAGE_EXEC, 12, ptex)
    assert isinstance(xlate(ea, LOAD, MmuState(ON), slb, backend), MmuFault)


def test_fault_str_names_interrupt_and_registers():
    fault = MmuFault(Interrupt.DSI, 0x1000, dar=0x1000, dsisr=DSISR_NOPTE)
    assert str(fault) == "DSI at ea 0x1000 dar=0x1000 dsisr=0x40000000"
