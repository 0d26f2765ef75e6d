#!/usr/bin/env python3
"""Guest MIPS of the TCG backends on a system-mode integer loop.

Boots ``bench/tcg_guest/bench.elf`` (multiboot -> long mode -> a 6-instruction
integer loop, iteration count from ``-append iters=N``) on microvm, once per
backend, and prints retired guest instructions per second of wall time
(boot, translation and the final serial output included)::

    python bench/tcg_mips.py                 # both backends
    python bench/tcg_mips.py --backend python --iters 5000000
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

IMAGE = os.path.join(HERE, "tcg_guest", "bench.elf")
DEFAULT_ITERS = {"python": 2_000_000, "interp": 20_000}


def run(backend: str, iters: int, icount: bool = False) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "serial.txt")
        argv = ["-M", "microvm", "-accel", f"tcg,backend={backend}", "-display", "none",
                "-serial", f"file:{log}", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-kernel", IMAGE, "-append", f"iters={iters}"]
        if icount:
            argv = ["-icount", "shift=0"] + argv
        emu = Emulator(parse_args(argv))
        emu.build()
        t0 = time.perf_counter()
        status = emu.run()
        dt = time.perf_counter() - t0
        out = open(log).read().strip()
        if status != 1:
            raise SystemExit(f"{backend}: guest exit status {status}, output {out!r}")
        return dt, emu.tcg.retired, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["python", "interp"], action="append")
    ap.add_argument("--iters", type=int, help="loop iterations (default per backend)")
    ap.add_argument("--icount", action="store_true", help="run with -icount shift=0")
    args = ap.parse_args()
    for backend in args.backend or ["python", "interp"]:
        iters = args.iters or DEFAULT_ITERS[backend]
        dt, insns, out = run(backend, iters, args.icount)
        print(f"{backend:7s} {insns:>10d} insns in {dt:6.2f} s  ->  {insns / dt / 1e6:6.2f} MIPS"
              f"   ({out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
