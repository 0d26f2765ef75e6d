"""Helpers for the x86 device qtests: a real emulator process and a tiny client.

``qtest(*args)`` launches ``python -m qemu_py -M pc -accel qtest`` the way
QEMU's libqtest does (the shared client :class:`~qemu_py.qtest.client.QTest`:
the test listens on a unix socket, the emulator connects) and returns a
:class:`Session` whose ``cmd`` returns the reply line
and ``lines`` returns every line (``IRQ ...`` included) up to the reply, so
tests can assert QEMU's exact byte sequence. ``machine(*args)`` builds the
machine in this process without qtest, for fast device-level checks.
"""

from __future__ import annotations

import os
import subprocess

from qemu_py.qtest.client import QTest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class Session(QTest):
    """The shared qtest client (:class:`qemu_py.qtest.client.QTest`) on ``-M MACHINE``
    without QMP; a reply other than OK fails the test."""

    def __init__(self, args, machine="pc", timeout=30.0):
        super().__init__(["-M", machine, *args], qmp=False, timeout=timeout,
                         start_timeout=timeout, env=dict(os.environ, PYTHONPATH=ROOT))
        self.launch()

    def log(self) -> str:
        return self.console_output()

    def cmd(self, request: str, check=None) -> str:
        reply = super().cmd(request, check=False)
        assert reply.startswith("OK"), f"{request!r} -> {reply!r}"
        return reply

    def val(self, request: str) -> int:
        return self._value(self.cmd(request))

    def clock_step(self, ns=None) -> list[str]:
        return self.lines("clock_step" if ns is None else f"clock_step {ns}")

    def close(self) -> int:
        status = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
            try:
                status = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                status = self.proc.wait()
        super().close()
        return status


def build_machine(*args):
    """Build a machine in this process (no qtest server); returns the Emulator."""
    from qemu_py.cli import parse_args
    from qemu_py.launch import Emulator
    cfg = parse_args(list(args))
    emu = Emulator(cfg)
    emu.build()
    return emu
