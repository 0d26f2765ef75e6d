"""The multiplexer (``mux=on``, the ``mon:`` prefix): several front ends on one backend.

As QEMU's mux chardev: every front end's output goes to the backend; input
goes to the front end that has the focus (the one attached last, until the
user switches with the escape key). The escape character is Ctrl-A; after
it, one key is a command:

``h``/``?`` help, ``x`` exit (prints ``QEMU: Terminated``), ``s`` commit
disks (there are no block devices yet, so, as QEMU with none, nothing
happens), ``b`` send a break to the focused front end, ``c`` move the focus
to the next front end, ``t`` toggle timestamps on output lines, and
Ctrl-A again sends one Ctrl-A. Any other key after the escape is dropped.
"""

from __future__ import annotations

import time

from qemu_py.qom import register_type

from .base import CLOSED, OPENED, Chardev

ESCAPE_CHAR = 1          # Ctrl-A
BREAK = "break"
MUX_IN = "mux-in"
MUX_OUT = "mux-out"

HELP_LINES = (
    "% h    print this help\n\r",
    "% x    exit emulator\n\r",
    "% s    save disk data back to file (if -snapshot)\n\r",
    "% t    toggle console timestamps\n\r",
    "% b    send break (magic sysrq)\n\r",
    "% c    switch between console and monitor\n\r",
    "% %  sends %\n\r",
)
TERMINATED = "QEMU: Terminated\n\r"


def help_text(escape: int = ESCAPE_CHAR) -> str:
    """What ``C-a h`` prints (QEMU's mux help: the escape key named ``C-a``)."""
    name = f"C-{chr(escape - 1 + ord('a'))}"
    return "\n\r" + "".join(line.replace("%", name) for line in HELP_LINES)


def timestamp(ms: int) -> str:
    secs = ms // 1000
    return f"[{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}.{ms % 1000:03d}] "


@register_type("chardev-mux", "chardev", desc="several front ends sharing one backend")
class MuxChardev(Chardev):
    """Front ends attach here; the mux is the single front end of ``backend``.

    ``on_exit`` is called for ``C-a x`` (the launcher asks for a quit as
    QMP ``quit`` does)."""

    def __init__(self, loop, id, backend, on_exit=None, clock_ms=None):
        super().__init__(loop, id)
        self.backend = backend
        self.on_exit = on_exit
        self.clock_ms = clock_ms or (lambda: int(time.monotonic() * 1000))
        self.fes: list = []
        self.focus = -1
        self.got_escape = False
        self.timestamps = False
        self.timestamps_start = -1
        self.linestart = False
        backend.attach(self)          # sends OPENED now if the backend is open

    # -- the front ends' side ------------------------------------------------------------
    def attach(self, fe):
        self.fes.append(fe)
        self.set_focus(len(self.fes) - 1)
        if self.is_open:
            fe.event(OPENED)

    def detach(self):
        self.fes.clear()
        self.focus = -1

    def set_focus(self, n: int):
        if 0 <= self.focus < len(self.fes):
            self.fes[self.focus].event(MUX_OUT)
        self.focus = n
        self.fes[n].event(MUX_IN)

    def write(self, data: bytes):
        if not self.timestamps:
            self.backend.write(data)
            return
        out = bytearray()
        for b in data:
            if self.linestart:
                now = self.clock_ms()
                if self.timestamps_start == -1:
                    self.timestamps_start = now
                out += timestamp(now - self.timestamps_start).encode()
                self.linestart = False
            out.append(b)
            self.linestart = b == 0x0A
        self.backend.write(bytes(out))

    def accept_input(self):
        self.backend.accept_input()

    def flush_blocking(self):
        self.backend.flush_blocking()

    def close(self):
        self.backend.close()

    # -- the backend's side (the mux is its front end) ----------------------------------
    def _focused(self):
        return self.fes[self.focus] if 0 <= self.focus < len(self.fes) else None

    def can_read(self) -> int:
        fe = self._focused()
        if fe is None:
            return 1          # keep reading: the escape commands work with no front end
        return max(1, fe.can_read())

    def receive(self, data: bytes):
        run = bytearray()
        for b in data:
            if self._escape_byte(b):
                run.append(b)
            else:
                self._send(run)
                run = bytearray()
        self._send(run)

    def _send(self, run):
        fe = self._focused()
        if run and fe is not None:
            fe.receive(bytes(run))

    def event(self, kind):
        self.is_open = kind == OPENED
        for fe in list(self.fes):
            fe.event(kind)

    # -- the escape commands ---------------------------------------------------------------
    def _escape_byte(self, b: int) -> bool:
        """True if B is input for the focused front end, False if the mux took it."""
        if self.got_escape:
            self.got_escape = False
            if b == ESCAPE_CHAR:
                return True
            self._command(chr(b))
            return False
        if b == ESCAPE_CHAR:
            self.got_escape = True
            return False
        return True

    def _command(self, key: str):
        if key in "h?":
            self.backend.write(help_text().encode())
        elif key == "x":
            self.backend.write(TERMINATED.encode())
            if self.on_exit is not None:
                self.on_exit()
        elif key == "s":
            pass              # commit every block device: this machine has none
        elif key == "b":
            fe = self._focused()
            if fe is not None:
                fe.event(BREAK)
        elif key == "c" and self.fes:
            self.set_focus((self.focus + 1) % len(self.fes))
        elif key == "t":
            self.timestamps = not self.timestamps
            self.timestamps_start = -1
            self.linestart = False


__all__ = ["MuxChardev", "BREAK", "MUX_IN", "MUX_OUT", "help_text", "TERMINATED", "CLOSED"]
