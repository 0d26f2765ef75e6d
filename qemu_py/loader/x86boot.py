"""Direct kernel boot for x86: multiboot v1 and the PVH entry point.

``load_kernel(machine, cpu, cfg)`` is what ``-kernel``/``-append``/``-initrd``
do on the x86 boards when TCG runs the CPU, in QEMU's order: a multiboot v1
header (ELF or the a.out-kludge binary form) first, then an ELF image with a
``XEN_ELFNOTE_PHYS32_ENTRY`` note (PVH). Both start the CPU in 32-bit
protected mode with flat segments and paging off:

* multiboot: EAX = 0x2BADB002, EBX = the multiboot information (flags MEM,
  CMDLINE, MODS, MMAP, LOADER_NAME); ``-initrd "a args,b"`` gives modules
  whose strings are the file name and arguments, as QEMU; ELF64 images are
  accepted too (QEMU refuses them), loaded by physical address;
* PVH: EBX = ``hvm_start_info`` version 1 (magic 0x336ec578) with the
  command line, the initrd as the single module and an E820-style memory map.

As SeaBIOS would have done before such a kernel runs, the local APIC's
LINT0 is set to ExtINT and LINT1 to NMI, so the 8259 reaches the CPU.
Boot data live below 640 KiB: GDT 0x7000, PVH start info 0x6000,
multiboot information 0x9000 (strings and tables follow it).
"""

from __future__ import annotations

import struct

from .elf import LoaderError, is_elf, read_elf

MB_MAGIC = 0x1BADB002
MB_BOOT_MAGIC = 0x2BADB002
MB_AOUT_KLUDGE = 1 << 16
MB_INFO_MEMORY, MB_INFO_CMDLINE, MB_INFO_MODS, MB_INFO_MMAP = 1, 4, 8, 0x40
MB_INFO_LOADER_NAME = 0x200
XEN_ELFNOTE_PHYS32_ENTRY = 18
PVH_MAGIC = 0x336EC578

GDT_ADDR = 0x7000
PVH_INFO = 0x6000
MB_INFO = 0x9000
LOW_RAM_END = 0x9FC00
E820_RAM, E820_RESERVED = 1, 2


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise LoaderError(f"could not load {what} '{path}': {e.strerror}") from None


def find_multiboot_header(data: bytes):
    """(offset, magic, flags, checksum, fields) of a multiboot v1 header, or None."""
    for off in range(0, min(len(data), 8192) - 11, 4):
        magic, flags, csum = struct.unpack_from("<III", data, off)
        if magic == MB_MAGIC and (magic + flags + csum) & 0xFFFFFFFF == 0:
            fields = struct.unpack_from("<5I", data, off + 12) if len(data) >= off + 32 else None
            return off, flags, fields
    return None


def _memory_map(machine):
    below = getattr(machine, "below_4g", machine.ram_size)
    above = getattr(machine, "above_4g", 0)
    entries = [(0, LOW_RAM_END, E820_RAM), (LOW_RAM_END, 0xA0000 - LOW_RAM_END, E820_RESERVED),
               (0xF0000, 0x10000, E820_RESERVED), (0x100000, below - 0x100000, E820_RAM)]
    if above:
        entries.append((1 << 32, above, E820_RAM))
    return below, entries


def _write(machine, addr: int, data: bytes):
    below = getattr(machine, "below_4g", machine.ram_size)
    if addr + len(data) > below and addr < (1 << 32):
        raise LoaderError(f"kernel: segment at 0x{addr:x} (0x{len(data):x} bytes) does not fit "
                          f"in RAM (0x{below:x} bytes below 4 GiB)")
    machine.system_as.write(addr, data)


def _modules(machine, cfg, start: int):
    """Load -initrd modules page-aligned from START: [(addr, size, string)]."""
    mods = []
    if cfg.initrd is None:
        return mods
    addr = (start + 0xFFF) & ~0xFFF
    for spec in cfg.initrd.split(","):
        spec = spec.strip()
        path = spec.split(" ", 1)[0]
        data = _read(path, "initrd")
        _write(machine, addr, data)
        mods.append((addr, len(data), spec))
        addr = (addr + len(data) + 0xFFF) & ~0xFFF
    return mods


def load_kernel(machine, cpu, cfg):
    """Load cfg.kernel; returns 'multiboot' or 'pvh'."""
    data = _read(cfg.kernel, "kernel")
    if len(data) >= 0x206 and data[0x202:0x206] == b"HdrS":
        raise LoaderError(f"kernel '{cfg.kernel}': the Linux boot protocol (bzImage) is not "
                          "supported by the qemu-py TCG loader; use a multiboot or PVH image")
    mb = find_multiboot_header(data)
    if mb is not None:
        _load_multiboot(machine, cpu, cfg, data, mb)
        return "multiboot"
    if is_elf(data):
        img = read_elf(data, f"kernel '{cfg.kernel}'")
        for name, ntype, desc in img.notes:
            if name == "Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                entry = struct.unpack_from("<I", desc.ljust(4, b"\0"))[0]
                _load_pvh(machine, cpu, cfg, img, entry)
                return "pvh"
    raise LoaderError(f"kernel '{cfg.kernel}': neither a multiboot v1 image nor an ELF image "
                      "with a PVH entry note")


