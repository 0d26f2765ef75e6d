"""Regression: shld_cf_after_destination_write (fixed).

SHLD r64, r64, CL with a large count computed CF from the destination's new
value in the Python backend: an expression fused into another fused
expression was moved past the store of the destination register (the fusion
check looked at direct inputs only). Found by the differential campaign and
shrunk to this case; tests/unit/tcg/test_fusion.py has the IR-level test.
"""

import pytest

from .cases import Code, Instruction, R, case, run_pair


@pytest.mark.conformance
def test_shld_cf_after_destination_write(differ):
    c = case(Instruction.create_reg_reg_reg(Code.SHLD_RM64_R64_CL, R.R8, R.RBP, R.CL),
             rflags=0x692, rcx=0xFFFF_FFFF_FFFF_72BD, r8=0xE9DA)
    a, b, mismatch = run_pair(differ, c)
    assert b.rflags & 1, "CF is bit 3 of r8 (count 61)"
    assert mismatch is None, mismatch.report("shld_cf_after_destination_write")
