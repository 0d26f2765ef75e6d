"""Regression: clflush_does_not_check_address.

CLFLUSH of a non-canonical or unmapped address faults on the CPU (#GP/#PF); TCG treats
it as a no-op.
Found by the differential campaign and shrunk to this case; strict xfail
until TCG is fixed (then this test passes, and the xfail and the entry in
``known.py`` go).
"""

import pytest

from .cases import Code, Instruction, R, case, mem, run_pair  # noqa: F401


@pytest.mark.conformance
def test_clflush_does_not_check_address(differ):
    a, b, mismatch = run_pair(differ, case(Instruction.create_mem(Code.CLFLUSH_M8, mem(R.R11, 0x502)), r11=0x8000_0000_0000_0000))
    assert a.kind == 13, 'the CPU raises #GP for a non-canonical address'
    assert b.kind == a.kind
    assert mismatch is None, mismatch.report("clflush_does_not_check_address")
