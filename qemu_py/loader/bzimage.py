"""Direct boot of a Linux bzImage through the Linux/x86 boot protocol.

No firmware runs: as a boot loader would, :func:`prepare_bzimage` reads the
setup header (offset 0x1f1 of the file), loads the protected-mode kernel at
1 MiB, builds the zero page (``boot_params``: a copy of the setup header,
``type_of_loader``, ``cmd_line_ptr``, the initrd, the E820 map of the
board's RAM and ``acpi_rsdp_addr`` when the board has ACPI tables) and returns a :class:`~qemu_py.loader.x86boot.KernelBoot` whose
entry state is

* the 64-bit entry (load address + 0x200) when the kernel sets
  ``XLF_KERNEL_64`` (protocol 2.12 or later): long mode, paging on with the
  low 4 GiB identity-mapped by 2 MiB pages, ``__BOOT_CS`` 0x10 and
  ``__BOOT_DS`` 0x18 in the boot GDT, interrupts off, RSI = ``boot_params``;
* otherwise the 32-bit entry (the load address): protected mode, paging
  off, the same GDT, ESI = ``boot_params``, EBP/EDI/EBX = 0.

Layout below 640 KiB: boot GDT 0x7000, zero page 0x8000, page tables
0x9000 (PML4), 0xA000 (PDPT), 0xB000-0xEFFF (four page directories),
command line 0x20000. The initrd goes as high as both ``initrd_addr_max``
and the end of RAM below 4 GiB allow, page-aligned, above the kernel's
``init_size`` range.
"""

from __future__ import annotations

import struct

from .elf import LoaderError
from .files import read_image_file
from .x86boot import (GDT_ADDR, EntryState, KernelBoot, SegmentState, _memory_map,
                      _Image, place_acpi)

HDR_MAGIC = b"HdrS"
MIN_PROTOCOL = 0x0206            # cmdline_size and initrd_addr_max exist from 2.06
LOADED_HIGH = 0x01
XLF_KERNEL_64 = 0x01
TYPE_OF_LOADER_UNDEFINED = 0xFF

KERNEL_ADDR = 0x100000
ZERO_PAGE = 0x8000
PML4_ADDR, PDPT_ADDR, PD_ADDR = 0x9000, 0xA000, 0xB000
CMDLINE_ADDR = 0x20000
E820_MAX = 128

# setup header / boot_params offsets (Documentation/arch/x86/boot.rst, zero-page.rst)
OFF_ACPI_RSDP_ADDR = 0x070
OFF_ALT_MEM_K = 0x1E0
OFF_E820_ENTRIES = 0x1E8
OFF_SETUP_SECTS = 0x1F1
OFF_JUMP = 0x200
OFF_VERSION = 0x206
OFF_TYPE_OF_LOADER = 0x210
OFF_LOADFLAGS = 0x211
OFF_CODE32_START = 0x214
OFF_RAMDISK_IMAGE = 0x218
OFF_RAMDISK_SIZE = 0x21C
OFF_CMD_LINE_PTR = 0x228
OFF_INITRD_ADDR_MAX = 0x22C
OFF_XLOADFLAGS = 0x236
OFF_CMDLINE_SIZE = 0x238
OFF_INIT_SIZE = 0x260
OFF_E820_TABLE = 0x2D0

# boot GDT: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18), a TSS (0x20)
CODE64_DESC = 0x00AF9B000000FFFF
CODE32_DESC = 0x00CF9B000000FFFF
DATA_DESC = 0x00CF93000000FFFF
TSS_DESC = 0x00008B0000000067
CODE64_FLAGS = 0x00AF9B00
CODE32_FLAGS = 0x00CF9B00
DATA_FLAGS = 0x00CF9300
TSS_FLAGS = 0x00008B00

CR0_PE_ET_PG = 0x80000011
CR4_PAE = 0x20
EFER_LME_LMA = 0x500
PTE_P_RW = 0x3
PDE_PS = 0x80


class SetupHeader:
    """The fields of a bzImage's setup header this loader uses."""

    def __init__(self, data: bytes, path: str):
        if len(data) < 0x264:
            raise LoaderError(f"kernel '{path}': truncated Linux setup header "
                              f"({len(data)} bytes)")
        self.version = struct.unpack_from("<H", data, OFF_VERSION)[0]
        if self.version < MIN_PROTOCOL:
            raise LoaderError(f"kernel '{path}': Linux boot protocol "
                              f"{self.version >> 8}.{self.version & 0xFF:02d} is too old "
                              f"(2.06 or later is needed)")
        self.setup_sects = data[OFF_SETUP_SECTS] or 4
        self.loadflags = data[OFF_LOADFLAGS]
        if not self.loadflags & LOADED_HIGH:
            raise LoaderError(f"kernel '{path}': not a bzImage (a zImage loads below 1 MiB; "
                              "only bzImage kernels are supported)")
        self.header_end = OFF_JUMP + 2 + data[OFF_JUMP + 1]
        self.initrd_addr_max = struct.unpack_from("<I", data, OFF_INITRD_ADDR_MAX)[0]
        self.xloadflags = struct.unpack_from("<H", data, OFF_XLOADFLAGS)[0]
        self.cmdline_size = struct.unpack_from("<I", data, OFF_CMDLINE_SIZE)[0]
        self.init_size = struct.unpack_from("<I", data, OFF_INIT_SIZE)[0] \
            if self.version >= 0x020A else 0
        self.setup_size = (self.setup_sects + 1) * 512
        if self.setup_size >= len(data):
            raise LoaderError(f"kernel '{path}': setup_sects {self.setup_sects} "
                              f"leaves no protected-mode kernel in {len(data)} bytes")

    @property
    def entry64(self) -> bool:
        return self.version >= 0x020C and bool(self.xloadflags & XLF_KERNEL_64)


