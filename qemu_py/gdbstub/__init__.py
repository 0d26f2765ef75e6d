"""gdbstub: serve GDB's remote protocol (``-s``, ``-gdb DEV``), as QEMU's gdbstub.c.

``server.GdbServer`` speaks the protocol over a chardev; it debugs a target
(``target.SystemTarget`` for system emulation) through a small interface of
registers, memory, breakpoints and run control, so other modes plug in alike.
"""
from __future__ import annotations

from .server import GdbServer
from .target import GdbTargetError, SystemTarget


def chardev_spec(device: str) -> str:
    """QEMU's gdbserver_start: ``tcp:`` devices listen without waiting."""
    if device.startswith("tcp:"):
        return device + ",wait=off,nodelay=on,server=on"
    return device


__all__ = ["GdbServer", "SystemTarget", "GdbTargetError", "chardev_spec"]
