#!/usr/bin/env python3
"""qtest round trips per second over a unix socket: lock-step and pipelined.

Starts ``qemu-py -M none -m 16M -accel qtest`` listening on a unix socket and
measures, for ``readl``, ``writel`` and ``b64read`` of 4 KiB:

* lock-step: send one request, wait for its reply, repeat;
* pipelined: send batches of requests in one write, then read the replies.

A reference measured in the same run, a trivial echo server doing the same
lock-step exchange over a unix socket, shows the machine's ceiling. Pass
``--binary CMD`` to measure another emulator (e.g. a real QEMU 7.2 with the
qtest accelerator) the same way.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from qemu_py.report import Run  # noqa: E402


def start_emulator(binary: list[str], path: str) -> subprocess.Popen:
    args = binary + ["-M", "none", "-m", "16M", "-display", "none", "-qtest-log", "none",
                     "-qtest", f"unix:{path},server=on,wait=off", "-accel", "qtest"]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"emulator did not start: {' '.join(args)}")
        time.sleep(0.02)
    return proc


class Conn:
    def __init__(self, path: str):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(200):
            try:
                self.s.connect(path)
                break
            except OSError:
                time.sleep(0.02)
        self.buf = b""

    def lines(self, n: int):
        out = []
        while len(out) < n:
            while b"\n" not in self.buf:
                chunk = self.s.recv(1 << 20)
                if not chunk:
                    raise SystemExit("connection closed")
                self.buf += chunk
            parts = self.buf.split(b"\n")
            self.buf = parts[-1]
            out.extend(parts[:-1])
        return out


def lockstep(conn: Conn, line: bytes, seconds: float) -> float:
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        conn.s.sendall(line)
        conn.lines(1)
        n += 1
        if n % 64 == 0 and time.perf_counter() > end:
            break
    return n / (time.perf_counter() - t0)


def pipelined(conn: Conn, line: bytes, seconds: float, batch: int = 256) -> float:
    n = 0
    payload = line * batch
    t0 = time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        conn.s.sendall(payload)
        conn.lines(batch)
        n += batch
    return n / (time.perf_counter() - t0)


def echo_reference(seconds: float) -> float:
    a, b = socket.socketpair()

    def serve():
        buf = b""
        while True:
            chunk = b.recv(65536)
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                _, _, buf = buf.partition(b"\n")
                b.sendall(b"OK 0x0000000000000000\n")

    threading.Thread(target=serve, daemon=True).start()
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    rbuf = b""
    while True:
        a.sendall(b"readl 0x1000\n")
        while b"\n" not in rbuf:
            rbuf += a.recv(65536)
        _, _, rbuf = rbuf.partition(b"\n")
        n += 1
        if n % 64 == 0 and time.perf_counter() > end:
            break
    rate = n / (time.perf_counter() - t0)
    a.close()
    return rate


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    p.add_argument("--binary", default=None, help="emulator command (default: this qemu-py)")
    p.add_argument("--report", metavar="DIR", help="write report.json and report.html to DIR")
    args = p.parse_args(argv)
    binary = shlex.split(args.binary) if args.binary else [sys.executable, "-m", "qemu_py"]
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "qtest.sock")
    proc = start_emulator(binary, path)
    try:
        conn = Conn(path)
        conn.s.sendall(b"write 0x1000 4 0x01020304\n")
        conn.lines(1)
        cases = [("readl", b"readl 0x1000\n"), ("writel", b"writel 0x2000 0x12345678\n"),
                 ("b64read 4KiB", b"b64read 0x10000 0x1000\n")]
        rep = Run("qtest_throughput", "benchmark", 1 + 2 * len(cases),
                  report_dir=args.report, unit="measurement")
        ref = echo_reference(args.seconds)
        rep.advance()
        rep.write(f"{'request':<14} {'lock-step/s':>12} {'pipelined/s':>12}")
        results = {}
        for name, line in cases:
            t0 = time.perf_counter()
            ls = lockstep(conn, line, args.seconds)
            rep.advance()
            pl = pipelined(conn, line, args.seconds)
            rep.advance()
            results[name] = (ls, pl)
            rep.record(name, cases=2, seconds=time.perf_counter() - t0)
            rep.speed(f"{name} lock-step", ls, ref, "round trips/s")
            rep.speed(f"{name} pipelined", pl, ref, "replies/s")
            rep.write(f"{name:<14} {ls:>12,.0f} {pl:>12,.0f}")
        rep.finish({"seconds": args.seconds, "reference_round_trips_per_s": round(ref),
                    "reference": "a trivial Python echo server, lock-step"})
        print(f"reference: a trivial Python echo server does {ref:,.0f} lock-step round trips/s "
              f"on this machine; readl lock-step is {results['readl'][0] / ref:.2f}x of it")
        print("targets: >= 10,000 lock-step and >= 40,000 pipelined readl/s "
              "(QEMU 7.2 measured about 7,000 and 25,000-40,000 on this machine kind)")
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
