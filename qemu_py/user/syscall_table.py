"""The x86-64 Linux system calls qemu-py's linux-user mode knows, as data.

One row per call: number, name, the ``-strace`` argument kinds
(:mod:`.strace`; ``None``: six raw arguments), and how it runs: a marshal
spec (:mod:`.marshal`) for calls the host kernel answers once guest memory is
copied, or the name of a handler (``@name``) in the ``sys_*`` modules for
calls the emulator implements itself (memory, processes, signals, paths that
name the emulator).  ``ADDR`` marks calls whose result is an address.  The
same rows drive dispatch and ``-strace``; a number not listed is ENOSYS and
logged under ``-d unimp``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .marshal import parse_spec

ADDR = True


@dataclass(frozen=True)
class Syscall:
    nr: int
    name: str
    kinds: str | None
    run: str                      # marshal spec, or "@handler"
    addr_result: bool = False

    @property
    def handler(self) -> str | None:
        return self.run[1:] if self.run.startswith("@") else None


_ROWS = [
    (0, "read", "dxd", "i W:2 i"),
    (1, "write", "dxd", "i r:2 i"),
    (2, "open", "sOo", "@open"),
    (3, "close", "d", "i"),
    (4, "stat", "sp", "s o:144"),
    (5, "fstat", "dp", "i o:144"),
    (6, "lstat", "sp", "s o:144"),
    (7, "poll", None, "u:1*8 i i"),
    (8, "lseek", "ddd", "i i i"),
    (9, "mmap", "pdPMdh", "@mmap", ADDR),
    (10, "mprotect", "pdP", "@mprotect"),
    (11, "munmap", "pd", "@munmap"),
    (12, "brk", "p", "@brk", ADDR),
    (13, "rt_sigaction", None, "@rt_sigaction"),
    (14, "rt_sigprocmask", None, "@rt_sigprocmask"),
    (15, "rt_sigreturn", None, "@rt_sigreturn"),
    (16, "ioctl", "dIp", "@ioctl"),
    (17, "pread64", None, "i W:2 i i"),
    (18, "pwrite64", None, "i r:2 i i"),
    (19, "readv", None, "@readv"),
    (20, "writev", None, "@writev"),
    (21, "access", "sA", "s i"),
    (22, "pipe", None, "o:8"),
    (23, "select", None, "i u:128 u:128 u:128 u:16"),
    (24, "sched_yield", "", "i"),
    (25, "mremap", None, "@mremap", ADDR),
    (26, "msync", None, "@msync"),
    (28, "madvise", None, "@madvise"),
    (32, "dup", None, "i"),
    (33, "dup2", None, "i i"),
    (34, "pause", "", "@pause"),
    (35, "nanosleep", None, "b:16 o:16"),
    (37, "alarm", None, "i"),
    (39, "getpid", "", "i"),
    (40, "sendfile", None, "i i u:8 i"),
    (41, "socket", None, "i i i"),
    (42, "connect", "dxd", "i r:2 i"),
    (48, "shutdown", None, "i i"),
    (49, "bind", None, "i r:2 i"),
    (50, "listen", None, "i i"),
    (53, "socketpair", None, "i i i o:8"),
    (56, "clone", None, "@clone"),
    (57, "fork", "", "@fork"),
    (58, "vfork", "", "@fork"),
    (59, "execve", None, "@execve"),
    (60, "exit", "d", "@exit"),
    (61, "wait4", None, "i o:4 i o:144"),
    (62, "kill", None, "@kill"),
    (63, "uname", None, "o:390"),
    (72, "fcntl", None, "@fcntl"),
    (73, "flock", None, "i i"),
    (74, "fsync", None, "i"),
    (75, "fdatasync", None, "i"),
    (76, "truncate", None, "s i"),
    (77, "ftruncate", None, "i i"),
    (79, "getcwd", None, "W:1 i"),
    (80, "chdir", "s", "s"),
    (81, "fchdir", None, "i"),
    (82, "rename", None, "s s"),
    (83, "mkdir", None, "s i"),
    (84, "rmdir", None, "s"),
    (85, "creat", None, "s i"),
    (86, "link", None, "s s"),
    (87, "unlink", None, "s"),
    (88, "symlink", None, "s s"),
    (89, "readlink", "spd", "@readlink"),
    (90, "chmod", None, "s i"),
    (91, "fchmod", None, "i i"),
    (92, "chown", None, "s i i"),
    (93, "fchown", None, "i i i"),
    (94, "lchown", None, "s i i"),
    (95, "umask", None, "i"),
    (96, "gettimeofday", None, "o:16 o:8"),
    (97, "getrlimit", None, "i o:16"),
    (98, "getrusage", None, "i o:144"),
    (99, "sysinfo", None, "o:112"),
    (100, "times", None, "o:32"),
    (102, "getuid", "", "i"),
    (104, "getgid", "", "i"),
    (105, "setuid", None, "i"),
    (106, "setgid", None, "i"),
    (107, "geteuid", "", "i"),
    (108, "getegid", "", "i"),
    (109, "setpgid", None, "i i"),
    (110, "getppid", "", "i"),
    (111, "getpgrp", "", "i"),
    (112, "setsid", "", "i"),
    (115, "getgroups", None, "i u:0*4"),
    (118, "getresuid", None, "o:4 o:4 o:4"),
    (120, "getresgid", None, "o:4 o:4 o:4"),
    (121, "getpgid", None, "i"),
    (124, "getsid", None, "i"),
    (127, "rt_sigpending", None, "@rt_sigpending"),
    (130, "rt_sigsuspend", None, "@rt_sigsuspend"),
    (131, "sigaltstack", None, "@sigaltstack"),
    (137, "statfs", None, "s o:120"),
    (138, "fstatfs", None, "i o:120"),
    (157, "prctl", None, "@prctl"),
    (158, "arch_prctl", None, "@arch_prctl"),
    (160, "setrlimit", None, "i b:16"),
    (186, "gettid", "", "@gettid"),
    (191, "getxattr", None, "s s W:3 i"),
    (192, "lgetxattr", None, "s s W:3 i"),
    (193, "fgetxattr", None, "i s W:3 i"),
    (194, "listxattr", None, "s W:2 i"),
    (195, "llistxattr", None, "s W:2 i"),
    (196, "flistxattr", None, "i W:2 i"),
    (200, "tkill", None, "@tkill"),
    (201, "time", None, "o:8"),
    (202, "futex", None, "@futex"),
    (204, "sched_getaffinity", None, "i i W:1"),
    (217, "getdents64", "dxd", "i W:2 i"),
    (218, "set_tid_address", None, "@set_tid_address"),
    (221, "fadvise64", None, "i i i i"),
    (228, "clock_gettime", None, "i o:16"),
    (229, "clock_getres", None, "i o:16"),
    (230, "clock_nanosleep", None, "i i b:16 o:16"),
    (231, "exit_group", "d", "@exit_group"),
    (234, "tgkill", None, "@tgkill"),
    (235, "utimes", None, "s b:32"),
    (257, "openat", "fsOo", "@openat"),
    (258, "mkdirat", None, "i s i"),
    (260, "fchownat", None, "i s i i i"),
    (262, "newfstatat", "fsph", "i s o:144 i"),
    (263, "unlinkat", None, "i s i"),
    (264, "renameat", None, "i s i s"),
    (265, "linkat", None, "i s i s i"),
    (266, "symlinkat", None, "s i s"),
    (267, "readlinkat", None, "@readlinkat"),
    (268, "fchmodat", None, "i s i"),
    (269, "faccessat", None, "i s i"),
    (270, "pselect6", None, "i u:128 u:128 u:128 b:16 i"),
    (271, "ppoll", None, "u:1*8 i b:16 b:8 i"),
    (273, "set_robust_list", None, "@set_robust_list"),
    (280, "utimensat", None, "i s b:32 i"),
    (285, "fallocate", None, "i i i i"),
    (292, "dup3", None, "i i i"),
    (293, "pipe2", None, "o:8 i"),
    (302, "prlimit64", None, "i i b:16 o:16"),
    (316, "renameat2", None, "i s i s i"),
    (318, "getrandom", "xdd", "W:1 i i"),
    (332, "statx", None, "i s i i o:256"),
    (334, "rseq", None, "@rseq"),
    (439, "faccessat2", None, "i s i i"),
]

SYSCALLS: dict[int, Syscall] = {}
MARSHAL: dict[int, list] = {}
for _row in _ROWS:
    _s = Syscall(*_row)
    SYSCALLS[_s.nr] = _s
    if _s.handler is None:
        MARSHAL[_s.nr] = parse_spec(_s.run)
