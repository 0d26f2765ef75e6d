"""HMP monitors: the interactive one on a chardev, and one-shot command runs.

Output follows QEMU's monitor_puts(): every ``\\n`` goes out as ``\\r\\n``.
The interactive monitor greets with ``QEMU 7.2.22 monitor - type 'help' for
more information`` and the ``(qemu) `` prompt when its chardev opens, echoes
through :class:`ReadLine`, and prints the prompt again after each command.
Input bytes are taken as UTF-8 when a line is run.
"""

from __future__ import annotations

import sys
import traceback

from qemu_py import QEMU_VERSION
from qemu_py.system.chardev import CLOSED, OPENED
from qemu_py.system.chardev.mux import MUX_IN, MUX_OUT

from ..commands.machine import machine_cpus
from .commands import handle_command
from .readline import ReadLine

VERSION_TEXT = ".".join(str(n) for n in QEMU_VERSION)
BANNER = f"QEMU {VERSION_TEXT} monitor - type 'help' for more information\n"


# human-monitor-command returns one JSON string: a command whose output would pass this
# many characters (``xp /100000000gx 0``) says so instead of building it
REPLY_MAX_CHARS = 16 << 20


class _Collector:
    limit = REPLY_MAX_CHARS

    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str):
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


class HMPContext:
    """What an HMP command sees: the VM, where output goes, the monitor's CPU."""

    def __init__(self, vm, out, cpu_index: int | None = None):
        self.vm = vm
        self.out = out
        self.cpu_index = cpu_index

    def current_cpu(self):
        cpus = machine_cpus(self.vm) if self.vm.machine is not None else []
        if self.cpu_index is not None:
            return next((c for c in cpus if c.cpu_index == self.cpu_index), None)
        return min(cpus, key=lambda c: c.cpu_index) if cpus else None

    def register_reader(self):
        """name -> value for ``$name`` in expressions, or None without a CPU."""
        cpu = self.current_cpu()
        if cpu is None:
            return None
        read = getattr(cpu, "monitor_register", None)
        return read if read is not None else (lambda name: None)


def run_command_line(vm, text: str, cpu_index: int | None = None) -> str:
    """One HMP command line, as human-monitor-command runs it; the output text."""
    out = _Collector()
    handle_command(HMPContext(vm, out, cpu_index), text)
    return out.text().replace("\n", "\r\n")


def _exiting(vm) -> bool:
    return bool(getattr(vm.loop, "quit_requested", False))


class _ChardevOutput:
    def __init__(self, chardev):
        self.chardev = chardev

    def write(self, text: str):
        self.chardev.write(text.replace("\n", "\r\n").encode("utf-8", "surrogateescape"))


class HMPMonitor:
    """``-monitor DEV`` / ``-mon chardev=ID,mode=readline``."""

    def __init__(self, vm, chardev):
        self.vm = vm
        self.chr = chardev
        self.out = _ChardevOutput(chardev)
        self.ctx = HMPContext(vm, self.out)
        self.readline = ReadLine(self._echo, self._run_line, self._complete)
        self.mux_out = False              # a mux gave the focus to another front end
        self.reset_seen = False
        chardev.attach(self)

    def _echo(self, text: str):
        self.chr.write(text.replace("\n", "\r\n").encode("latin-1"))

    # -- chardev front end -------------------------------------------------------------
    def can_read(self) -> int:
        return 4096

    def event(self, kind):
        if kind == OPENED:
            self.out.write(BANNER)
            if not self.mux_out:
                self.readline.restart()
                self.readline.show_prompt()
            self.reset_seen = True
        elif kind == CLOSED:
            self.readline.restart()
        elif kind == MUX_OUT:
            if self.reset_seen:
                self.out.write("\n")
            self.mux_out = True
        elif kind == MUX_IN:
            self.mux_out = False
            if self.reset_seen:
                self.readline.restart()
                self.readline.show_prompt()

    def _complete(self, prefix: str) -> list[str]:
        from .commands import command_names
        return sorted(n for n in command_names() if n.startswith(prefix))

    def receive(self, data: bytes):
        for byte in data:
            if _exiting(self.vm):
                return
            self.readline.handle_byte(byte)

    def _run_line(self, line: str):
        text = line.encode("latin-1").decode("utf-8", "surrogateescape")
        try:
            handle_command(self.ctx, text)
        except Exception as e:  # a bug in a command: report it, keep the monitor alive
            traceback.print_exc(file=sys.stderr)
            self.out.write(f"internal error: {type(e).__name__}: {e}\n")
        if not _exiting(self.vm):
            self.readline.show_prompt()