def is_bzimage(data: bytes) -> bool:
    return len(data) >= 0x206 and data[0x202:0x206] == HDR_MAGIC


def identity_page_tables() -> list[tuple[int, bytes]]:
    """PML4, PDPT and four page directories mapping 0-4 GiB 1:1 with 2 MiB pages."""
    pml4 = struct.pack("<Q", PDPT_ADDR | PTE_P_RW).ljust(4096, b"\0")
    pdpt = b"".join(struct.pack("<Q", (PD_ADDR + 4096 * i) | PTE_P_RW) for i in range(4))
    pds = b"".join(struct.pack("<Q", (i << 21) | PDE_PS | PTE_P_RW) for i in range(2048))
    return [(PML4_ADDR, pml4), (PDPT_ADDR, pdpt.ljust(4096, b"\0")), (PD_ADDR, pds)]


def prepare_bzimage(machine, cfg, data: bytes | None = None) -> KernelBoot:
    """Lay out the bzImage cfg.kernel with cfg.append and cfg.initrd for MACHINE.

    Raises :class:`LoaderError` with one line naming the file and the problem."""
    path = cfg.kernel
    if data is None:
        data = read_image_file(path, "kernel", machine.ram_size)
    if not is_bzimage(data):
        raise LoaderError(f"kernel '{path}': not a bzImage (no \"HdrS\" setup header)")
    hdr = SetupHeader(data, path)
    cmdline = (cfg.append or "").encode()
    if hdr.cmdline_size and len(cmdline) > hdr.cmdline_size:
        raise LoaderError(f"kernel '{path}': command line is {len(cmdline)} bytes, the "
                          f"kernel accepts at most {hdr.cmdline_size}")
    out = _Image(machine)
    below, mmap = _memory_map(machine)
    body = data[hdr.setup_size:]
    kernel_end = KERNEL_ADDR + max(len(body), hdr.init_size)
    if kernel_end > below:
        raise LoaderError(f"kernel '{path}': needs 0x{kernel_end - KERNEL_ADDR:x} bytes from "
                          f"1 MiB, RAM below 4 GiB ends at 0x{below:x}")
    out.write(KERNEL_ADDR, body)

    zp = bytearray(4096)
    zp[OFF_SETUP_SECTS:hdr.header_end] = data[OFF_SETUP_SECTS:hdr.header_end]
    zp[OFF_TYPE_OF_LOADER] = TYPE_OF_LOADER_UNDEFINED
    struct.pack_into("<I", zp, OFF_CODE32_START, KERNEL_ADDR)
    struct.pack_into("<I", zp, OFF_CMD_LINE_PTR, CMDLINE_ADDR)
    struct.pack_into("<I", zp, OFF_ALT_MEM_K, (below - KERNEL_ADDR) >> 10)
    if cfg.initrd is not None:
        initrd = read_image_file(cfg.initrd, "initrd", 1 << 32)   # placed below 4 GiB
        top = min(below, hdr.initrd_addr_max + 1)
        addr = (top - len(initrd)) & ~0xFFF
        if addr < kernel_end:
            raise LoaderError(f"initrd '{cfg.initrd}' is too large ({len(initrd)} bytes): "
                              f"at most {max(0, top - kernel_end)} bytes fit between the "
                              f"kernel and 0x{top:x}")
        out.write(addr, initrd)
        struct.pack_into("<II", zp, OFF_RAMDISK_IMAGE, addr, len(initrd))
    rsdp = place_acpi(out, machine)
    if rsdp:
        struct.pack_into("<Q", zp, OFF_ACPI_RSDP_ADDR, rsdp)
    mmap = mmap[:E820_MAX]
    zp[OFF_E820_ENTRIES] = len(mmap)
    for i, (a, s, t) in enumerate(mmap):
        struct.pack_into("<QQI", zp, OFF_E820_TABLE + 20 * i, a, s, t)
    out.write(ZERO_PAGE, bytes(zp))
    out.write(CMDLINE_ADDR, cmdline + b"\0")

    code = CODE64_DESC if hdr.entry64 else CODE32_DESC
    gdt = (0, 0, code, DATA_DESC, TSS_DESC)
    out.write(GDT_ADDR, b"".join(struct.pack("<Q", d) for d in gdt))
    common = dict(rax=0, rbx=0, rsi=ZERO_PAGE, gdt_base=GDT_ADDR, gdt_limit=8 * len(gdt) - 1,
                  data=SegmentState(0x18, 0, 0xFFFFFFFF, DATA_FLAGS),
                  tr=SegmentState(0x20, 0, 0x67, TSS_FLAGS))
    if hdr.entry64:
        for blob in identity_page_tables():
            out.write(*blob)
        entry = EntryState(rip=KERNEL_ADDR + 0x200, cr0=CR0_PE_ET_PG, cr3=PML4_ADDR,
                           cr4=CR4_PAE, efer=EFER_LME_LMA,
                           cs=SegmentState(0x10, 0, 0xFFFFFFFF, CODE64_FLAGS), **common)
    else:
        entry = EntryState(rip=KERNEL_ADDR, cs=SegmentState(0x10, 0, 0xFFFFFFFF, CODE32_FLAGS),
                           **common)
    return KernelBoot("linux", entry, out.blobs)
