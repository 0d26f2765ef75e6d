"""The host-CPU oracle's worker process: runs batches natively at the image's addresses.

Started by :class:`~.native_engine.NativeEngine` as ``python -m
conformance.tcg_vs_kvm.native_child``. It maps the image's user-visible
areas at their guest addresses (``MAP_FIXED_NOREPLACE``; guard pages stay
``PROT_NONE``, the read-only page ``PROT_READ``), installs the machine-code
fault handler (image.signal_handler_code) for SIGSEGV, SIGBUS, SIGILL,
SIGFPE and SIGTRAP on an alternate stack, and then serves requests on
stdin/stdout: a request is a pickled list of ``(address, bytes)`` writes
followed by a run of the runner's ``native_entry``; the reply is the
case-out table and the data pages.

A body that never ends hangs this process; the parent kills it after its
timeout. Nothing here runs with a Python-level signal handler: the handler
is machine code, so a fault resumes the runner without re-entering Python.
"""

from __future__ import annotations

import ctypes
import faulthandler
import pickle
import signal
import struct
import sys

from . import image as im

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE = 0x02, 0x20, 0x100000
SA_SIGINFO, SA_ONSTACK = 4, 0x08000000
SIGHANDLER = im.RUNNER + 0xC00
LOW, HIGH = im.RUNNER, im.IMAGE_SIZE

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long)
libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


class _sigaction(ctypes.Structure):
    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_uint64 * 16),
                ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]


class _stack_t(ctypes.Structure):
    _fields_ = [("sp", ctypes.c_void_p), ("flags", ctypes.c_int), ("size", ctypes.c_size_t)]


def _check(ok: bool, what: str):
    if not ok:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {__import__('os').strerror(err)}")


def map_image():
    rwx = PROT_READ | PROT_WRITE | PROT_EXEC
    addr = libc.mmap(LOW, HIGH - LOW, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
                     MAP_FIXED_NOREPLACE, -1, 0)
    _check(addr == LOW, f"mmap {LOW:#x}-{HIGH:#x} (MAP_FIXED_NOREPLACE)")
    areas = [(im.RUNNER, im.SIGSTACK + im.SIGSTACK_SIZE, rwx),
             (im.CASE_IN, im.CASE_OUT + im.MAX_CASES * im.RECORD, PROT_READ | PROT_WRITE),
             (im.FX_IN, im.FX_OUT + im.MAX_CASES * im.FX_SIZE, PROT_READ | PROT_WRITE),
             (im.CODE_BASE, im.CODE_BASE + im.MAX_CASES * im.CODE_STRIDE, rwx)]
    areas += [(im.case_data(i), im.case_data(i) + im.PAGE, PROT_READ | PROT_WRITE)
              for i in range(im.MAX_CASES)]
    for start, end, prot in areas:
        _check(libc.mprotect(start, end - start, prot) == 0, f"mprotect {start:#x}")
    # the read-only page gets its contents first
    _check(libc.mprotect(im.RO_PAGE, im.PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect ro")


def write(addr: int, data: bytes):
    ctypes.memmove(addr, data, len(data))


def read(addr: int, n: int) -> bytes:
    return ctypes.string_at(addr, n)


def install_handlers(image: im.Image):
    write(SIGHANDLER, image.sighandler)
    st = _stack_t(im.SIGSTACK, 0, im.SIGSTACK_SIZE)
    _check(libc.sigaltstack(ctypes.byref(st), None) == 0, "sigaltstack")
    for sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGTRAP):
        act = _sigaction()
        act.handler = SIGHANDLER
        act.flags = SA_SIGINFO | SA_ONSTACK
        _check(libc.sigaction(int(sig), ctypes.byref(act), None) == 0, f"sigaction {sig}")


def main():
    faulthandler.disable()
    image = im.Image()
    map_image()
    # the supervisor area (page tables, GDT, IDT, CPL0 handler) has no meaning here
    image.write_to(lambda a, d: write(a, d) if a >= LOW and not im.PML4 <= a < im.KSTACK_TOP
                   else None)
    _check(libc.mprotect(im.RO_PAGE, im.PAGE, PROT_READ) == 0, "mprotect ro")
    write(im.VAR_DONE, struct.pack("<Q", image.labels["native_done"]))
    install_handlers(image)
    entry = ctypes.CFUNCTYPE(None)(image.labels["native_entry"])
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    out.write(b"READY\n")
    out.flush()
    while True:
        head = inp.read(8)
        if len(head) < 8:
            return
        (n,) = struct.unpack("<Q", head)
        writes, count = pickle.loads(inp.read(n))
        for addr, data in writes:
            write(addr, data)
        entry()
        reply = read(im.CASE_OUT, im.RECORD * count) + read(im.FX_OUT, im.FX_SIZE * count) + \
            b"".join(
            read(im.case_data(i), im.PAGE) for i in range(count))
        out.write(struct.pack("<Q", len(reply)) + reply)
        out.flush()


if __name__ == "__main__":
    main()
