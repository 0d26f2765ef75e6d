"""Regression: bt_bit_offset_noncanonical_is_ss (fixed).

BT/BTS/BTR/BTC with a register bit offset address the operand-sized unit
the signed offset selects; when that address is non-canonical and the base
is RBP the CPU raises #SS(0). TCG decided #SS or #GP from the address
without the offset. Found by the differential campaign and shrunk to this.
"""

import pytest
from iced_x86 import MemoryOperand

from .cases import Code, Instruction, R, case, run_pair


@pytest.mark.conformance
@pytest.mark.parametrize("code,reg", [(Code.BT_RM64_R64, R.R12), (Code.BTC_RM64_R64, R.R12)])
def test_bt_bit_offset_noncanonical_is_ss(differ, code, reg):
    insn = Instruction.create_mem_reg(code, MemoryOperand(R.RBP, R.R9, 8, 0x7D, 1), reg)
    c = case(insn, pointers=("rsp", "rbp"), rbp=0x800, r12=0x40A6_00B0_0732_85F8)
    a, b, mismatch = run_pair(differ, c)
    assert a.kind == 12, "the CPU raises #SS"
    assert mismatch is None, mismatch.report("bt_bit_offset_noncanonical_is_ss")
