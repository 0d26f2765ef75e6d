"""``InProcessQTest``: the QTest client API on a machine built in this process.

It runs qemu-py's own qtest server (``QTestServer``, the command table and
its number parsing) on a chardev stand-in, so every request takes exactly
the path a socket client's request takes, minus the socket and the process
start-up.  QMP requests go through a ``QMPSession`` and ``hmp()`` through
``human-monitor-command``.  Use it where a test needs thousands of accesses
(hypothesis); use :class:`~qemu_py.qtest.client.QTest` to test the emulator
as a process.

``machine`` / ``vm`` give direct access to the model for assertions.
"""

from __future__ import annotations

from qemu_py.qtest.calls import LibqtestCalls, QTestError


def reset_logging() -> None:
    """Back to no ``-d`` items and stderr, including the memory API's
    guest-error logger's level and propagation (``Log.configure`` leaves them
    at INFO and off once ``guest_errors`` was selected, which keeps slow paths
    on and hides the records from logging handlers for the rest of the
    process)."""
    import logging

    from qemu_py.system.log import LOG
    LOG.configure([], None)
    bridge = logging.getLogger("qemu_py.memory.guest_errors")
    bridge.setLevel(logging.NOTSET)
    bridge.propagate = True


class _Chardev:
    """Enough of a chardev for QTestServer: collects what it writes."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.frontend = None

    def attach(self, frontend) -> None:
        self.frontend = frontend

    def write(self, data: bytes) -> int:
        self.out += data
        return len(data)


class InProcessQTest(LibqtestCalls):
    """QTest-compatible accessors (readl, memwrite, qmp, hmp, ...) in process."""

    def __init__(self, args=(), accel: str = "qtest", target: str = "x86_64") -> None:
        from qemu_py.cmdline import parse_args
        from qemu_py.launch import Emulator
        from qemu_py.qtest.log import QTestLog
        from qemu_py.qtest.server import QTestServer

        argv = list(args) + ["-accel", accel, "-display", "none"]
        self.emu = Emulator(parse_args(argv, target))
        self.emu.build()
        self.vm = self.emu.vm
        self.machine = self.vm.machine
        self.chr = _Chardev()
        self.server = QTestServer(self.vm, self.chr, QTestLog("none"), clock_commands=True)
        self.vm.qtest = self.server
        self.big_endian = bool(getattr(self.machine, "big_endian", False))
        self._init_irq_state()
        self.events: list[dict] = []
        self.vm.add_event_listener(lambda name, data, ts: self.events.append(
            {"event": name, "data": data, "timestamp": ts}))
        self._session = None

    # -- life cycle --------------------------------------------------------------------------
    def close(self) -> None:
        if self.emu.cfg.log_items or self.emu.cfg.log_file:
            reset_logging()
        for chr_ in self.emu.chardevs.values():
            try:
                chr_.close()
            except OSError:
                pass
        self.emu.loop.close()

    def quit(self) -> None:
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- protocol --------------------------------------------------------------------------------
    def _run_bottom_halves(self) -> None:
        loop = self.emu.loop
        while loop._bh:
            loop._bh.popleft()()

    def _send(self, data: bytes) -> None:
        """Serve each request line now; what the server wrote waits for _fill."""
        for line in data.decode("latin-1").split("\n")[:-1]:
            self.server.process_line(line)
            self._run_bottom_halves()

    def _fill(self, command: str) -> bytes:
        if not self.chr.out:
            raise QTestError(command, None, f"the qtest server wrote no reply to {command!r}")
        out = bytes(self.chr.out)
        self.chr.out.clear()
        return out

    def lines(self, line: str) -> list[str]:
        """Send one request; every line the server wrote for it, in order (IRQ
        lines a bottom half wrote after the reply included)."""
        self._send(line.encode("latin-1") + b"\n")
        data = self._buf + (self._fill(line) if self.chr.out else b"")
        self._buf = b""
        out = data.decode("latin-1").split("\n")[:-1]
        for text in out:
            if text.startswith("IRQ"):
                self._irq_line(text)
        return out

    def get_irq(self, n: int) -> bool:
        return bool(self.irq_level[n])

    # -- monitors --------------------------------------------------------------------------------
    def qmp(self, command: str, **args):
        from qemu_py.monitor.qmp_session import QMPSession
        from qemu_py.qtest.qmp_client import QMPError
        if self._session is None:
            self._session = QMPSession(self.vm)
            self._session.handle({"execute": "qmp_capabilities"}, None)
        request = {"execute": command}
        if args:
            request["arguments"] = args
        reply = self._session.handle(request, None)
        if "error" in reply:
            raise QMPError(command, reply["error"])
        return reply["return"]

    def hmp(self, command_line: str) -> str:
        return self.qmp("human-monitor-command", **{"command-line": command_line})

    def qmp_event(self, name: str | None = None, timeout: float | None = 0.0):
        for i, ev in enumerate(self.events):
            if name is None or ev["event"] == name:
                return self.events.pop(i)
        return None
