"""Names shared by the launcher and the layers it starts: the accelerators a
``-accel`` may name and the error a start-up step raises (the launcher prints
it as ``PROGRAM: MESSAGE`` and exits 1)."""

from __future__ import annotations

ACCELERATORS = ("qtest", "tcg", "kvm")


class StartupError(Exception):
    """A start-up step failed; the text is the whole message after ``PROGRAM: ``.
    LOCATION (e.g. ``-device nosuchdev``) prefixes the message in the start-up
    print, as QEMU's error location does; a QMP error (``x-exit-preconfig``)
    carries the MESSAGE alone."""

    def __init__(self, message: str, location: str | None = None):
        super().__init__(f"{location}: {message}" if location else message)
        self.message = message
        self.location = location
