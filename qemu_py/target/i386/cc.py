"""Lazy condition codes.

The last flag-setting instruction records what it did in ``cc_op`` and its
operands/result in ``cc_dst``/``cc_src``/``cc_src2``; flags are computed
only when read. The translator knows ``cc_op`` statically inside a TB and
evaluates most conditions inline (see ``translate.DisasContext.prepare_cc``);
the functions here compute the flags for any state and back the
``cc_compute_all``/``cc_compute_c`` helpers.

Meaning of the operands per operation (``dst`` is always the result):

==========  =================================================================
ADD         src = second operand (first = dst - src)
ADC         src = second operand, src2 = carry in
SUB         src = second operand (first = dst + src)
SBB         src = second operand, src2 = borrow in
LOGIC       -
INC/DEC     src = the CF before the instruction
SHL         src = value shifted by count-1 (CF = its top bit)
SAR         src = value shifted by count-1 (CF = its bit 0); also SHR
MUL         src = high part (or the overflow indicator); CF=OF=(src != 0)
BMILG       src = the source operand; CF = (src == 0)
ADCX        dst = CF (other flags from src as EFLAGS)
ADOX        src2 = OF (other flags from src as EFLAGS)
ADCOX       dst = CF, src2 = OF, src = EFLAGS
EFLAGS      src = the flags themselves
CLR         flags are ZF|PF
POPCNT      src = the source; ZF = (src == 0), others clear
==========  =================================================================
"""

from __future__ import annotations

from qemu_py.tcg.ir import I64, CallFlags, Helper

from .state import CC_A, CC_C, CC_O, CC_P, CC_S, CC_Z

# cc_op values; sized groups are BASE + size index (0: 8 bit, 1: 16, 2: 32, 3: 64)
CC_OP_DYNAMIC = 0
CC_OP_EFLAGS = 1
CC_OP_MULB = 2
CC_OP_ADDB = 6
CC_OP_ADCB = 10
CC_OP_SUBB = 14
CC_OP_SBBB = 18
CC_OP_LOGICB = 22
CC_OP_INCB = 26
CC_OP_DECB = 30
CC_OP_SHLB = 34
CC_OP_SARB = 38
CC_OP_BMILGB = 42
CC_OP_ADCX = 46
CC_OP_ADOX = 47
CC_OP_ADCOX = 48
CC_OP_CLR = 49
CC_OP_POPCNT = 50
CC_OP_NB = 51

GROUP_NAMES = {CC_OP_MULB: "MUL", CC_OP_ADDB: "ADD", CC_OP_ADCB: "ADC", CC_OP_SUBB: "SUB",
               CC_OP_SBBB: "SBB", CC_OP_LOGICB: "LOGIC", CC_OP_INCB: "INC", CC_OP_DECB: "DEC",
               CC_OP_SHLB: "SHL", CC_OP_SARB: "SAR", CC_OP_BMILGB: "BMILG"}


def cc_op_name(op: int) -> str:
    single = {CC_OP_DYNAMIC: "DYNAMIC", CC_OP_EFLAGS: "EFLAGS", CC_OP_ADCX: "ADCX",
              CC_OP_ADOX: "ADOX", CC_OP_ADCOX: "ADCOX", CC_OP_CLR: "CLR",
              CC_OP_POPCNT: "POPCNT"}
    if op in single:
        return single[op]
    base = CC_OP_MULB + (op - CC_OP_MULB) // 4 * 4
    return GROUP_NAMES[base] + "BWLQ"[(op - CC_OP_MULB) % 4]


def cc_group(op: int) -> tuple[int, int]:
    """(group base, size index) of a sized cc_op, or (op, -1)."""
    if CC_OP_MULB <= op < CC_OP_ADCX:
        return CC_OP_MULB + (op - CC_OP_MULB) // 4 * 4, (op - CC_OP_MULB) % 4
    return op, -1


_PARITY = bytes(0 if bin(i).count("1") & 1 else CC_P for i in range(256))


def _bits(size: int) -> int:
    return 8 << size


