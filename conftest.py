"""Test-wide hygiene: the process-wide log (-d items, -D file, the memory
API's guest-error logger) is put back after every test, so one test's
in-process machine with `-d guest_errors` cannot slow or change the next."""

import logging

import pytest

# the summary table and --report DIR of the conformance suites (qemu_py.report)
pytest_plugins = ["qemu_py.report_pytest"]


@pytest.fixture(autouse=True)
def _restore_process_log():
    from qemu_py.system.log import LOG
    bridge = logging.getLogger("qemu_py.memory.guest_errors")
    saved = (set(LOG.items), LOG.fp, LOG.path, bridge.level, bridge.propagate,
             list(bridge.handlers))
    yield
    LOG.items, LOG.fp, LOG.path = saved[0], saved[1], saved[2]
    bridge.setLevel(saved[3])
    bridge.propagate = saved[4]
    bridge.handlers[:] = saved[5]
