"""qemu_py.report: progress only on a terminal without CI, notes to a log,
one summary table, report.json + report.html."""

from __future__ import annotations

import io
import json
import os
import pty

from qemu_py.report import SCHEMA, Run, live_progress


def _campaign(stream, report_dir, log_path=None):
    run = Run("demo", "campaign", 5, report_dir=str(report_dir), stream=stream,
              log_path=log_path)
    for i in range(5):
        run.advance()
        run.record("arith" if i % 2 else "sse", cases=1, mismatches=int(i == 3), seconds=0.5)
        if i == 1:
            run.note("oracle quirk 0:0:1: first")
            run.note("oracle quirk 0:0:2: second")
    return run, run.finish({"passed": 4, "failed": 1})


def _check_json(report_dir, notes_log):
    d = json.load(open(report_dir / "report.json"))
    assert d["schema"] == SCHEMA and d["kind"] == "campaign" and d["title"] == "demo"
    assert d["groups"] == [{"name": "arith", "cases": 2, "mismatches": 1, "seconds": 1.0},
                           {"name": "sse", "cases": 3, "mismatches": 0, "seconds": 1.5}]
    assert d["summary"] == {"passed": 4, "failed": 1}
    assert d["notes"] == 2 and d["notes_log"] == notes_log
    assert open(notes_log).read().splitlines() == ["oracle quirk 0:0:1: first",
                                                   "oracle quirk 0:0:2: second"]
    page = (report_dir / "report.html").read_text()
    assert "<td>arith</td><td>2</td><td>1</td><td>1.00</td>" in page
    return d


def test_ci_quiet_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "1")
    out = io.StringIO()
    run, _ = _campaign(out, tmp_path)
    assert run.bar is None
    text = out.getvalue()
    log = str(tmp_path / "notes.log")
    assert text.count(f"per-case notes: {log}") == 1
    assert "oracle quirk" not in text                     # notes stay in the log
    assert "\r" not in text                               # no progress line
    assert text.splitlines()[-4:] == [
        "class  cases  mismatches  time s", "-----  -----  ----------  ------",
        "arith      2           1    1.00", "sse        3           0    1.50"]
    _check_json(tmp_path, log)


def test_terminal_mode_has_a_live_progress_line(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w")
    try:
        assert live_progress(stream)
        run, _ = _campaign(stream, tmp_path, log_path=str(tmp_path / "q.log"))
        stream.flush()
        text = b""
        os.set_blocking(master, False)
        try:
            while chunk := os.read(master, 65536):
                text += chunk
        except BlockingIOError:
            pass
    finally:
        stream.close()
        os.close(master)
    text = text.decode()
    assert "\rdemo:" in text and "/5 [" in text          # tqdm line on the terminal
    assert "oracle quirk" not in text
    assert text.count("per-case notes:") == 1
    _check_json(tmp_path, str(tmp_path / "q.log"))


def test_benchmark_report_plots_speed_against_reference(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "1")
    run = Run("bench", "benchmark", 2, report_dir=str(tmp_path), stream=io.StringIO())
    run.speed("python count", 3.0, 30.0, "MIPS")
    run.speed("interp count", 0.3, 30.0, "MIPS")
    d = run.finish()
    assert [s["ratio"] for s in d["speeds"]] == [0.1, 0.01]
    page = (tmp_path / "report.html").read_text()
    assert page.count("<rect") == 2 and "<svg" in page and "reference</text>" in page
    assert "python count" in page and "0.1x" in page
