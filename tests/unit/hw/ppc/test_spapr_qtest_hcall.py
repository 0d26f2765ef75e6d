"""The proposed qtest command ``hcall OPCODE ARG...``."""

import pytest
from spapr_testlib import BACKENDS, make_machine

from qemu_py.hw.ppc.spapr_hcall import hcall_command
from qemu_py.qtest.board import reply


def qtest_hcall(hc, words):
    """The reply the qtest server gives to ``hcall WORDS...``."""
    return reply("hcall", hcall_command(lambda: hc), words)


@pytest.mark.parametrize("kind", BACKENDS)
def test_enter_then_read(kind):
    _, hc = make_machine(kind)
    assert qtest_hcall(hc, ["0x8", "0", "0x1A2A8", "0x123456001", "0x5012"]) == (
        "OK 0 107176 107176 4886716417 20498"
    )
    assert qtest_hcall(hc, ["12", "0", "0x1a2a8"]) == "OK 0 4886716481 20498"


def test_errors_are_unsigned_like_qemus_rtas_reply():
    _, hc = make_machine("memory")
    assert qtest_hcall(hc, ["0x8", "0", "0x4000000", "0x123456001", "0x5012"]).startswith(
        "OK 18446744073709551612 "
    )
    assert qtest_hcall(hc, ["0x10"]) == "OK 18446744073709551614"


def test_numbers_parse_like_strtoull_base_0():
    _, hc = make_machine("memory")
    # 014 is octal 12 = H_READ; -1 is 2^64 - 1
    assert qtest_hcall(hc, ["014", "0", "-1"]) == "OK 18446744073709551612 0 18446744073709551615"


@pytest.mark.parametrize(
    "words,answer",
    [
        ([], "FAIL hcall: missing opcode"),
        (["0x8", "zz"], "FAIL hcall: bad number 'zz'"),
        (["0x8", "08"], "FAIL hcall: bad number '08'"),
    ],
)
def test_malformed_lines_fail_with_the_bad_token(words, answer):
    _, hc = make_machine("memory")
    assert qtest_hcall(hc, words) == answer


def test_kvm_sim_write_while_running_is_a_fail_line_not_a_traceback():
    hpt, hc = make_machine("kvm-sim")
    hpt.kvm.vcpus_running = 1
    answer = qtest_hcall(hc, ["0x8", "0", "0x1A2A8", "0x123456001", "0x5012"])
    assert (
        answer == "FAIL hcall: kvmppc_write_hpte: Unable to update KVM HPT at ptex 0x1a2a8 (EBUSY)"
    )
    hpt.kvm.vcpus_running = 0
    assert qtest_hcall(hc, ["0x8", "0", "0x1A2A8", "0x123456001", "0x5012"]).startswith("OK 0 ")
