"""Loading an x86-64 Linux program: ELF images, the interpreter, the initial stack.

:func:`load_program` maps the executable's ``PT_LOAD`` segments (at their
addresses for ``ET_EXEC``, at the kernel's no-ASLR base 0x555555554000 for
position-independent ones), then its ``PT_INTERP`` interpreter (under the
``-L`` prefix when one is given and holds it), sets the break after the
executable's highest segment and builds the stack as the kernel does: argc,
argv, envp, the auxiliary vector, and above them the strings, 16 random bytes
(AT_RANDOM) and the platform name.  Bad input raises :class:`LoadError` with a
one-line message naming the file and the problem.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from .memory import (MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_MASK, PAGE_SIZE, PROT_EXEC,
                     PROT_READ, PROT_WRITE, TASK_SIZE, GuestMemory, page_align)

ET_EXEC, ET_DYN = 2, 3
EM_X86_64 = 62
PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 3, 6, 0x6474E551
PIE_BASE = 0x5555_5555_4000
STACK_TOP = TASK_SIZE
DEFAULT_STACK_SIZE = 8 << 20
MAX_PHNUM = 64 * 1024 // 56             # the kernel refuses program header tables over 64 KiB

AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_MINSIGSTKSZ = 23, 25, 26, 31, 51


class LoadError(Exception):
    """A program that cannot be loaded; the message is the whole error line."""


@dataclass
class ElfImage:
    path: str
    data: bytes
    etype: int
    entry: int
    phoff: int
    phentsize: int
    phnum: int
    phdrs: list                # (type, flags, offset, vaddr, filesz, memsz)
    interp: str | None


def read_elf(path: str) -> ElfImage:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise LoadError(f"{path}: Is a directory") from None
    except OSError as e:
        raise LoadError(f"{path}: {e.strerror}") from None
    if data[:4] != b"\x7fELF":
        raise LoadError(f"{path}: Invalid ELF image for this architecture")
    if len(data) < 64 or data[4] != 2 or data[5] != 1:
        raise LoadError(f"{path}: Invalid ELF image for this architecture")
    (etype, machine, _v, entry, phoff, _sh, _fl, _eh, phentsize, phnum) = \
        struct.unpack_from("<HHIQQQIHHH", data, 16)
    if machine != EM_X86_64 or etype not in (ET_EXEC, ET_DYN):
        raise LoadError(f"{path}: Invalid ELF image for this architecture")
    if phentsize != 56 or phnum == 0 or phnum > MAX_PHNUM or phoff + phnum * 56 > len(data):
        raise LoadError(f"{path}: Invalid ELF image for this architecture "
                        f"(program headers: {phnum} of {phentsize} bytes at {phoff:#x})")
    phdrs, interp = [], None
    for i in range(phnum):
        ptype, pflags, off, vaddr, _pa, filesz, memsz, _al = \
            struct.unpack_from("<IIQQQQQQ", data, phoff + 56 * i)
        if ptype == PT_LOAD:
            if off + filesz > len(data) or filesz > memsz or vaddr + memsz > TASK_SIZE or \
                    (off ^ vaddr) & ~PAGE_MASK:
                raise LoadError(f"{path}: Invalid ELF image for this architecture "
                                f"(segment at {vaddr:#x}: {filesz:#x}/{memsz:#x} bytes "
                                f"from offset {off:#x})")
        if ptype == PT_INTERP:
            if off + filesz > len(data) or filesz == 0:
                raise LoadError(f"{path}: Invalid ELF image for this architecture")
            interp = data[off:off + filesz].rstrip(b"\0").decode("utf-8", "replace")
        phdrs.append((ptype, pflags, off, vaddr, filesz, memsz))
    if not any(p[0] == PT_LOAD for p in phdrs):
        raise LoadError(f"{path}: Invalid ELF image for this architecture (no loadable segment)")
    return ElfImage(path, data, etype, entry, phoff, phentsize, phnum, phdrs, interp)


def _prot(pflags: int) -> int:
    return (PROT_READ if pflags & 4 else 0) | (PROT_WRITE if pflags & 2 else 0) | \
        (PROT_EXEC if pflags & 1 else 0)


def map_image(mem: GuestMemory, img: ElfImage, base: int | None = None) -> tuple[int, int]:
    """Map IMG's segments; returns (load bias, end of the highest segment)."""
    loads = [p for p in img.phdrs if p[0] == PT_LOAD]
    lo = min(p[3] for p in loads) & PAGE_MASK
    hi = page_align(max(p[3] + p[5] for p in loads))
    if img.etype == ET_DYN:
        if base is None:
            base = mem.find_free(hi - lo)
            if base is None:
                raise LoadError(f"{img.path}: cannot allocate memory for the image")
        bias = base - lo
    else:
        bias = 0
    fd = os.open(img.path, os.O_RDONLY)
    try:
        end = 0
        for _t, pflags, off, vaddr, filesz, memsz in loads:
            start = (vaddr + bias) & PAGE_MASK
            skew = (vaddr + bias) - start
            prot = _prot(pflags)
            seg_end = page_align(vaddr + bias + memsz)
            r = mem.mmap(start, seg_end - start, prot, MAP_PRIVATE | MAP_FIXED, fd, off - skew,
                         path=os.path.abspath(img.path))
            if r < 0:
                raise LoadError(f"{img.path}: cannot map segment at {vaddr:#x}")
            mem.find(start).truncate_file(skew + filesz)    # bss: zero past the file bytes
            end = max(end, vaddr + bias + memsz)
    finally:
        os.close(fd)
    return bias, end


