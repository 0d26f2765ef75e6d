"""Helpers for the x86 device qtests: a real emulator process and a tiny client.

``qtest(*args)`` launches ``python -m qemu_py -M pc -accel qtest`` the way
QEMU's libqtest does (the test listens on a unix socket, the emulator
connects) and returns a :class:`Session` whose ``cmd`` returns the reply line
and ``lines`` returns every line (``IRQ ...`` included) up to the reply, so
tests can assert QEMU's exact byte sequence. ``machine(*args)`` builds the
machine in this process without qtest, for fast device-level checks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class Session:
    def __init__(self, args, machine="pc", timeout=30.0):
        self.dir = tempfile.mkdtemp(prefix="qemu-py-hw-")
        path = os.path.join(self.dir, "qtest.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(timeout)
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.stderr = open(self.stderr_path, "wb")
        argv = [sys.executable, "-m", "qemu_py", "-M", machine, "-accel", "qtest",
                "-qtest", f"unix:{path}", "-qtest-log", "none", "-display", "none", *args]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=subprocess.STDOUT)
        try:
            self.sock, _ = listener.accept()
        except TimeoutError:
            self.proc.kill()
            raise RuntimeError(f"emulator did not connect: {self.log()}") from None
        finally:
            listener.close()
            os.unlink(path)
        self.sock.settimeout(timeout)
        self.buf = b""

    def log(self) -> str:
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def _line(self) -> str:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; emulator output:\n{self.log()}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("latin-1")

    def lines(self, request: str) -> list[str]:
        """Send REQUEST; return all lines up to and including its reply."""
        self.sock.sendall(request.encode("latin-1") + b"\n")
        out = []
        while True:
            line = self._line()
            out.append(line)
            if not line.startswith("IRQ"):
                return out

    def cmd(self, request: str) -> str:
        reply = self.lines(request)[-1]
        assert reply.startswith("OK"), f"{request!r} -> {reply!r}"
        return reply

    def val(self, request: str) -> int:
        return int(self.cmd(request).split()[1], 0)

    # libqtest-like helpers
    def outb(self, port, v): self.cmd(f"outb 0x{port:x} 0x{v:x}")
    def outw(self, port, v): self.cmd(f"outw 0x{port:x} 0x{v:x}")
    def outl(self, port, v): self.cmd(f"outl 0x{port:x} 0x{v:x}")
    def inb(self, port): return self.val(f"inb 0x{port:x}")
    def inw(self, port): return self.val(f"inw 0x{port:x}")
    def inl(self, port): return self.val(f"inl 0x{port:x}")
    def readb(self, a): return self.val(f"readb 0x{a:x}")
    def readl(self, a): return self.val(f"readl 0x{a:x}")
    def readq(self, a): return self.val(f"readq 0x{a:x}")
    def writel(self, a, v): self.cmd(f"writel 0x{a:x} 0x{v:x}")
    def writeq(self, a, v): self.cmd(f"writeq 0x{a:x} 0x{v:x}")

    def memread(self, a, n) -> bytes:
        return bytes.fromhex(self.cmd(f"read 0x{a:x} 0x{n:x}")[5:])

    def memwrite(self, a, data: bytes):
        self.cmd(f"write 0x{a:x} 0x{len(data):x} 0x{data.hex()}")

    def clock_step(self, ns=None) -> list[str]:
        return self.lines("clock_step" if ns is None else f"clock_step {ns}")

    def close(self) -> int:
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.stderr.close()
        return rc


def build_machine(*args):
    """Build a machine in this process (no qtest server); returns the Emulator."""
    from qemu_py.cli import parse_args
    from qemu_py.launch import Emulator
    cfg = parse_args(list(args))
    emu = Emulator(cfg)
    emu.build()
    return emu
