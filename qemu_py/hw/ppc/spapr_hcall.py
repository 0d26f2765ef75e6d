"""The pseries hypercall dispatcher and its test-facing entry points.

:meth:`SpaprHcalls.hcall` takes an opcode and the argument registers r4, r5,
... and returns ``[r3, r4, ...]`` as unsigned 64-bit register values, as a
guest would see them after ``sc 1`` (QEMU's
``gpr[3] = spapr_hypercall(cpu, gpr[3], &gpr[4])``).

The register file is synthetic: r4..r31 start from ``args`` and the rest are
zero.  The returned list holds r3 and then ``max(len(args), outputs)``
registers from r4, where ``outputs`` is what the call writes (H_ENTER 1,
H_REMOVE 2, H_READ 2 or 8 with H_READ_4, H_BULK_REMOVE 8).  Registers a call
does not write keep their input values, as in QEMU.

Malformed input never raises: a non-integer opcode or one without a handler
gives H_FUNCTION; non-integer arguments, values outside the 64-bit register
range (negative values down to -2^63 are taken as two's complement), or more
than 28 argument registers give H_PARAMETER.  MSR[PR]=1 gives H_PRIVILEGE.
What *can* raise is the backend itself: on ``kvm-sim`` a write while vCPUs
are marked running fails with :class:`~qemu_py.target.ppc.kvm_hptes.KvmHptError`
(EBUSY), where QEMU would abort with ``hw_error``; :func:`qtest_hcall` turns
that into a ``FAIL`` line.

:func:`qtest_hcall` is the proposed qtest command ``hcall OPCODE ARG...``:
numbers are parsed like QEMU's qtest parser (``strtoull`` base 0: 0x hex,
leading 0 octal, decimal, optional minus) and the answer is
``OK R3 R4 ...`` in unsigned decimal, the format QEMU's ``rtas`` command uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from qemu_py.hw.core.board_commands import BoardCommand, BoardCommandError
from qemu_py.target.ppc.hpt_backend import HptBackend
from qemu_py.target.ppc.kvm_hptes import KvmHptError
from qemu_py.target.ppc.mmu_models import DEFAULT_MMU, HashMmuModel

from .hcall_codes import H_FUNCTION, H_PARAMETER, H_PRIVILEGE, H_READ_4, MASK64, Hcall, u64
from .spapr_hcall_hpt import (
    BULK_RC_SHIFT_QEMU,
    HptHcallContext,
    h_bulk_remove,
    h_enter,
    h_protect,
    h_read,
    h_remove,
)

#: r4..r31
MAX_ARG_REGS = 28

HcallHandler = Callable[[list[int]], int]


def _outputs(opcode: int, regs: list[int]) -> int:
    if opcode == Hcall.H_ENTER:
        return 1
    if opcode == Hcall.H_REMOVE:
        return 2
    if opcode == Hcall.H_READ:
        return 8 if regs[0] & H_READ_4 else 2
    if opcode == Hcall.H_BULK_REMOVE:
        return 8
    return 0


def _register_value(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    if not -(1 << 63) <= value <= MASK64:
        return None
    return value & MASK64


class SpaprHcalls:
    """Hypercall table of one pseries machine, with the HPT calls registered."""

    def __init__(
        self,
        backend: HptBackend,
        *,
        is_ram: Callable[[int], bool],
        model: HashMmuModel = DEFAULT_MMU,
        flush_hpte: Callable[[int, int, int], None] | None = None,
        bulk_rc_shift: int = BULK_RC_SHIFT_QEMU,
    ):
        self.ctx = HptHcallContext(backend, is_ram, model, flush_hpte, bulk_rc_shift)
        self._handlers: dict[int, HcallHandler] = {}
        for opcode, fn in (
            (Hcall.H_ENTER, h_enter),
            (Hcall.H_REMOVE, h_remove),
            (Hcall.H_READ, h_read),
            (Hcall.H_PROTECT, h_protect),
            (Hcall.H_BULK_REMOVE, h_bulk_remove),
        ):
            self.register(opcode, lambda regs, fn=fn: fn(self.ctx, regs))

    def register(self, opcode: int, handler: HcallHandler) -> None:
        """Add a handler ``handler(regs) -> status``; ``regs`` is r4.. and is mutable."""
        if opcode in self._handlers:
            raise ValueError(f"hcall {opcode:#x} is already registered")
        self._handlers[int(opcode)] = handler

    def registered(self) -> list[int]:
        return sorted(self._handlers)

    def hcall(
        self, opcode: object, args: Sequence[object] = (), *, problem_state: bool = False
    ) -> list[int]:
        """Run one hypercall; returns ``[r3, r4, ...]`` (see the module docstring)."""
        try:
            arglist = list(args)
        except TypeError:
            return [u64(H_PARAMETER)]
        values = [_register_value(a) for a in arglist]
        if len(values) > MAX_ARG_REGS or any(v is None for v in values):
            return [u64(H_PARAMETER)] + [v if v is not None else 0 for v in values]
        regs: list[int] = values + [0] * (MAX_ARG_REGS - len(values))  # type: ignore[operator]
        if problem_state:
            return [u64(H_PRIVILEGE)] + regs[: len(values)]
        op = _register_value(opcode)
        handler = self._handlers.get(op) if op is not None else None
        if handler is None:
            return [u64(H_FUNCTION)] + regs[: len(values)]
        width = max(len(values), _outputs(op, regs))
        status = handler(regs)
        return [u64(status)] + [r & MASK64 for r in regs[:width]]


def hcall_command(hcalls: Callable[[], SpaprHcalls],
                  ready: Callable[[], bool] = lambda: True) -> BoardCommand:
    """The test command ``hcall OPCODE ARG...`` on the table HCALLS() returns:
    the hcall's return registers R3 R4 ... (READY() false: the machine is not
    initialised yet, and has no table)."""
    def call(opcode: int, *args: int) -> list[int]:
        if not ready():
            raise BoardCommandError("the machine is not initialised yet")
        try:
            return hcalls().hcall(opcode, list(args))
        except KvmHptError as e:
            raise BoardCommandError(str(e)) from None
    return BoardCommand((("opcode", "u64"), ("args", "u64...")), call)
