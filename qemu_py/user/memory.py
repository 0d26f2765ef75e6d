"""The guest address space of a linux-user process, managed like the kernel's.

A :class:`GuestMemory` holds *mappings* (page-aligned ranges with protection,
flags and an optional file backing, as ``/proc/self/maps`` lists them) and the
pages behind them, allocated on first touch: an anonymous page starts zeroed,
a private file page is read from its file when first touched.  It is also the
"address space" the softmmu runs on: guest virtual addresses map one to one
onto it, so the TLB's physical page is the virtual page, and a page that is
unmapped or lacks the access raises the guest's page fault, which the user CPU
turns into SIGSEGV with ``si_addr`` (never an access outside guest memory).

``mmap``/``munmap``/``mprotect``/``mremap``/``brk`` follow the kernel's rules
for what they accept (page alignment, overlap, ``MAP_FIXED``,
``MAP_FIXED_NOREPLACE``) and answer with negative errno values.  Any change to
the map calls the listeners (the softmmu flushes and drops its page views) and
``on_unmap(start, length)`` so translated code of dropped pages goes.
"""

from __future__ import annotations

import bisect
import errno
import os
import stat
from dataclasses import dataclass, field

PAGE_SIZE = 4096
PAGE_MASK = ~(PAGE_SIZE - 1)
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_SHARED, MAP_PRIVATE = 0x01, 0x02
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_GROWSDOWN = 0x100
MAP_FIXED_NOREPLACE = 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2
TASK_SIZE = 0x7FFF_FFFF_F000          # x86-64 user address space (47 bits, last page kept)
MMAP_BASE = 0x7FFF_F7FF_F000          # top of the mmap area (the kernel's, without ASLR)
MMAP_MIN_ADDR = 0x10000


class SegFault(Exception):
    """An access the map does not allow: ADDR, and whether a mapping was there."""

    def __init__(self, addr: int, mapped: bool):
        super().__init__(f"fault at {addr:#x}")
        self.addr = addr
        self.mapped = mapped


def page_align(n: int) -> int:
    return (n + PAGE_SIZE - 1) & PAGE_MASK


@dataclass
class Mapping:
    start: int
    end: int
    prot: int
    flags: int
    path: str = ""               # backing file name, "[heap]", "[stack]" ...
    data: bytes = b""            # the file's bytes from OFFSET (beyond them: zero)
    offset: int = 0              # file offset of START
    pages: dict = field(default_factory=dict)   # page address -> bytearray

    @property
    def file_size(self) -> int:
        return len(self.data)

    def truncate_file(self, n: int):
        """Only the first N bytes come from the file (the loader's bss)."""
        self.data = self.data[:n]

    def split(self, at: int) -> "Mapping":
        """Cut at AT; self keeps [start, at), the result is [at, end)."""
        cut = at - self.start
        hi = Mapping(at, self.end, self.prot, self.flags, self.path, self.data[cut:],
                     self.offset + cut)
        hi.pages = {a: p for a, p in self.pages.items() if a >= at}
        self.pages = {a: p for a, p in self.pages.items() if a < at}
        self.data = self.data[:cut]
        self.end = at
        return hi


