"""-kernel loading: multiboot v1 (ELF, a.out kludge), PVH, errors, and the
default guest booting to its isa-debug-exit write."""

import os
import struct

import pytest
from elfgen import make_elf

from qemu_py.cli import parse_args
from qemu_py.launch import Emulator, StartupError
from qemu_py.loader.x86boot import MB_BOOT_MAGIC, PVH_INFO, PVH_MAGIC, XEN_ELFNOTE_PHYS32_ENTRY
from qemu_py.target.i386.state import CR0, HFLAGS, RIP

# 32-bit code: write EBX to 0x500 and EAX to 0x504, then "out 0xf4, al" with 0 and hlt
PROBE = bytes.fromhex("891d00050000" "a304050000" "b000" "e6f4" "f4")


def mb_header(flags, fields=()):
    magic = 0x1BADB002
    return struct.pack("<III", magic, flags, (-(magic + flags)) & 0xFFFFFFFF) + \
        b"".join(struct.pack("<I", f) for f in fields)


def boot(tmp_path, image: bytes, *extra, name="k.bin"):
    path = tmp_path / name
    path.write_bytes(image)
    cfg = parse_args(["-M", "microvm", "-display", "none", "-kernel", str(path), *extra])
    emu = Emulator(cfg)
    emu.build()
    return emu


def run_until_halt(emu, budget=10000):
    cpu = emu.tcg.cpu
    cpu.exec(budget)
    return cpu


def test_multiboot_elf_state_and_info(tmp_path):
    code = mb_header(0) + PROBE
    entry = 0x100000 + 12
    emu = boot(tmp_path, make_elf(code, 0x100000, entry), "-append", "console=ttyS0",
               name="mb.elf")
    cpu = emu.tcg.cpu
    assert cpu.env_q[CR0] & 1 and not cpu.env_q[CR0] & 0x80000000
    assert cpu.env_q[RIP] == entry and cpu.env_q[HFLAGS] & 0x10      # 32-bit code
    run_until_halt(emu)
    mem = emu.vm.machine.system_as
    mbi = mem.read_value(0x500, 4)[0]
    assert mem.read_value(0x504, 4)[0] == MB_BOOT_MAGIC
    flags, lower, upper = (mem.read_value(mbi + 4 * i, 4)[0] for i in range(3))
    assert flags & 0x245 == 0x245 and lower == 640 and upper == (128 << 10) - 1024
    cmdline = mem.read_value(mbi + 16, 4)[0]
    text = mem.read(cmdline, 512)[0].split(b"\0")[0]
    assert text.endswith(b"mb.elf console=ttyS0")


def test_multiboot_aout_kludge_binary_with_modules(tmp_path):
    load = 0x200000
    header = mb_header(0x10000, (load, load, 0, 0, load + 32))
    image = header.ljust(32, b"\x90") + PROBE
    mod = tmp_path / "mod.bin"
    mod.write_bytes(b"MODULE")
    emu = boot(tmp_path, image, "-initrd", f"{mod} arg1")
    run_until_halt(emu)
    mem = emu.vm.machine.system_as
    mbi = mem.read_value(0x500, 4)[0]
    count, addr = mem.read_value(mbi + 20, 4)[0], mem.read_value(mbi + 24, 4)[0]
    assert count == 1
    start, end, string = (mem.read_value(addr + 4 * i, 4)[0] for i in range(3))
    assert mem.read(start, end - start)[0] == b"MODULE"
    assert mem.read(string, 512)[0].split(b"\0")[0] == f"{mod} arg1".encode()


def test_pvh_entry_note(tmp_path):
    entry = 0x100000
    elf = make_elf(PROBE, 0x100000, 0x1234, elf64=True,
                   notes=[(b"Xen", XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<I", entry))])
    emu = boot(tmp_path, elf, "-append", "root=/dev/x")
    assert emu.tcg.cpu.env_q[RIP] == entry
    run_until_halt(emu)
    mem = emu.vm.machine.system_as
    info = mem.read_value(0x500, 4)[0]
    assert info == PVH_INFO
    magic, version = mem.read_value(info, 4)[0], mem.read_value(info + 4, 4)[0]
    assert (magic, version) == (PVH_MAGIC, 1)
    cmd = mem.read_value(info + 24, 8)[0]
    assert mem.read(cmd, 12)[0] == b"root=/dev/x\0"
    nmap = mem.read_value(info + 48, 4)[0]
    assert nmap >= 4


def test_nameerror_tmp3_pvh_entry_shr_then_rep_movsl(tmp_path):
    """The Debian 12 vmlinux's PVH entry copies the start info with
    ``mov esi, ebx; mov ecx, [size]; shr ecx, 2; rep movsl``: the translated
    block raised NameError (name 'tmp3' is not defined) instead of running."""
    code = bytes.fromhex("bf00200000" "89de" "8b0d00011000" "c1e902" "f3a5" "f4")
    code = code.ljust(0x100, b"\x90") + struct.pack("<I", 16)
    elf = make_elf(code, 0x100000, 0x100000, elf64=True,
                   notes=[(b"Xen", XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<I", 0x100000))])
    emu = boot(tmp_path, elf)
    run_until_halt(emu)
    mem = emu.vm.machine.system_as
    assert mem.read(0x2000, 16)[0] == mem.read(PVH_INFO, 16)[0]
    assert mem.read_value(0x2000, 4)[0] == PVH_MAGIC
    assert emu.tcg.cpu.gpr(1) == 0 and emu.tcg.cpu.gpr(6) == PVH_INFO + 16


def test_unknown_kernel_format_is_a_clear_error(tmp_path):
    with pytest.raises(StartupError, match=r"kernel '.*junk.bin': neither a multiboot v1 image "
                                           r"nor an ELF image with a PVH entry note"):
        boot(tmp_path, b"\x00" * 64, name="junk.bin")


def test_bzimage_header_is_checked_by_the_linux_loader(tmp_path):
    image = bytearray(0x400)
    image[0x202:0x206] = b"HdrS"
    with pytest.raises(StartupError, match="Linux boot protocol 0.00 is too old"):
        boot(tmp_path, bytes(image))


def test_missing_kernel_file(tmp_path):
    cfg = parse_args(["-M", "microvm", "-kernel", str(tmp_path / "nope")])
    with pytest.raises(StartupError, match="could not load kernel"):
        Emulator(cfg).build()


def test_default_guest_passes_its_checks_under_icount(tmp_path):
    from qemu_py.accel.tcg.default_guest import DEFAULT_ARGS, default_image
    assert os.path.exists(default_image())
    log = tmp_path / "serial.txt"
    argv = list(DEFAULT_ARGS)
    argv[argv.index("-serial") + 1] = f"file:{log}"
    emu = Emulator(parse_args(["-icount", "shift=0", *argv, "-kernel", default_image()]))
    emu.build()
    assert emu.run() == 1                      # isa-debug-exit value 0: every check passed
    text = log.read_text()
    assert text.startswith("qemu-py default guest: x86-64 long mode")
    assert "timer interrupt after 50048 TSC ticks" in text
    assert text.endswith("all checks passed\n")
