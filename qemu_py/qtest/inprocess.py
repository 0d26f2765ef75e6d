"""An in-process qtest session: the emulator built inside this Python process.

Its qtest chardev is one end of a socketpair; requests go through the real
server and wire, and the main loop is iterated until the replies arrive. It
is much faster to start than a process, which suits property tests and
fuzzing; ``emu`` gives direct access to the machine for white-box checks.
"""

from __future__ import annotations

import socket

from qemu_py.cmdline import parse_args
from qemu_py.launch import Emulator


class InProcessQTest:
    def __init__(self, args: list[str], target: str = "x86_64"):
        self.peer, theirs = socket.socketpair()
        cfg = parse_args(args + ["-chardev", f"socket,id=qt,fd={theirs.fileno()}",
                                 "-qtest", "chardev:qt", "-qtest-log", "none"], target)
        theirs.detach()
        self.emu = Emulator(cfg)
        self.emu.build()
        self.server = self.emu.qtest
        self.buf = b""
        self.irq_lines: list[str] = []
        self.emu.loop.iterate(0)

    def raw(self, data: bytes, nlines: int) -> list[str]:
        """Send DATA; return the next NLINES lines, IRQ lines included."""
        self.peer.sendall(data)
        out = []
        self.peer.setblocking(False)
        while len(out) < nlines:
            while b"\n" not in self.buf:
                self.emu.loop.iterate(0.5)
                try:
                    self.buf += self.peer.recv(1 << 20)
                except BlockingIOError:
                    pass
            line, _, self.buf = self.buf.partition(b"\n")
            out.append(line.decode("latin-1"))
        return out

    def cmd(self, line: str) -> str:
        """Send one request; return its reply (IRQ lines go to irq_lines)."""
        self.peer.sendall(line.encode("latin-1") + b"\n")
        while True:
            reply = self.raw(b"", 1)[0]
            if not reply.startswith("IRQ "):
                return reply
            self.irq_lines.append(reply)

    def close(self):
        self.peer.close()
        for chr_ in self.emu.chardevs.values():
            chr_.close()
        self.emu.loop.close()
