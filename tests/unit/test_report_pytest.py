"""The conformance report of pytest runs: the summary table under pytest's,
report.json / report.html / notes.log with --report DIR, nothing for runs
without conformance tests."""

import json
import os
import subprocess
import sys

SUITE = '''
import pytest

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("n", range(3))
def test_ok(n):
    assert n < 3


def test_mismatch():
    assert 1 == 2, "register differs"


@pytest.mark.skip(reason="oracle absent")
def test_skipped():
    pass
'''


def _pytest(tmp_path, *args, env=None):
    suite = tmp_path / "conformance" / "demo"
    suite.mkdir(parents=True, exist_ok=True)
    (suite / "test_regs.py").write_text(SUITE)
    (tmp_path / "tests").mkdir(exist_ok=True)
    (tmp_path / "tests" / "test_plain.py").write_text("def test_plain():\n    pass\n")
    e = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "qemu_py.report_pytest",
                           "-p", "no:cacheprovider", "-q", "-W", "ignore", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, env=e)


def test_table_and_report_files(tmp_path):
    res = _pytest(tmp_path, "conformance", "--report", str(tmp_path / "out"), env={"CI": "1"})
    assert res.returncode == 1                        # the mismatch fails the run
    out = res.stdout
    assert "conformance summary" in out
    row = next(line for line in out.splitlines() if line.startswith("demo/test_regs "))
    assert row.split() == ["demo/test_regs", "4", "1", row.split()[-1]]
    d = json.load(open(tmp_path / "out" / "report.json"))
    assert d["kind"] == "campaign"
    assert [(g["name"], g["cases"], g["mismatches"]) for g in d["groups"]] == \
        [("demo/test_regs", 4, 1)]
    assert d["summary"] == {"passed": 3, "failed": 1, "skipped": 1}
    assert d["notes"] == 1 and d["notes_log"] == str(tmp_path / "out" / "notes.log")
    note = (tmp_path / "out" / "notes.log").read_text()
    assert note.startswith("conformance/demo/test_regs.py::test_mismatch (call): ")
    assert "register differs" in note
    assert "<td>demo/test_regs</td><td>4</td><td>1</td>" in \
        (tmp_path / "out" / "report.html").read_text()


def test_runs_without_conformance_tests_print_no_table(tmp_path):
    res = _pytest(tmp_path, "tests")
    assert res.returncode == 0 and "conformance summary" not in res.stdout
