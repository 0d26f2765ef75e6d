"""PAPR HPT hypercalls: every return code of spec section 4, on both backends."""

import pytest
from spapr_testlib import BACKENDS, make_machine, status, u64

from qemu_py.hw.ppc.hcall_codes import (
    H_ANDCOND,
    H_AVPN,
    H_EXACT,
    H_FUNCTION,
    H_NOT_FOUND,
    H_PARAMETER,
    H_PRIVILEGE,
    H_PTEG_FULL,
    H_READ_4,
    H_SUCCESS,
    Hcall,
    HStatus,
    s64,
)
from qemu_py.hw.ppc.spapr_hcall_hpt import BULK_RC_SHIFT_KERNEL

ENTER, REMOVE, READ, PROTECT, BULK = (
    Hcall.H_ENTER,
    Hcall.H_REMOVE,
    Hcall.H_READ,
    Hcall.H_PROTECT,
    Hcall.H_BULK_REMOVE,
)


@pytest.fixture(params=BACKENDS)
def kind(request):
    return request.param


@pytest.fixture
def hc(kind):
    return make_machine(kind)[1]


def test_return_code_values_match_the_spec():
    assert {s.name: int(s) for s in HStatus} == {
        "H_SUCCESS": 0,
        "H_BUSY": 1,
        "H_CLOSED": 2,
        "H_HARDWARE": -1,
        "H_FUNCTION": -2,
        "H_PRIVILEGE": -3,
        "H_PARAMETER": -4,
        "H_BAD_MODE": -5,
        "H_PTEG_FULL": -6,
        "H_NOT_FOUND": -7,
        "H_RESERVED_DABR": -8,
        "H_NO_MEM": -9,
        "H_LONG_BUSY_ORDER_100_MSEC": 9902,
    }
    assert u64(H_PARAMETER) == 18446744073709551612 and s64(u64(H_PARAMETER)) == -4


def test_opcodes_and_flags_match_the_spec():
    assert [int(h) for h in Hcall] == [0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x124, 0xF000]
    assert (H_EXACT, H_READ_4, H_AVPN, H_ANDCOND) == (
        0x8000000000,
        0x2000000000,
        0x80000000,
        0x40000000,
    )


# --- H_ENTER ---------------------------------------------------------------


@pytest.mark.parametrize(
    "ptex,pteh,ptel",
    [
        (0x1A2A8, 0x123456001, 0x5012),
        (0x2AD40, 0x55AA005, 0x71012),
        (0x91E8, 0x4000001234000001, 0x9012),
    ],
    ids=["A", "C", "D"],
)
def test_h_enter_without_flags_returns_the_chosen_ptex(hc, ptex, pteh, ptel):
    assert hc.hcall(ENTER, [0, ptex, pteh, ptel]) == [0, ptex, ptex, pteh, ptel]


def test_h_enter_picks_the_first_free_slot_of_the_pteg(hc):
    hc.hcall(ENTER, [H_EXACT, 0x1A2A8, 0x123456001, 0x5012])
    hc.hcall(ENTER, [H_EXACT, 0x1A2A9, 0x123456001, 0x5012])
    regs = hc.hcall(ENTER, [0, 0x1A2AD, 0x123456001, 0x6012])
    assert regs[:2] == [0, 0x1A2AA]


def test_h_enter_exact_into_a_free_slot(hc):
    """Case B: secondary PTEG 0x4BAE, slot 3."""
    assert hc.hcall(ENTER, [H_EXACT, 0x25D73, 0x123456003, 0x6012])[:2] == [0, 0x25D73]


def test_h_enter_exact_into_an_occupied_slot_is_pteg_full(hc):
    hc.hcall(ENTER, [H_EXACT, 0x25D73, 0x123456003, 0x6012])
    regs = hc.hcall(ENTER, [H_EXACT, 0x25D73, 0x123456003, 0x7012])
    assert status(regs) == H_PTEG_FULL
    assert regs[1:] == [H_EXACT, 0x25D73, 0x123456003, 0x7012]  # r4.. untouched


def test_h_enter_into_a_full_pteg(hc):
    for slot in range(8):
        assert status(hc.hcall(ENTER, [0, 0x100, 0x1001, 0x5012])) == H_SUCCESS
    assert status(hc.hcall(ENTER, [0, 0x103, 0x1001, 0x5012])) == H_PTEG_FULL


