"""Building blocks for the regression files: one-instruction cases from the shrunk reports."""

from __future__ import annotations

from iced_x86 import Code, Instruction, MemoryOperand, Register as R

from .. import image as im
from ..case import Case, fake_ip


def case(*insns, pointers=("rsp",), rflags=0x202, **regs) -> Case:
    for k, insn in enumerate(insns):
        insn.ip = fake_ip(k)
    values = {n: 0 for n in im.GPRS}
    values["rsp"] = 0xC00
    values.update(regs)
    return Case(list(insns), values, rflags, pointers=frozenset(pointers))


def mem(base, disp):
    return MemoryOperand(base, R.NONE, 1, disp, 1 if -128 <= disp <= 127 else 8)


def run_pair(differ, c: Case):
    """(oracle result, tcg result, mismatch or None) for C alone in a batch."""
    from ..case import Batch
    from ..compare import compare
    batch = Batch([c], differ.image)
    a = differ.oracle.run(batch)[0]
    b = differ.tcg.run(batch)[0]
    return a, b, compare(batch, 0, a, b, (differ.oracle.name, "tcg"))


__all__ = ["Code", "Instruction", "R", "case", "mem", "run_pair"]
