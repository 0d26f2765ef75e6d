"""The host CPU as the oracle: the same CPL3 runner and bodies, run natively in a child.

Used where /dev/kvm is absent (and available everywhere on x86-64 as a
second reference). Faults arrive as signals; the child's machine-code
handler reports ``trapno`` (the vector), the hardware error code and CR2
from the signal context, which Linux fills from the CPU's values for user
faults. See :mod:`.native_child`.

One difference of environment is normalised: the image maps nothing in the
upper half of the address space, where Linux has its kernel mapped, so a user
access there faults with P=1 in the error code natively and P=0 in a VM with
the image's page tables; the host CPU's P bit is cleared for such faults.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import time

from . import image as im
from .case import Batch, Result
from .kvm_engine import HarnessError

KERNEL_HALF = 0xFFFF_8000_0000_0000
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class NativeEngine:
    name = "host"

    def __init__(self, image: im.Image, timeout: float = 10.0):
        self.image = image
        self.timeout = timeout
        self.proc = None
        self.kvm_time = 0.0
        self._start()

    def _start(self):
        env = dict(os.environ)
        env["PYTHONPATH"] = _ROOT + os.pathsep + env.get("PYTHONPATH", "")
        env.pop("PYTHONFAULTHANDLER", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "conformance.tcg_vs_kvm.native_child"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=_ROOT)
        line = self._read_exact(6, "start-up")
        if line != b"READY\n":
            raise HarnessError(f"host-CPU oracle did not start: {line!r}")

    def _read_exact(self, n: int, what: str) -> bytes:
        buf = b""
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout
        while len(buf) < n:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                self._kill()
                raise HarnessError(f"host-CPU oracle: no answer within {self.timeout} s "
                                   f"({what}); killed")
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace").strip()
                code = self.proc.wait()
                self.proc = None
                raise HarnessError(f"host-CPU oracle died during {what} (status {code}): "
                                   f"{err[-500:]}")
            buf += chunk
        return buf

    def _kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, batch: Batch) -> list[Result]:
        if self.proc is None:
            self._start()
        writes = []
        batch.write_to(lambda a, d: writes.append((a, bytes(d))))
        payload = pickle.dumps((writes, len(batch.cases)))
        t0 = time.perf_counter()
        self.proc.stdin.write(struct.pack("<Q", len(payload)) + payload)
        self.proc.stdin.flush()
        (n,) = struct.unpack("<Q", self._read_exact(8, "a batch"))
        reply = self._read_exact(n, "a batch")
        self.kvm_time += time.perf_counter() - t0
        count = len(batch.cases)
        parts = {im.CASE_OUT: im.RECORD * count, im.FX_OUT: im.FX_SIZE * count}
        parts.update((im.case_data(i), im.PAGE) for i in range(count))
        at, pos = {}, 0
        for addr, n in parts.items():              # the child's reply order
            at[addr] = reply[pos:pos + n]
            pos += n
        results = batch.results(lambda addr, n: at[addr][:n])
        for r in results:
            if r.kind == 14 and r.cr2 >= KERNEL_HALF:
                r.err &= ~1
        return results

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            self.proc = None
