"""Fixtures for the TCG-vs-KVM suite: one oracle (KVM, else the host CPU) and TCG per session."""

from __future__ import annotations

import platform

import pytest

from .campaign import Differ


@pytest.fixture(scope="session")
def differ():
    if platform.machine() not in ("x86_64", "AMD64", "amd64"):
        pytest.skip("not an x86-64 host: no oracle for x86-64 code")
    d = Differ("auto")
    yield d
    d.close()