def compute_all(dst: int, src: int, src2: int, op: int) -> int:
    """The six arithmetic flags for the lazy state (dst, src, src2, op)."""
    base, size = cc_group(op)
    if size < 0:
        if op == CC_OP_EFLAGS:
            return src & (CC_C | CC_P | CC_A | CC_Z | CC_S | CC_O)
        if op == CC_OP_CLR:
            return CC_Z | CC_P
        if op == CC_OP_POPCNT:
            return CC_Z if src == 0 else 0
        if op == CC_OP_ADCX:
            return (src & ~CC_C & 0x8D5) | (CC_C if dst else 0)
        if op == CC_OP_ADOX:
            return (src & ~CC_O & 0x8D5) | (CC_O if src2 else 0)
        if op == CC_OP_ADCOX:
            return (src & ~(CC_C | CC_O) & 0x8D5) | (CC_C if dst else 0) | (CC_O if src2 else 0)
        raise ValueError(f"cc_op {op} cannot be computed")
    bits = _bits(size)
    m = (1 << bits) - 1
    sb = 1 << (bits - 1)
    d = dst & m
    zf = CC_Z if d == 0 else 0
    sf = CC_S if d & sb else 0
    pf = _PARITY[d & 0xFF]
    if base == CC_OP_ADDB or base == CC_OP_ADCB:
        s2 = src & m
        carry = (src2 & 1) if base == CC_OP_ADCB else 0
        s1 = (d - s2 - carry) & m
        cf = CC_C if (d < s1 or (carry and d == s1)) else 0
        af = (d ^ s1 ^ s2) & CC_A
        of = CC_O if ((s1 ^ s2 ^ m) & (s1 ^ d)) & sb else 0
        return cf | pf | af | zf | sf | of
    if base == CC_OP_SUBB or base == CC_OP_SBBB:
        s2 = src & m
        borrow = (src2 & 1) if base == CC_OP_SBBB else 0
        s1 = (d + s2 + borrow) & m
        cf = CC_C if (s1 < s2 or (borrow and s1 == s2)) else 0
        af = (d ^ s1 ^ s2) & CC_A
        of = CC_O if ((s1 ^ s2) & (s1 ^ d)) & sb else 0
        return cf | pf | af | zf | sf | of
    if base == CC_OP_LOGICB:
        return pf | zf | sf
    if base == CC_OP_INCB:
        s1 = (d - 1) & m
        af = (d ^ s1 ^ 1) & CC_A
        of = CC_O if d == sb else 0
        return (src & CC_C) | pf | af | zf | sf | of
    if base == CC_OP_DECB:
        s1 = (d + 1) & m
        af = (d ^ s1 ^ 1) & CC_A
        of = CC_O if d == sb - 1 else 0
        return (src & CC_C) | pf | af | zf | sf | of
    if base == CC_OP_SHLB:
        cf = CC_C if (src >> (bits - 1)) & 1 else 0
        of = CC_O if ((d ^ src) & sb) else 0
        return cf | pf | zf | sf | of
    if base == CC_OP_SARB:
        cf = CC_C if src & 1 else 0
        of = CC_O if ((d ^ src) & sb) else 0
        return cf | pf | zf | sf | of
    if base == CC_OP_MULB:
        cf = CC_C | CC_O if src & m else 0
        return cf | pf | zf | sf
    if base == CC_OP_BMILGB:
        cf = CC_C if (src & m) == 0 else 0
        return cf | zf | sf
    raise ValueError(f"cc_op {op} cannot be computed")


def compute_c(dst: int, src: int, src2: int, op: int) -> int:
    return compute_all(dst, src, src2, op) & CC_C


HELPER_CC_COMPUTE_ALL = Helper("cc_compute_all", compute_all, I64, (I64, I64, I64, I64),
                               CallFlags.NO_RWG_SE, pass_cpu=False)
HELPER_CC_COMPUTE_C = Helper("cc_compute_c", compute_c, I64, (I64, I64, I64, I64),
                             CallFlags.NO_RWG_SE, pass_cpu=False)


# -- helpers specialised for a cc_op known at translation time -------------------------

_SPECIAL: dict[int, tuple[Helper, Helper]] = {}


def _make_special(op: int):
    base, size = cc_group(op)
    bits = 8 << size
    m = (1 << bits) - 1
    sb = 1 << (bits - 1)
    par = _PARITY

    if base == CC_OP_LOGICB:
        def all_(dst, src, src2):
            d = dst & m
            return par[d & 0xFF] | (CC_Z if d == 0 else 0) | (CC_S if d & sb else 0)

        def c_(dst, src, src2):
            return 0
    elif base == CC_OP_ADDB:
        def all_(dst, src, src2):
            d = dst & m
            s2 = src & m
            s1 = (d - s2) & m
            return ((CC_C if d < s1 else 0) | par[d & 0xFF] | ((d ^ s1 ^ s2) & CC_A)
                    | (CC_Z if d == 0 else 0) | (CC_S if d & sb else 0)
                    | (CC_O if (s1 ^ s2 ^ m) & (s1 ^ d) & sb else 0))

        def c_(dst, src, src2):
            return 1 if (dst & m) < (src & m) else 0
    elif base == CC_OP_SUBB:
        def all_(dst, src, src2):
            d = dst & m
            s2 = src & m
            s1 = (d + s2) & m
            return ((CC_C if s1 < s2 else 0) | par[d & 0xFF] | ((d ^ s1 ^ s2) & CC_A)
                    | (CC_Z if d == 0 else 0) | (CC_S if d & sb else 0)
                    | (CC_O if (s1 ^ s2) & (s1 ^ d) & sb else 0))

        def c_(dst, src, src2):
            return 1 if ((dst + src) & m) < (src & m) else 0
    else:
        def all_(dst, src, src2):
            return compute_all(dst, src, src2, op)

        def c_(dst, src, src2):
            return compute_all(dst, src, src2, op) & CC_C
    name = cc_op_name(op).lower()
    return (Helper(f"cc_compute_all_{name}", all_, I64, (I64, I64, I64), CallFlags.NO_RWG_SE,
                   pass_cpu=False),
            Helper(f"cc_compute_c_{name}", c_, I64, (I64, I64, I64), CallFlags.NO_RWG_SE,
                   pass_cpu=False))


def special_helpers(op: int) -> tuple[Helper, Helper]:
    """(compute_all, compute_c) helpers for the static cc_op OP (sized groups only)."""
    h = _SPECIAL.get(op)
    if h is None:
        h = _SPECIAL[op] = _make_special(op)
    return h
