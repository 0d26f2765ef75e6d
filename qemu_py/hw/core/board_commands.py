"""Board-specific test commands as data (pseries ``rtas`` and ``hcall``).

A machine that offers such commands has ``qtest_commands()`` returning
``{name: BoardCommand}``. The board says what the arguments are and what the
command does; the qtest server (:mod:`qemu_py.qtest.board`) parses the line
with its strict number parser, calls the board and writes the reply: the
board neither parses text nor formats protocol lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

# argument kinds: "str" (one word as given), "u64" (a number as strtoull base
# 0, negatives wrap), "u64..." (the rest of the line, zero or more numbers)
ARG_KINDS = ("str", "u64", "u64...")


class BoardCommandError(Exception):
    """The command cannot be done; the text follows ``FAIL NAME: `` in the reply."""


@dataclass(frozen=True)
class BoardCommand:
    """PARAMS: ``(what, kind)`` per argument, in order (``what`` names it in
    errors, e.g. ``missing opcode``); CALL(*values) returns the numbers of the
    ``OK`` reply (unsigned 64-bit decimal) or raises :class:`BoardCommandError`."""

    params: tuple[tuple[str, str], ...]
    call: Callable[..., Sequence[int]]

    def __post_init__(self):
        for what, kind in self.params:
            if kind not in ARG_KINDS:
                raise ValueError(f"board command argument {what}: unknown kind {kind!r}")
        if any(kind == "u64..." for _w, kind in self.params[:-1]):
            raise ValueError("board command: only the last argument may take the rest")
