"""Trace events: QEMU's ``-trace`` with the ``log`` backend.

Command-line forms (QEMU 7.2 ``trace/control.c``; the ``-trace`` QemuOpts
have the implied key ``enable``):

* ``-trace PATTERN`` = ``-trace enable=PATTERN``: enable every event whose
  name matches the glob PATTERN (``*`` and ``?``);
* ``-trace events=FILE``: one pattern per line; blank lines and lines
  starting with ``#`` are ignored, a leading ``-`` disables instead;
* ``-trace ...,file=FILE``: as with QEMU's log backend, FILE replaces the
  ``-D`` log file (the whole log, guest errors included, goes there);
* ``-d trace:PATTERN`` enables too.

Each emitted event is one line ``NAME ARGS`` in QEMU's simple text form
(``memory_region_ram_device_read cpu 0 mr 0x7f.. addr 0x100 value 0x1 size
4``), written to the log (``-D`` file, else stderr) with line buffering, so
a test outside the process sees each access when it happens.  A pattern
without wildcards naming no event gives QEMU's warning ``trace event 'X'
does not exist``.

In-process users (tests) may ``subscribe(fn, pattern)``: ``fn(name, args)``
is called for every matching event, logged or not.

Emitting: call sites guard with ``if NAME in trace.ACTIVE`` (a set kept
up to date) and call ``trace.emit(NAME, arg=value, ...)``; nothing is
formatted for events nobody wants.  The event table is ``trace_events``.

Like QEMU's, the trace state is process-wide (``reset()`` restores it).
"""

from __future__ import annotations

import fnmatch
import sys
from typing import Callable

from .log import LOG
from .opts import OptsError, parse_opts
from .trace_events import BY_NAME, EVENTS, TraceEvent

# Names of the events that someone wants (logged or subscribed): the fast check.
ACTIVE: set[str] = set()


class TraceError(Exception):
    """A bad -trace option; the text is QEMU's message."""


def _is_pattern(text: str) -> bool:
    return any(c in text for c in "*?[")


class Tracer:
    def __init__(self) -> None:
        self.logged: set[str] = set()
        self.subscribers: list[tuple[str, Callable[[str, dict], None]]] = []
        self.warnings: list[str] = []
        self.write: Callable[[str], None] = lambda text: LOG.write(text)

    def reset(self) -> None:
        """Everything back to the start (no events, no subscribers)."""
        self.subscribers.clear()
        self.reset_logging()

    def reset_logging(self) -> None:
        """Forget the enabled (logged) events; in-process subscribers stay."""
        self.logged.clear()
        self.warnings.clear()
        self.write = lambda text: LOG.write(text)
        self._refresh()

    def _refresh(self) -> None:
        ACTIVE.clear()
        ACTIVE.update(self.logged)
        for pattern, _ in self.subscribers:
            ACTIVE.update(e.name for e in EVENTS if fnmatch.fnmatchcase(e.name, pattern))

    # -- enabling ----------------------------------------------------------------------------
    def enable(self, pattern: str, state: bool = True) -> int:
        """Enable (or disable) the events matching PATTERN; returns how many."""
        names = [e.name for e in EVENTS if fnmatch.fnmatchcase(e.name, pattern)]
        if not names and not _is_pattern(pattern):
            warning = f"warning: trace event '{pattern}' does not exist"
            self.warnings.append(warning)
            print(f"qemu-py: {warning}", file=sys.stderr)
        for name in names:
            if state:
                self.logged.add(name)
            else:
                self.logged.discard(name)
        self._refresh()
        return len(names)

    def enable_from_file(self, path: str) -> None:
        """``-trace events=FILE``."""
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise TraceError(f"could not open trace events file '{path}': "
                             f"{e.strerror}") from None
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                self.enable(line[1:], False)
            else:
                self.enable(line)

    def is_enabled(self, name: str) -> bool:
        return name in self.logged

    # -- subscribers (in-process) -------------------------------------------------------------
    def subscribe(self, fn: Callable[[str, dict], None], pattern: str = "*"):
        entry = (pattern, fn)
        self.subscribers.append(entry)
        self._refresh()
        return entry

    def unsubscribe(self, entry) -> None:
        if entry in self.subscribers:
            self.subscribers.remove(entry)
            self._refresh()

    # -- emitting -----------------------------------------------------------------------------
    def emit(self, name: str, args: dict) -> None:
        for pattern, fn in list(self.subscribers):
            if fnmatch.fnmatchcase(name, pattern):
                fn(name, args)
        if name in self.logged:
            self.write(format_event(name, args))


TRACER = Tracer()


def format_event(name: str, args: dict) -> str:
    """One line of QEMU's log backend: ``NAME FORMATTED-ARGS``."""
    event: TraceEvent | None = BY_NAME.get(name)
    if event is None:
        return name + " " + " ".join(f"{k}={v}" for k, v in args.items())
    try:
        text = event.fmt.format(**args)
    except (KeyError, ValueError, TypeError):
        text = " ".join(f"{k}={v}" for k, v in args.items())
    return f"{name} {text}" if not text.startswith(" ") else f"{name}{text}"


def emit(event: str, /, **args) -> None:
    """Emit EVENT if anyone wants it (callers usually check ``ACTIVE`` first)."""
    if event in ACTIVE:
        TRACER.emit(event, args)


def subscribe(fn: Callable[[str, dict], None], pattern: str = "*"):
    return TRACER.subscribe(fn, pattern)


def unsubscribe(entry) -> None:
    TRACER.unsubscribe(entry)


def reset() -> None:
    TRACER.reset()


def pointer(obj) -> int:
    """The value printed for a ``%p`` argument."""
    return id(obj)


def parse_option(text: str) -> dict[str, str]:
    """The QemuOpts of one ``-trace`` argument (implied key ``enable``)."""
    try:
        opts = parse_opts(text, implied_key="enable")
    except OptsError as e:
        raise TraceError(str(e)) from None
    for key in opts:
        if key not in ("enable", "events", "file"):
            raise TraceError(f"Invalid parameter '{key}'")
    return opts


def configure(trace_args, log_items=()) -> str | None:
    """Apply every ``-trace`` argument and ``-d trace:PATTERN`` item.

    Returns the ``file=`` of the last ``-trace`` that gave one (it replaces
    the ``-D`` log file, as QEMU's log backend does), else None.  Raises
    TraceError with ``-trace ARG: MESSAGE``.
    """
    TRACER.reset_logging()
    out_file = None
    for arg in trace_args:
        try:
            opts = parse_option(arg)
            if opts.get("enable") == "help":
                _print_help_and_exit()
            if "enable" in opts:
                TRACER.enable(opts["enable"])
            if "events" in opts:
                TRACER.enable_from_file(opts["events"])
        except TraceError as e:
            raise TraceError(f"-trace {arg}: {e}") from None
        if "file" in opts:
            out_file = opts["file"]
    for item in log_items:
        if item.startswith("trace:"):
            if item == "trace:help":
                _print_help_and_exit()
            TRACER.enable(item[len("trace:"):])
    return out_file


def _print_help_and_exit():
    """``-trace help`` / ``-d trace:help`` list the events and exit 0, as QEMU."""
    sys.stdout.write(help_text())
    sys.stdout.flush()
    raise SystemExit(0)


def help_text() -> str:
    """``-trace help``: the event names, one per line."""
    return "".join(e.name + "\n" for e in sorted(EVENTS, key=lambda e: e.name))
