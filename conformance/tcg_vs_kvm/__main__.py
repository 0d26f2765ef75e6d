"""``python -m conformance.tcg_vs_kvm --count N --seed S [--jobs J]``

Runs N random cases against the oracle (KVM, or the host CPU without
/dev/kvm) and qemu-py's TCG, prints one block per mismatch (the case id, the
differing items, the body as assembly, the shrunk reproducer), a table per
instruction class (cases, mismatches, time) and ends with ``N passed, M
failed``. On a terminal a progress line runs meanwhile (not when the output
is not a tty or ``CI`` is set); per-case notes (oracle quirks, known TCG bugs)
go to a log file whose path is printed once. ``--report DIR`` writes
``report.json`` and ``report.html`` there. Exit status 0 when nothing failed, 1 on mismatches,
2 on bad input, 3 when the harness itself failed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import sys
import time

from . import image as im
from qemu_py.report import Run

from .campaign import UsageError, run_campaign, select_classes


def _seed(text: str) -> int:
    try:
        v = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed '{text}': expected a non-negative "
                                         f"integer") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"invalid seed '{text}': expected a non-negative "
                                         f"integer")
    return v


def _positive(text: str) -> int:
    try:
        v = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return v


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m conformance.tcg_vs_kvm",
                                description="TCG-vs-KVM differential conformance run")
    p.add_argument("--count", type=_positive, default=2048, help="random cases (default 2048)")
    p.add_argument("--seed", type=_seed, default=0, help="seed (default 0)")
    p.add_argument("--jobs", type=_positive, default=1, help="worker processes")
    p.add_argument("--classes", default="", help="comma-separated instruction classes "
                   "(default: all; 'list' prints them)")
    p.add_argument("--max-len", type=_positive, default=6, help="instructions per body")
    p.add_argument("--oracle", default="auto", choices=("auto", "kvm", "host"))
    p.add_argument("--no-shrink", action="store_true", help="report mismatches unshrunk")
    p.add_argument("--report", metavar="DIR", help="write report.json and report.html to DIR")
    p.add_argument("--log", metavar="FILE", help="per-case notes log (default: in the report "
                   "directory, else a new temporary directory)")
    return p


def _job(args, progress=None):
    count, seed, classes, oracle, max_len, shrink, first, stride = args
    res = run_campaign(count, seed, select_classes(classes), oracle=oracle, max_len=max_len,
                       do_shrink=shrink, first_batch=first, stride=stride, out=sys.stdout,
                       progress=progress)
    return (res.passed, res.failed, res.oracle_seconds, res.quirks, res.known, res.notes,
            res.classes, count)


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if platform.machine() not in ("x86_64", "AMD64", "amd64"):
        print(f"SKIP: not an x86-64 host ({platform.machine()}): no oracle for x86-64 code")
        return 0
    names = [c for c in args.classes.split(",") if c]
    try:
        if names == ["list"]:
            for name, codes in select_classes(None).items():
                print(f"{name}: {len(codes)} instruction forms")
            return 0
        select_classes(names)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from .campaign import make_oracle
    from qemu_py.accel.kvm.host import detect
    host = detect()
    oracle = args.oracle
    if oracle == "auto":
        oracle = "kvm" if host.usable else "host"
    print(f"oracle: {oracle} (host KVM kind: {host.kind}"
          f"{', ' + host.reason if host.reason else ''}); seed {args.seed}; "
          f"{args.count} cases; jobs {args.jobs}", flush=True)
    del make_oracle
    t0 = time.perf_counter()
    jobs = min(args.jobs, max(1, (args.count + im.MAX_CASES - 1) // im.MAX_CASES))
    per = [0] * jobs
    n_batches = (args.count + im.MAX_CASES - 1) // im.MAX_CASES
    for b in range(n_batches):
        per[b % jobs] += min(im.MAX_CASES, args.count - b * im.MAX_CASES)
    work = [(per[j], args.seed, names, oracle, args.max_len, not args.no_shrink, j, jobs)
            for j in range(jobs)]
    run = Run(f"tcg_vs_kvm seed {args.seed}", "campaign", args.count,
              report_dir=args.report, log_path=args.log)
    try:
        if jobs == 1:
            results = [_job(work[0], run.advance)]
        else:
            results = []
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                for r in pool.imap_unordered(_job, work):
                    results.append(r)
                    run.advance(r[7])
    except Exception as e:               # the harness, not the CPU, failed
        from .kvm_engine import HarnessError
        if isinstance(e, (HarnessError, OSError)):
            print(f"harness error: {e}", file=sys.stderr)
            return 3
        raise
    passed = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    oracle_s = sum(r[2] for r in results)
    quirks = sum(r[3] for r in results)
    known: dict[str, int] = {}
    for r in results:
        for k, v in r[4].items():
            known[k] = known.get(k, 0) + v
    for r in results:
        for line in r[5]:
            run.note(line)
        for name, (cases, mism, secs) in r[6].items():
            run.record(name, cases, mism, secs)
    wall = time.perf_counter() - t0
    if quirks:
        print(f"{quirks} case(s) differed only by a PVM oracle quirk (counted as passed)")
    print(f"{oracle} time {oracle_s:.2f} s ({1e6 * oracle_s / max(1, passed + failed):.0f} "
          f"us/case), wall {wall:.1f} s")
    for name, n in sorted(known.items()):
        print(f"{n} case(s) hit known TCG bug {name} (regressions/test_{name}.py)")
    failed += sum(known.values())
    run.finish({"oracle": oracle, "seed": args.seed, "count": args.count, "passed": passed,
                "failed": failed, "quirks": quirks, "known": known,
                "oracle_seconds": round(oracle_s, 3), "wall_seconds": round(wall, 3)})
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
