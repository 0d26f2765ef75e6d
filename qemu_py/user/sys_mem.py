"""Memory system calls: the process's map is the emulator's, not the host's."""

from __future__ import annotations

import errno

from .memory import MAP_ANONYMOUS, PAGE_MASK
from .page_dump import log_page_layout


def sys_brk(p, a):
    return p.mem.brk(a[0])


def sys_mmap(p, a):
    addr, length, prot, flags, fd, off = a
    fd = fd - (1 << 64) if fd >> 63 else fd
    if flags & MAP_ANONYMOUS:
        fd = -1
    ret = p.mem.mmap(addr, length, prot, flags, fd, off)
    if ret >= 0:                           # QEMU logs successful maps only
        log_page_layout(p.mem, "mmap")
    return ret


def sys_munmap(p, a):
    return p.mem.munmap(a[0], a[1])


def sys_mprotect(p, a):
    return p.mem.mprotect(a[0], a[1], a[2])


def sys_mremap(p, a):
    return p.mem.mremap(a[0], a[1], a[2], a[3], a[4])


def sys_madvise(p, a):
    """Advice only; MADV_DONTNEED (4) on private anonymous memory reads back zero."""
    addr, length, advice = a[0], a[1], a[2]
    if addr & ~PAGE_MASK:
        return -errno.EINVAL
    if advice == 4:
        end = addr + length
        for m in p.mem.maps:
            if m.end > addr and m.start < end and not m.data:
                for page in [x for x in m.pages if addr <= x < end]:
                    del m.pages[page]
        p.mem._changed(addr, length)
    return 0


def sys_msync(p, a):
    return 0 if not a[0] & ~PAGE_MASK else -errno.EINVAL
