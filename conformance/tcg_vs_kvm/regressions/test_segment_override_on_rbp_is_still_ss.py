"""Regression: segment_override_on_rbp_is_still_ss (fixed).

64-bit mode ignores CS/DS/ES/SS segment overrides, so a non-canonical
address with an RBP or RSP base raises #SS(0) whatever the prefix; TCG took
the CS override at its word and raised #GP(0). Found by the differential
campaign and shrunk to this case.
"""

import pytest
from iced_x86 import Register

from .cases import Code, Instruction, R, case, mem, run_pair


@pytest.mark.conformance
@pytest.mark.parametrize("prefix", [Register.CS, Register.DS, Register.ES])
def test_segment_override_on_rbp_is_still_ss(differ, prefix):
    insn = Instruction.create_reg_mem(Code.PADDSW_XMM_XMMM128, Register.XMM11,
                                      mem(R.RBP, 0xD0))
    insn.segment_prefix = prefix
    a, b, mismatch = run_pair(differ, case(insn, rbp=0x8000_0000_0000_0800))
    assert a.kind == 12, "the CPU raises #SS"
    assert mismatch is None, mismatch.report("segment_override_on_rbp_is_still_ss")
