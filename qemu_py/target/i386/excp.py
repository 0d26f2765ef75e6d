"""Guest exceptions as Python exceptions.

Every instance unwinds to the execution loop, which restores the state of
the instruction that raised it (its ``rip`` and ``cc_op``) before the CPU
handles it. ``next_eip`` is set for software interrupts (``int n``,
``int3``, ``into``, ``syscall``-style events), whose return address is the
following instruction; ``completes_insn`` says that the instruction counts
as retired (HLT, software interrupts).
"""

from __future__ import annotations

from qemu_py.tcg.tb import GuestFault


class X86Exception(GuestFault):
    def __init__(self, vector: int, error_code: int = 0, *, cr2: int | None = None,
                 is_int: bool = False, next_eip: int | None = None, has_error: bool | None = None):
        super().__init__(f"x86 exception {vector:#x} error {error_code:#x}")
        self.vector = vector
        self.error_code = error_code
        self.cr2 = cr2
        self.is_int = is_int
        self.next_eip = next_eip
        self.completes_insn = is_int
        self.has_error = has_error


class CPUHalt(GuestFault):
    """HLT: the CPU stops at the next instruction until an interrupt."""

    completes_insn = True

    def __init__(self, next_eip: int):
        super().__init__("hlt")
        self.next_eip = next_eip


class TripleFault(Exception):
    """A fault while delivering a double fault: the machine resets."""


# Vectors that push an error code when delivered as exceptions.
ERROR_CODE_VECTORS = frozenset({8, 10, 11, 12, 13, 14, 17, 21})
CONTRIBUTORY = frozenset({0, 10, 11, 12, 13})
