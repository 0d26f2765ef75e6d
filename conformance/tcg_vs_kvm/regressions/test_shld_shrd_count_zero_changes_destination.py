"""Regression: shld_shrd_count_zero_changes_destination.

SHLD/SHRD with a count of 0 (CL & 63, or & 31) changes the destination register or
memory in TCG; the CPU leaves it unchanged.
Found by the differential campaign and shrunk to this case; strict xfail
until TCG is fixed (then this test passes, and the xfail and the entry in
``known.py`` go).
"""

import pytest

from .cases import Code, Instruction, R, case, mem, run_pair  # noqa: F401


@pytest.mark.conformance
def test_shld_shrd_count_zero_changes_destination(differ):
    a, b, mismatch = run_pair(differ, case(Instruction.create_reg_reg_reg(Code.SHLD_RM64_R64_CL, R.RDX, R.R9, R.CL), r9=1))
    assert a.gprs[2] == 0, 'count 0: RDX unchanged on the CPU'
    assert b.gprs[2] == a.gprs[2]
    assert mismatch is None, mismatch.report("shld_shrd_count_zero_changes_destination")
