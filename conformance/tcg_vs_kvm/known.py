"""TCG bugs this suite has found and that are still open, recognised by their signature.

Each has a regression file ``regressions/test_<name>.py`` with the shrunk
reproducer (strict xfail: it starts to fail, i.e. pass, once TCG is fixed,
and then the entry here and the xfail mark go). The campaign reports a
mismatch matching one of these as ``known TCG bug <name>`` and counts it
separately from new failures.
"""

from __future__ import annotations

KNOWN: dict[str, str] = {}


def classify(m) -> str | None:
    """The KNOWN name matching mismatch M (a compare.Mismatch), or None.

    A new entry adds its test on M's lines (``m.lines``, the ``end:`` line with
    both ends' vector, RIP and error code) and decoded instructions (``m.insns``);
    no bug is open at present."""
    return None
