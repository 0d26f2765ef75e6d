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

import base64

from qemu_py.qtest.client import QTestError


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


class InProcessQTest:
    """QTest-compatible accessors (readl, memwrite, qmp, hmp, ...) in process."""

    def __init__(self, args=(), accel: str = "qtest") -> None:
        from qemu_py.cli import parse_args
        from qemu_py.launch import Emulator
        from qemu_py.qtest.log import QTestLog
        from qemu_py.qtest.server import QTestServer

        argv = list(args) + ["-accel", accel, "-display", "none"]
        self.emu = Emulator(parse_args(argv))
        self.emu.build()
        self.vm = self.emu.vm
        self.machine = self.vm.machine
        self.chr = _Chardev()
        self.server = QTestServer(self.vm, self.chr, QTestLog("none"), clock_commands=True)
        self.vm.qtest = self.server
        self.big_endian = bool(getattr(self.machine, "big_endian", False))
        self.irq_level = [0] * 256
        self.irq_raised = [0] * 256
        self.irq_lowered = [0] * 256
        self.irq_lines: list[str] = []
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

    def lines(self, line: str) -> list[str]:
        """Send one request; every line the server wrote (IRQ lines first)."""
        self.chr.out.clear()
        self.server.process_line(line)
        self._run_bottom_halves()
        out = self.chr.out.decode("latin-1").split("\n")[:-1]
        for text in out:
            if text.startswith("IRQ"):
                self._irq_line(text)
        return out

    def _irq_line(self, line: str) -> None:
        self.irq_lines.append(line)
        words = line.split(" ")
        n = int(words[2])
        if words[1] == "raise":
            self.irq_level[n] = 1
            self.irq_raised[n] += 1
        else:
            self.irq_level[n] = 0
            self.irq_lowered[n] += 1

    def cmd(self, line: str, check: bool = True) -> str:
        replies = [t for t in self.lines(line) if not t.startswith("IRQ")]
        reply = replies[-1] if replies else ""
        if check and not reply.startswith("OK"):
            raise QTestError(line, reply)
        return reply

    def _value(self, reply: str) -> int:
        return int(reply.split(" ")[1], 0)

    def outb(self, addr, val): self.cmd(f"outb 0x{addr:x} 0x{val:x}")
    def outw(self, addr, val): self.cmd(f"outw 0x{addr:x} 0x{val:x}")
    def outl(self, addr, val): self.cmd(f"outl 0x{addr:x} 0x{val:x}")
    def inb(self, addr): return self._value(self.cmd(f"inb 0x{addr:x}"))
    def inw(self, addr): return self._value(self.cmd(f"inw 0x{addr:x}"))
    def inl(self, addr): return self._value(self.cmd(f"inl 0x{addr:x}"))
    def writeb(self, addr, val): self.cmd(f"writeb 0x{addr:x} 0x{val:x}")
    def writew(self, addr, val): self.cmd(f"writew 0x{addr:x} 0x{val:x}")
    def writel(self, addr, val): self.cmd(f"writel 0x{addr:x} 0x{val:x}")
    def writeq(self, addr, val): self.cmd(f"writeq 0x{addr:x} 0x{val:x}")
    def readb(self, addr): return self._value(self.cmd(f"readb 0x{addr:x}"))
    def readw(self, addr): return self._value(self.cmd(f"readw 0x{addr:x}"))
    def readl(self, addr): return self._value(self.cmd(f"readl 0x{addr:x}"))
    def readq(self, addr): return self._value(self.cmd(f"readq 0x{addr:x}"))

    def memread(self, addr: int, size: int) -> bytes:
        if size == 0:
            return b""
        reply = self.cmd(f"read 0x{addr:x} 0x{size:x}")
        return bytes.fromhex(reply.split(" ")[1][2:])

    def memwrite(self, addr: int, data: bytes) -> None:
        if data:
            self.cmd(f"write 0x{addr:x} 0x{len(data):x} 0x{bytes(data).hex()}")

    def bufread(self, addr: int, size: int) -> bytes:
        return base64.b64decode(self.cmd(f"b64read 0x{addr:x} 0x{size:x}")[3:])

    def bufwrite(self, addr: int, data: bytes) -> None:
        self.cmd(f"b64write 0x{addr:x} 0x{len(data):x} {base64.b64encode(data).decode()}")

    def memset(self, addr: int, size: int, pattern: int) -> None:
        self.cmd(f"memset 0x{addr:x} 0x{size:x} 0x{pattern & 0xff:02x}")

    def clock_step(self, ns: int | None = None) -> int:
        reply = self.cmd("clock_step" if ns is None else f"clock_step {ns}")
        return int(reply.split(" ")[1])

    def irq_intercept_in(self, path: str): self.cmd(f"irq_intercept_in {path}")
    def irq_intercept_out(self, path: str): self.cmd(f"irq_intercept_out {path}")

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
