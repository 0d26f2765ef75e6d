"""Regression: sse_store_fault_is_a_write (fixed).

A 128-bit store (MOVUPD/MOVNTPD m128, xmm) that faults reported a read
access (#PF error code without W) and, when it lay wholly in an unmapped
page, CR2 = base + 8: TCG probed the second quadword with a load. The CPU
reports a write fault at the first inaccessible byte. Found by the
differential campaign and shrunk to these cases.
"""

from dataclasses import replace

import pytest
from iced_x86 import Register

from .cases import Code, Instruction, R, case, mem, run_pair


@pytest.mark.conformance
@pytest.mark.parametrize("code,disp", [(Code.MOVUPD_XMMM128_XMM, 0x7F4),
                                       (Code.MOVNTPD_M128_XMM, 0x800)])
def test_sse_store_fault_is_a_write(differ, code, disp):
    c = case(Instruction.create_mem_reg(code, mem(R.R12, disp), Register.XMM1),
             pointers=("rsp", "r12"), r12=0x800)
    a, b, mismatch = run_pair(differ, replace(c, xmm=(0, 0x1234)))
    assert b.kind == 14 and b.err & 2, "a write fault"
    assert mismatch is None, mismatch.report("sse_store_fault_is_a_write")
