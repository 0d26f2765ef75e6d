"""Regression: cmpxchg_r32_failure_zero_extends_destination.

CMPXCHG r32, r32 that fails leaves the 64-bit destination unchanged on the CPU; TCG
writes it back zero-extended.
Found by the differential campaign and shrunk to this case; strict xfail
until TCG is fixed (then this test passes, and the xfail and the entry in
``known.py`` go).
"""

import pytest

from .cases import Code, Instruction, R, case, mem, run_pair  # noqa: F401


@pytest.mark.conformance
def test_cmpxchg_r32_failure_zero_extends_destination(differ):
    a, b, mismatch = run_pair(differ, case(Instruction.create_reg_reg(Code.CMPXCHG_RM32_R32, R.R14D, R.R10D), r14=0x251F68645AF4FB0E))
    assert a.gprs[14] == 0x251F68645AF4FB0E, 'unchanged on the CPU'
    assert b.gprs[14] == a.gprs[14]
    assert mismatch is None, mismatch.report("cmpxchg_r32_failure_zero_extends_destination")
