"""``-strace``: system calls and their results in QEMU's linux-user format.

Each entry of the syscall table names the shape of its arguments with a
string of argument kinds, one letter per argument:

====  =====================================================================
``d``  signed decimal of the low 32 bits (QEMU's ``%d``)
``x``  ``0x`` and the low 32 bits in hex (QEMU's ``%#x``)
``p``  a pointer: ``NULL`` or ``0x`` and 16 hex digits
``s``  a guest C string, quoted
``f``  a directory descriptor: ``AT_FDCWD`` when the 64-bit value is -100
``P``  mmap/mprotect protection bits (``PROT_READ|PROT_WRITE``)
``M``  mmap flags (``MAP_PRIVATE|MAP_ANONYMOUS``)
``O``  open flags (``O_RDONLY|O_CLOEXEC``); ``o`` the mode after them
``A``  access mode (``R_OK|W_OK``)
``I``  an ioctl request by name (``TCGETS``)
``h``  hex with ``0x`` (``0`` stays ``0``), 64 bits
``l``  signed decimal, 64 bits
====  =====================================================================

An entry without kinds prints its six raw arguments in decimal, as QEMU does
for calls it has no printer for.  Results: ``= N``, or ``= -1 errno=E (text)``
for an error, or ``= 0x…`` (16 digits) for calls that return addresses.
"""

from __future__ import annotations

import os

# in the order QEMU prints them
_PROT = ((4, "PROT_EXEC"), (1, "PROT_READ"), (2, "PROT_WRITE"))
_MAP = ((0x01, "MAP_SHARED"), (0x02, "MAP_PRIVATE"), (0x20, "MAP_ANONYMOUS"),
        (0x800, "MAP_DENYWRITE"), (0x10, "MAP_FIXED"), (0x100, "MAP_GROWSDOWN"),
        (0x1000, "MAP_EXECUTABLE"), (0x2000, "MAP_LOCKED"), (0x10000, "MAP_NONBLOCK"),
        (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"), (0x20000, "MAP_STACK"),
        (0x40000, "MAP_HUGETLB"), (0x100000, "MAP_FIXED_NOREPLACE"))
_OPEN = ((0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
         (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"),
         (0o20000, "O_ASYNC"), (0o40000, "O_DIRECT"), (0o200000, "O_DIRECTORY"),
         (0o400000, "O_NOFOLLOW"), (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"),
         (0o10000000, "O_PATH"))
_ACCESS = ((4, "R_OK"), (2, "W_OK"), (1, "X_OK"))
IOCTL_NAMES = {0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF",
               0x540F: "TIOCGPGRP", 0x5410: "TIOCSPGRP", 0x5413: "TIOCGWINSZ",
               0x5414: "TIOCSWINSZ", 0x541B: "FIONREAD", 0x5421: "FIONBIO", 0x5451: "FIOCLEX"}


def _flags(v: int, table, zero: str = "0") -> str:
    names = [n for bit, n in table if v & bit]
    rest = v & ~sum(bit for bit, _ in table)
    if rest:
        names.append(f"{rest:#x}")
    return "|".join(names) if names else zero


def _s32(v: int) -> int:
    v &= 0xFFFF_FFFF
    return v - (1 << 32) if v >> 31 else v


def _s64(v: int) -> int:
    v &= 0xFFFF_FFFF_FFFF_FFFF
    return v - (1 << 64) if v >> 63 else v


def _string(mem, addr: int) -> str:
    if addr == 0:
        return "NULL"
    try:
        raw = mem.read_cstring(addr, 4096)
    except Exception:
        return f"0x{addr:016x}"
    return '"' + raw.decode("latin-1") + '"'


def format_arg(kind: str, v: int, mem) -> str:
    if kind == "d":
        return str(_s32(v))
    if kind == "x":
        return f"{v & 0xFFFF_FFFF:#x}"
    if kind == "l":
        return str(_s64(v))
    if kind == "h":
        return f"{v:#x}" if v else "0"
    if kind == "p":
        return "NULL" if v == 0 else f"0x{v:016x}"
    if kind == "s":
        return _string(mem, v)
    if kind == "f":                   # only the 64-bit -100 is AT_FDCWD, as QEMU compares
        return "AT_FDCWD" if _s64(v) == -100 else str(_s32(v))
    if kind == "P":
        return _flags(v, _PROT, "PROT_NONE")
    if kind == "M":
        return _flags(v, _MAP)
    if kind == "O":
        acc = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")[v & 3]
        rest = _flags(v & ~3, _OPEN, "")
        return acc + ("|" + rest if rest else "")
    if kind == "o":
        return f"0{v:o}" if v else "0"
    if kind == "A":
        return _flags(v, _ACCESS, "F_OK")
    if kind == "I":
        return IOCTL_NAMES.get(v & 0xFFFF_FFFF, f"{v & 0xFFFF_FFFF:#x}")
    raise ValueError(f"unknown strace argument kind {kind!r}")


def format_call(pid: int, name: str, kinds: str | None, args, mem) -> str:
    if kinds is None:
        body = ",".join(str(_s64(a)) for a in args)
    else:
        shown = list(kinds)
        if "o" in shown and not args[shown.index("O")] & 0o100:   # the mode only with O_CREAT
            shown.remove("o")
        body = ",".join(format_arg(k, args[i], mem) for i, k in enumerate(shown))
    return f"{pid} {name}({body})"


def format_result(ret: int, addr_result: bool = False) -> str:
    if -4096 < ret < 0:
        return f" = -1 errno={-ret} ({os.strerror(-ret)})\n"
    if addr_result:
        return f" = 0x{ret & 0xFFFF_FFFF_FFFF_FFFF:016x}\n"
    return f" = {ret}\n"
