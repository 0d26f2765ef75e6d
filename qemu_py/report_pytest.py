"""The report of the pytest-run conformance suites (a pytest plugin).

Every test marked ``conformance`` (the ram_device, smmu_bbml2 and vfio_balloon
suites mark theirs) is counted through :class:`qemu_py.report.Run`, one group
per suite and test module (``ram_device/test_layout``): its cases, the
failures as mismatches, and the time. At the end of the session the summary
table is printed under pytest's own summary, and ``--report DIR`` writes
``report.json``, ``report.html`` and, when a case failed, ``notes.log`` (one
line per failure) there. Progress stays pytest's own line (``-q`` dots or
percentages), so the Run draws no bar of its own.

Loaded from the top-level ``conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import io
import os

import pytest

from .report import Run

MARK = "conformance"


def pytest_addoption(parser):
    group = parser.getgroup("qemu-py report")
    group.addoption("--report", metavar="DIR", default=None,
                    help="write report.json and report.html of the conformance tests to DIR")


class ConformanceReport:
    def __init__(self, config):
        self.config = config
        self.report_dir = config.getoption("report")
        self.stream = io.StringIO()              # not a tty: the Run draws no progress bar
        self.run = Run("conformance (pytest)", "campaign", report_dir=self.report_dir,
                       stream=self.stream,
                       log_path=os.path.join(self.report_dir, "notes.log")
                       if self.report_dir else None)
        self.marked: dict[str, str] = {}         # nodeid -> group
        self.outcomes = {"passed": 0, "failed": 0, "skipped": 0}

    @staticmethod
    def group_of(item) -> str:
        path = str(item.path).replace("\\", "/")
        parts = path[:-3].split("/") if path.endswith(".py") else path.split("/")
        if "conformance" in parts:
            parts = parts[len(parts) - 1 - parts[::-1].index("conformance") + 1:]
        else:
            parts = parts[-2:]
        return "/".join(parts)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        for item in items:
            if item.get_closest_marker(MARK) is not None:
                self.marked[item.nodeid] = self.group_of(item)

    def pytest_runtest_logreport(self, report):
        group = self.marked.get(report.nodeid)
        if group is None:
            return
        failed = report.failed
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = "failed" if failed else "skipped" if report.skipped else "passed"
            self.outcomes[outcome] += 1
            self.run.record(group, cases=0 if report.skipped else 1,
                            mismatches=int(failed), seconds=report.duration)
        elif report.when == "teardown" and failed:
            self.outcomes["failed"] += 1
            self.run.record(group, mismatches=1, seconds=report.duration)
        if failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            text = crash.message if crash is not None else str(report.longrepr)
            self.run.note(f"{report.nodeid} ({report.when}): {text.strip().splitlines()[0]}")

    def pytest_terminal_summary(self, terminalreporter):
        if not self.marked:
            return
        self.run.finish(dict(self.outcomes))
        tr = terminalreporter
        tr.write_sep("-", "conformance summary")
        for line in self.stream.getvalue().splitlines():
            tr.write_line(line)
        if self.report_dir:
            tr.write_line(f"report: {os.path.join(self.report_dir, 'report.json')}, "
                          f"{os.path.join(self.report_dir, 'report.html')}")


def pytest_configure(config):
    config.pluginmanager.register(ConformanceReport(config), "qemu-py-conformance-report")
