"""The qtest protocol server (QEMU 7.2 wire behaviour).

One request per ``\\n``-terminated line, split on single spaces, one reply
line per request; ``IRQ raise/lower N`` lines may come before a reply or at
any time. Where QEMU 7.2 aborts on malformed input (empty line, missing
argument, unparsable number, port above 0xffff, ``read`` of size 0, a gpio
index out of range), qemu-py answers ``FAIL <reason naming the bad token>``
and keeps serving; docs/qtest.md lists these texts.
"""

from __future__ import annotations

import sys
import traceback

from qemu_py.system.chardev import CLOSED, OPENED

from .codec import printable as _printable
from .commands import COMMANDS, QTestFail
from .log import QTestLog

READ_CHUNK = 1024


class QTestServer:
    """Front end of the qtest chardev; commands act on MACHINE through VM."""

    def __init__(self, vm, chardev, log: QTestLog, *, clock_commands: bool):
        self.vm = vm
        self.chr = chardev
        self.log = log
        self.clock_commands = clock_commands
        self.inbuf = bytearray()
        self.irq_levels: dict[int, int] = {}
        self.intercepted = None            # the one device ever intercepted
        self.extensions: dict[str, object] = {}
        chardev.attach(self)

    # -- chardev front end --------------------------------------------------------
    def can_read(self) -> int:
        return READ_CHUNK

    def event(self, kind):
        if kind == OPENED:
            self.irq_levels.clear()
            self.log.restart()
            self.log.info("OPENED", first=True)
        elif kind == CLOSED:
            self.inbuf.clear()
            self.log.info("CLOSED")

    def receive(self, data: bytes):
        buf = self.inbuf
        scan = len(buf)          # bytes already in buf hold no newline: scan only DATA
        buf += data
        start = 0
        while True:
            nl = buf.find(b"\n", max(start, scan))
            if nl < 0:
                break
            line = buf[start:nl].decode("latin-1")
            start = nl + 1
            self.process_line(line)
        if start:
            del buf[:start]

    # -- output ----------------------------------------------------------------------
    def send(self, text: str):
        """Send one protocol line (TEXT ends with \\n) and log it."""
        self.log.sent(text)
        self.chr.write(text.encode("latin-1"))

    def send_err(self, text: str):
        self.log.raw(text)
        self.chr.write(text.encode("latin-1"))

    def report_irq(self, n: int, level: int):
        if self.irq_levels.get(n, 0) != level:
            self.irq_levels[n] = level
            self.send(f"IRQ {'raise' if level else 'lower'} {n}\n")

    # -- commands ----------------------------------------------------------------------
    def register_extension(self, name: str, handler):
        """Add a machine-specific command (rtas, hcall): handler(server, words) -> reply."""
        self.extensions[name] = handler

    def process_line(self, line: str):
        words = line.split(" ")
        self.log.received(words)
        try:
            if line == "":
                raise QTestFail("empty command line")
            handler = COMMANDS.get(words[0])
            if handler is None or (words[0] in ("clock_step", "clock_set") and not self.clock_commands):
                handler = self.extensions.get(words[0])
            if handler is None:
                self.send(f"FAIL Unknown command '{words[0]}'\n")
                return
            reply = handler(self, words)
        except QTestFail as e:
            self.send(f"FAIL {e.text()}\n")
            return
        except Exception as e:  # a model bug: report it, keep serving
            traceback.print_exc(file=sys.stderr)
            self.send(f"FAIL internal error in '{_printable(words[0])}': {type(e).__name__}\n")
            return
        if reply is not None:
            self.send(reply)
