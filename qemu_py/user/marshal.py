"""Running a guest system call on the host, its pointer arguments copied in and out.

The host is x86-64 Linux like the guest, so structures have the same layout;
what differs is where they live.  A *marshal spec* says, per argument, what
it is, and the guest memory it names is copied into a host buffer before the
call and back after it.  Guest addresses never reach the host kernel.

==========  ==================================================================
``i``       an integer, passed as it is
``s``       a C string read from guest memory (NULL stays NULL)
``r:N``     a buffer the call reads: as many bytes as argument N says
``W:N``     a buffer the call fills: argument N bytes long, the result's count
            of bytes copied back
``w:N``     like ``W:N`` but all N bytes are copied back (arrays of fds)
``o:S``     a structure of S bytes the call writes
``b:S``     a structure of S bytes the call reads
``u:S``     a structure of S bytes read and written
``u:N*S``   an array of argument N elements of S bytes, read and written
==========  ==================================================================

A bad guest pointer gives -EFAULT, as the kernel's copies do.
"""

from __future__ import annotations

import ctypes
import errno

from .memory import SegFault

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def host_syscall(nr: int, *args: int) -> int:
    """The host system call NR with integer ARGS: its result or -errno."""
    ctypes.set_errno(0)
    r = _syscall(ctypes.c_long(nr), *(ctypes.c_long(_signed(a)) for a in args))
    if r == -1:
        e = ctypes.get_errno()
        if e:
            return -e
    return r


def _signed(v: int) -> int:
    v &= 0xFFFF_FFFF_FFFF_FFFF
    return v - (1 << 64) if v >> 63 else v


def parse_spec(spec: str):
    out = []
    for tok in spec.split():
        kind, _, rest = tok.partition(":")
        if kind in ("i", "s"):
            out.append((kind, None, None))
        elif kind in ("r", "W", "w"):
            out.append((kind, int(rest), None))
        elif kind in ("o", "b", "u"):
            if "*" in rest:
                n, size = rest.split("*")
                out.append((kind + "*", int(n), int(size)))
            else:
                out.append((kind, None, int(rest)))
        else:
            raise ValueError(f"bad marshal kind {tok!r}")
    return out


def call_marshalled(mem, nr: int, spec, args, around=None) -> int:
    """AROUND, if given, is a context manager the host call itself runs in."""
    host_args, copy_back = [], []
    keep = []
    try:
        for i, (kind, n, size) in enumerate(spec):
            a = args[i]
            if kind == "i":
                host_args.append(a)
                continue
            if a == 0 and kind != "i":
                host_args.append(0)
                continue
            if kind == "s":
                buf = ctypes.create_string_buffer(mem.read_cstring(a))
            elif kind == "r":
                buf = ctypes.create_string_buffer(mem.read_bytes(a, args[n]), args[n] or 1)
            elif kind in ("W", "w"):
                length = args[n] & 0xFFFF_FFFF_FFFF
                if length > 1 << 28:
                    length = 1 << 28
                buf = ctypes.create_string_buffer(max(length, 1))
                copy_back.append((kind, a, buf, length))
            elif kind == "o":
                buf = ctypes.create_string_buffer(size)
                copy_back.append(("o", a, buf, size))
            elif kind in ("b", "u"):
                buf = ctypes.create_string_buffer(mem.read_bytes(a, size), size)
                if kind == "u":
                    copy_back.append(("o", a, buf, size))
            else:                                          # u*: an array
                total = (args[n] & 0xFFFF_FFFF) * size
                buf = ctypes.create_string_buffer(mem.read_bytes(a, total), max(total, 1))
                copy_back.append(("o", a, buf, total))
            keep.append(buf)
            host_args.append(ctypes.addressof(buf))
    except SegFault:
        return -errno.EFAULT
    if around is None:
        ret = host_syscall(nr, *host_args)
    else:
        with around():
            ret = host_syscall(nr, *host_args)
    if ret < 0 and ret > -4096:
        return ret
    try:
        for kind, addr, buf, length in copy_back:
            n = min(ret, length) if kind == "W" else length
            if n > 0:
                mem.write_bytes(addr, buf.raw[:n])
    except SegFault:
        return -errno.EFAULT
    return ret
