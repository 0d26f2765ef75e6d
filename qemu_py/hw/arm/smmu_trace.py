"""Per-device trace events for the SMMU (QEMU's ``-trace 'smmu*'``).

qemu-py has no global trace facility yet, so each SMMU owns a
:class:`TraceLog`: a bounded ring of ``(name, fields)`` records that tests and
the monitor can read (``text()``), plus optional subscribers called for every
event. Events whose name matches one of the ``patterns`` (fnmatch, as given to
``-trace`` or ``-d trace:PATTERN``) are also written to the ``-D`` log file.
Event names and argument names follow ``hw/arm/trace-events`` of QEMU 7.2.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from typing import Callable

from qemu_py.system.log import LOG


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return hex(value) if value > 9 or value < -9 else str(value)
    return str(value)


class TraceLog:
    """A bounded event ring with subscribers and pattern-selected log output."""

    def __init__(self, capacity: int = 4096):
        self.records: deque[tuple[str, dict]] = deque(maxlen=capacity)
        self.subscribers: list[Callable[[str, dict], None]] = []
        self.patterns: list[str] = []
        self._log_cache: dict[str, bool] = {}

    def set_patterns(self, patterns):
        self.patterns = [p for p in patterns if p]
        self._log_cache.clear()

    def _to_log(self, name: str) -> bool:
        hit = self._log_cache.get(name)
        if hit is None:
            hit = any(fnmatch.fnmatchcase(name, p) for p in self.patterns)
            self._log_cache[name] = hit
        return hit

    def emit(self, name: str, **fields):
        self.records.append((name, fields))
        for sub in self.subscribers:
            sub(name, fields)
        if self.patterns and self._to_log(name):
            LOG.write(self.format(name, fields))

    @staticmethod
    def format(name: str, fields: dict) -> str:
        return name + " " + " ".join(f"{k}={_fmt(v)}" for k, v in fields.items())

    def events(self, prefix: str = "") -> list[tuple[str, dict]]:
        return [r for r in self.records if r[0].startswith(prefix)]

    def clear(self):
        self.records.clear()

    def text(self, prefix: str = "") -> str:
        return "".join(self.format(n, f) + "\n" for n, f in self.events(prefix))
