"""Regression: rmw_page_fault_error_code_lacks_write.

a read-modify-write instruction (ADD/BTS/NEG/... on memory, LOCK or not) faulting on a
not-present page reports error code 4 (read) instead of 6 (write).
Found by the differential campaign and shrunk to this case; strict xfail
until TCG is fixed (then this test passes, and the xfail and the entry in
``known.py`` go).
"""

import pytest

from .cases import Code, Instruction, R, case, mem, run_pair  # noqa: F401


@pytest.mark.conformance
def test_rmw_page_fault_error_code_lacks_write(differ):
    a, b, mismatch = run_pair(differ, case(Instruction.create_mem_i32(Code.BTR_RM16_IMM8, mem(R.R15, 0x7FE + 4), 0x30), r15=0x800, pointers=("rsp", "r15")))
    assert a.kind == b.kind == 14
    assert a.err == 6, 'the CPU reports a write'
    assert b.err == a.err
    assert mismatch is None, mismatch.report("rmw_page_fault_error_code_lacks_write")
