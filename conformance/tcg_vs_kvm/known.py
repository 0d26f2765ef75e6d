"""TCG bugs this suite has found and that are still open, recognised by their signature.

Each has a regression file ``regressions/test_<name>.py`` with the shrunk
reproducer (strict xfail: it starts to fail, i.e. pass, once TCG is fixed,
and then the entry here and the xfail mark go). The campaign reports a
mismatch matching one of these as ``known TCG bug <name>`` and counts it
separately from new failures.
"""

from __future__ import annotations

import re

from iced_x86 import Mnemonic

KNOWN = {
    "cmps_fault_access_order":
        "CMPS with both operands unmapped: this CPU faults on [RDI] first, TCG on [RSI] "
        "(CR2 differs; the access order is not architectural)",
}

_CMPS = {Mnemonic.CMPSB, Mnemonic.CMPSW, Mnemonic.CMPSD, Mnemonic.CMPSQ}
_END = re.compile(r"end: \w+ (#\w+) at (0x[0-9a-f]+)(?: error (0x[0-9a-f]+))?.*?, tcg "
                  r"(#\w+|end of body)(?: at (0x[0-9a-f]+))?(?: error (0x[0-9a-f]+))?")


def classify(m) -> str | None:
    """The KNOWN name matching mismatch M (a compare.Mismatch), or None."""
    decoded = {insn.ip: insn for insn in m.insns}
    end = next((line for line in m.lines if line.startswith("end:")), None)
    if end:
        g = _END.search(end)
        if g is None:
            return None
        ov, orip, oerr, tv, trip, terr = g.groups()
        at = decoded.get(int(orip, 16))
        if at is not None and at.mnemonic in _CMPS and ov == tv == "#PF" and orip == trip:
            return "cmps_fault_access_order"
        return None
    return None
