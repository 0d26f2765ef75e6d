"""-kernel bzImage: the Linux/x86 boot protocol done directly (zero page,
command line, initrd placement, 64-bit and 32-bit entries) and its errors."""

import struct

import pytest

from qemu_py.cli import parse_args
from qemu_py.launch import Emulator, StartupError
from qemu_py.loader.bzimage import CMDLINE_ADDR, KERNEL_ADDR, ZERO_PAGE
from qemu_py.target.i386.state import CR0, EFER, HF_CS64_MASK, HF_LMA_MASK, HFLAGS, RIP

# 64-bit: mov [0x500], rsi; mov eax, [rsi+0x228] (cmd_line_ptr); mov [0x508], eax; hlt
PROBE64 = bytes.fromhex("48893425" "00050000" "8b8628020000" "890425" "08050000" "f4")
# 32-bit: mov [0x500], esi; hlt
PROBE32 = bytes.fromhex("893500050000" "f4")


def make_bzimage(version=0x020F, loadflags=0x01, xloadflags=0x01, cmdline_size=2047,
                 initrd_addr_max=0x37FFFFFF, init_size=0x10000, entry64=PROBE64,
                 entry32=PROBE32) -> bytes:
    setup = bytearray(2 * 512)                 # setup_sects = 1
    setup[0x1F1] = 1
    setup[0x200:0x202] = b"\xeb\x66"           # jump over a header ending at 0x268
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, version)
    setup[0x211] = loadflags
    struct.pack_into("<I", setup, 0x22C, initrd_addr_max)
    struct.pack_into("<I", setup, 0x230, 0x200000)          # kernel_alignment
    struct.pack_into("<H", setup, 0x236, xloadflags)
    struct.pack_into("<I", setup, 0x238, cmdline_size)
    struct.pack_into("<I", setup, 0x260, init_size)
    body = bytearray(0x400)
    body[0:len(entry32)] = entry32
    body[0x200:0x200 + len(entry64)] = entry64
    return bytes(setup + body)


def boot(tmp_path, image: bytes, *extra, machine="microvm"):
    path = tmp_path / "bzImage"
    path.write_bytes(image)
    cfg = parse_args(["-M", machine, "-m", "128M", "-display", "none", "-kernel", str(path),
                      *extra])
    emu = Emulator(cfg)
    emu.build()
    return emu


@pytest.mark.parametrize("machine", ["microvm", "pc"])
def test_bzimage_64bit_entry_gets_the_zero_page_in_rsi(tmp_path, machine):
    emu = boot(tmp_path, make_bzimage(), "-append", "console=ttyS0", machine=machine)
    cpu = emu.tcg.cpu
    assert cpu.env_q[RIP] == KERNEL_ADDR + 0x200
    assert cpu.env_q[HFLAGS] & HF_CS64_MASK and cpu.env_q[HFLAGS] & HF_LMA_MASK
    assert cpu.env_q[CR0] & 0x80000001 == 0x80000001 and cpu.env_q[EFER] & 0x500 == 0x500
    cpu.exec(1000)
    mem = emu.vm.machine.system_as
    assert mem.read_value(0x500, 8)[0] == ZERO_PAGE
    assert mem.read_value(0x508, 4)[0] == CMDLINE_ADDR
    assert mem.read(CMDLINE_ADDR, 14)[0] == b"console=ttyS0\0"


def test_bzimage_zero_page_header_loader_and_e820(tmp_path):
    emu = boot(tmp_path, make_bzimage())
    mem = emu.vm.machine.system_as
    zp = mem.read(ZERO_PAGE, 4096)[0]
    assert zp[0x202:0x206] == b"HdrS"
    assert struct.unpack_from("<H", zp, 0x206)[0] == 0x020F
    assert zp[0x210] == 0xFF                                     # type_of_loader
    assert struct.unpack_from("<I", zp, 0x214)[0] == KERNEL_ADDR  # code32_start
    n = zp[0x1E8]
    e820 = [struct.unpack_from("<QQI", zp, 0x2D0 + 20 * i) for i in range(n)]
    below = emu.vm.machine.below_4g
    assert (0x100000, below - 0x100000, 1) in e820
    assert e820[0] == (0, 0x9FC00, 1)
    assert struct.unpack_from("<II", zp, 0x218) == (0, 0)        # no initrd


def test_bzimage_initrd_is_placed_high_below_ram_end_and_initrd_addr_max(tmp_path):
    (tmp_path / "initrd").write_bytes(b"INITRD" * 1000)
    emu = boot(tmp_path, make_bzimage(initrd_addr_max=0x3FFFFFF), "-initrd",
               str(tmp_path / "initrd"))
    mem = emu.vm.machine.system_as
    addr, size = struct.unpack("<II", mem.read(ZERO_PAGE + 0x218, 8)[0])
    assert size == 6000 and addr % 4096 == 0
    assert addr + size <= 0x4000000 and addr >= 0x4000000 - 2 * 4096
    assert mem.read(addr, 6)[0] == b"INITRD"
    emu = boot(tmp_path, make_bzimage(), "-initrd", str(tmp_path / "initrd"))
    addr = struct.unpack("<I", emu.vm.machine.system_as.read(ZERO_PAGE + 0x218, 4)[0])[0]
    assert addr + size <= emu.vm.machine.below_4g and addr >= emu.vm.machine.below_4g - 8192


def test_bzimage_32bit_entry_without_xlf_kernel_64(tmp_path):
    emu = boot(tmp_path, make_bzimage(xloadflags=0))
    cpu = emu.tcg.cpu
    assert cpu.env_q[RIP] == KERNEL_ADDR
    assert not cpu.env_q[HFLAGS] & HF_LMA_MASK
    cpu.exec(1000)
    assert emu.vm.machine.system_as.read_value(0x500, 4)[0] == ZERO_PAGE


def test_bzimage_protocol_too_old(tmp_path):
    with pytest.raises(StartupError, match=r"kernel '.*bzImage': Linux boot protocol 2.01 is "
                                           r"too old \(2.06 or later is needed\)"):
        boot(tmp_path, make_bzimage(version=0x0201))


def test_bzimage_zimage_is_not_a_bzimage(tmp_path):
    with pytest.raises(StartupError, match=r"kernel '.*bzImage': not a bzImage"):
        boot(tmp_path, make_bzimage(loadflags=0))


def test_bzimage_cmdline_too_long(tmp_path):
    with pytest.raises(StartupError, match=r"command line is 20 bytes, the kernel accepts "
                                           r"at most 10"):
        boot(tmp_path, make_bzimage(cmdline_size=10), "-append", "x" * 20)


def test_bzimage_initrd_too_large(tmp_path):
    (tmp_path / "initrd").write_bytes(bytes(200 << 20))
    with pytest.raises(StartupError, match=r"initrd '.*initrd' is too large \(209715200 "
                                           r"bytes\)"):
        boot(tmp_path, make_bzimage(), "-initrd", str(tmp_path / "initrd"))


def test_bzimage_truncated_header(tmp_path):
    with pytest.raises(StartupError, match="truncated Linux setup header"):
        boot(tmp_path, make_bzimage()[:0x240])
