"""pytest plugin (entry point ``pytest11``): ready qtest sessions as fixtures.

* ``qtest``: a launched :class:`~qemu_py.qtest.QTest`. Choose the board with
  ``@pytest.mark.machine("pc", "-m", "64M")`` and the accelerator with
  ``@pytest.mark.accel("qtest")`` (default ``-M none -m 16M``, qtest).
* ``qtest_factory``: ``qtest_factory(args, **kw)`` launches more; all are
  stopped at teardown.

Each session's logs (qtest log, QMP transcript, emulator output) live in the
test's own directory; when a test fails their paths are added to the report.
``--qtest-binary CMD`` (or ``QTEST_QEMU_BINARY``) runs the same tests against
another emulator, such as a real QEMU.
"""

from __future__ import annotations


import shlex

import pytest

from .client import QTest


def pytest_addoption(parser):
    parser.addoption("--qtest-binary", default=None,
                     help="emulator command for the qtest fixtures (default: qemu-py)")


def pytest_configure(config):
    config.addinivalue_line("markers", "machine(name, *args): machine and extra arguments for "
                                       "the qtest fixture")
    config.addinivalue_line("markers", "accel(name): accelerator for the qtest fixture")


@pytest.fixture
def qtest_factory(request, tmp_path):
    started: list[QTest] = []
    binary = request.config.getoption("--qtest-binary")

    def launch(args=(), **kw) -> QTest:
        kw.setdefault("log_dir", str(tmp_path / f"qtest-{len(started)}"))
        if binary and "binary" not in kw:
            kw["binary"] = shlex.split(binary)
        qt = QTest(args, **kw)
        started.append(qt)
        qt.launch()
        return qt

    request.node._qemu_py_sessions = started
    yield launch
    for qt in started:
        try:
            if qt.proc is not None and qt.proc.poll() is None:
                qt.quit()
        finally:
            qt.close()


@pytest.fixture
def qtest(request, qtest_factory):
    marker = request.node.get_closest_marker("machine")
    if marker is not None:
        args = ["-M", marker.args[0], *marker.args[1:]]
    else:
        args = ["-M", "none", "-m", "16M"]
    accel = request.node.get_closest_marker("accel")
    return qtest_factory(args, accel=accel.args[0] if accel else "qtest")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    sessions = getattr(item, "_qemu_py_sessions", None)
    if report.failed and sessions:
        text = "\n".join(f"session {i}: {' '.join(qt.command_line)}\n{qt.describe_logs()}"
                         for i, qt in enumerate(sessions))
        # Once: in the failure text when it is plain text, else as a section.
        if isinstance(report.longrepr, str):
            report.longrepr = f"{report.longrepr}\n\nqemu-py logs kept at:\n{text}"
        else:
            report.sections.append(("qemu-py logs", text))

