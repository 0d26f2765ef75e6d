"""Run the emulator to completion and capture what it printed (start-up errors)."""

import subprocess
import sys

from tests.unit.hw.x86_qtest import ROOT


def run_and_capture(*args, machine="pc") -> str:
    p = subprocess.run([sys.executable, "-m", "qemu_py", "-M", machine, "-accel", "qtest",
                        "-display", "none", "-nodefaults", *args], cwd=ROOT,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert p.returncode != 0
    return p.stdout.decode() + p.stderr.decode()
