"""Process system calls: exit, thread pointer, fork and clone, execve, futex, kill.

A guest ``fork`` (or a ``clone``/``vfork`` that makes a process) forks the
emulator: the child carries on with a copy of the guest.  ``execve`` runs the
new program through the emulator (same options), so a guest never leaves
emulation.  Threads (``CLONE_THREAD``)
run as host threads, one at a time (:mod:`.threads`).
"""

from __future__ import annotations

import errno
import os
import struct
import sys

from . import signal as gsig
from .guest_exit import GuestExit
from .threads import (CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_PARENT_SETTID,
                      CLONE_SETTLS, CLONE_THREAD, CLONE_VFORK, CLONE_VM, ThreadExit, spawn)
from .memory import SegFault

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004


def _exit(p, status: int):
    raise GuestExit(status & 0xFF)


def sys_exit(p, a):
    """The calling thread ends; the process with its last thread."""
    if p.group.multi:
        p.exit_status = a[0] & 0xFF
        raise ThreadExit()
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
    return p.tid


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
    if flags & CLONE_THREAD:
        if not flags & CLONE_VM:
            return -errno.EINVAL
        return spawn(p, flags, stack, parent_tid, child_tid, tls)
    if flags & CLONE_VM and not flags & CLONE_VFORK:
        from qemu_py.system.log import unimp
        unimp(f"clone: a process sharing memory without being a thread (flags {flags:#x})\n")
        return -errno.EINVAL
    if p.group.multi:
        from qemu_py.system.log import unimp
        unimp("fork of a multi-threaded process: only the calling thread is copied\n")
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
    return p.group.futex(p, a[0], a[1] & 0xFFFF_FFFF, a[2], a[3], a[4], a[5])


def _host_kill(pid: int, sig: int) -> int:
    """A signal for a process other than this one: the host kernel sends it."""
    try:
        os.kill(pid, sig)
    except OSError as e:
        return -e.errno
    return 0


def sys_kill(p, a):
    pid, sig = a[0] - (1 << 64) if a[0] >> 63 else a[0], a[1] & 0xFFFF_FFFF
    if pid == p.pid and 0 < sig < 65:
        gsig.queue(p, sig, code=0)           # SI_USER, to this process
        return 0
    return _host_kill(pid, sig)


def sys_tkill(p, a):
    return sys_tgkill(p, [p.pid, a[0], a[1]])


def sys_tgkill(p, a):
    tgid, tid, sig = a[0] & 0xFFFF_FFFF, a[1] & 0xFFFF_FFFF, a[2] & 0xFFFF_FFFF
    target = p.group.threads.get(tid)
    if target is not None and tgid == p.pid:
        if not 0 <= sig < 65:
            return -errno.EINVAL
        if sig:
            gsig.queue(target, sig, code=-6)     # SI_TKILL
        return 0
    return _host_kill(tid, sig)


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
