"""Fixtures: the busybox-static binary, C test programs compiled once per session."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BUSYBOX = "/bin/busybox"


def pytest_collection_modifyitems(config, items):
    if platform.machine() != "x86_64":
        skip = pytest.mark.skip(reason="linux-user x86-64 is compared with native runs: "
                                       "needs an x86-64 Linux host")
        for item in items:
            if "linux_user" in item.nodeid:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def busybox():
    if not os.path.exists(BUSYBOX) or b"statically linked" not in subprocess.run(
            ["file", "-L", BUSYBOX], capture_output=True).stdout:
        pytest.skip("Debian's busybox-static is not installed (scripts/install-test-deps)")
    return BUSYBOX


@pytest.fixture(scope="session")
def programs(tmp_path_factory):
    """name -> path of programs/NAME.c built with gcc: static, plus NAME-dynamic."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: the C test programs cannot be built")
    out = tmp_path_factory.mktemp("linux-user-programs")
    built = {}
    for src in sorted(os.listdir(os.path.join(HERE, "programs"))):
        name, ext = os.path.splitext(src)
        if ext != ".c":
            continue
        path = os.path.join(HERE, "programs", src)
        freestanding = name.startswith("strace_")
        flags = ["-nostdlib", "-fno-stack-protector"] if freestanding else []
        subprocess.run(["gcc", "-O1", "-static", *flags, "-o", str(out / name), path],
                       check=True, capture_output=True)
        built[name] = str(out / name)
        if not freestanding:
            subprocess.run(["gcc", "-O1", "-o", str(out / f"{name}-dynamic"), path],
                           check=True, capture_output=True)
            built[f"{name}-dynamic"] = str(out / f"{name}-dynamic")
    return built
