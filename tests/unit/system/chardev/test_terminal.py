"""``-nographic`` on a real terminal (a pty): the serial port and the monitor muxed on
stdio, the Ctrl-A commands, one echo per key, raw mode set and given back."""

import os
import re
import select
import signal
import sys
import time

import pytest

from .test_options import ENV

pty = pytest.importorskip("pty")
termios = pytest.importorskip("termios")


class Screen:
    """Just enough of a terminal to see what a person sees: CR, LF, ESC [ n C/D/K."""

    def __init__(self):
        self.lines = [[]]
        self.row = self.col = 0

    def feed(self, data: bytes):
        text = data.decode("latin-1")
        i = 0
        while i < len(text):
            m = re.match(r"\x1b\[(\d*)([A-Za-z])", text[i:])
            if m:
                n = int(m.group(1) or 1)
                line = self.lines[self.row]
                if m.group(2) == "D":
                    self.col = max(0, self.col - n)
                elif m.group(2) == "C":
                    self.col += n
                elif m.group(2) == "K":
                    del line[self.col:]
                i += m.end()
                continue
            ch = text[i]
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self.row += 1
                if self.row == len(self.lines):
                    self.lines.append([])
            elif ch >= " ":
                line = self.lines[self.row]
                line.extend(" " * (self.col - len(line)))
                line[self.col:self.col + 1] = [ch]
                self.col += 1
            i += 1

    def text(self) -> list[str]:
        return ["".join(line).rstrip() for line in self.lines]


class Term:
    def __init__(self, *args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:                                 # the child: the emulator
            os.execve(sys.executable, [sys.executable, "-m", "qemu_py", *args], ENV)
        self.raw = b""
        self.screen = Screen()
        self.status = None

    def read_until(self, cond, timeout=20.0):
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:                          # the child closed the terminal
                    break
                self.raw += data
                self.screen.feed(data)
        return cond()

    def type(self, data: bytes, expect: bytes):
        start = len(self.raw)
        os.write(self.fd, data)
        assert self.read_until(lambda: expect in self.raw[start:]), self.raw[start:]

    def wait(self, timeout=20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read_until(lambda: False, 0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"the emulator did not exit; screen: {self.screen.text()}")

    def lflag(self) -> int:
        return termios.tcgetattr(self.fd)[3]

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except ProcessLookupError:
                pass
        os.close(self.fd)


@pytest.fixture
def term():
    made = []

    def start(*args):
        made.append(Term(*args))
        return made[-1]
    yield start
    for t in made:
        t.close()


def test_nographic_ctrl_a_c_monitor_info_status_and_ctrl_a_x(term):
    t = term("-M", "microvm", "-nographic")
    assert t.read_until(lambda: b"(qemu) " in t.raw)
    t.type(b"\x01c", b"(qemu) ")                         # to the monitor
    t.type(b"info status", b"info status\x1b[K")
    t.type(b"\r", b"VM status: running")
    t.type(b"\x01c", b"\n")                              # back to the serial port
    t.type(b"\x01x", b"QEMU: Terminated")
    assert t.wait() == 0
    screen = t.screen.text()
    assert screen[0] == "QEMU 7.2.22 monitor - type 'help' for more information"
    assert screen.count("(qemu) info status") == 1      # typed once, shown once
    assert "VM status: running" in screen
    assert screen.index("VM status: running") == screen.index("(qemu) info status") + 1
    assert "QEMU: Terminated" in screen
    assert sum(s.count("info status") for s in screen) == 1


def test_raw_mode_while_running_and_restored_on_sigterm(term):
    t = term("-M", "microvm", "-nographic")
    assert t.read_until(lambda: b"(qemu) " in t.raw)
    assert not t.lflag() & (termios.ECHO | termios.ICANON | termios.ISIG)   # mon:stdio
    os.kill(t.pid, signal.SIGTERM)
    assert t.wait() == 0
    lflag = t.lflag()                 # what the emulator left on the terminal at exit
    assert lflag & termios.ECHO and lflag & termios.ICANON and lflag & termios.ISIG


def test_signal_on_keeps_ctrl_c_a_signal(term):
    t = term("-M", "microvm", "-display", "none", "-chardev", "stdio,id=c,signal=on",
             "-mon", "chardev=c")
    assert t.read_until(lambda: b"(qemu) " in t.raw)
    lflag = t.lflag()
    assert lflag & termios.ISIG and not lflag & (termios.ECHO | termios.ICANON)
    t.type(b"info status\r", b"VM status: running")
    assert t.screen.text().count("(qemu) info status") == 1
    os.write(t.fd, b"\x03")                               # Ctrl-C: SIGINT ends the run
    assert t.wait() == 0


def test_nographic_default_guest_is_not_refused_for_sharing_stdio(term):
    """Regression: the default guest's own ``-serial stdio`` plus -nographic's default
    monitor claimed stdio twice; now the guest's serial port is ``mon:stdio``."""
    t = term("-nographic")
    assert t.read_until(lambda: b"all checks passed" in t.raw, 60), t.raw
    assert t.wait(60) == 0
    assert b"cannot use stdio" not in t.raw
    assert t.screen.text()[0] == "QEMU 7.2.22 monitor - type 'help' for more information"
