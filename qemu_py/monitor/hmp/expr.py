"""HMP expressions (monitor/hmp.c get_expr), such as ``0x40000000+8``.

Grammar, loosest first: sum (``+ -``), product (``* / %``), logic
(``& | ^``), unary (``+ - ~``, parentheses, ``'c'``, ``$register``, a
number in C base-0 syntax). Arithmetic is int64 with wrap-around; division
truncates toward zero as in C. Errors carry QEMU's texts. The parser keeps
its own stacks instead of recursing, so nesting depth is bounded only by the
input's length (QEMU recurses on the C stack, which has room for any line a
monitor takes); a number past 2^64-1 is "number too large" whatever its
length.
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
    # strtoull's ERANGE, decided on the digit count first so numbers of any length
    # cost linear time (and never reach int()'s limit on decimal digits)
    if m.group(1) is not None:
        digits, base, most = m.group(1).lstrip("0"), 16, 16
    elif m.group(2) is not None:
        digits, base, most = m.group(2).lstrip("0"), 8, 22
    else:
        digits, base, most = m.group(3), 10, 20
    if len(digits) > most:
        raise ExprError("number too large")
    value = int(digits or "0", base)
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

    def atom(self) -> int:
        """A character constant, a register or a number (QEMU's expr_unary leaves)."""
        ch = self.cur()
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

    def expr(self) -> int:
        """QEMU's recursive descent, done with explicit stacks so any nesting depth works.

        Each binary operator is applied as soon as the next operator of the same or a
        looser level (or the end) is seen, which is when the recursive parser applies it,
        so errors (division by zero before a later bad token) come in QEMU's order.
        """
        ops: list[str] = []                   # "(", unary "u-" "u~" "u+", binary ops
        vals: list[int] = []
        while True:
            # an operand: prefix operators and parentheses, then a leaf
            while True:
                ch = self.cur()
                if ch in ("+", "-", "~") and ch:
                    ops.append("u" + ch)
                    self.next()
                elif ch == "(":
                    ops.append("(")
                    self.next()
                else:
                    break
            vals.append(self.atom())
            _apply_unary(ops, vals)
            # an operator, or the end of a parenthesised or of the whole expression
            while True:
                op = self.cur()
                level = LEVELS.get(op) if op else None
                if level is not None:
                    while ops and LEVELS.get(ops[-1], 0) >= level:
                        _apply_binary(ops.pop(), vals)
                    ops.append(op)
                    self.next()
                    break
                while ops and ops[-1] in LEVELS:
                    _apply_binary(ops.pop(), vals)
                if not ops:
                    return vals.pop()
                if op != ")":                 # ops[-1] is "("
                    raise ExprError("')' expected")
                ops.pop()
                self.next()
                _apply_unary(ops, vals)


LEVELS = {"+": 1, "-": 1, "&": 2, "|": 2, "^": 2, "*": 3, "/": 3, "%": 3}


def _apply_unary(ops: list[str], vals: list[int]):
    while ops and ops[-1][0] == "u":
        op = ops.pop()
        if op == "u-":
            vals[-1] = to_int64(-vals[-1])
        elif op == "u~":
            vals[-1] = to_int64(~vals[-1])


def _apply_binary(op: str, vals: list[int]):
    val2 = vals.pop()
    val = vals[-1]
    if op == "+":
        val = to_int64(val + val2)
    elif op == "-":
        val = to_int64(val - val2)
    elif op == "&":
        val &= val2
    elif op == "|":
        val |= val2
    elif op == "^":
        val ^= val2
    elif op == "*":
        val = to_int64(val * val2)
    else:
        if val2 == 0:
            raise ExprError("division by zero")
        quot = abs(val) // abs(val2)
        if (val < 0) != (val2 < 0):
            quot = -quot
        val = to_int64(quot) if op == "/" else to_int64(val - quot * val2)
    vals[-1] = val


def get_expr(text: str, pos: int, registers=None) -> tuple[int, int]:
    """Parse an expression at POS: (int64 value, position after it and its spaces)."""
    p = _Parser(text, pos, registers)
    p.skip_spaces()
    return p.expr(), p.pos
