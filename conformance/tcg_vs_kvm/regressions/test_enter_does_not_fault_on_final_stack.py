"""Regression: enter_does_not_fault_on_final_stack.

ENTER whose new frame would lie in an unmapped page completes in TCG; the CPU raises #PF
before changing RSP/RBP.
Found by the differential campaign and shrunk to this case; strict xfail
until TCG is fixed (then this test passes, and the xfail and the entry in
``known.py`` go).
"""

import pytest

from .cases import Code, Instruction, R, case, mem, run_pair  # noqa: F401


@pytest.mark.conformance
def test_enter_does_not_fault_on_final_stack(differ):
    a, b, mismatch = run_pair(differ, case(Instruction.create_u32_u32(Code.ENTERQ_IMM16_IMM8, 0xD0, 1), rsp=0x18))
    assert a.kind == 14
    assert b.kind == a.kind
    assert mismatch is None, mismatch.report("enter_does_not_fault_on_final_stack")
