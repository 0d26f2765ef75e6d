"""Reference semantics of the pure IR ops, shared by the interpreter and the
optimizer's constant folder.

Values are the unsigned representation of their type (0 <= v < 2**bits).
Shift and rotate counts are taken modulo the width (QEMU leaves counts >=
the width undefined; the front ends never rely on them). Division by zero is
undefined in TCG; here it raises :class:`ZeroDivisionError`, which the front
ends avoid by checking first.
"""

from __future__ import annotations

from .ir import BITS, MASK, CONV_TYPES, Cond, I32, I64, eval_cond

M32 = MASK[I32]
M64 = MASK[I64]


def _s(v: int, bits: int) -> int:
    sign = 1 << (bits - 1)
    return (v ^ sign) - sign


def _bswap(v: int, nbytes: int) -> int:
    return int.from_bytes((v & ((1 << (8 * nbytes)) - 1)).to_bytes(nbytes, "little"), "big")


def _clz(v: int, bits: int) -> int:
    return bits - v.bit_length()


def _ctz(v: int) -> int:
    return (v & -v).bit_length() - 1


def _div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def _rem(a: int, b: int) -> int:
    return a - _div(a, b) * b


def evaluate(base: str, type_, ins: list[int], cargs: list) -> tuple[int, ...]:
    """Outputs of pure op BASE of TYPE on inputs INS and constant args CARGS."""
    bits = BITS[type_] if type_ is not None else 64
    m = (1 << bits) - 1
    if base == "mov":
        return (ins[0],)
    if base in _BIN:
        return (_BIN[base](ins[0], ins[1], bits, m) & m,)
    if base == "neg":
        return ((-ins[0]) & m,)
    if base == "not":
        return ((~ins[0]) & m,)
    if base in ("div", "rem"):
        a, b = _s(ins[0], bits), _s(ins[1], bits)
        if b == 0:
            raise ZeroDivisionError(f"{base}: division by zero")
        return ((_div(a, b) if base == "div" else _rem(a, b)) & m,)
    if base in ("divu", "remu"):
        if ins[1] == 0:
            raise ZeroDivisionError(f"{base}: division by zero")
        return ((ins[0] // ins[1] if base == "divu" else ins[0] % ins[1]) & m,)
    if base == "mulu2":
        p = ins[0] * ins[1]
        return (p & m, (p >> bits) & m)
    if base == "muls2":
        p = _s(ins[0], bits) * _s(ins[1], bits)
        return (p & m, (p >> bits) & m)
    if base == "add2":
        v = (ins[0] | (ins[1] << bits)) + (ins[2] | (ins[3] << bits))
        return (v & m, (v >> bits) & m)
    if base == "sub2":
        v = (ins[0] | (ins[1] << bits)) - (ins[2] | (ins[3] << bits))
        return (v & m, (v >> bits) & m)
    if base == "ext8s":
        return (_s(ins[0] & 0xFF, 8) & m,)
    if base == "ext8u":
        return (ins[0] & 0xFF,)
    if base == "ext16s":
        return (_s(ins[0] & 0xFFFF, 16) & m,)
    if base == "ext16u":
        return (ins[0] & 0xFFFF,)
    if base == "ext32s":
        return (_s(ins[0] & M32, 32) & m,)
    if base == "ext32u":
        return (ins[0] & M32,)
    if base == "bswap16":
        return (_bswap(ins[0], 2),)
    if base == "bswap32":
        return (_bswap(ins[0], 4),)
    if base == "bswap64":
        return (_bswap(ins[0], 8),)
    if base == "clz":
        return (ins[1] if ins[0] == 0 else _clz(ins[0], bits),)
    if base == "ctz":
        return (ins[1] if ins[0] == 0 else _ctz(ins[0]),)
    if base == "ctpop":
        return (bin(ins[0]).count("1"),)
    if base == "extract":
        pos, length = cargs
        return ((ins[0] >> pos) & ((1 << length) - 1),)
    if base == "sextract":
        pos, length = cargs
        return (_s((ins[0] >> pos) & ((1 << length) - 1), length) & m,)
    if base == "deposit":
        pos, length = cargs
        fm = ((1 << length) - 1) << pos
        return (((ins[0] & ~fm) | ((ins[1] << pos) & fm)) & m,)
    if base == "extract2":
        (pos,) = cargs
        return ((((ins[1] << bits) | ins[0]) >> pos) & m,)
    if base == "setcond":
        return (int(eval_cond(Cond(cargs[0]), ins[0], ins[1], type_)),)
    if base == "movcond":
        return (ins[2] if eval_cond(Cond(cargs[0]), ins[0], ins[1], type_) else ins[3],)
    if base == "ext_i32_i64":
        return (_s(ins[0], 32) & M64,)
    if base == "extu_i32_i64":
        return (ins[0] & M32,)
    if base == "extrl_i64_i32":
        return (ins[0] & M32,)
    if base == "extrh_i64_i32":
        return (ins[0] >> 32,)
    raise KeyError(base)


def _shl(a, b, bits, m):
    return a << (b & (bits - 1))


def _shr(a, b, bits, m):
    return a >> (b & (bits - 1))


def _sar(a, b, bits, m):
    return _s(a, bits) >> (b & (bits - 1))


def _rotl(a, b, bits, m):
    n = b & (bits - 1)
    return (a << n) | (a >> (bits - n)) if n else a


def _rotr(a, b, bits, m):
    n = b & (bits - 1)
    return (a >> n) | (a << (bits - n)) if n else a


_BIN = {
    "add": lambda a, b, bits, m: a + b,
    "sub": lambda a, b, bits, m: a - b,
    "mul": lambda a, b, bits, m: a * b,
    "and": lambda a, b, bits, m: a & b,
    "or": lambda a, b, bits, m: a | b,
    "xor": lambda a, b, bits, m: a ^ b,
    "andc": lambda a, b, bits, m: a & ~b,
    "orc": lambda a, b, bits, m: a | (~b & m),
    "eqv": lambda a, b, bits, m: ~(a ^ b),
    "nand": lambda a, b, bits, m: ~(a & b),
    "nor": lambda a, b, bits, m: ~(a | b),
    "shl": _shl, "shr": _shr, "sar": _sar, "rotl": _rotl, "rotr": _rotr,
}

PURE_BASES = frozenset(list(_BIN) + [
    "mov", "neg", "not", "div", "divu", "rem", "remu", "mulu2", "muls2", "add2", "sub2",
    "ext8s", "ext8u", "ext16s", "ext16u", "ext32s", "ext32u", "bswap16", "bswap32", "bswap64",
    "clz", "ctz", "ctpop", "extract", "sextract", "deposit", "extract2", "setcond", "movcond",
] + list(CONV_TYPES))
