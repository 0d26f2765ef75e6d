"""Regression: cmpxchg_fault_is_a_write (fixed).

CMPXCHG/CMPXCHG8B/16B write their memory operand whatever the comparison
gives, so a fault is a write fault (#PF error code with W; on a read-only
page the first byte is reported, not the next page's). TCG treated the
access as a load. Found by the differential campaign and shrunk to these.
"""

import pytest

from .cases import Code, Instruction, R, case, mem, run_pair


@pytest.mark.conformance
def test_cmpxchg8b_crossing_into_the_guard_page(differ):
    c = case(Instruction.create_mem(Code.CMPXCHG8B_M64, mem(R.R12, 0x7FE)),
             pointers=("rsp", "r12"), r12=0x800)
    a, b, mismatch = run_pair(differ, c)
    assert b.kind == 14 and b.err & 2, "a write fault"
    assert mismatch is None, mismatch.report("cmpxchg_fault_is_a_write")


@pytest.mark.conformance
def test_cmpxchg_on_the_read_only_page(differ):
    from .. import image as im
    c = case(Instruction.create_mem_reg(Code.CMPXCHG_RM64_R64, mem(R.R10, 0x7FE), R.R8),
             r10=im.RO_PAGE + 0x800)
    a, b, mismatch = run_pair(differ, c)
    assert b.kind == 14 and b.err == 7 and b.cr2 == im.RO_PAGE + 0xFFE
    assert mismatch is None, mismatch.report("cmpxchg_fault_is_a_write")
