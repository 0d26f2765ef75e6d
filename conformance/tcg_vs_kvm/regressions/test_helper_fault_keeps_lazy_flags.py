"""Regression: helper_fault_keeps_lazy_flags (fixed).

FXSAVE, FXRSTOR and LDMXCSR fault inside their helpers, which were declared
as touching no globals, so the lazily computed flags of the instruction
before were not in the CPU state when the fault was delivered (ZF/PF of
``and ax, imm`` came out wrong). Found by the differential campaign and
shrunk to an FXRSTOR that raised #GP (here a #PF: a misaligned FXSAVE's #GP is
re-emulated by PVM hosts, which the campaign recognises as a PVM quirk).
"""

import pytest

from .cases import Code, Instruction, R, case, mem, run_pair


@pytest.mark.conformance
@pytest.mark.parametrize("code", [Code.FXRSTOR_M512BYTE, Code.FXSAVE64_M512BYTE,
                                  Code.LDMXCSR_M32])
def test_helper_fault_keeps_lazy_flags(differ, code):
    c = case(Instruction.create_reg_u32(Code.AND_AX_IMM16, R.AX, 0x653B),
             Instruction.create_mem(code, mem(R.R13, 0x700 if code != Code.LDMXCSR_M32
                                               else 0x7FE)),     # into the guard page
             Instruction.create_reg_i32(Code.ADC_RM32_IMM8, R.EAX, 1),   # flags live after
             pointers=("rsp", "r13"), r13=0x800, rax=1, rflags=0x216)
    a, b, mismatch = run_pair(differ, c)
    assert b.kind == 14
    assert mismatch is None, mismatch.report("helper_fault_keeps_lazy_flags")
