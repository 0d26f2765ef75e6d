"""The HMP expression parser on its own: it returns an int64 and a position,
or raises its own ExprError with a message; nothing else may come out."""

from __future__ import annotations

from qemu_py.monitor.hmp.expr import ExprError, get_expr

from ..harness import SLOW_SECONDS, Finding, within

REGISTERS = {"pc": 0x1000, "eax": 0xdeadbeef, "sp": 0x7ff0}


def one(data: bytes) -> None:
    text = data.decode("latin-1")
    with within(SLOW_SECONDS, f"expression {text[:80]!r}"):
        try:
            value, pos = get_expr(text, 0, REGISTERS.get)
        except ExprError as e:
            if not str(e):
                raise Finding(f"ExprError without a message for {text[:80]!r}") from None
            return
    if not (-(1 << 63) <= value < (1 << 63)) or not (0 <= pos <= len(text)):
        raise Finding(f"{text[:80]!r} gave value {value} at position {pos}")


def seeds() -> list[bytes]:
    return [b"0x40000000+8", b"(1+2)*4", b"-~1", b"'a'", b"$pc+4", b"$nosuch", b"1/0",
            b"0x" + b"f" * 20, b"9" * 5000, b"(" * 3000 + b"1", b"-" * 3000 + b"1",
            b"~" * 1500 + b"1", b"010 % 3 & 0xff | 1 ^ 2"]
