"""Fixtures for the x86 device tests (see ``x86_qtest``)."""

import pytest

from tests.unit.hw.x86_qtest import Session, build_machine


@pytest.fixture
def qtest():
    sessions = []

    def launch(*args, machine="pc"):
        s = Session(list(args), machine=machine)
        sessions.append(s)
        return s

    yield launch
    for s in sessions:
        s.close()


@pytest.fixture
def machine():
    emus = []

    def make(*args):
        emu = build_machine(*args)
        emus.append(emu)
        return emu.vm.machine

    yield make
    for emu in emus:
        for chr_ in emu.chardevs.values():
            chr_.close()
        emu.loop.close()
