"""HMP expressions (monitor/hmp.c get_expr), such as ``0x40000000+8``.

Grammar, loosest first: sum (``+ -``), product (``* / %``), logic
(``& | ^``), unary (``+ - ~``, parentheses, ``'c'``, ``$register``, a
number in C base-0 syntax). Arithmetic is int64 with wrap-around; division
truncates toward zero as in C. Errors carry QEMU's texts.
"""

from __future__ import annotations

import re

MASK64 = (1 << 64) - 1
SPACES = " \t\n\v\f\r"
_NUMBER = re.compile(r"0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*)")


class ExprError(Exception):
    """A bad expression; the text is printed on the monitor."""


def to_int64(value: int) -> int:
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


def strtoull(text: str, pos: int) -> tuple[int, int]:
    """C strtoull(base 0) at POS without sign: (value, end); end == POS when nothing parsed."""
    m = _NUMBER.match(text, pos)
    if not m:
        return 0, pos
    if m.group(1) is not None:
        value = int(m.group(1), 16)
    elif m.group(2) is not None:
        value = int(m.group(2) or "0", 8)
    else:
        value = int(m.group(3))
    if value > MASK64:
        raise ExprError("number too large")
    return value, m.end()


class _Parser:
    def __init__(self, text: str, pos: int, registers):
        self.text = text
        self.pos = pos
        self.registers = registers            # name -> int, or None (no CPU)

    def cur(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self):
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in SPACES:
            pos += 1
        self.pos = pos

    def next(self):
        if self.pos < len(self.text):
            self.pos += 1
            self.skip_spaces()

    def unary(self) -> int:
        ch = self.cur()
        if ch == "+":
            self.next()
            return self.unary()
        if ch == "-":
            self.next()
            return to_int64(-self.unary())
        if ch == "~":
            self.next()
            return to_int64(~self.unary())
        if ch == "(":
            self.next()
            n = self.sum()
            if self.cur() != ")":
                raise ExprError("')' expected")
            self.next()
            return n
        if ch == "'":
            self.pos += 1
            if self.cur() == "":
                raise ExprError("character constant expected")
            n = ord(self.cur())
            self.pos += 1
            if self.cur() != "'":
                raise ExprError("missing terminating ' character")
            self.next()
            return n
        if ch == "$":
            self.pos += 1
            start = self.pos
            while self.cur() and (self.cur().isascii() and (self.cur().isalnum() or self.cur() in "_.")):
                self.pos += 1
            name = self.text[start:self.pos][:127]
            self.skip_spaces()
            value = None if self.registers is None else self.registers(name)
            if value is None:
                raise ExprError("unknown register")
            return to_int64(value)
        if ch == "":
            raise ExprError("unexpected end of expression")
        value, end = strtoull(self.text, self.pos)
        if end == self.pos:
            raise ExprError(f"invalid char '{ch}' in expression")
        self.pos = end
        self.skip_spaces()
        return to_int64(value)

    def product(self) -> int:
        val = self.unary()
        while (op := self.cur()) in ("*", "/", "%") and op:
            self.next()
            val2 = self.unary()
            if op == "*":
                val = to_int64(val * val2)
                continue
            if val2 == 0:
                raise ExprError("division by zero")
            quot = abs(val) // abs(val2)
            if (val < 0) != (val2 < 0):
                quot = -quot
            val = to_int64(quot) if op == "/" else to_int64(val - quot * val2)
        return val

    def logic(self) -> int:
        val = self.product()
        while (op := self.cur()) in ("&", "|", "^") and op:
            self.next()
            val2 = self.product()
            val = val & val2 if op == "&" else val | val2 if op == "|" else val ^ val2
        return val

    def sum(self) -> int:
        val = self.logic()
        while (op := self.cur()) in ("+", "-") and op:
            self.next()
            val2 = self.logic()
            val = to_int64(val + val2 if op == "+" else val - val2)
        return val


def get_expr(text: str, pos: int, registers=None) -> tuple[int, int]:
    """Parse an expression at POS: (int64 value, position after it and its spaces)."""
    p = _Parser(text, pos, registers)
    p.skip_spaces()
    return p.sum(), p.pos
