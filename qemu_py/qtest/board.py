"""Serve a machine's board-specific commands (:mod:`qemu_py.hw.core.board_commands`)
on the qtest wire: parse the words strictly, call the board, format the reply.

Errors name the command and the bad value: ``FAIL hcall: missing opcode``,
``FAIL hcall: bad number 'zz'`` (a number is strtoull base 0 with the whole
token consumed: ``08`` and ``0x`` are refused, ``-1`` wraps to 2^64-1).
"""

from __future__ import annotations

from qemu_py.hw.core.board_commands import BoardCommand, BoardCommandError
from qemu_py.system.numbers import NumberError, strtou

U64 = (1 << 64) - 1


def _number(name: str, token: str) -> int:
    try:
        return strtou(token, 64)
    except NumberError:
        raise BoardCommandError(f"bad number '{token}'") from None


def _values(name: str, command: BoardCommand, args: list[str]) -> list:
    values: list = []
    for i, (what, kind) in enumerate(command.params):
        if kind == "u64...":
            values.extend(_number(name, t) for t in args[i:])
            return values
        if i >= len(args):
            raise BoardCommandError(f"missing {what}")
        values.append(args[i] if kind == "str" else _number(name, args[i]))
    return values


def reply(name: str, command: BoardCommand, args: list[str]) -> str:
    """The reply line (without the newline) to ``NAME ARGS...``."""
    try:
        results = command.call(*_values(name, command, args))
    except BoardCommandError as e:
        return f"FAIL {name}: {e}"
    return "OK " + " ".join(str(r & U64) for r in results)


def register_board_commands(server, machine) -> None:
    """Hook MACHINE's ``qtest_commands()`` (if it has them) into SERVER."""
    table = getattr(machine, "qtest_commands", None)
    for name, command in (table() if table else {}).items():
        server.register_extension(
            name, lambda _server, words, name=name, command=command:
            reply(name, command, words[1:]) + "\n")
