"""HMP command lines typed into a human monitor on ``-M pc`` (qtest accel).

No line may produce an internal error (a traceback inside a command), and
every line must be answered within the time limit. A line that quits the
monitor gets a new machine for the next input.
"""

from __future__ import annotations

from ..harness import SLOW_SECONDS, Finding, within

_STATE: dict = {}


def monitor():
    mon = _STATE.get("mon")
    if mon is not None and _STATE["vm"].vm.loop.quit_requested:
        _STATE.pop("vm").close()
        _STATE.clear()
    if "mon" not in _STATE:
        from tests.unit.monitor.harness import InProcess
        _STATE["vm"] = InProcess(["-M", "pc", "-m", "32M", "-accel", "qtest", "-display", "none"])
        _STATE["mon"], _STATE["chr"] = _STATE["vm"].hmp()
    return _STATE["mon"], _STATE["chr"]


def one(data: bytes) -> None:
    for line in data.split(b"\n")[:16]:
        mon, chr_ = monitor()
        chr_.take()
        with within(SLOW_SECONDS, f"HMP line {line[:80]!r}"):
            mon.receive(line.replace(b"\r", b"") + b"\r")
        out = chr_.take()
        if b"internal error" in out:
            raise Finding(f"HMP line {line[:100]!r}: {out[-300:]!r}")


def seeds() -> list[bytes]:
    return [b"info status\ninfo registers\ninfo mtree", b"xp /8xb 0\nx /4dw 0x100\nxp /2c 0x10",
            b"xp /2og (1+2)*4\nxp /x $pc\nhelp xp", b"info qom-tree\ninfo qtree\ninfo irq",
            b"stop\ncont\nsystem_reset", b"xp /1000000gx 0", b"xp " + b"(" * 300 + b"1",
            b"p 0x" + b"f" * 30, b"nosuchcmd\ninfo nosuch\nhelp"]
