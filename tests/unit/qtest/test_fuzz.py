"""100,000 random and malformed qtest lines never kill the server or corrupt
later replies: every line gets exactly one reply line, and a known exchange
after each batch still answers correctly."""

import random

from hypothesis import HealthCheck, given, settings, strategies as st

from .harness import InProcess
from .test_clock import Ticker

WORDS = ["outb", "outw", "outl", "inb", "inw", "inl", "writeb", "writew", "writel", "writeq",
         "readb", "readw", "readl", "readq", "read", "write", "b64read", "b64write", "memset",
         "endianness", "clock_step", "clock_set", "irq_intercept_in", "irq_intercept_out",
         "set_irq_in", "module_load", "rtas", "csr", "", "READB", "nonsense"]
NUMBERS = ["0", "1", "4", "8", "0x10", "0x1000", "010", "-1", "0xffffffffffffffff",
           "0x10000000000000000", "99999999999999999999", "0x", "zzz", "", " 0x4", "\t7",
           "0x1000x", "1\r", "0X1f", "-0x8000000000000000", "0x100000", "0xfffff", "4096"]
DATA = ["0x", "ab", "0xAABB", "0x" + "11" * 40, "AQIDBA==", "====", "0xzz", "!!!", "QUJD"]
PATHS = ["/machine/ticker", "ticker", "/machine", "/nope", "", "unattached", "/machine/ticker/x"]


def random_line(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.05:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 30))).replace(b"\n", b"")
    words = [rng.choice(WORDS)]
    for _ in range(rng.randrange(0, 5)):
        pick = rng.random()
        if pick < 0.6:
            words.append(rng.choice(NUMBERS))
        elif pick < 0.75:
            words.append(rng.choice(DATA))
        elif pick < 0.9:
            words.append(rng.choice(PATHS))
        else:
            words.append(rng.choice(["unnamed-gpio-in", "x", "\xff", "\r"]))
    sep = " " if rng.random() < 0.9 else rng.choice(["  ", "\t", " \r "])
    return sep.join(words).encode("latin-1")


class Capture:
    def __init__(self):
        self.out = bytearray()

    def write(self, data):
        self.out += data


def make_session():
    s = InProcess(["-M", "none", "-m", "16M", "-accel", "qtest"])
    dev = Ticker(s.emu.vm.clock)
    s.emu.vm.machine.attach_device(dev, s.emu.vm.machine, "ticker")
    dev.timer.mod(1000)
    cap = Capture()
    s.server.chr = cap
    return s, cap


SESSION = make_session()
BATCHES = 100
LINES = 1000


@settings(max_examples=BATCHES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32 - 1))
def test_random_lines_never_break_the_server(seed):
    s, cap = SESSION
    rng = random.Random(seed)
    lines = [random_line(rng) for _ in range(LINES)]
    cap.out.clear()
    s.server.receive(b"\n".join(lines) + b"\n")
    replies = [r for r in cap.out.decode("latin-1").split("\n")[:-1] if not r.startswith("IRQ ")]
    assert len(replies) == LINES
    assert all(r.split(" ")[0] in ("OK", "FAIL", "ERR") for r in replies), replies[:5]
    assert not any(r.startswith("FAIL internal error") for r in replies)
    cap.out.clear()
    s.server.receive(b"writel 0x8000 0x5eed\nreadl 0x8000\nendianness\n")
    assert [r for r in cap.out.decode().split("\n") if not r.startswith("IRQ")][:3] == [
        "OK", "OK 0x0000000000005eed", "OK little"]
