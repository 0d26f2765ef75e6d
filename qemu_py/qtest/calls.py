"""The one qtest client protocol, shared by every client (a process over a
socket, an in-process machine over a socketpair or called directly).

A client class provides the transport: ``_send(data)`` writes request bytes,
``_fill(command)`` returns the next bytes the server wrote (or raises
:class:`QTestError` when no more can come). This class does the rest: the
line reader, requests and replies (``cmd``, ``lines``, ``raw``,
``pipeline``), the IRQ lines (``IRQ raise N`` / ``IRQ lower N`` update
``irq_level``, ``irq_raised``, ``irq_lowered``, ``irq_lines``), and
libqtest's calls (``readl``, ``writel``, ``memread``, ``bufwrite``,
``clock_step``, ``irq_intercept_in``...) exactly as libqtest formats them.
"""

from __future__ import annotations

import abc

import base64


class QTestError(Exception):
    """A qtest command was answered with FAIL or ERR (or not at all)."""

    def __init__(self, command: str, reply: str | None, message: str | None = None):
        self.command = command
        self.reply = reply
        super().__init__(message or f"qtest command {command!r} failed: {reply!r}")


class LibqtestCalls(abc.ABC):
    """The libqtest calls over an abstract transport: a client supplies ``_send``
    and ``_fill``."""
    _buf = b""
    check_replies = True        # cmd() raises QTestError on a reply other than OK

    # -- transport (the subclass's) ------------------------------------------------------
    @abc.abstractmethod
    def _send(self, data: bytes) -> None:
        """Write DATA (whole command lines) to the server."""

    @abc.abstractmethod
    def _fill(self, command: str) -> bytes:
        """More reply bytes for COMMAND; raise QTestError when the server has gone."""

    # -- lines -------------------------------------------------------------------------------
    def _readline(self, command: str) -> str:
        while b"\n" not in self._buf:
            self._buf += self._fill(command)
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode("latin-1")

    def _reply(self, command: str, out: list[str] | None = None) -> str:
        """The next non-IRQ line; IRQ lines before it are recorded (and added to OUT)."""
        while True:
            line = self._readline(command)
            if not line.startswith("IRQ"):
                return line
            self._irq_line(line)
            if out is not None:
                out.append(line)

    def raw(self, data: bytes, nlines: int) -> list[str]:
        """Send DATA as it is; return the next NLINES lines, IRQ lines included."""
        self._send(data)
        return [self._readline(repr(data)) for _ in range(nlines)]

    def lines(self, line: str) -> list[str]:
        """Send one request; every line up to and including its reply."""
        self._send(line.encode("latin-1") + b"\n")
        out: list[str] = []
        out.append(self._reply(line, out))
        return out

    def cmd(self, line: str, check: bool | None = None) -> str:
        """Send one request and return its reply line (IRQ lines are recorded);
        CHECK (default ``check_replies``): raise :class:`QTestError` unless it is OK."""
        replies = [t for t in self.lines(line) if not t.startswith("IRQ")]
        reply = replies[-1] if replies else ""
        if (self.check_replies if check is None else check) and not reply.startswith("OK"):
            raise QTestError(line, reply)
        return reply

    def cmd_with_irqs(self, line: str, check: bool | None = None) -> tuple[list[str], str]:
        """Like cmd(), also returning the IRQ lines that arrived before the reply."""
        start = len(self.irq_lines)
        reply = self.cmd(line, check)
        return self.irq_lines[start:], reply

    def pipeline(self, lines: list[str]) -> list[str]:
        """Send several requests in one write; returns their replies in order."""
        self._send("".join(x + "\n" for x in lines).encode("latin-1"))
        return [self._reply(line) for line in lines]

    # -- IRQ lines ---------------------------------------------------------------------------
    def _init_irq_state(self):
        self.irq_level = [0] * 256
        self.irq_raised = [0] * 256
        self.irq_lowered = [0] * 256
        self.irq_lines: list[str] = []      # every IRQ line received, in order

    def _irq_line(self, line: str):
        self.irq_lines.append(line)
        words = line.split(" ")
        n = int(words[2])
        if words[1] == "raise":
            self.irq_level[n] = 1
            self.irq_raised[n] += 1
        else:
            self.irq_level[n] = 0
            self.irq_lowered[n] += 1

    def _value(self, reply: str) -> int:
        return int(reply.split(" ")[1], 0)

    # libqtest-style accessors
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

    def memwrite(self, addr: int, data: bytes):
        if data:
            self.cmd(f"write 0x{addr:x} 0x{len(data):x} 0x{data.hex()}")

    def bufread(self, addr: int, size: int) -> bytes:
        reply = self.cmd(f"b64read 0x{addr:x} 0x{size:x}")
        return base64.b64decode(reply[3:])

    def bufwrite(self, addr: int, data: bytes):
        self.cmd(f"b64write 0x{addr:x} 0x{len(data):x} {base64.b64encode(data).decode()}")

    def memset(self, addr: int, size: int, pattern: int):
        self.cmd(f"memset 0x{addr:x} 0x{size:x} 0x{pattern & 0xff:02x}")

    def clock_step(self, ns: int | None = None) -> int:
        reply = self.cmd("clock_step" if ns is None else f"clock_step {ns}")
        return int(reply.split(" ")[1])

    def clock_set(self, ns: int) -> int:
        return int(self.cmd(f"clock_set {ns}").split(" ")[1])

    def irq_intercept_in(self, path: str): self.cmd(f"irq_intercept_in {path}")
    def irq_intercept_out(self, path: str): self.cmd(f"irq_intercept_out {path}")

    def set_irq_in(self, path: str, name: str | None, num: int, level: int):
        self.cmd(f"set_irq_in {path} {name or 'unnamed-gpio-in'} {num} {level}")
