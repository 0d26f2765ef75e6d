"""An in-process qtest session over the wire: the emulator built inside this
Python process, its qtest chardev one end of a socketpair.

Requests go through the real chardev, server and wire, and the main loop is
iterated until the replies arrive. It is much faster to start than a process,
which suits property tests and fuzzing; ``emu`` gives direct access to the
machine for white-box checks. The protocol (lines, IRQ lines, libqtest calls)
is the one every client shares (:class:`~qemu_py.qtest.calls.LibqtestCalls`).
"""

from __future__ import annotations

import socket

from qemu_py.cmdline import parse_args
from qemu_py.launch import Emulator

from .calls import LibqtestCalls


class InProcessQTest(LibqtestCalls):
    check_replies = False       # protocol tests read FAIL replies as answers
    def __init__(self, args: list[str], target: str = "x86_64"):
        self.peer, theirs = socket.socketpair()
        cfg = parse_args(list(args) + ["-chardev", f"socket,id=qt,fd={theirs.fileno()}",
                                       "-qtest", "chardev:qt", "-qtest-log", "none"], target)
        theirs.detach()
        self.peer.setblocking(False)
        self.emu = Emulator(cfg)
        self.emu.build()
        self.server = self.emu.qtest
        self._buf = b""
        self._init_irq_state()
        self.emu.loop.iterate(0)

    def _send(self, data: bytes) -> None:
        self.peer.sendall(data)

    def _fill(self, command: str) -> bytes:
        while True:
            self.emu.loop.iterate(0.5)
            try:
                chunk = self.peer.recv(1 << 20)
            except BlockingIOError:
                continue
            if chunk:
                return chunk
            raise EOFError(f"the qtest server closed the connection before answering {command!r}")

    def close(self):
        self.peer.close()
        for chr_ in self.emu.chardevs.values():
            chr_.close()
        self.emu.loop.close()
