"""Direct kernel boot for x86: multiboot v1 and the PVH entry point.

Accelerator-neutral: :func:`prepare_kernel` reads ``-kernel``/``-append``/
``-initrd`` once, when the board is built (``qemu_py.hw.i386.x86``), and
returns a :class:`KernelBoot`: the bytes to place in guest RAM and the
:class:`EntryState` the boot CPU starts in. At every reset the accelerator
(TCG: ``qemu_py.accel.tcg``, KVM: ``qemu_py.accel.kvm.accel``) calls
:meth:`KernelBoot.load` and puts its vCPU into ``entry`` its own way (the
TCG segment cache, or KVM_SET_SREGS/KVM_SET_REGS).

Formats, in QEMU's order: a multiboot v1 header (ELF or the a.out-kludge
binary form) first, then an ELF image with a ``XEN_ELFNOTE_PHYS32_ENTRY``
note (PVH). Both start the CPU in 32-bit protected mode with flat segments
and paging off:

* multiboot: EAX = 0x2BADB002, EBX = the multiboot information (flags MEM,
  CMDLINE, MODS, MMAP, LOADER_NAME); ``-initrd "a args,b"`` gives modules
  whose strings are the file name and arguments, as QEMU; ELF64 images are
  accepted too (QEMU refuses them), loaded by physical address;
* PVH: EBX = ``hvm_start_info`` version 1 (magic 0x336ec578) with the
  command line, the initrd as the single module, an E820-style memory map
  and ``rsdp_paddr`` when the board has ACPI tables (``machine.acpi_tables``,
  placed in the reserved 0x9fc00-0x9ffff area, see ``qemu_py.hw.acpi``).

As SeaBIOS would have done before such a kernel runs, the local APIC's
LINT0 is set to ExtINT and LINT1 to NMI, so the 8259 reaches the CPU.
Boot data live below 640 KiB: GDT 0x7000, PVH start info 0x6000,
multiboot information 0x9000 (strings and tables follow it).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .elf import LoaderError, is_elf, read_elf
from .files import read_image_file

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

# the boot GDT: null, flat 32-bit code (0x08), flat data (0x10), a TSS (0x18)
BOOT_GDT = (0, 0x00CF9B000000FFFF, 0x00CF93000000FFFF, 0x00008B0000000067)
CODE32_FLAGS = 0x00CF9B00       # descriptor attribute bits 8-23: G D P S type 0xB
DATA32_FLAGS = 0x00CF9300       # G B P S type 3
TSS_FLAGS = 0x00008B00          # P, busy 32-bit TSS
LVT_LINT0_EXTINT = 0x700        # as SeaBIOS leaves them
LVT_LINT1_NMI = 0x400


@dataclass(frozen=True)
class SegmentState:
    """A loaded segment register: selector, base, byte-granular limit and the
    descriptor attribute bits (the second descriptor word, bits 8-23: type, S,
    DPL, P, AVL, L, D/B, G), the form both the TCG segment cache and
    ``kvm_segment`` are derived from."""
    selector: int
    base: int
    limit: int
    flags: int

    @property
    def type(self) -> int:
        return (self.flags >> 8) & 0xF

    def kvm_fields(self) -> dict:
        f = self.flags
        return {"selector": self.selector, "base": self.base, "limit": self.limit,
                "type": (f >> 8) & 0xF, "s": (f >> 12) & 1, "dpl": (f >> 13) & 3,
                "present": (f >> 15) & 1, "avl": (f >> 20) & 1, "l": (f >> 21) & 1,
                "db": (f >> 22) & 1, "g": (f >> 23) & 1, "unusable": 0}


@dataclass(frozen=True)
class EntryState:
    """The boot CPU's state on entry: 32-bit protected mode, flat segments,
    paging off (multiboot and PVH both ask for this) or, for the Linux 64-bit
    entry, long mode with CR3/CR4/EFER set; plus the two local APIC LVT values
    firmware would have left."""
    rip: int
    rax: int
    rbx: int
    rflags: int = 2
    cr0: int = 0x11                 # PE | ET
    rsi: int = 0
    cr3: int = 0
    cr4: int = 0
    efer: int = 0                   # LME|LMA with CR0.PG: the Linux 64-bit entry
    gdt_base: int = GDT_ADDR
    gdt_limit: int = 8 * len(BOOT_GDT) - 1
    cs: SegmentState = SegmentState(0x08, 0, 0xFFFFFFFF, CODE32_FLAGS)
    data: SegmentState = SegmentState(0x10, 0, 0xFFFFFFFF, DATA32_FLAGS)   # DS ES FS GS SS
    tr: SegmentState = SegmentState(0x18, 0, 0x67, TSS_FLAGS)
    apic_lvt: tuple = ((3, LVT_LINT0_EXTINT), (4, LVT_LINT1_NMI))

    def segments(self) -> dict[str, SegmentState]:
        out = {n: self.data for n in ("ds", "es", "fs", "gs", "ss")}
        out["cs"] = self.cs
        return out


@dataclass
class KernelBoot:
    """A prepared direct kernel boot: ``blobs`` [(guest physical address,
    bytes)] are written to guest memory at every reset, then the CPU enters
    ``entry``."""
    protocol: str                   # "multiboot", "pvh" or "linux"
    entry: EntryState
    blobs: list[tuple[int, bytes]] = field(default_factory=list)

    def load(self, memory):
        """Write the image, the boot information and the GDT through MEMORY
        (an AddressSpace: the board's system memory)."""
        for addr, data in self.blobs:
            memory.write(addr, data)

    def apply_apic(self, apic):
        if apic is not None:
            for n, value in self.entry.apic_lvt:
                apic.lvt[n] = value


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


class _Image:
    """The blobs of a boot being prepared, checked against the board's RAM."""

    def __init__(self, machine):
        self.ram_size = machine.ram_size
        self.below = getattr(machine, "below_4g", machine.ram_size)
        self.blobs: list[tuple[int, bytes]] = []

    def check(self, addr: int, size: int):
        """LoaderError unless [ADDR, ADDR+SIZE) lies in the board's RAM (below 4 GiB
        or in the RAM above it); called before anything of that size is built."""
        above = self.ram_size - self.below
        if addr + size <= self.below or (addr >= 1 << 32 and addr + size <= (1 << 32) + above):
            return
        raise LoaderError(f"kernel: segment at 0x{addr:x} (0x{size:x} bytes) does not "
                          f"fit in RAM (0x{self.below:x} bytes below 4 GiB)")

    def write(self, addr: int, data: bytes):
        self.check(addr, len(data))
        self.blobs.append((addr, bytes(data)))

    def write_segment(self, addr: int, data: bytes, memsz: int):
        """A loadable segment: its file bytes, then zeros up to MEMSZ."""
        self.check(addr, memsz)
        self.blobs.append((addr, bytes(data) + bytes(memsz - len(data))))


def place_acpi(out: _Image, machine) -> int:
    """Write the board's ACPI tables (``machine.acpi_tables``, if any) and return
    the RSDP's address for the boot protocol to pass on (0 without ACPI)."""
    tables = getattr(machine, "acpi_tables", None)
    if tables is None:
        return 0
    out.write(tables.base, tables.blob)
    return tables.rsdp


def _modules(out: _Image, cfg, start: int):
    """Load -initrd modules page-aligned from START: [(addr, size, string)]."""
    mods = []
    if cfg.initrd is None:
        return mods
    addr = (start + 0xFFF) & ~0xFFF
    for spec in cfg.initrd.split(","):
        spec = spec.strip()
        path = spec.split(" ", 1)[0]
        data = read_image_file(path, "initrd", out.ram_size)
        out.write(addr, data)
        mods.append((addr, len(data), spec))
        addr = (addr + len(data) + 0xFFF) & ~0xFFF
    return mods


def is_linux_boot_protocol(data: bytes) -> bool:
    """A bzImage (the Linux x86 boot protocol header "HdrS" at 0x202)."""
    return len(data) >= 0x206 and data[0x202:0x206] == b"HdrS"


def prepare_kernel(machine, cfg, data: bytes | None = None) -> KernelBoot:
    """Read and lay out cfg.kernel (multiboot v1 or PVH) for MACHINE's RAM.

    A Linux boot-protocol image (:func:`is_linux_boot_protocol`) is the board's
    to hand to :func:`qemu_py.loader.bzimage.prepare_bzimage` instead.

    DATA is the kernel file's contents when the caller has read it already.
    Raises :class:`LoaderError` with a message naming the file and the problem."""
    if data is None:
        data = read_image_file(cfg.kernel, "kernel", machine.ram_size)
    out = _Image(machine)
    mb = find_multiboot_header(data)
    if mb is not None:
        entry = _load_multiboot(out, machine, cfg, data, mb)
        return KernelBoot("multiboot", entry, out.blobs)
    if is_elf(data):
        img = read_elf(data, f"kernel '{cfg.kernel}'")
        for name, ntype, desc in img.notes:
            if name == "Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                pvh_entry = struct.unpack_from("<I", desc.ljust(4, b"\0"))[0]
                entry = _load_pvh(out, machine, cfg, img, pvh_entry)
                return KernelBoot("pvh", entry, out.blobs)
    raise LoaderError(f"kernel '{cfg.kernel}': neither a multiboot v1 image nor an ELF image "
                      "with a PVH entry note")


def _load_multiboot(out: _Image, machine, cfg, data, mb) -> EntryState:
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
        end = max(load_addr + len(image), bss_end or 0)
        if bss_end > load_addr + len(image):
            out.write_segment(load_addr, image, bss_end - load_addr)
        else:
            out.write(load_addr, image)
    elif is_elf(data):
        img = read_elf(data, f"kernel '{cfg.kernel}'")
        for seg in img.segments:
            out.write_segment(seg.paddr, seg.data, seg.memsz)
        entry = img.entry
        # an entry given as a virtual address: translate through its segment
        for seg in img.segments:
            if seg.vaddr <= entry < seg.vaddr + seg.memsz and seg.vaddr != seg.paddr:
                entry = entry - seg.vaddr + seg.paddr
        end = img.high
    else:
        raise LoaderError(f"kernel '{cfg.kernel}': multiboot image without the a.out kludge "
                          "must be ELF")
    mods = _modules(out, cfg, end)
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
    out.write(MB_INFO, info)
    out.write(loader_name_addr, name)
    out.write(cmdline_addr, cmdline + b"\0")
    out.write(mods_addr, mod_blobs + strings)
    out.write(mmap_addr, mmap_blob)
    return _boot_gdt(out, entry, eax=MB_BOOT_MAGIC, ebx=MB_INFO)


def _load_pvh(out: _Image, machine, cfg, img, entry) -> EntryState:
    for seg in img.segments:
        out.write_segment(seg.paddr, seg.data, seg.memsz)
    mods = _modules(out, cfg, img.high)
    below, mmap = _memory_map(machine)
    cmdline = (cfg.append or "").encode() + b"\0"
    modlist = PVH_INFO + 0x40
    memmap = modlist + 32 * len(mods)
    cmd_addr = memmap + 24 * len(mmap)
    rsdp = place_acpi(out, machine)
    info = struct.pack("<IIIIQQQQII", PVH_MAGIC, 1, 0, len(mods), modlist if mods else 0,
                       cmd_addr, rsdp, memmap, len(mmap), 0)
    out.write(PVH_INFO, info)
    blob = b"".join(struct.pack("<QQQQ", a, s, 0, 0) for a, s, _ in mods)
    blob += b"".join(struct.pack("<QQII", a, s, t, 0) for a, s, t in mmap)
    out.write(modlist, blob)
    out.write(cmd_addr, cmdline)
    return _boot_gdt(out, entry, eax=0, ebx=PVH_INFO)


def _boot_gdt(out: _Image, entry: int, eax: int, ebx: int) -> EntryState:
    out.write(GDT_ADDR, b"".join(struct.pack("<Q", d) for d in BOOT_GDT))
    return EntryState(rip=entry & 0xFFFFFFFF, rax=eax, rbx=ebx)
