"""What every fuzz target shares: the Finding exception, the time limit per
input, and the cache directory for work corpora and crash artifacts."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "corpus"
REGRESSIONS = HERE / "regressions"
SLOW_SECONDS = float(os.environ.get("QEMU_PY_FUZZ_SLOW", "5.0"))   # CPU time per input


class Finding(AssertionError):
    """The emulator misbehaved on an input: a traceback, a wrong or missing
    reply, a lost sentinel, or an input that took too long."""


def cache_dir(target: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "qemu-py" / "fuzz" / target
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def within(limit: float, what: str):
    """Raise Finding when the block takes more than LIMIT seconds of this process's
    CPU time (not wall time: a loaded machine must not turn a replay into a finding;
    the block is not interrupted: a hang is caught by the runner's timeout)."""
    t0 = time.process_time()
    yield
    spent = time.process_time() - t0
    if spent > limit:
        raise Finding(f"{what} took {spent:.2f} s of CPU time (limit {limit:g} s)")


def seed_files(target: str) -> list[Path]:
    d = SEEDS / target
    return sorted(p for p in d.iterdir() if p.is_file()) if d.is_dir() else []


def regression_files(target: str) -> list[Path]:
    d = REGRESSIONS / target
    return sorted(p for p in d.iterdir() if p.is_file()) if d.is_dir() else []


def build_machine(cfg) -> None:
    """Build the emulator for CFG (nothing runs) and tear it down again; start-up's
    own error (the one-line message a user sees) may come out, nothing else."""
    from qemu_py.launch import Emulator, StartupError
    emu = Emulator(cfg)
    try:
        emu.build()
    except StartupError as e:
        if not str(e):
            raise Finding("a start-up error without a message") from None
    finally:
        for chr_ in getattr(emu, "chardevs", {}).values():
            chr_.close()
        loop = getattr(emu, "loop", None)
        if loop is not None:
            loop.close()
