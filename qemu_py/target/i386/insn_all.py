"""Imports every instruction group so that their handlers register."""

from . import insn_arith, insn_bit, insn_bmi, insn_branch, insn_flags, insn_logic  # noqa: F401
from . import insn_mov, insn_shift, insn_sse, insn_stack, insn_string, insn_system  # noqa: F401
from . import insn_sse3, insn_sse41, insn_sse42, insn_ssse3  # noqa: F401
from . import insn_mmx, insn_x87  # noqa: F401