class GuestMemory:
    def __init__(self):
        self.maps: list[Mapping] = []      # sorted by start, non-overlapping
        self._starts: list[int] = []
        self.listeners = []
        self.on_unmap = None
        self.brk_start = 0
        self.brk_cur = 0
        self.mmap_base = MMAP_BASE

    # -- the address-space interface of the softmmu ------------------------------------------
    def add_listener(self, listener):
        self.listeners.append(listener)

    def _changed(self, start: int = 0, length: int = 0):
        for lst in self.listeners:
            lst.commit()
        if length and self.on_unmap is not None:
            self.on_unmap(start, length)

    def ram_ptr(self, ppage: int, size: int, is_write: bool = False):
        m = self.find(ppage)
        if m is None or (is_write and not m.prot & PROT_WRITE):
            return None
        return memoryview(self._page(m, ppage & PAGE_MASK))

    def read(self, addr: int, n: int):
        return self.read_bytes(addr, n), None

    def write(self, addr: int, data: bytes):
        self.write_bytes(addr, data, force=True)

    def read_value(self, addr: int, size: int):
        return int.from_bytes(self.read_bytes(addr, size), "little"), None

    def write_value(self, addr: int, value: int, size: int):
        self.write_bytes(addr, value.to_bytes(size, "little"), force=True)

    # -- lookup -----------------------------------------------------------------------------------
    def find(self, addr: int) -> Mapping | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self.maps[i].end:
            return self.maps[i]
        return None

    def fill(self, addr: int, need: int) -> int:
        """The protection of ADDR's page if it allows NEED (PROT_* bits), else SegFault."""
        m = self.find(addr)
        if m is None:
            raise SegFault(addr, False)
        if need & ~m.prot:
            raise SegFault(addr, True)
        self._page(m, addr & PAGE_MASK)
        return m.prot

    def _page(self, m: Mapping, page: int) -> bytearray:
        p = m.pages.get(page)
        if p is None:
            p = bytearray(PAGE_SIZE)
            off = page - m.start
            if off < len(m.data):
                chunk = m.data[off:off + PAGE_SIZE]
                p[:len(chunk)] = chunk
            m.pages[page] = p
        return p

    # -- copies for system calls (checked like the kernel's copy_{from,to}_user) -----------------
    def read_bytes(self, addr: int, n: int) -> bytes:
        out = bytearray()
        while n > 0:
            m = self.find(addr)
            if m is None or not m.prot & PROT_READ:
                raise SegFault(addr, m is not None)
            chunk = min(n, PAGE_SIZE - (addr & ~PAGE_MASK))
            o = addr & ~PAGE_MASK
            out += self._page(m, addr & PAGE_MASK)[o:o + chunk]
            addr += chunk
            n -= chunk
        return bytes(out)

    def write_bytes(self, addr: int, data: bytes, force: bool = False):
        """Write DATA at ADDR; FORCE ignores protection (the loader, debuggers)."""
        pos = 0
        while pos < len(data):
            m = self.find(addr)
            if m is None or not (force or m.prot & PROT_WRITE):
                raise SegFault(addr, m is not None)
            o = addr & ~PAGE_MASK
            chunk = min(len(data) - pos, PAGE_SIZE - o)
            self._page(m, addr & PAGE_MASK)[o:o + chunk] = data[pos:pos + chunk]
            addr += chunk
            pos += chunk

    def read_cstring(self, addr: int, limit: int = 1 << 20) -> bytes:
        out = bytearray()
        while len(out) < limit:
            chunk = self.read_bytes(addr, PAGE_SIZE - (addr & ~PAGE_MASK))
            nul = chunk.find(b"\0")
            if nul >= 0:
                return bytes(out + chunk[:nul])
            out += chunk
            addr += len(chunk)
        raise SegFault(addr, True)

    # -- the map ------------------------------------------------------------------------------------
    def _insert(self, m: Mapping):
        i = bisect.bisect_left(self._starts, m.start)
        self.maps.insert(i, m)
        self._starts.insert(i, m.start)

    def _carve(self, start: int, end: int) -> list[Mapping]:
        """Remove [start, end) from the map; returns the removed pieces."""
        removed = []
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        while i < len(self.maps) and self.maps[i].start < end:
            m = self.maps[i]
            if m.end <= start:
                i += 1
                continue
            if m.start < start:
                hi = m.split(start)
                self.maps.insert(i + 1, hi)
                self._starts.insert(i + 1, hi.start)
                i += 1
                continue
            if m.end > end:
                hi = m.split(end)
                self.maps.insert(i + 1, hi)
                self._starts.insert(i + 1, hi.start)
            removed.append(self.maps.pop(i))
            self._starts.pop(i)
        return removed

    def is_free(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self._starts, end) - 1
        return i < 0 or self.maps[i].end <= start

    def find_free(self, length: int, hint: int = 0) -> int | None:
        """A free range of LENGTH bytes: at HINT if free, else top-down below the mmap base."""
        if hint and hint >= MMAP_MIN_ADDR and hint + length <= TASK_SIZE and \
                self.is_free(hint, hint + length):
            return hint
        top = self.mmap_base
        for m in reversed(self.maps):
            if m.start >= top:
                continue
            if m.end <= top - length:
                break
            top = min(top, m.start)
        start = top - length
        return start if start >= MMAP_MIN_ADDR else None

    def mmap(self, addr: int, length: int, prot: int, flags: int, fd: int = -1,
             offset: int = 0, path: str = "") -> int:
        if length == 0 or offset & ~PAGE_MASK:
            return -errno.EINVAL
        if not flags & (MAP_SHARED | MAP_PRIVATE):
            return -errno.EINVAL
        length = page_align(length)
        if length > TASK_SIZE:
            return -errno.ENOMEM
        fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)
        if fixed:
            if addr & ~PAGE_MASK:
                return -errno.EINVAL
            if addr + length > TASK_SIZE or addr < MMAP_MIN_ADDR:
                return -errno.ENOMEM if addr + length > TASK_SIZE else -errno.EPERM
            if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED and \
                    not self.is_free(addr, addr + length):
                return -errno.EEXIST
            start = addr
        else:
            start = self.find_free(length, addr & PAGE_MASK)
            if start is None:
                return -errno.ENOMEM
        data = b""
        if not flags & MAP_ANONYMOUS and fd >= 0:
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    return -errno.ENODEV          # devices and pipes cannot be mapped here
                data = os.pread(fd, min(length, max(0, st.st_size - offset)), offset)
            except OSError as e:
                return -(e.errno or errno.EBADF)
            if not path:
                try:
                    path = os.readlink(f"/proc/self/fd/{fd}")
                except OSError:
                    path = ""
        elif not flags & MAP_ANONYMOUS:
            return -errno.EBADF
        self._carve(start, start + length)
        self._insert(Mapping(start, start + length, prot, flags, path, data, offset))
        self._changed(start, length)
        return start

    def munmap(self, addr: int, length: int) -> int:
        if addr & ~PAGE_MASK or length == 0 or addr + length > TASK_SIZE:
            return -errno.EINVAL
        length = page_align(length)
        self._carve(addr, addr + length)
        self._changed(addr, length)
        return 0

    def mprotect(self, addr: int, length: int, prot: int) -> int:
        if addr & ~PAGE_MASK or prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 0x3000000):
            return -errno.EINVAL
        length = page_align(length)
        end = addr + length
        a = addr
        while a < end:                     # every page must be mapped
            m = self.find(a)
            if m is None:
                return -errno.ENOMEM
            a = m.end
        prot &= PROT_READ | PROT_WRITE | PROT_EXEC
        pieces = self._carve(addr, end)
        for m in pieces:
            m.prot = prot
            self._insert(m)
        self._changed(addr, length if not prot & PROT_EXEC else 0)
        return 0

    def mremap(self, old: int, old_len: int, new_len: int, flags: int, new_addr: int = 0) -> int:
        if old & ~PAGE_MASK or flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) or new_len == 0:
            return -errno.EINVAL
        old_len, new_len = page_align(old_len), page_align(new_len)
        m = self.find(old)
        if m is None or old + old_len > m.end:
            return -errno.EFAULT
        if flags & MREMAP_FIXED:
            if not flags & MREMAP_MAYMOVE or new_addr & ~PAGE_MASK:
                return -errno.EINVAL
            target = new_addr
        elif new_len <= old_len:
            if new_len < old_len:
                self.munmap(old + new_len, old_len - new_len)
            return old
        elif self.is_free(old + old_len, old + new_len) and old + new_len <= TASK_SIZE:
            m2 = self._carve(old, old + old_len)[0]
            m2.end = old + new_len
            self._insert(m2)
            self._changed()
            return old
        elif not flags & MREMAP_MAYMOVE:
            return -errno.ENOMEM
        else:
            target = self.find_free(new_len)
            if target is None:
                return -errno.ENOMEM
        piece = self._carve(old, old + old_len)[0]
        self._carve(target, target + new_len)
        delta = target - old
        piece.pages = {a + delta: p for a, p in piece.pages.items()}
        piece.start, piece.end = target, target + new_len
        self._insert(piece)
        self._changed(old, old_len)
        return target

    # -- brk ----------------------------------------------------------------------------------------
    def set_brk_start(self, addr: int):
        self.brk_start = self.brk_cur = addr

    def brk(self, new: int) -> int:
        """The kernel's brk: grow or shrink the heap, answer the (possibly old) break."""
        if new < self.brk_start:
            return self.brk_cur
        old_top, new_top = page_align(self.brk_cur), page_align(new)
        if new_top > old_top:
            if not self.is_free(old_top, new_top):
                return self.brk_cur
            self._insert(Mapping(old_top, new_top, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, "[heap]"))
            self._changed()
        elif new_top < old_top:
            self.munmap(new_top, old_top - new_top)
        self.brk_cur = new
        return new

    # -- /proc/self/maps ---------------------------------------------------------------------------
    def maps_text(self) -> str:
        lines = []
        for m in self.maps:
            perms = ("r" if m.prot & PROT_READ else "-") + ("w" if m.prot & PROT_WRITE else "-") \
                + ("x" if m.prot & PROT_EXEC else "-") + ("s" if m.flags & MAP_SHARED else "p")
            off = m.offset if m.path and not m.path.startswith("[") else 0
            lines.append(f"{m.start:08x}-{m.end:08x} {perms} {off:08x} 00:00 0"
                         + (f"{'':19}{m.path}" if m.path else "") + "\n")
        return "".join(lines)
