"""-strace against Debian's qemu-x86_64 (package qemu-user), line for line.

The program (programs/strace_calls.c) passes only pointers into its own
static data, so both emulators print the same arguments; the pid column is
the only field that differs and is left out of the comparison.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .runner import emulator_argv, emulator_env


def _lines(text: bytes) -> list[str]:
    return [line.split(" ", 1)[1] if line[:1].isdigit() else line
            for line in text.decode().splitlines()]


@pytest.mark.conformance
def test_strace_matches_qemu(programs):
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        pytest.skip("qemu-x86_64 (Debian qemu-user) is not installed: no -strace oracle")
    prog = programs["strace_calls"]
    ref = subprocess.run([qemu, "-strace", prog], capture_output=True)
    ours = subprocess.run(emulator_argv(["-strace"]) + [prog], capture_output=True,
                          env=emulator_env())
    assert ours.returncode == ref.returncode == 3
    assert ours.stdout == ref.stdout
    assert _lines(ours.stderr) == _lines(ref.stderr)


@pytest.mark.conformance
def test_qemu_strace_environment_twin(programs):
    ours = subprocess.run(emulator_argv() + [programs["strace_calls"]], capture_output=True,
                          env=emulator_env() | {"QEMU_STRACE": "1"})
    assert b" exit_group(3)\n" in ours.stderr