@dataclass
class Process:
    entry: int
    stack_pointer: int
    exe_path: str
    load_bias: int
    interp_base: int
    phdr: int
    brk: int


def _resolve_interp(name: str, prefix: str | None) -> str:
    if prefix:
        cand = os.path.join(prefix, name.lstrip("/"))
        if os.path.exists(cand):
            return cand
    return name


def load_program(mem: GuestMemory, path: str, argv: list[bytes], envp: list[bytes], *,
                 prefix: str | None = None, stack_size: int = DEFAULT_STACK_SIZE,
                 random_bytes: bytes | None = None, hwcap: int = 0) -> Process:
    img = read_elf(path)
    bias, end = map_image(mem, img, PIE_BASE if img.etype == ET_DYN else None)
    entry = img.entry + bias
    interp_base = 0
    if img.interp is not None:
        ipath = _resolve_interp(img.interp, prefix)
        try:
            iimg = read_elf(ipath)
        except LoadError as e:
            if not os.path.exists(ipath):
                raise LoadError(f"{path}: Could not open '{img.interp}': "
                                f"No such file or directory") from None
            raise e
        ibias, _ = map_image(mem, iimg)
        interp_base = ibias + (min(p[3] for p in iimg.phdrs if p[0] == PT_LOAD) & PAGE_MASK)
        start = iimg.entry + ibias
    else:
        start = entry
    mem.set_brk_start(end)
    phdr = next((p[3] + bias for p in img.phdrs if p[0] == PT_PHDR), None)
    if phdr is None:                                 # the table inside the first segment
        first = min((p for p in img.phdrs if p[0] == PT_LOAD), key=lambda p: p[3])
        phdr = first[3] - first[2] + img.phoff + bias
    exe = os.path.abspath(path)
    sp = build_stack(mem, argv, envp, stack_size, [
        (AT_PHDR, phdr), (AT_PHENT, 56), (AT_PHNUM, img.phnum), (AT_PAGESZ, PAGE_SIZE),
        (AT_BASE, interp_base), (AT_FLAGS, 0), (AT_ENTRY, entry),
        (AT_UID, os.getuid()), (AT_EUID, os.geteuid()), (AT_GID, os.getgid()),
        (AT_EGID, os.getegid()), (AT_HWCAP, hwcap), (AT_CLKTCK, 100),
        (AT_SECURE, 0), (AT_HWCAP2, 0), (AT_MINSIGSTKSZ, 2048)],
        exe.encode(), random_bytes if random_bytes is not None else os.urandom(16))
    return Process(start, sp, exe, bias, interp_base, phdr, end)


def build_stack(mem: GuestMemory, argv, envp, stack_size: int, auxv, execfn: bytes,
                random_bytes: bytes) -> int:
    """Map the stack below STACK_TOP and lay out the process's start; returns RSP."""
    base = STACK_TOP - page_align(stack_size)
    if mem.mmap(base, STACK_TOP - base, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, path="[stack]") < 0:
        raise LoadError("cannot map the stack")
    sp = STACK_TOP - 8                        # the kernel leaves the last word zero

    def push_bytes(b: bytes) -> int:
        nonlocal sp
        sp -= len(b)
        mem.write_bytes(sp, b, force=True)
        return sp

    execfn_addr = push_bytes(execfn + b"\0")
    env_addrs = [push_bytes(e + b"\0") for e in reversed(envp)][::-1]
    arg_addrs = [push_bytes(a + b"\0") for a in reversed(argv)][::-1]
    platform = push_bytes(b"x86_64\0")
    sp &= ~15
    rand = push_bytes(random_bytes[:16].ljust(16, b"\0"))
    aux = list(auxv) + [(AT_RANDOM, rand), (AT_EXECFN, execfn_addr), (AT_PLATFORM, platform),
                        (AT_NULL, 0)]
    words = [len(argv)] + arg_addrs + [0] + env_addrs + [0]
    for k, v in aux:
        words += [k, v]
    sp = (sp - 8 * len(words)) & ~15
    mem.write_bytes(sp, struct.pack(f"<{len(words)}Q", *words), force=True)
    return sp
