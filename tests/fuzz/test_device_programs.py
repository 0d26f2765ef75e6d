"""Random guest device programs per machine: no traceback, no stall, sentinels intact.

The default run draws a few programs per machine; ``-m slow`` draws 100,000."""

import functools

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.device_programs import MACHINES, programs, run, start


@functools.cache
def machine(name):
    return start(name)


def _check(name):
    @given(program=programs(name))
    def check(program):
        run(machine(name), name, program)
    return check


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_random_device_programs(name):
    settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))(_check(name))()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MACHINES))
def test_random_device_programs_100000(name):
    settings(max_examples=100_000, deadline=None,
             suppress_health_check=list(HealthCheck))(_check(name))()


def test_a_program_reaches_edu_through_its_bar_and_the_factorial_does_not_stall():
    q = start("pc")
    try:
        run(q, "pc", [("cfg", 4, 0x10, 4, 0xfe800000), ("cfg", 4, 0x04, 2, 0x6),
                      ("mmio", 0xfe800000, 0x08, 4, 0xffffffff),
                      ("mmio_read", 0xfe800000, 0x08, 4, 0)])
        assert q.readl(0xfe800000) == 0x010000ED
        assert q.readl(0xfebf0008) == 0
    finally:
        q.close()


def test_a_changed_sentinel_is_reported():
    from tests.fuzz.device_programs import ProgramFailure
    q = start("microvm")
    try:
        q.memwrite(MACHINES["microvm"].sentinels[0], b"\0")
        with pytest.raises(ProgramFailure, match="sentinel"):
            run(q, "microvm", [("clock", 10, 0, 0, 0)])
    finally:
        q.close()


def test_values_never_name_a_sentinel_page():
    from hypothesis import given as given_

    from tests.fuzz.device_programs import values
    pages = {a >> 12 for a in MACHINES["pc"].sentinels}

    @settings(max_examples=300, deadline=None)
    @given_(v=values("pc", 64))
    def check(v):
        assert v >> 12 not in pages and v not in pages
    check()
