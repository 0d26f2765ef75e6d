"""Regression: movsxd_r16_reads_a_doubleword_on_amd (fixed).

MOVSXD r16, m (66 63 /r) reads a word on Intel CPUs; AMD CPUs read a
doubleword, so a word at the last two bytes of a page before an unmapped one
faults there. TCG follows its CPU model's vendor (``X86CPU.vendor``), which
the harness sets to the oracle's. Found by the differential campaign on an
AMD host and shrunk to this case.
"""

import pytest

from ..tcg_engine import host_vendor
from .cases import Code, Instruction, R, case, mem, run_pair


@pytest.mark.conformance
def test_movsxd_r16_reads_a_doubleword_on_amd(differ):
    c = case(Instruction.create_reg_mem(Code.MOVSXD_R16_RM16, R.R12W, mem(R.R14, 0x7FD)),
             pointers=("rsp", "r14"), r14=0x800)
    a, b, mismatch = run_pair(differ, c)
    assert b.kind == (14 if host_vendor() == "AuthenticAMD" else a.kind)
    assert mismatch is None, mismatch.report("movsxd_r16_reads_a_doubleword_on_amd")

