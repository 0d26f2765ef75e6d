"""Progress, summary table and report files for campaign and benchmark runs.

One ``Run`` per run of a conformance campaign or a benchmark:

- ``advance(n)``: a live progress line (tqdm) on a terminal; none when the
  output is not a tty or ``CI`` is set in the environment;
- ``note(text)``: a per-case note (e.g. an oracle quirk) goes to a log file,
  whose path is printed once, not to the terminal;
- ``record(group, cases=, mismatches=, seconds=)``: per class / per program
  counts for the summary table printed by ``finish()``;
- ``speed(program, value, reference)``: a benchmark figure, plotted against
  its reference in the HTML report;
- ``finish(summary)``: prints the table; with ``report_dir`` writes
  ``report.json`` and ``report.html`` (the table, and for benchmarks an inline
  SVG bar chart of each program's speed relative to its reference).
"""

from __future__ import annotations

import html
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

SCHEMA = "qemu-py-report/1"


@dataclass
class Group:
    name: str
    cases: int = 0
    mismatches: int = 0
    seconds: float = 0.0


@dataclass
class Speed:
    program: str
    value: float
    reference: float
    unit: str

    @property
    def ratio(self) -> float:
        return self.value / self.reference if self.reference else 0.0


def live_progress(stream) -> bool:
    """A progress line only for a person watching a terminal."""
    if os.environ.get("CI"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Run:
    def __init__(self, title: str, kind: str, total: int | None = None, *,
                 report_dir: str | None = None, log_path: str | None = None,
                 stream=None, unit: str = "case"):
        self.title = title
        self.kind = kind                      # "campaign" or "benchmark"
        self.stream = stream if stream is not None else sys.stdout
        self.report_dir = report_dir
        self.log_path = log_path
        self._log = None
        self.groups: dict[str, Group] = {}
        self.speeds: list[Speed] = []
        self.notes = 0
        self.t0 = time.perf_counter()
        self.bar = None
        if live_progress(self.stream):
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=title, unit=unit, file=self.stream,
                            leave=False)

    # -- during the run -----------------------------------------------------------------
    def advance(self, n: int = 1):
        if self.bar is not None:
            self.bar.update(n)

    def note(self, text: str):
        if self._log is None:
            if self.log_path is None:
                base = self.report_dir or tempfile.mkdtemp(prefix="qemu-py-run-")
                os.makedirs(base, exist_ok=True)
                self.log_path = os.path.join(base, "notes.log")
            os.makedirs(os.path.dirname(os.path.abspath(self.log_path)), exist_ok=True)
            self._log = open(self.log_path, "a")
            self.write(f"per-case notes: {self.log_path}")
        self._log.write(text + "\n")
        self._log.flush()
        self.notes += 1

    def write(self, text: str):
        """A line for the terminal that does not break the progress line."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def record(self, group: str, cases: int = 0, mismatches: int = 0, seconds: float = 0.0):
        g = self.groups.setdefault(group, Group(group))
        g.cases += cases
        g.mismatches += mismatches
        g.seconds += seconds

    def speed(self, program: str, value: float, reference: float, unit: str):
        self.speeds.append(Speed(program, value, reference, unit))

    # -- at the end ---------------------------------------------------------------------
    def table(self) -> str:
        label = "class" if self.kind == "campaign" else "program"
        rows = [(label, "cases", "mismatches", "time s")]
        for g in sorted(self.groups.values(), key=lambda g: g.name):
            rows.append((g.name, str(g.cases), str(g.mismatches), f"{g.seconds:.2f}"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def data(self, summary: dict | None = None) -> dict:
        return {
            "schema": SCHEMA, "title": self.title, "kind": self.kind,
            "wall_seconds": round(time.perf_counter() - self.t0, 3),
            "groups": [asdict(g) for g in sorted(self.groups.values(), key=lambda g: g.name)],
            "speeds": [dict(asdict(s), ratio=s.ratio) for s in self.speeds],
            "notes": self.notes, "notes_log": self.log_path if self.notes else None,
            "summary": dict(summary or {}),
        }

    def finish(self, summary: dict | None = None) -> dict:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.groups:
            print(self.table(), file=self.stream, flush=True)
        d = self.data(summary)
        if self.report_dir:
            os.makedirs(self.report_dir, exist_ok=True)
            with open(os.path.join(self.report_dir, "report.json"), "w") as f:
                json.dump(d, f, indent=1)
                f.write("\n")
            with open(os.path.join(self.report_dir, "report.html"), "w") as f:
                f.write(render_html(d))
        return d


def speed_svg(speeds: list[dict]) -> str:
    """Horizontal bars: each program's speed relative to its reference (1.0 = as fast)."""
    if not speeds:
        return ""
    bar_h, gap, left, width = 18, 6, 160, 360
    top = max(1.0, max(s["ratio"] for s in speeds))
    h = len(speeds) * (bar_h + gap) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" '
             f'height="{h}" font-family="sans-serif" font-size="12">']
    for i, s in enumerate(speeds):
        y = 10 + i * (bar_h + gap)
        w = width * s["ratio"] / top
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">'
                     f'{html.escape(s["program"])}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="#4a7ebb"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 13}">{s["ratio"]:.3g}x</text>')
    ref_x = left + width / top
    parts.append(f'<line x1="{ref_x:.1f}" y1="4" x2="{ref_x:.1f}" y2="{h - 16}" '
                 f'stroke="#c33" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{ref_x:.1f}" y="{h - 4}" text-anchor="middle">reference</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def render_html(d: dict) -> str:
    title = html.escape(d["title"])
    out = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title>"
           "</head><body>", f"<h1>{title}</h1>"]
    if d["groups"]:
        label = "class" if d["kind"] == "campaign" else "program"
        out.append(f"<table border='1'><tr><th>{label}</th><th>cases</th><th>mismatches</th>"
                   "<th>time (s)</th></tr>")
        for g in d["groups"]:
            out.append(f"<tr><td>{html.escape(g['name'])}</td><td>{g['cases']}</td>"
                       f"<td>{g['mismatches']}</td><td>{g['seconds']:.2f}</td></tr>")
        out.append("</table>")
    if d["speeds"]:
        out.append("<h2>Speed against the reference</h2>")
        out.append(speed_svg(d["speeds"]))
    if d["summary"]:
        out.append("<h2>Summary</h2><ul>")
        for k, v in d["summary"].items():
            out.append(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>")
        out.append("</ul>")
    out.append("</body></html>\n")
    return "\n".join(out)
