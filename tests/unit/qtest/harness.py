"""An in-process qtest session: the emulator built in this process, its qtest
chardev one end of a socketpair, the main loop iterated until replies arrive."""

from __future__ import annotations

import socket

from qemu_py.cli import parse_args
from qemu_py.launch import Emulator


class InProcess:
    def __init__(self, args: list[str]):
        self.peer, theirs = socket.socketpair()
        self._theirs = theirs
        cfg = parse_args(args + ["-chardev", f"socket,id=qt,fd={theirs.fileno()}",
                                 "-qtest", "chardev:qt", "-qtest-log", "none"])
        theirs.detach()
        self.emu = Emulator(cfg)
        self.emu.build()
        self.server = self.emu.qtest
        self.buf = b""
        self.emu.loop.iterate(0)

    def raw(self, data: bytes, nlines: int) -> list[str]:
        """Send DATA; return the next NLINES lines (IRQ lines included)."""
        self.peer.sendall(data)
        out = []
        while len(out) < nlines:
            while b"\n" not in self.buf:
                self.emu.loop.iterate(0.5)
                self.peer.setblocking(False)
                try:
                    self.buf += self.peer.recv(1 << 20)
                except BlockingIOError:
                    pass
            line, _, self.buf = self.buf.partition(b"\n")
            out.append(line.decode("latin-1"))
        return out

    def cmd(self, line: str) -> str:
        return self.raw(line.encode("latin-1") + b"\n", 1)[0]

    def close(self):
        self.peer.close()
        for chr_ in self.emu.chardevs.values():
            chr_.close()
        self.emu.loop.close()
