"""Regression: sse_shift_count_is_low_quadword (fixed).

PSRAD/PSLL*/PSRL* with an XMM or m128 count use SRC[63:0] only; TCG
saturated the count when the high quadword was non-zero. Found by the
differential campaign and shrunk to this case.
"""

from dataclasses import replace

import pytest
from iced_x86 import Register

from .cases import Code, Instruction, case, run_pair


@pytest.mark.conformance
def test_sse_shift_count_is_low_quadword(differ):
    c = case(Instruction.create_reg_reg(Code.PSRAD_XMM_XMMM128, Register.XMM14, Register.XMM6))
    xmm = [0] * 16
    xmm[6] = 0x0000_0000_0000_EC79_0000_0000_0000_0010
    xmm[14] = 0x8000_0000_8000_0000_8000_0000_8000_0000
    a, b, mismatch = run_pair(differ, replace(c, xmm=tuple(xmm)))
    assert b.xmm(14) == 0xFFFF_8000_FFFF_8000_FFFF_8000_FFFF_8000
    assert mismatch is None, mismatch.report("sse_shift_count_is_low_quadword")
