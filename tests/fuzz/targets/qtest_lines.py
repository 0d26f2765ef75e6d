"""qtest lines against in-process machines of every board.

The first byte of an input picks the machine; the rest is split into lines
(at most MAX_LINES), sent one at a time through the real server and wire.
Every line must get exactly one reply (``OK``/``FAIL``/``ERR``; ``IRQ``
lines may come between) within the time limit, no reply may report an
internal error, and afterwards a sentinel written through qtest reads back
unchanged (the server is still in step with its client).
"""

from __future__ import annotations

import select
import time

from qemu_py.qtest.inprocess import InProcessQTest

from ..harness import SLOW_SECONDS, Finding, within

MACHINES = [
    ("x86_64", ["-M", "none", "-m", "16M"], 0x800000),
    ("x86_64", ["-M", "pc", "-m", "64M"], 0x800000),
    ("x86_64", ["-M", "microvm", "-m", "64M"], 0x800000),
    ("aarch64", ["-M", "virt,iommu=smmuv3", "-m", "64M", "-nodefaults", "-device", "edu"],
     0x40800000),
    ("ppc64", ["-M", "pseries", "-m", "256M"], 0x800000),
]
MAX_LINES = 32
REPLY_SECONDS = 10.0          # a hang: no reply at all in this time
_SESSIONS: dict[int, InProcessQTest] = {}


def session(k: int) -> InProcessQTest:
    s = _SESSIONS.get(k)
    if s is None:
        target, args, _ = MACHINES[k]
        s = _SESSIONS[k] = InProcessQTest(args + ["-accel", "qtest", "-display", "none"], target)
    return s


def reply_to(s: InProcessQTest, line: bytes) -> str:
    """Send LINE, return its reply (IRQ lines skipped); Finding when none comes."""
    s.peer.sendall(line + b"\n")
    deadline = time.monotonic() + REPLY_SECONDS
    s.peer.setblocking(False)
    while True:
        while b"\n" in s._buf:
            got, _, s._buf = s._buf.partition(b"\n")
            text = got.decode("latin-1")
            if not text.startswith("IRQ "):
                return text
        if time.monotonic() > deadline:
            raise Finding(f"no reply to {line[:80]!r} within {REPLY_SECONDS:g} s")
        s.emu.loop.iterate(0.05)
        if select.select([s.peer], [], [], 0)[0]:
            chunk = s.peer.recv(1 << 20)
            if not chunk:
                raise Finding(f"the server closed the connection after {line[:80]!r}")
            s._buf += chunk


def one(data: bytes) -> None:
    if not data:
        return
    k = data[0] % len(MACHINES)
    s = session(k)
    sentinel_addr = MACHINES[k][2]
    for line in data[1:].split(b"\n")[:MAX_LINES]:
        with within(SLOW_SECONDS, f"qtest line {line[:80]!r} on {' '.join(MACHINES[k][1])}"):
            reply = reply_to(s, line)
        if not reply.startswith(("OK", "FAIL", "ERR")) or "internal error" in reply:
            raise Finding(f"line {line[:80]!r} got {reply[:120]!r}")
    check = b"0x5a5aa5a5c3c33c3c"
    if reply_to(s, b"writeq 0x%x %s" % (sentinel_addr, check)) != "OK":
        raise Finding("the sentinel write failed after the input")
    got = reply_to(s, b"readq 0x%x" % sentinel_addr)
    if got != "OK " + check.decode():
        raise Finding(f"sentinel read back {got!r} after the input")


def seeds() -> list[bytes]:
    lines = [
        b"\x00writel 0x1000 0xdeadbeef\nreadl 0x1000\nread 0x1000 4\nb64read 0x1000 4",
        b"\x00memset 0x0 0x100 0xaa\nb64write 0x0 4 AQIDBA==\nwrite 0x10 2 0xabcd\nclock_step",
        b"\x01outb 0x70 0x0a\ninb 0x71\noutw 0x40 4\nclock_step 1000000\nirq_intercept_in ioapic",
        b"\x01outl 0xcf8 0x80000000\ninl 0xcfc\nendianness\nclock_set 5000\nset_irq_in ioapic 0 1",
        b"\x02inb 0x3f8\noutb 0x3f9 0x0f\nclock_step 100\nreadq 0xfee00030",
        b"\x03readl 0x9000000\nreadl 0x9050000\nwritel 0x9050020 1\nreadl 0x9050024",
        b"\x04rtas get-time-of-day 0 0 0\nhcall 0x4 0 0 0\nreadq 0x0",
        b"\x00read 0xfffffffffffffff8 16\nwrite 0xfffffffffffffff8 16 0x1122334455667788aabbccddeeff0011",
        b"\x01clock_step 9223372036854775807",
        b"\x00readb\nwritel 0x10\nmemset 1 2\nnonsense 1 2 3\n\n  \nREADB 0",
    ]
    return lines