def test_h_enter_ptex_beyond_the_table(hc):
    """PTEG 0x800000 > mask 0x7FFF."""
    assert status(hc.hcall(ENTER, [0, 0x4000000, 0x123456001, 0x5012])) == H_PARAMETER
    assert status(hc.hcall(ENTER, [0, 0x3FFFF, 0x123456001, 0x5012])) == H_SUCCESS
    assert status(hc.hcall(ENTER, [0, 0x40000, 0x123456001, 0x5012])) == H_PARAMETER


@pytest.mark.parametrize(
    "pteh,ptel",
    [
        (0x123456005, 0x72010),  # L=1 with an LP encoding no segment knows
        (0x123456001, 0x5000),  # RAM page with WIMG=0000
        (0x123456001, 0x5030),  # RAM page with I|M
        (0x123456001, 0x20000010),  # I/O page (beyond 512 MiB) with M only
        (0x123456001, 0x20000060),  # I/O page with W|I
    ],
)
def test_h_enter_parameter_errors(hc, pteh, ptel):
    assert status(hc.hcall(ENTER, [0, 0x1000, pteh, ptel])) == H_PARAMETER


@pytest.mark.parametrize("wimg", [0x20, 0x30, 0x28])
def test_h_enter_io_page_accepts_i_or_i_m(hc, wimg):
    assert status(hc.hcall(ENTER, [0, 0x1000, 0x123456001, 0x20000000 | wimg])) == H_SUCCESS


def test_h_enter_stores_qemus_dirty_bit_and_clears_0x20(hc):
    hc.hcall(ENTER, [0, 0x1A2A8, 0x123456031, 0x5012])
    assert hc.hcall(READ, [0, 0x1A2A8])[1:3] == [0x123456051, 0x5012]


def test_h_enter_does_not_force_v(kind):
    hpt, hc = make_machine(kind)
    assert hc.hcall(ENTER, [0, 0x1A2A8, 0x123456000, 0x5012])[:2] == [0, 0x1A2A8]
    assert hpt.backend.read_hptes(0x1A2A8, 1)[0][0] & 1 == 0
    # the slot is still free
    assert hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x5012])[:2] == [0, 0x1A2A8]


# --- H_READ ------------------------------------------------------------------


def test_h_read_returns_the_raw_words_with_the_dirty_bit(hc):
    """Observed: 0x123456041 / 0x5012 for an entry entered as 0x123456001."""
    hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x5012])
    assert hc.hcall(READ, [0, 0x1A2A8]) == [0, 0x123456041, 0x5012]


def test_h_read_4_rounds_ptex_down_and_returns_four_entries(hc):
    hc.hcall(ENTER, [H_EXACT, 0x25D71, 0x123456003, 0x6012])
    hc.hcall(ENTER, [H_EXACT, 0x25D73, 0x123456003, 0x7012])
    regs = hc.hcall(READ, [H_READ_4, 0x25D73])
    assert status(regs) == H_SUCCESS and len(regs) == 9
    assert regs[3:5] == [0x123456043, 0x6012]
    assert regs[7:9] == [0x123456043, 0x7012]


def test_h_read_of_an_invalid_entry_differs_only_in_the_stored_words(kind):
    _, hc = make_machine(kind)
    expected = [0, 0x40, 0] if kind == "memory" else [0, 0, 0]
    assert hc.hcall(READ, [0, 0x10]) == expected


def test_h_read_ptex_beyond_the_table(hc):
    assert status(hc.hcall(READ, [0, 0x40000])) == H_PARAMETER
    assert status(hc.hcall(READ, [H_READ_4, 0x3FFFF])) == H_SUCCESS


# --- H_REMOVE ----------------------------------------------------------------


def test_h_remove_returns_the_old_words_and_invalidates(hc):
    hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x5012])
    assert hc.hcall(REMOVE, [0, 0x1A2A8, 0]) == [0, 0x123456041, 0x5012, 0]
    assert hc.hcall(READ, [0, 0x1A2A8])[1] & 1 == 0
    assert status(hc.hcall(REMOVE, [0, 0x1A2A8, 0])) == H_NOT_FOUND


def test_h_remove_with_a_wrong_avpn_is_not_found(hc):
    hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x5012])
    regs = hc.hcall(REMOVE, [H_AVPN, 0x1A2A8, 0x123457000])
    assert regs == [u64(H_NOT_FOUND), H_AVPN, 0x1A2A8, 0x123457000]
    assert hc.hcall(REMOVE, [H_AVPN, 0x1A2A8, 0x123456000])[:3] == [0, 0x123456041, 0x5012]


