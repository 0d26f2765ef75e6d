"""How a guest process ends, raised from wherever the end is decided (exit,
exit_group, a fatal signal) up to the run loop."""

from __future__ import annotations


class GuestExit(Exception):
    """The process ends: exit status STATUS, or killed by SIGNAL."""

    def __init__(self, status: int = 0, signal: int = 0, core: bool = False):
        super().__init__(f"exit {status} signal {signal}")
        self.status = status
        self.signal = signal
        self.core = core
