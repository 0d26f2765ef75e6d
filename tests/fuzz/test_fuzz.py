"""Every fuzz target: its committed seeds and its regression inputs replay
cleanly in process, and a short coverage-guided campaign (atheris) finds
nothing. Long campaigns: ``tox -e fuzz`` (``python -m tests.fuzz run``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .harness import regression_files, seed_files
from .registry import TARGETS, load

ROOT = Path(__file__).resolve().parents[2]
SHORT_RUNS = int(os.environ.get("QEMU_PY_FUZZ_RUNS", "200"))


def _inputs():
    for name in TARGETS:
        for path in seed_files(name):
            yield pytest.param(name, path, id=f"{name}-seed-{path.name[:8]}")
        for path in regression_files(name):
            yield pytest.param(name, path, id=f"{name}-{path.name}")


@pytest.mark.parametrize("target, path", list(_inputs()))
def test_input_replays_cleanly(target, path):
    load(target).one(path.read_bytes())


@pytest.mark.parametrize("target", list(TARGETS))
def test_every_target_has_seeds(target):
    assert len(seed_files(target)) >= 5, f"tests/fuzz/corpus/{target} needs a seed corpus"


def _have_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("target", list(TARGETS))
def test_short_campaign_finds_nothing(target, tmp_path):
    if not _have_atheris():
        pytest.skip("atheris is not installed: its wheels exist for x86-64 Linux only")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz", "run", target,
                           f"--runs={SHORT_RUNS}", "--seconds=60", "--timeout=30"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    artifacts = sorted(p.name for p in (tmp_path / "qemu-py" / "fuzz" / target).glob("*-*"))
    assert proc.returncode == 0 and not artifacts, (
        f"fuzz target {target}: exit {proc.returncode}, artifacts {artifacts} in "
        f"{tmp_path}\n{proc.stderr[-4000:]}")