def test_h_remove_andcond(hc):
    hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x5012])
    assert status(hc.hcall(REMOVE, [H_ANDCOND, 0x1A2A8, 0x40])) == H_NOT_FOUND  # dirty bit set
    assert status(hc.hcall(REMOVE, [H_ANDCOND, 0x1A2A8, 0x10])) == H_SUCCESS


def test_h_remove_ptex_beyond_the_table(hc):
    assert status(hc.hcall(REMOVE, [0, 0x40000, 0])) == H_PARAMETER


def test_h_remove_calls_the_tlb_flush_hook(kind):
    flushed = []
    _, hc = make_machine(kind, flush_hpte=lambda *a: flushed.append(a))
    hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x5012])
    hc.hcall(REMOVE, [0, 0x1A2A8, 0])
    hc.hcall(REMOVE, [0, 0x1A2A8, 0])
    assert flushed == [(0x1A2A8, 0x123456041, 0x5012)]


# --- H_PROTECT ---------------------------------------------------------------


def test_h_protect_observed_case(hc):
    """Observed: flags 0x80000003 turned pte1 0x6012 into 0x6013."""
    hc.hcall(ENTER, [H_EXACT, 0x25D73, 0x123456003, 0x6012])
    assert hc.hcall(PROTECT, [0x80000003, 0x25D73, 0x123456000])[0] == H_SUCCESS
    assert hc.hcall(READ, [0, 0x25D73]) == [0, 0x123456043, 0x6013]


def test_h_protect_sets_pp0_key_and_n(hc):
    hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x3000000000005E17])
    flags = 0x100 | 0x3000 | 0x4 | 0xA00 | 0x2
    hc.hcall(PROTECT, [flags, 0x1A2A8, 0])
    assert (
        hc.hcall(READ, [0, 0x1A2A8])[2]
        == 0x8000000000005010 | 0x3000000000000000 | 0x4 | 0xA00 | 0x2
    )


def test_h_protect_not_found_and_parameter(hc):
    assert status(hc.hcall(PROTECT, [0, 0x1A2A8, 0])) == H_NOT_FOUND
    hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x5012])
    assert status(hc.hcall(PROTECT, [H_AVPN | 3, 0x1A2A8, 0x999000])) == H_NOT_FOUND
    assert status(hc.hcall(PROTECT, [3, 0x40000, 0])) == H_PARAMETER


def test_h_protect_flushes_the_old_translation(kind):
    flushed = []
    _, hc = make_machine(kind, flush_hpte=lambda *a: flushed.append(a))
    hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x5012])
    hc.hcall(PROTECT, [3, 0x1A2A8, 0])
    assert flushed == [(0x1A2A8, 0x123456041, 0x5013)]


# --- H_BULK_REMOVE -----------------------------------------------------------

REQ, RESP, END = 0x4000000000000000, 0x8000000000000000, 0xC000000000000000
F_ANDCOND, F_AVPN = 0x0100000000000000, 0x0200000000000000


def bulk_setup(hc):
    hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x5192])  # R and C set
    hc.hcall(ENTER, [0, 0x2AD40, 0x55AA005, 0x71012])


def test_h_bulk_remove_success_and_not_found(hc):
    bulk_setup(hc)
    regs = hc.hcall(
        BULK, [REQ | 0x1A2A8, 0, REQ | F_AVPN | 0x2AD40, 0x55AA000, REQ | 0x1000, 0, END, 0]
    )
    assert status(regs) == H_SUCCESS
    assert regs[1] == RESP | 0x1A2A8 | (0x180 << 43)  # QEMU's R/C position
    assert regs[3] == RESP | F_AVPN | 0x2AD40
    assert regs[5] == RESP | 0x1000000000000000 | 0x1000  # code 1: not found
    assert regs[7] == END
    assert hc.hcall(READ, [0, 0x2AD40])[1] & 1 == 0


def test_h_bulk_remove_kernel_rc_position(kind):
    _, hc = make_machine(kind, bulk_rc_shift=BULK_RC_SHIFT_KERNEL)
    bulk_setup(hc)
    regs = hc.hcall(BULK, [REQ | 0x1A2A8, 0, END, 0])
    assert regs[1] == RESP | 0x0C00000000000000 | 0x1A2A8


