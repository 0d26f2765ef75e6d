"""Error reports as QEMU's ``error_report``: ``PROGRAM: MESSAGE`` on stderr.

PROGRAM is the basename of the program that was run (``qemu-py-system-x86_64``
when run under that name), as QEMU prefixes its messages with
``g_get_prgname()``. Run as ``python -m qemu_py`` the program is ``qemu-py``:
that module is the generic ``qemu-py`` command (target from ``QEMU_PY_TARGET``).
"""

from __future__ import annotations

import os
import sys

DEFAULT_PROG = "qemu-py"
_prog = DEFAULT_PROG


def prog_name() -> str:
    return _prog


def set_prog_from_argv0(argv0: str | None) -> str:
    """Take the prefix from ARGV0 (``sys.argv[0]``); ``python -m`` gives ``qemu-py``."""
    global _prog
    base = os.path.basename(argv0 or "")
    _prog = DEFAULT_PROG if base in ("", "__main__.py", "-c", "-m") else base
    return _prog


def reset_prog() -> None:
    global _prog
    _prog = DEFAULT_PROG


def error_report(msg: str) -> int:
    """Print ``PROGRAM: MSG`` on stderr; returns the exit status 1."""
    print(f"{_prog}: {msg}", file=sys.stderr)
    return 1


def warn_report(msg: str) -> None:
    """Print ``PROGRAM: warning: MSG`` on stderr, as QEMU's ``warn_report``."""
    print(f"{_prog}: warning: {msg}", file=sys.stderr)