def _load_multiboot(machine, cpu, cfg, data, mb):
    off, flags, fields = mb
    if flags & MB_AOUT_KLUDGE:
        if fields is None:
            raise LoaderError(f"kernel '{cfg.kernel}': truncated multiboot header")
        header_addr, load_addr, load_end, bss_end, entry = fields
        start = off - (header_addr - load_addr)
        if start < 0:
            raise LoaderError(f"kernel '{cfg.kernel}': multiboot load address 0x{load_addr:x} "
                              f"is above the header address 0x{header_addr:x}")
        size = (load_end - load_addr) if load_end else len(data) - start
        image = data[start:start + size]
        _write(machine, load_addr, image)
        end = max(load_addr + len(image), bss_end or 0)
        if bss_end > load_addr + len(image):
            _write(machine, load_addr + len(image), bytes(bss_end - load_addr - len(image)))
    elif is_elf(data):
        img = read_elf(data, f"kernel '{cfg.kernel}'")
        for seg in img.segments:
            _write(machine, seg.paddr, seg.data + bytes(seg.memsz - len(seg.data)))
        entry = img.entry
        # an entry given as a virtual address: translate through its segment
        for seg in img.segments:
            if seg.vaddr <= entry < seg.vaddr + seg.memsz and seg.vaddr != seg.paddr:
                entry = entry - seg.vaddr + seg.paddr
        end = img.high
    else:
        raise LoaderError(f"kernel '{cfg.kernel}': multiboot image without the a.out kludge "
                          "must be ELF")
    mods = _modules(machine, cfg, end)
    below, mmap = _memory_map(machine)
    # information block and the data it points to
    name = b"qemu-py\0"
    cmdline = (cfg.kernel + (" " + cfg.append if cfg.append else "")).encode()
    p = MB_INFO + 0x60
    loader_name_addr = p
    p += len(name)
    cmdline_addr = p
    p += len(cmdline) + 1
    p = (p + 15) & ~15
    mods_addr = p
    mod_blobs = b""
    strings = b""
    str_base = mods_addr + 16 * len(mods)
    for addr, size, spec in mods:
        mod_blobs += struct.pack("<IIII", addr, addr + size, str_base + len(strings), 0)
        strings += spec.encode() + b"\0"
    p = (str_base + len(strings) + 15) & ~15
    mmap_addr = p
    mmap_blob = b"".join(struct.pack("<IQQI", 20, a, s, t) for a, s, t in mmap)
    info = struct.pack("<IIIIIIIIIIII", MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS |
                       MB_INFO_MMAP | MB_INFO_LOADER_NAME, 640, (below - 0x100000) >> 10,
                       0xFFFFFFFF, cmdline_addr, len(mods), mods_addr, 0, 0, 0, 0,
                       len(mmap_blob))
    info += struct.pack("<I", mmap_addr)
    info = info.ljust(64, b"\0") + struct.pack("<I", loader_name_addr)
    _write(machine, MB_INFO, info)
    _write(machine, loader_name_addr, name)
    _write(machine, cmdline_addr, cmdline + b"\0")
    _write(machine, mods_addr, mod_blobs + strings)
    _write(machine, mmap_addr, mmap_blob)
    _enter_protected_mode(machine, cpu, entry, eax=MB_BOOT_MAGIC, ebx=MB_INFO)


def _load_pvh(machine, cpu, cfg, img, entry):
    for seg in img.segments:
        _write(machine, seg.paddr, seg.data + bytes(seg.memsz - len(seg.data)))
    mods = _modules(machine, cfg, img.high)
    below, mmap = _memory_map(machine)
    cmdline = (cfg.append or "").encode() + b"\0"
    modlist = PVH_INFO + 0x40
    memmap = modlist + 32 * len(mods)
    cmd_addr = memmap + 24 * len(mmap)
    info = struct.pack("<IIIIQQQQII", PVH_MAGIC, 1, 0, len(mods), modlist if mods else 0,
                       cmd_addr, 0, memmap, len(mmap), 0)
    _write(machine, PVH_INFO, info)
    blob = b"".join(struct.pack("<QQQQ", a, s, 0, 0) for a, s, _ in mods)
    blob += b"".join(struct.pack("<QQII", a, s, t, 0) for a, s, t in mmap)
    _write(machine, modlist, blob)
    _write(machine, cmd_addr, cmdline)
    _enter_protected_mode(machine, cpu, entry, eax=0, ebx=PVH_INFO)


def _enter_protected_mode(machine, cpu, entry: int, eax: int, ebx: int):
    from qemu_py.target.i386.seg_helper import load_seg_cache
    from qemu_py.target.i386.state import (CR0, EFLAGS, GDT_BASE, GDT_LIMIT, R_CS, R_DS,
                                           R_ES, R_FS, R_GS, R_SS, RIP, TR)
    gdt = [0, 0x00CF9B000000FFFF, 0x00CF93000000FFFF, 0x00008B0000000067]
    _write(machine, GDT_ADDR, b"".join(struct.pack("<Q", d) for d in gdt))
    env = cpu.env_q
    env[GDT_BASE], env[GDT_LIMIT] = GDT_ADDR, 8 * len(gdt) - 1
    env[CR0] = 0x11                 # PE | ET
    code_flags = 0x00CF9B00
    data_flags = 0x00CF9300
    load_seg_cache(cpu, R_CS, 0x08, 0, 0xFFFFFFFF, code_flags)
    for seg in (R_DS, R_ES, R_FS, R_GS, R_SS):
        load_seg_cache(cpu, seg, 0x10, 0, 0xFFFFFFFF, data_flags)
    env[TR], env[TR + 1], env[TR + 2], env[TR + 3] = 0x18, 0, 0x67, 0x8B00
    env[EFLAGS] = 2
    env[RIP] = entry & 0xFFFFFFFF
    cpu.set_gpr(0, eax)
    cpu.set_gpr(3, ebx)
    cpu.update_hflags()
    cpu.tlb_flush()
    if cpu.apic is not None:
        cpu.apic.lvt[3] = 0x700     # LINT0: ExtINT (as SeaBIOS sets it)
        cpu.apic.lvt[4] = 0x400     # LINT1: NMI
