"""The guest's serial console as a stream of lines the test waits on."""

import re
import threading
import time

# a kernel log line: "[    2.532026] ..." (the guest's own clock, i.e. virtual time)
PRINTK_TIME = re.compile(rb"^\[\s*(\d+)\.(\d{6})\]")


class ConsoleTimeout(AssertionError):
    pass


class ConsoleFailure(AssertionError):
    pass


class Console:
    """Reads the emulator's serial output (a pipe) in a thread, logs every byte,
    and lets a test wait for a pattern.

    Virtual time is read from the kernel's printk timestamps: a wait with
    ``timeout`` virtual ns fails once the guest has printed a line stamped past
    the start of the wait plus ``timeout``.  ``wall_limit`` seconds of host time
    bound every wait too, so a guest that stops printing cannot hang a run."""

    def __init__(self, rfile, wfile, log_path, wall_limit: float):
        self.rfile, self.wfile = rfile, wfile
        self.log = open(log_path, "wb")
        self.wall_limit = wall_limit
        self.data = bytearray()
        self.virtual_ns = 0
        self.closed = False
        self.cond = threading.Condition()
        self._line_start = 0
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()

    def _reader(self):
        while True:
            chunk = self.rfile.read1(4096) if hasattr(self.rfile, "read1") else \
                self.rfile.read(4096)
            with self.cond:
                if not chunk:
                    self.closed = True
                    self.cond.notify_all()
                    break
                self.log.write(chunk)
                self.log.flush()
                self.data += chunk
                self._scan_times()
                self.cond.notify_all()

    def _scan_times(self):
        while True:
            nl = self.data.find(b"\n", self._line_start)
            if nl < 0:
                return
            m = PRINTK_TIME.match(self.data, self._line_start)
            if m:
                self.virtual_ns = int(m.group(1)) * 10**9 + int(m.group(2)) * 1000
            self._line_start = nl + 1

    def text(self) -> str:
        with self.cond:
            return self.data.decode("utf-8", "replace")

    def wait_for(self, pattern: str, start: int, timeout_ns: int, failures=()):
        """(match, end offset) of the first PATTERN at or after offset START."""
        regex = re.compile(pattern.encode())
        fails = [re.compile(f.encode()) for f in failures]
        wall_deadline = time.monotonic() + self.wall_limit
        with self.cond:
            v_deadline = self.virtual_ns + timeout_ns
            while True:
                m = regex.search(self.data, start)
                for f in fails:
                    fm = f.search(self.data, start)
                    if fm and (m is None or fm.start() < m.start()):
                        raise ConsoleFailure(f"failure pattern {f.pattern.decode()!r} "
                                             f"on the console: {self._line_at(fm.start())!r}")
                if m:
                    return m, m.end()
                if self.closed:
                    raise ConsoleTimeout(f"the emulator ended before {pattern!r} appeared")
                if self.virtual_ns > v_deadline:
                    raise ConsoleTimeout(f"{pattern!r} did not appear within {timeout_ns} "
                                         f"virtual ns (guest clock at {self.virtual_ns} ns)")
                left = wall_deadline - time.monotonic()
                if left <= 0:
                    raise ConsoleTimeout(f"{pattern!r} did not appear within "
                                         f"{self.wall_limit:.0f} s of host time")
                self.cond.wait(min(left, 1.0))

    def _line_at(self, pos: int) -> str:
        s = self.data.rfind(b"\n", 0, pos) + 1
        e = self.data.find(b"\n", pos)
        return self.data[s:e if e >= 0 else len(self.data)].decode("utf-8", "replace").strip()

    def send(self, text: str):
        self.wfile.write(text.encode())
        self.wfile.flush()

    def close(self):
        self.thread.join(timeout=10)
        self.log.close()
