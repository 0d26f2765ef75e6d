#!/usr/bin/env python3
"""Guest MIPS of the TCG backends on system-mode integer loops.

Boots ``bench/tcg_guest/bench.elf`` (multiboot -> long mode -> a 6-instruction
integer loop, ``-append "iters=N loop=count|mix"``) on microvm, once per
backend and loop, and prints retired guest instructions per second of wall
time and of process CPU time (boot, translation and the final serial output
included; the CPU-time figure is the one to compare on a shared machine)::

    python bench/tcg_mips.py                 # both backends, both loops
    python bench/tcg_mips.py --backend python --loop count --iters 5000000
    python bench/tcg_mips.py --report DIR    # + report.json, report.html (SVG plot)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from qemu_py.cli import parse_args  # noqa: E402
from qemu_py.launch import Emulator  # noqa: E402
from qemu_py.report import Run  # noqa: E402

IMAGE = os.path.join(HERE, "tcg_guest", "bench.elf")
DEFAULT_ITERS = {"python": 2_000_000, "interp": 20_000}


def run(backend: str, iters: int, icount: bool = False, loop: str = "count"):
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "serial.txt")
        argv = ["-M", "microvm", "-accel", f"tcg,backend={backend}", "-display", "none",
                "-serial", f"file:{log}", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-kernel", IMAGE, "-append", f"iters={iters} loop={loop}"]
        if icount:
            argv = ["-icount", "shift=0"] + argv
        emu = Emulator(parse_args(argv))
        emu.build()
        t0, c0 = time.perf_counter(), time.process_time()
        status = emu.run()
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        out = open(log).read().strip()
        if status != 1:
            raise SystemExit(f"{backend}: guest exit status {status}, output {out!r}")
        return dt, cpu, emu.tcg.retired, out


def reference_mips(loop: str, iters: int = 1_000_000) -> float:
    """The same 6-instruction loop written by hand in plain Python, in this
    process: what CPython manages on this machine without any emulation."""
    import time as _time
    m32, m64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
    t0 = _time.process_time()
    if loop == "count":
        s = t = 0
        b = 0x9E3779B97F4A7C15
        i = 0
        while True:
            s = (s + i) & m64
            t = (i * 3) & m32
            b = (b ^ t) & m32
            i = (i + 1) & m32
            if i == iters:
                break
    else:
        a, b, n = 1, 0x9E3779B97F4A7C15, iters
        while True:
            a = (a + b) & m64
            b ^= n
            a = ((a << 7) | (a >> 57)) & m64
            b = (a + b + 3) & m64
            n -= 1
            if not n:
                break
    return 6 * iters / (_time.process_time() - t0) / 1e6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["python", "interp"], action="append")
    ap.add_argument("--iters", type=int, help="loop iterations (default per backend)")
    ap.add_argument("--icount", action="store_true", help="run with -icount shift=0")
    ap.add_argument("--loop", choices=["count", "mix"], action="append")
    ap.add_argument("--report", metavar="DIR", help="write report.json and report.html to DIR")
    args = ap.parse_args(argv)
    plan = [(b, lp) for b in args.backend or ["python", "interp"]
            for lp in args.loop or ["count", "mix"]]
    rep = Run("tcg_mips", "benchmark", len(plan), report_dir=args.report, unit="run")
    for backend, loop in plan:
        iters = args.iters or DEFAULT_ITERS[backend]
        dt, cpu, insns, out = run(backend, iters, args.icount, loop)
        ref = reference_mips(loop)
        rep.advance()
        rep.record(f"{backend} {loop}", cases=1, seconds=dt)
        rep.speed(f"{backend} {loop}", insns / cpu / 1e6, ref, "MIPS cpu")
        rep.write(f"{backend:7s} {loop:5s} {insns:>10d} insns in {dt:6.2f} s  ->  "
                  f"{insns / dt / 1e6:6.2f} MIPS wall, {insns / cpu / 1e6:6.2f} MIPS cpu, "
                  f"{insns / cpu / 1e6 / ref:.2f}x of the same loop in plain Python "
                  f"({ref:.2f} M/s)   ({out})")
    rep.finish({"iters": args.iters, "icount": args.icount,
                "reference": "the same loop in plain Python, M/s"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
