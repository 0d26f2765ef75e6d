"""How the emulator ends when the guest process ends (its exit status, or death
by its signal with QEMU's message), from whichever thread saw the end; and the
program name the messages carry."""

from __future__ import annotations

import os
import signal as host_signal
import sys
import threading

from .signal import CORE_BY_DEFAULT, kill_self

PROG = "qemu-py-x86_64"


def finish(end) -> int:
    """End the emulator as the guest ended: its status, or death by its signal (with
    QEMU's message for signals that dump core).  From a thread other than the main
    one, the whole process exits here."""
    sys.stdout.flush()
    if end.signal:
        name = host_signal.strsignal(end.signal) or f"signal {end.signal}"
        if end.signal in CORE_BY_DEFAULT:
            sys.stderr.write(f"{PROG}: uncaught target signal {end.signal} ({name}) - "
                             "core dumped\n")
        kill_self(end.signal)
    if threading.current_thread() is not threading.main_thread():
        sys.stderr.flush()
        os._exit(end.status)
    return end.status
