"""C test programs (programs/*.c, built by the tests) under qemu-py and natively."""

from __future__ import annotations

import pytest

from .runner import compare


@pytest.mark.conformance
@pytest.mark.parametrize("name", ["signals", "memory", "processes"])
def test_static_program(programs, name):
    mismatch = compare([programs[name]])
    assert mismatch is None, mismatch


@pytest.mark.conformance
@pytest.mark.parametrize("name", ["signals", "memory", "processes"])
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
