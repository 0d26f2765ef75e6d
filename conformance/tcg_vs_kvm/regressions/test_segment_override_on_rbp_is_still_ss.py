"""Regression: segment_override_on_rbp_is_still_ss (fixed).

64-bit mode ignores CS/DS/ES/SS segment overrides, so a non-canonical
address with an RBP or RSP base raises #SS(0) whatever the prefix; TCG took
the CS override at its word and raised #GP(0); the converse too: an SS
override on another base is ignored, so the fault is #GP(0), where TCG
raised #SS(0). Found by the differential campaign and shrunk to these cases.
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


@pytest.mark.conformance
def test_ss_override_on_a_general_base_is_gp(differ):
    """ss: on an R13 base is ignored in 64-bit mode: a non-canonical address is #GP(0)
    (TCG took the override at its word and raised #SS)."""
    from iced_x86 import Register
    insn = Instruction.create_reg_reg_mem(Code.VEX_PEXT_R32_R32_RM32, R.R14D, R.ECX,
                                          mem(R.R13, -0x5D0))
    insn.segment_prefix = Register.SS
    from ..campaign import Differ
    host = Differ("host")          # PVM hosts turn a VEX instruction's #GP into #UD
    try:
        a, b, mismatch = run_pair(host, case(insn, r13=0x8000_0000_0000_0800))
    finally:
        host.close()
    assert a.kind == 13 and b.kind == 13
    assert mismatch is None, mismatch.report("segment_override_on_a_general_base_is_gp")
