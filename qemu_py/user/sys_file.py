"""File system calls the emulator answers itself.

Paths under ``/proc/self`` (and ``/proc/<own pid>``) that describe the
process name the guest program, not the emulator: ``exe`` is the guest
executable, ``maps`` the guest map, ``cmdline`` the guest's arguments.
Terminal ioctls, fcntl and vectored I/O copy their structures explicitly.
"""

from __future__ import annotations

import errno
import os
import struct

from .marshal import call_marshalled, parse_spec
from .memory import SegFault

AT_FDCWD = -100
_IOCTLS = {                         # request -> marshal spec of (fd, request, arg)
    0x5401: "i i o:36",             # TCGETS (struct termios, kernel layout)
    0x5402: "i i b:36", 0x5403: "i i b:36", 0x5404: "i i b:36",   # TCSETS, TCSETSW, TCSETSF
    0x540F: "i i o:4",              # TIOCGPGRP
    0x5410: "i i b:4",              # TIOCSPGRP
    0x5413: "i i o:8",              # TIOCGWINSZ
    0x5414: "i i b:8",              # TIOCSWINSZ
    0x541B: "i i o:4",              # FIONREAD
    0x5421: "i i b:4",              # FIONBIO
    0x5451: "i i i", 0x5450: "i i i",   # FIOCLEX, FIONCLEX
}
_IOCTL_SPECS = {k: parse_spec(v) for k, v in _IOCTLS.items()}
_FCNTL_INT = {0, 1, 2, 3, 4, 8, 9, 10, 11, 1024, 1025, 1026, 1030, 1031, 1032, 1033, 1034}
_FLOCK = {5: "i i o:32", 6: "i i b:32", 7: "i i b:32", 36: "i i u:32", 37: "i i b:32",
          38: "i i b:32"}
_FLOCK_SPECS = {k: parse_spec(v) for k, v in _FLOCK.items()}


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


def _self_path(p, path: bytes) -> str | None:
    """The /proc/self entry PATH names ('exe', 'maps', ...), or None."""
    for prefix in (b"/proc/self/", f"/proc/{p.pid}/".encode()):
        if path.startswith(prefix):
            return path[len(prefix):].decode("latin-1")
    return None


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("qemu-py-proc", 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _open_self(p, what: str, flags: int) -> int | None:
    if what == "exe":
        return os.open(p.exe, os.O_RDONLY | (flags & os.O_CLOEXEC))
    if what == "maps":
        return _memfd(p.mem.maps_text().encode())
    if what == "cmdline":
        return _memfd(b"".join(a.encode() + b"\0" for a in p.argv))
    return None


def _openat(p, dirfd: int, addr: int, flags: int, mode: int) -> int:
    try:
        path = p.mem.read_cstring(addr)
    except SegFault:
        return -errno.EFAULT
    what = _self_path(p, path)
    if what is not None:
        try:
            fd = _open_self(p, what, flags)
        except OSError as e:
            return -e.errno
        if fd is not None:
            return fd
    try:
        return os.open(path, flags & 0xFFFF_FFFF, mode & 0o7777, dir_fd=None
                       if _s32(dirfd) == AT_FDCWD else _s32(dirfd))
    except OSError as e:
        return -e.errno


def sys_open(p, a):
    return _openat(p, AT_FDCWD, a[0], a[1], a[2])


def sys_openat(p, a):
    return _openat(p, a[0], a[1], a[2], a[3])


def _readlink(p, dirfd: int, path_addr: int, buf: int, size: int) -> int:
    try:
        path = p.mem.read_cstring(path_addr)
    except SegFault:
        return -errno.EFAULT
    if _s32(size) <= 0:
        return -errno.EINVAL
    if _self_path(p, path) == "exe":
        target = p.exe.encode()
    else:
        try:
            target = os.readlink(path, dir_fd=None if _s32(dirfd) == AT_FDCWD else _s32(dirfd))
        except OSError as e:
            return -e.errno
        target = os.fsencode(target)
    target = target[:size]
    try:
        p.mem.write_bytes(buf, target)
    except SegFault:
        return -errno.EFAULT
    return len(target)


def sys_readlink(p, a):
    return _readlink(p, AT_FDCWD, a[0], a[1], a[2])


def sys_readlinkat(p, a):
    return _readlink(p, a[0], a[1], a[2], a[3])


def sys_ioctl(p, a):
    req = a[1] & 0xFFFF_FFFF
    spec = _IOCTL_SPECS.get(req)
    if spec is None:
        from qemu_py.system.log import unimp
        unimp(f"Unsupported ioctl: cmd=0x{req:04x}\n")
        return -errno.ENOTTY
    return call_marshalled(p.mem, 16, spec, [a[0], req, a[2]])


def sys_fcntl(p, a):
    cmd = _s32(a[1])
    if cmd in _FCNTL_INT:
        return call_marshalled(p.mem, 72, parse_spec("i i i"), a[:3])
    spec = _FLOCK_SPECS.get(cmd)
    if spec is None:
        return -errno.EINVAL
    return call_marshalled(p.mem, 72, spec, a[:3])


def _iovecs(p, addr: int, count: int):
    if _s32(count) < 0 or count > 1024:
        raise ValueError
    raw = p.mem.read_bytes(addr, 16 * count)
    return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(count)]


def sys_readv(p, a):
    try:
        vecs = _iovecs(p, a[1], a[2])
    except SegFault:
        return -errno.EFAULT
    except ValueError:
        return -errno.EINVAL
    total = sum(n for _b, n in vecs)
    try:
        data = os.read(_s32(a[0]), total)
    except OSError as e:
        return -e.errno
    pos = 0
    try:
        for base, n in vecs:
            chunk = data[pos:pos + n]
            if chunk:
                p.mem.write_bytes(base, chunk)
            pos += len(chunk)
    except SegFault:
        return -errno.EFAULT
    return len(data)


def sys_writev(p, a):
    try:
        vecs = _iovecs(p, a[1], a[2])
        data = b"".join(p.mem.read_bytes(base, n) for base, n in vecs if n)
    except SegFault:
        return -errno.EFAULT
    except ValueError:
        return -errno.EINVAL
    try:
        return os.write(_s32(a[0]), data)
    except OSError as e:
        return -e.errno
