"""Process system calls: exit, thread pointer, fork and clone, execve, futex, kill.

A guest ``fork`` (or a ``clone``/``vfork`` that makes a process) forks the
emulator: the child carries on with a copy of the guest.  ``execve`` runs the
new program through the emulator (same options), so a guest never leaves
emulation.  Threads (``CLONE_THREAD``) are not supported: such a clone
answers -ENOSYS (see docs/linux-user.md).
"""

from __future__ import annotations

import errno
import os
import struct
import sys

from . import signal as gsig
from .guest_exit import GuestExit
from .memory import SegFault

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
CLONE_VM, CLONE_VFORK, CLONE_THREAD = 0x100, 0x4000, 0x10000
CLONE_SETTLS, CLONE_PARENT_SETTID = 0x80000, 0x100000
CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x200000, 0x1000000
FUTEX_WAIT, FUTEX_WAKE = 0, 1


def _exit(p, status: int):
    raise GuestExit(status & 0xFF)


def sys_exit(p, a):
    _exit(p, a[0])


def sys_exit_group(p, a):
    _exit(p, a[0])


def sys_arch_prctl(p, a):
    code, addr = a[0], a[1]
    if code == ARCH_SET_FS:
        p.cpu.fs_base = addr
        return 0
    if code == ARCH_SET_GS:
        p.cpu.gs_base = addr
        return 0
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        v = p.cpu.fs_base if code == ARCH_GET_FS else p.cpu.gs_base
        try:
            p.mem.write_bytes(addr, struct.pack("<Q", v))
        except SegFault:
            return -errno.EFAULT
        return 0
    return -errno.EINVAL


def sys_set_tid_address(p, a):
    p.clear_child_tid = a[0]
    return p.pid


def sys_set_robust_list(p, a):
    return -errno.ENOSYS          # as QEMU 7.2: glibc copes without robust futexes


def sys_rseq(p, a):
    return -errno.ENOSYS          # restartable sequences are optional for glibc


def sys_gettid(p, a):
    return p.pid


def sys_prctl(p, a):
    option = a[0] & 0xFFFF_FFFF
    if option == 15:              # PR_SET_NAME
        try:
            p.comm = p.mem.read_cstring(a[1], 16)[:15]
        except SegFault:
            return -errno.EFAULT
        return 0
    if option == 16:              # PR_GET_NAME
        name = getattr(p, "comm", os.path.basename(p.exe).encode()[:15])
        try:
            p.mem.write_bytes(a[1], name.ljust(16, b"\0"))
        except SegFault:
            return -errno.EFAULT
        return 0
    if option in (1, 2, 4, 3, 36, 37, 38, 39):   # pdeathsig, dumpable, subreaper, no_new_privs
        from .marshal import host_syscall
        if option in (2, 37, 39):
            return -errno.EINVAL  # the GET forms write through a pointer: not passed on
        return host_syscall(157, option, a[1], 0, 0, 0)
    return -errno.EINVAL


def _fork(p, flags: int = 0, child_tid: int = 0, parent_tid: int = 0, tls: int = 0,
          stack: int = 0):
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        p.pid = os.getpid()
        if stack:
            p.cpu.set_gpr(4, stack)
        if flags & CLONE_SETTLS:
            p.cpu.fs_base = tls
        if flags & CLONE_CHILD_SETTID:
            try:
                p.mem.write_bytes(child_tid, struct.pack("<I", p.pid))
            except SegFault:
                pass
        if flags & CLONE_CHILD_CLEARTID:
            p.clear_child_tid = child_tid
        return 0
    if flags & CLONE_PARENT_SETTID:
        try:
            p.mem.write_bytes(parent_tid, struct.pack("<I", pid))
        except SegFault:
            pass
    return pid                    # vfork runs as fork: the parent does not wait (as QEMU)


def sys_fork(p, a):
    return _fork(p)


def sys_clone(p, a):
    flags, stack, parent_tid, child_tid, tls = a[0], a[1], a[2], a[3], a[4]
    if flags & CLONE_THREAD or (flags & CLONE_VM and not flags & CLONE_VFORK):
        from qemu_py.system.log import unimp
        unimp(f"clone: threads are not supported (flags {flags:#x})\n")
        return -errno.ENOSYS
    return _fork(p, flags, child_tid, parent_tid, tls, stack)


