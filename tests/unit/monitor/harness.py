"""Ways to talk to a monitor in tests.

* ``spawn`` runs a real ``qemu-py`` process (``python -m qemu_py``);
* ``RawQMP`` is the QMP wire as bytes: ``\\r\\n``-framed replies, nothing
  hidden, over one end of a socketpair the emulator inherits
  (``-chardev socket,id=mon,fd=N -mon chardev=mon,mode=control``);
* ``InProcess`` builds the emulator in this process and attaches monitors to
  a chardev that captures output, for fast tests and fuzzing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from qemu_py.cli import parse_args
from qemu_py.launch import Emulator
from qemu_py.system.chardev import OPENED

REPO = Path(__file__).resolve().parents[3]
BASE = ["-M", "none", "-m", "16M", "-accel", "qtest", "-display", "none"]
SPAWNED: list[subprocess.Popen] = []        # killed after each test if still running (conftest)


def spawn(args: list[str], pass_fds=(), **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stderr", subprocess.PIPE)
    proc = subprocess.Popen([sys.executable, "-m", "qemu_py", *args], pass_fds=pass_fds,
                            cwd=REPO, env=env, **kwargs)
    SPAWNED.append(proc)
    return proc


class RawQMP:
    def __init__(self, sock: socket.socket, proc: subprocess.Popen | None = None):
        self.sock = sock
        self.proc = proc
        self.buf = b""
        self.sock.settimeout(20)

    @classmethod
    def launch(cls, extra: list[str] = (), base: list[str] = BASE) -> "RawQMP":
        ours, theirs = socket.socketpair()
        proc = spawn([*base, *extra, "-chardev", f"socket,id=mon,fd={theirs.fileno()}",
                      "-mon", "chardev=mon,mode=control"], pass_fds=[theirs.fileno()])
        theirs.close()
        return cls(ours, proc)

    def send(self, data: bytes):
        self.sock.sendall(data)

    def line(self) -> bytes:
        """The next message with its ``\\r\\n``."""
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError(f"monitor closed; unread: {self.buf!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line + b"\r\n"

    def msg(self) -> dict:
        return json.loads(self.line())

    def at_eof(self, timeout: float = 20) -> bool:
        """True once the emulator closed its end (after reading what remains)."""
        self.sock.settimeout(timeout)
        while True:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                return True
            self.buf += chunk

    def execute(self, name: str, args: dict | None = None, **extra) -> dict:
        req = {"execute": name, **extra}
        if args is not None:
            req["arguments"] = args
        self.send(json.dumps(req).encode())
        return self.msg()

    def negotiate(self, greeting_read: bool = False) -> dict | None:
        greeting = None if greeting_read else self.msg()
        assert self.execute("qmp_capabilities") == {"return": {}}
        return greeting

    def close(self, timeout: float = 20) -> int | None:
        self.sock.close()
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stderr:
                self.proc.stderr.close()


class CaptureChardev:
    """A chardev stand-in: keeps what the front end writes."""

    def __init__(self):
        self.fe = None
        self.out = bytearray()

    def attach(self, fe):
        self.fe = fe

    def write(self, data: bytes):
        self.out += data

    def take(self) -> bytes:
        data = bytes(self.out)
        self.out.clear()
        return data


class InProcess:
    """An emulator built in this process; monitors attached to capture chardevs."""

    def __init__(self, args: list[str] = BASE):
        self.emu = Emulator(parse_args(list(args)))
        self.emu.build()
        self.vm = self.emu.vm

    def qmp(self, negotiate: bool = True, pretty: bool = False):
        from qemu_py.monitor.qmp_monitor import QMPMonitor
        chr_ = CaptureChardev()
        mon = QMPMonitor(self.vm, chr_, pretty)
        mon.event(OPENED)
        greeting = chr_.take()
        assert b'"QMP"' in greeting
        client = InProcessQMP(mon, chr_)
        if negotiate:
            client.raw(b'{"execute": "qmp_capabilities"}')
        return client

    def hmp(self):
        from qemu_py.monitor.hmp.monitor import HMPMonitor
        chr_ = CaptureChardev()
        mon = HMPMonitor(self.vm, chr_)
        mon.event(OPENED)
        return mon, chr_

    def close(self):
        for chr_ in self.emu.chardevs.values():
            chr_.close()
        self.emu.loop.close()


class InProcessQMP:
    def __init__(self, mon, chr_: CaptureChardev):
        self.mon = mon
        self.chr = chr_

    def raw(self, data: bytes) -> bytes:
        """Send DATA; everything written back."""
        self.mon.receive(data)
        return self.chr.take()

    def feed(self, data: bytes) -> list[bytes]:
        """Send DATA; the messages written back (each with its ``\\r\\n``)."""
        self.mon.receive(data)
        out = self.chr.take()
        lines = out.split(b"\r\n")
        assert lines[-1] == b"", out
        return [line + b"\r\n" for line in lines[:-1]]

    def messages(self, data: bytes) -> list[dict]:
        return [json.loads(line) for line in self.feed(data)]

    def execute(self, name: str, args: dict | None = None, **extra) -> dict:
        req = {"execute": name, **extra}
        if args is not None:
            req["arguments"] = args
        msgs = self.messages(json.dumps(req).encode())
        assert msgs, "no reply"
        return msgs[-1]

    def hmp(self, line: str) -> str:
        reply = self.execute("human-monitor-command", {"command-line": line})
        assert "return" in reply, reply
        return reply["return"]


def wait_for_path(path: str, proc: subprocess.Popen, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise RuntimeError(f"emulator exited: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.01)
