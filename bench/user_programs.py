#!/usr/bin/env python3
"""Integer programs as linux-user processes: qemu-py-x86_64 against qemu-x86_64.

Builds ``bench/user/programs.c`` (gcc -O2 -static), runs each program shape
(tight loop, hashing, sorting, memory copy, recursion, matrix product) natively
to learn its result, then under Debian's ``qemu-x86_64`` (the reference, when
installed) and under qemu-py in the same run.  Every emulated run must print the
native result.  Prints wall seconds per program and qemu-py's speed as a ratio
of QEMU's (reference time / qemu-py time)::

    python bench/user_programs.py             # every program, default sizes
    python bench/user_programs.py --scale 4   # larger inputs
    python bench/user_programs.py --report DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from qemu_py.report import Run  # noqa: E402

SIZES = {"loop": 200_000, "fnv": 200_000, "sort": 5_000, "copy": 4, "fib": 18, "matrix": 24}


def timed(cmd: list[str], env=None) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return dt, p.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--report", metavar="DIR")
    ap.add_argument("programs", nargs="*", default=list(SIZES))
    args = ap.parse_args()
    if shutil.which("gcc") is None:
        print("gcc is needed to build bench/user/programs.c", file=sys.stderr)
        return 1
    qemu = shutil.which("qemu-x86_64")
    env = dict(os.environ, PYTHONPATH=ROOT)
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "programs")
        subprocess.run(["gcc", "-O2", "-static", "-o", exe, os.path.join(HERE, "user",
                                                                          "programs.c")],
                       check=True)
        rep = Run("user_programs", "benchmark", len(args.programs), report_dir=args.report,
                  unit="program")
        rep.write(f"{'program':8} {'native s':>9} {'qemu s':>8} {'qemu-py s':>10} "
                  f"{'qemu-py/qemu speed':>19}")
        for name in args.programs:
            n = str(SIZES[name] * (args.scale if name != "fib" else 1)
                    + (args.scale - 1 if name == "fib" else 0))
            t_nat, out = timed([exe, name, n, "-"])
            want = out.split(" = ")[1].strip()
            cmd = [exe, name, n, want]
            t_ref = timed([qemu] + cmd)[0] if qemu else 0.0
            t_py = timed([sys.executable, "-m", "qemu_py.user"] + cmd, env=env)[0]
            ratio = f"{t_ref / t_py:19.4f}" if qemu else f"{'(no qemu-x86_64)':>19}"
            rep.write(f"{name:8} {t_nat:9.3f} {t_ref:8.3f} {t_py:10.3f} {ratio}")
            rep.speed(name, 1 / t_py, 1 / t_ref if qemu else 0.0, "runs/s")
            rep.advance()
        if qemu and rep.speeds:
            import math
            g = math.exp(sum(math.log(s.ratio) for s in rep.speeds) / len(rep.speeds))
            rep.write(f"geometric mean of qemu-py/qemu speed: {g:.4f}")
        rep.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
