"""Full-state comparison for instruction tests."""

from harness import CODE, STACK, asm

from qemu_py.target.i386.state import GPR_NAMES

FLAG_BITS = {"C": 0x1, "P": 0x4, "A": 0x10, "Z": 0x40, "S": 0x80, "D": 0x400, "O": 0x800,
             "I": 0x200}


def flags(spec: str) -> int:
    """'CZ' -> CF|ZF|bit1."""
    v = 2
    for ch in spec:
        v |= FLAG_BITS[ch]
    return v


def run_case(bed, text, init=None, expect=None, *, mask=None, budget=100000):
    """Run TEXT (+hlt) from a zeroed state plus INIT; compare the whole state.

    Every GPR, RIP and RFLAGS must equal the initial value unless EXPECT names
    it. MASK, when given, restricts the RFLAGS comparison to those bits.
    """
    init = dict(init or {})
    expect = dict(expect or {})
    state0 = {n: 0 for n in GPR_NAMES}
    state0["rsp"] = STACK
    state0["rflags"] = 2
    state0.update(init)
    for n, v in state0.items():
        bed.set(n, v)
    code = asm(text + ";hlt")
    bed.run(code=code)
    got = bed.state()
    want = dict(state0)
    want["rip"] = CODE + len(code)
    want.update(expect)
    if mask is not None:
        got["rflags"] &= mask
        want["rflags"] &= mask
    diff = {k: (hex(got[k]), hex(want[k])) for k in want if got.get(k) != want[k]}
    assert not diff, f"{text}: (got, want) differ: {diff}"
    return got
