"""The ``-qtest-log`` writer: ``[R +t]``, ``[S +t]`` and ``[I t]`` lines.

Times are seconds since the channel opened, with six decimals. ``ERR``
replies are written without a prefix, as QEMU 7.2 does.
"""

from __future__ import annotations

import sys
import time


class QTestLog:
    def __init__(self, dest: str | None):
        """DEST: None for stderr, 'none' for no log, else a file path (mode w+)."""
        if dest == "none":
            self.fp = None
        elif dest is None:
            self.fp = sys.stderr
        else:
            self.fp = open(dest, "w+", buffering=1, encoding="latin-1", errors="replace")
        self.t0 = time.monotonic()

    def restart(self):
        self.t0 = time.monotonic()

    def _stamp(self) -> str:
        return f"{time.monotonic() - self.t0:.6f}"

    def _put(self, text: str):
        try:
            self.fp.write(text)
            self.fp.flush()
        except (OSError, ValueError):
            self.fp = None

    def received(self, words: list[str]):
        if self.fp:
            self._put(f"[R +{self._stamp()}]" + "".join(" " + w for w in words) + "\n")

    def sent(self, text: str):
        if self.fp:
            self._put(f"[S +{self._stamp()}] {text}")

    def raw(self, text: str):
        if self.fp:
            self._put(text)

    def info(self, what: str, first: bool = False):
        if self.fp:
            stamp = "0.000000" if first else "+" + self._stamp()
            self._put(f"[I {stamp}] {what}\n")

    def close(self):
        if self.fp is not None and self.fp is not sys.stderr:
            self.fp.close()
        self.fp = None