def _read_ptrs(p, addr: int) -> list[bytes]:
    out = []
    while addr:
        (ptr,) = struct.unpack("<Q", p.mem.read_bytes(addr, 8))
        if ptr == 0:
            break
        out.append(p.mem.read_cstring(ptr))
        addr += 8
        if len(out) > 100_000:
            raise ValueError
    return out


def sys_execve(p, a):
    try:
        path = p.mem.read_cstring(a[0])
        argv = _read_ptrs(p, a[1])
        envp = _read_ptrs(p, a[2])
    except SegFault:
        return -errno.EFAULT
    except ValueError:
        return -errno.E2BIG
    if not os.path.exists(path):
        return -errno.ENOENT
    if os.path.isdir(path):
        return -errno.EACCES
    if not os.access(path, os.X_OK):
        return -errno.EACCES
    with open(path, "rb") as f:
        head = f.read(256)
    if head.startswith(b"#!"):
        line = head[2:].split(b"\n")[0].strip()
        interp, _, arg = line.partition(b" ")
        argv = [interp] + ([arg.strip()] if arg.strip() else []) + [path] + argv[1:]
        path = interp
    elif not head.startswith(b"\x7fELF"):
        return -errno.ENOEXEC
    cmd = reexec_command(p.options, path, argv)
    sys.stdout.flush()
    sys.stderr.flush()
    env = {}
    for e in envp:
        k, _, v = e.partition(b"=")
        env[k] = v
    try:
        os.execve(sys.executable, cmd, env | _emulator_env())
    except OSError as e:
        return -e.errno


def _emulator_env() -> dict:
    """What the re-executed emulator itself needs from the environment (its imports)."""
    keep = {}
    for k in ("PYTHONPATH", "PYTHONHOME"):
        if k in os.environ:
            keep[k.encode()] = os.environ[k].encode()
    return keep


def sys_futex(p, a):
    """Futexes of a single-threaded process: WAKE wakes nobody, WAIT on a changed
    word is EAGAIN; a WAIT that would sleep forever is refused with EDEADLK."""
    uaddr, op, val = a[0], a[1] & 0x7F, a[2] & 0xFFFF_FFFF
    if op in (FUTEX_WAKE, 10):                 # WAKE, WAKE_BITSET
        return 0
    if op in (FUTEX_WAIT, 9):                  # WAIT, WAIT_BITSET
        try:
            (cur,) = struct.unpack("<I", p.mem.read_bytes(uaddr, 4))
        except SegFault:
            return -errno.EFAULT
        if cur != val:
            return -errno.EAGAIN
        return -errno.ETIMEDOUT if a[3] else -errno.EDEADLK
    return -errno.ENOSYS


def sys_kill(p, a):
    pid, sig = a[0] - (1 << 64) if a[0] >> 63 else a[0], a[1] & 0xFFFF_FFFF
    if pid in (p.pid, 0) and 0 < sig < 65 and pid == p.pid:
        gsig.queue(p, sig, code=0)
        return 0
    try:
        os.kill(pid, sig)
    except OSError as e:
        return -e.errno
    return 0


def sys_tkill(p, a):
    return sys_tgkill(p, [p.pid, a[0], a[1]])


def sys_tgkill(p, a):
    tgid, tid, sig = a[0] & 0xFFFF_FFFF, a[1] & 0xFFFF_FFFF, a[2] & 0xFFFF_FFFF
    if tid == p.pid and tgid == p.pid:
        if not 0 <= sig < 65:
            return -errno.EINVAL
        if sig:
            gsig.queue(p, sig, code=-6)     # SI_TKILL
        return 0
    try:
        os.kill(tid, sig)
    except OSError as e:
        return -e.errno
    return 0


def sys_pause(p, a):
    gsig.wait_for_signal(p)
    return -errno.EINTR


def reexec_command(options, path: bytes, argv: list[bytes]) -> list:
    """The command line that runs PATH with ARGV under a new emulator (guest
    execve); OPTIONS: the run's UserOptions, whose ``passthrough`` it repeats."""
    cmd = [sys.executable, "-m", "qemu_py.user"] + options.passthrough
    argv0 = argv[0] if argv else path
    cmd += ["-0", argv0, "--", path] + argv[1:]
    return cmd
