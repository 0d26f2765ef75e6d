"""Every module imports on its own in a fresh interpreter (no module depends on
another having been imported first, as an import cycle would)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import qemu_py

ROOT = pathlib.Path(qemu_py.__file__).parent

SCRIPT = """
import importlib, sys
bad = []
for name in sys.argv[1:]:
    for m in [k for k in sys.modules if k == "qemu_py" or k.startswith("qemu_py.")]:
        del sys.modules[m]
    try:
        importlib.import_module(name)
    except Exception as e:
        bad.append(f"{name}: {type(e).__name__}: {e}")
print("\\n".join(bad))
"""


def _names():
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = ["qemu_py"] + list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[-1] != "__main__":               # running it is the command, not an import
            out.append(".".join(parts))
    return out


@pytest.mark.slow
def test_every_module_imports_first():
    env = dict(os.environ, PYTHONPATH=str(ROOT.parent))
    r = subprocess.run([sys.executable, "-c", SCRIPT] + _names(), capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""
