"""`qemu-py` without arguments boots the bundled guest (images/default).

Runs the real command line in a subprocess: the banner and the checks appear
on stdout, the exit status is 0 (isa-debug-exit value 0, see
images/default/README.md), and with -icount shift=0 two runs print exactly
the same bytes.
"""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.functional


def run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "qemu_py", *args], stdin=subprocess.PIPE,
                          capture_output=True, timeout=timeout)


def test_no_arguments_boots_the_default_guest_and_exits_0():
    p = run()
    out = p.stdout.decode()
    assert p.returncode == 0, (p.returncode, out, p.stderr.decode())
    assert out.startswith("qemu-py default guest: x86-64 long mode, 4-level paging")
    assert "all checks passed" in out


def test_icount_runs_are_identical():
    a, b = run("-icount", "shift=0"), run("-icount", "shift=0")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout
    assert b"timer interrupt after 50048 TSC ticks" in a.stdout


@pytest.mark.slow
def test_default_guest_on_the_interpreter_backend():
    p = run("-accel", "tcg,backend=interp", "-icount", "shift=0", timeout=1200)
    assert p.returncode == 0, p.stderr.decode()
    assert b"all checks passed" in p.stdout
