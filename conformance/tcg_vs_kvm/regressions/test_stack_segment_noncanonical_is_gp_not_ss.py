"""Regression: stack_segment_noncanonical_is_gp_not_ss.

a non-canonical address formed with RSP or RBP as base raises #GP(0) in TCG; the CPU
raises #SS(0).
Found by the differential campaign and shrunk to this case; strict xfail
until TCG is fixed (then this test passes, and the xfail and the entry in
``known.py`` go).
"""

import pytest

from .cases import Code, Instruction, R, case, mem, run_pair  # noqa: F401


@pytest.mark.conformance
def test_stack_segment_noncanonical_is_gp_not_ss(differ):
    a, b, mismatch = run_pair(differ, case(Instruction.create_reg_mem(Code.IMUL_R64_RM64, R.R12, mem(R.RBP, 0x7FB)), rbp=0x8000_0000_0000_0800))
    assert a.kind == 12, 'the CPU raises #SS'
    assert b.kind == a.kind
    assert mismatch is None, mismatch.report("stack_segment_noncanonical_is_gp_not_ss")
