"""``python -m tests.fuzz list | seed | run TARGET | replay TARGET FILE...``

``run`` starts a coverage-guided atheris (libFuzzer) campaign: the work
corpus lives in the cache directory (``~/.cache/qemu-py/fuzz/TARGET``,
first corpus directory, where new inputs go), the committed seeds are read
from ``tests/fuzz/corpus/TARGET``; a crash, a hang (``--timeout``) or a
Finding leaves its input as ``crash-*``/``timeout-*`` in the cache
directory, whose path is printed. Turn it into a regression with
``python -m tests.fuzz keep TARGET FILE NAME``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
import traceback

from .harness import REGRESSIONS, SEEDS, cache_dir, regression_files, seed_files
from .registry import TARGETS, load


def cmd_list(_args) -> int:
    for name, what in TARGETS.items():
        print(f"{name:15} {len(seed_files(name)):3} seeds {len(regression_files(name)):3} "
              f"regressions  {what}")
    return 0


def cmd_seed(args) -> int:
    """(Re)write the committed seed corpus of each target from its seeds()."""
    for name in args.targets or TARGETS:
        d = SEEDS / name
        d.mkdir(parents=True, exist_ok=True)
        for data in load(name).seeds():
            (d / hashlib.sha1(data).hexdigest()).write_bytes(data)
        print(f"{name}: {len(seed_files(name))} seeds in {d}")
    return 0


def cmd_replay(args) -> int:
    mod = load(args.target)
    failed = 0
    for path in args.files:
        data = open(path, "rb").read()
        t0 = time.monotonic()
        try:
            mod.one(data)
        except Exception:
            failed += 1
            print(f"{path}: FAILED after {time.monotonic() - t0:.2f} s")
            traceback.print_exc()
        else:
            print(f"{path}: ok in {time.monotonic() - t0:.3f} s")
    print(f"{len(args.files) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_keep(args) -> int:
    d = REGRESSIONS / args.target
    d.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.file, d / args.name)
    print(f"kept as {d / args.name}")
    return 0


def cmd_run(args) -> int:
    try:
        import atheris
    except ImportError:
        print("atheris is not installed (pip install atheris; wheels exist for x86-64 Linux)",
              file=sys.stderr)
        return 2
    if args.target not in TARGETS:
        print(f"unknown fuzz target '{args.target}'", file=sys.stderr)
        return 2
    work = cache_dir(args.target)
    corpus = work / "corpus"
    corpus.mkdir(exist_ok=True)
    with atheris.instrument_imports(include=["qemu_py"]):
        mod = load(args.target)
    mod.one(b"")                                    # build what the target keeps warm
    for seed in seed_files(args.target) + regression_files(args.target):
        mod.one(seed.read_bytes())
    flags = [sys.argv[0], str(corpus), str(SEEDS / args.target),
             f"-artifact_prefix={work}{os.sep}", f"-timeout={args.timeout}",
             f"-rss_limit_mb={args.rss_mb}", f"-max_len={args.max_len}"]
    if args.seconds:
        flags.append(f"-max_total_time={args.seconds}")
    if args.runs:
        flags.append(f"-runs={args.runs}")
    if not args.verbose:
        flags += ["-print_final_stats=1", "-close_fd_mask=1"]
    print(f"fuzzing {args.target}; artifacts and work corpus in {work}", file=sys.stderr)
    atheris.Setup(flags + args.libfuzzer, mod.one)
    atheris.Fuzz()
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    p = sub.add_parser("seed")
    p.add_argument("targets", nargs="*")
    p = sub.add_parser("replay")
    p.add_argument("target")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("keep")
    p.add_argument("target")
    p.add_argument("file")
    p.add_argument("name")
    p = sub.add_parser("run")
    p.add_argument("target")
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--runs", type=int, default=0)
    p.add_argument("--timeout", type=int, default=20, help="seconds per input before a hang")
    p.add_argument("--rss-mb", type=int, default=4096)
    p.add_argument("--max-len", type=int, default=4096)
    p.add_argument("--verbose", action="store_true")
    p.add_argument("libfuzzer", nargs="*", help="extra libFuzzer flags (after --)")
    args = ap.parse_args(argv)
    return {"list": cmd_list, "seed": cmd_seed, "replay": cmd_replay, "keep": cmd_keep,
            "run": cmd_run}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
