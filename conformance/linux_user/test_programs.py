"""C test programs (programs/*.c, built by the tests) under qemu-py and natively."""

from __future__ import annotations

import pytest

from .runner import compare


@pytest.mark.conformance
@pytest.mark.parametrize("name", ["signals", "memory", "processes", "threads"])
def test_static_program(programs, name):
    mismatch = compare([programs[name]])
    assert mismatch is None, mismatch


@pytest.mark.conformance
@pytest.mark.parametrize("name", ["signals", "memory", "processes", "threads"])
def test_dynamic_program(programs, name):
    """Through the host's ld-linux-x86-64.so.2 and libc.so.6."""
    mismatch = compare([programs[f"{name}-dynamic"]])
    assert mismatch is None, mismatch


@pytest.mark.conformance
@pytest.mark.parametrize("argv", [["/bin/ls", "-la", "/usr/bin/sort", "/etc/os-release", "/usr/lib"], ["/usr/bin/sort", "-r"],
                                  ["/usr/bin/sha256sum"]], ids=["ls", "sort", "sha256sum"])
def test_host_coreutils(argv):
    mismatch = compare(argv, stdin=b"b\na\nc\n")
    assert mismatch is None, mismatch


@pytest.mark.conformance
def test_host_signal_reaches_guest_handler(programs):
    """SIGTERM sent to the emulator runs the guest's handler, as it does natively."""
    import signal
    import subprocess

    from .runner import emulator_argv, emulator_env

    def run(argv, env=None):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
        assert p.stdout.readline() == b"ready\n"
        p.send_signal(signal.SIGTERM)
        rest = p.stdout.read()
        return p.wait(timeout=120), rest
    native = run([programs["host_signal"]])
    emulated = run(emulator_argv() + [programs["host_signal"]], emulator_env())
    assert native == emulated == (7, b"handler got signal 15\n")
