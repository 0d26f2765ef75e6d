"""Regression: cmps_fault_access_order.

CMPS with both operands unmapped.  Which operand a CPU reads first is not
architectural: the Intel hosts the suite first ran on fault on ES:[rDI], an AMD
EPYC host on [rSI].  TCG reads [rDI] first; the comparison accepts CR2 in
either operand for CMPS (and only there), and this case checks both halves.
Found by the differential campaign and shrunk to this case.
"""

import pytest

from .cases import Code, Instruction, R, case, mem, run_pair  # noqa: F401


@pytest.mark.conformance
def test_cmps_fault_access_order(differ):
    a, b, mismatch = run_pair(differ, case(Instruction.create_repe_cmpsq(64), rcx=1, rsi=0, rdi=1))
    assert a.kind == b.kind == 14
    assert b.cr2 == 1                     # TCG: ES:[rDI] first, whatever the host does
    assert a.cr2 in (0, 1)                # the oracle faults in one of the two operands
    assert mismatch is None, mismatch.report("cmps_fault_access_order")


@pytest.mark.conformance
def test_cmps_cr2_outside_both_operands_is_still_a_mismatch(differ):
    """The CMPS allowance does not hide a CR2 that belongs to neither operand."""
    from dataclasses import replace

    from ..case import Batch
    from ..compare import compare
    c = case(Instruction.create_repe_cmpsq(64), rcx=1, rsi=0, rdi=1)
    batch = Batch([c], differ.image)
    a = differ.oracle.run(batch)[0]
    b = replace(a, cr2=0x5000)
    m = compare(batch, 0, a, b, (differ.oracle.name, "tcg"))
    assert m is not None and any("cr2 0x5000" in line for line in m.lines)