def test_h_bulk_remove_stops_at_four(hc):
    bulk_setup(hc)
    regs = hc.hcall(BULK, [REQ | 0x1000, 0] * 4 + [REQ | 0x1A2A8, 0])
    assert status(regs) == H_SUCCESS
    assert hc.hcall(READ, [0, 0x1A2A8])[1] & 1 == 1


def test_h_bulk_remove_bad_type_is_parameter(hc):
    bulk_setup(hc)
    regs = hc.hcall(BULK, [REQ | 0x1A2A8, 0, RESP | 0x2AD40, 0])
    assert status(regs) == H_PARAMETER
    assert regs[1] >> 62 == 2 and regs[3] == RESP | 0x2AD40  # first processed, second untouched


def test_h_bulk_remove_andcond_and_avpn_together_is_parameter(hc):
    bulk_setup(hc)
    regs = hc.hcall(BULK, [REQ | F_ANDCOND | F_AVPN | 0x1A2A8, 0])
    assert status(regs) == H_PARAMETER
    assert regs[1] == RESP | 0x2000000000000000 | F_ANDCOND | F_AVPN | 0x1A2A8
    assert hc.hcall(READ, [0, 0x1A2A8])[1] & 1 == 1


def test_h_bulk_remove_ptex_out_of_range_is_parameter(hc):
    bulk_setup(hc)
    regs = hc.hcall(BULK, [REQ | 0x40000, 0, REQ | 0x1A2A8, 0])
    assert status(regs) == H_PARAMETER
    assert regs[1] == RESP | 0x2000000000000000 | 0x40000
    assert regs[3] == REQ | 0x1A2A8  # not processed


def test_h_bulk_remove_andcond(hc):
    bulk_setup(hc)
    regs = hc.hcall(
        BULK, [REQ | F_ANDCOND | 0x1A2A8, 0x40, REQ | F_ANDCOND | 0x1A2A8, 0x10, END, 0]
    )
    assert regs[1] >> 60 == 0x9  # response, not found
    assert regs[3] >> 60 == 0x8  # response, success


# --- dispatcher ----------------------------------------------------------------


@pytest.mark.parametrize(
    "opcode",
    [Hcall.H_CLEAR_MOD, Hcall.H_CLEAR_REF, Hcall.KVMPPC_H_RTAS, 0x3, 0x1000, -1, "H_ENTER", None],
)
def test_unregistered_or_malformed_opcode_is_h_function(hc, opcode):
    assert hc.hcall(opcode, [1, 2]) == [u64(H_FUNCTION), 1, 2]


def test_problem_state_is_h_privilege(hc):
    assert hc.hcall(ENTER, [0, 0x1A2A8, 0x123456001, 0x5012], problem_state=True)[0] == u64(
        H_PRIVILEGE
    )
    assert hc.hcall(READ, [0, 0x1A2A8])[1] & 1 == 0


@pytest.mark.parametrize(
    "args",
    [["0", 0], [0, 1.5], [0, None], [0, True], [1 << 64], [-(1 << 63) - 1], [0] * 29],
)
def test_malformed_arguments_are_h_parameter_and_never_raise(hc, args):
    assert hc.hcall(ENTER, args)[0] == u64(H_PARAMETER)


def test_non_sequence_arguments_are_h_parameter(hc):
    assert hc.hcall(READ, 5) == [u64(H_PARAMETER)]


def test_negative_arguments_are_twos_complement(hc):
    regs = hc.hcall(READ, [0, -1])
    assert regs == [u64(H_PARAMETER), 0, (1 << 64) - 1]


def test_missing_argument_registers_read_as_zero(hc):
    regs = hc.hcall(READ, [])  # H_READ(0, 0)
    assert regs[0] == 0 and len(regs) == 3 and regs[1] & 1 == 0
    assert hc.hcall(ENTER, [0, 0x1A2A8])[0] == u64(H_PARAMETER)  # ptel 0: WIMG 0 on RAM


def test_handlers_can_be_registered_once(hc):
    hc.register(0xF000, lambda regs: 0)
    assert hc.hcall(0xF000, [7]) == [0, 7]
    with pytest.raises(ValueError, match="hcall 0xf000 is already registered"):
        hc.register(0xF000, lambda regs: 0)
    assert hc.registered() == [0x04, 0x08, 0x0C, 0x18, 0x124, 0xF000]
