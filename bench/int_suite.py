#!/usr/bin/env python3
"""Integer benchmark suite: guest MIPS per program and backend, against QEMU's TCG.

Six freestanding programs of different shapes (``bench/int_suite/*.c``: a tight
loop, hashing, sorting, memory copy, recursion, matrix arithmetic), each a
multiboot kernel that checks its own result and exits through isa-debug-exit.
Each runs on microvm under every backend asked for; the retired instruction
count divided by the process CPU time (boot, translation and compilation
included) is the MIPS figure. Every backend's result line must equal the
others' and QEMU's.

QEMU 7.2 (``qemu-system-x86_64``, when installed) runs the same kernels in the
same script. Its instruction count is not observable without -icount, so
the script uses the programs' linearity: our instruction counts at REPS and
2*REPS give the instructions per repetition, QEMU runs at two repetition
counts, and QEMU's MIPS is (instructions between the two) / (CPU time between
the two), start-up cancelled out. Also printed: the LLVM backend's compile
time per TB and the share of the run spent compiling::

    python bench/int_suite.py                       # llvm and python, QEMU if present
    python bench/int_suite.py --backends llvm,python,interp --programs sort,hash
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from qemu_py.cli import parse_args  # noqa: E402
from qemu_py.launch import Emulator  # noqa: E402

SUITE = os.path.join(HERE, "int_suite")
# repetitions for our backends (the python backend takes a few seconds at these)
PROGRAMS = {"loop": 20, "hash": 4, "sort": 4, "memcpy": 10, "recurse": 20, "matrix": 2}
QEMU_FACTOR = 400          # QEMU's long run: this many times the repetitions
DEVICE = ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def image(prog: str) -> str:
    return os.path.join(SUITE, f"{prog}.elf")


def run_ours(prog: str, backend: str, reps: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "serial.txt")
        argv = ["-M", "microvm", "-accel", f"tcg,backend={backend}", "-display", "none",
                "-serial", f"file:{log}", *DEVICE, "-kernel", image(prog),
                "-append", f"reps={reps}"]
        emu = Emulator(parse_args(argv))
        emu.build()
        c0 = time.process_time()
        status = emu.run()
        cpu = time.process_time() - c0
        out = open(log).read().strip()
    if status != 1:
        raise SystemExit(f"{prog} on {backend}: guest exit status {status}, output {out!r}")
    be = emu.tcg.cpu.engine.backend
    stats = be.stats() if hasattr(be, "stats") else None
    return {"retired": emu.tcg.retired, "cpu": cpu, "out": out, "stats": stats}


def run_qemu(qemu: str, prog: str, reps: int) -> tuple[float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([qemu, "-M", "microvm", "-accel", "tcg", "-display", "none",
                        "-serial", "stdio", "-monitor", "none", *DEVICE, "-kernel", image(prog),
                        "-append", f"reps={reps}"], capture_output=True, text=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 1:
        raise SystemExit(f"{prog} on QEMU: exit status {p.returncode}, output {p.stdout!r}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, p.stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="llvm,python")
    ap.add_argument("--programs", default=",".join(PROGRAMS))
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the repetitions")
    ap.add_argument("--no-qemu", action="store_true")
    args = ap.parse_args()
    backends = args.backends.split(",")
    progs = args.programs.split(",")
    for p in progs:
        if p not in PROGRAMS:
            raise SystemExit(f"unknown program {p!r} (known: {', '.join(PROGRAMS)})")
    qemu = None if args.no_qemu else shutil.which("qemu-system-x86_64")
    rows = []
    for prog in progs:
        reps = max(1, int(PROGRAMS[prog] * args.scale))
        row = {"prog": prog, "reps": reps}
        outs = {}
        for be in backends:
            r = run_ours(prog, be, reps)
            row[be] = r
            outs[be] = r["out"]
        # instructions per repetition, from a second run at twice the repetitions
        ref = "llvm" if "llvm" in backends else backends[0]
        twice = run_ours(prog, ref, 2 * reps)
        per_rep = (twice["retired"] - row[ref]["retired"]) / reps
        if qemu:
            c1, o1 = run_qemu(qemu, prog, reps)
            long_reps = reps * QEMU_FACTOR
            c2, _ = run_qemu(qemu, prog, long_reps)
            outs["qemu"] = o1
            row["qemu_mips"] = per_rep * (long_reps - reps) / max(c2 - c1, 1e-9) / 1e6
        if len(set(outs.values())) != 1:
            raise SystemExit(f"{prog}: results differ: {outs}")
        row["out"] = outs[backends[0]]
        rows.append(row)
        line = [f"{prog:8s} reps={reps:<3d} insns={row[ref]['retired']:>11,d}"]
        for be in backends:
            line.append(f"{be}={row[be]['retired'] / row[be]['cpu'] / 1e6:7.1f}")
        if qemu:
            line.append(f"qemu={row['qemu_mips']:7.1f}")
        print("  ".join(line) + f"  MIPS  [{row['out']}]", flush=True)
    print()
    for be in backends:
        mips = [r[be]["retired"] / r[be]["cpu"] / 1e6 for r in rows]
        geo = math.exp(sum(math.log(m) for m in mips) / len(mips))
        text = f"{be:7s} geometric mean {geo:8.1f} MIPS"
        if qemu:
            ratios = [m / r["qemu_mips"] for m, r in zip(mips, rows)]
            gr = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
            text += f", {gr:.4f} of QEMU"
        st = [r[be]["stats"] for r in rows if r[be]["stats"]]
        if st:
            tbs = sum(s["compiled"] for s in st)
            ms = sum(s["compile_ms"] for s in st)
            cpu = sum(r[be]["cpu"] for r in rows)
            fb = sum(sum(s["fallbacks"].values()) for s in st)
            text += (f"; {tbs} TBs compiled, {ms / max(tbs, 1):.2f} ms per TB, compile share "
                     f"{ms / 1000 / cpu:.1%}, {fb} TBs fell back to the python backend")
        print(text)
    if qemu:
        geo = math.exp(sum(math.log(r["qemu_mips"]) for r in rows) / len(rows))
        print(f"qemu    geometric mean {geo:8.1f} MIPS (QEMU 7.2 TCG, same run)")


if __name__ == "__main__":
    main()
