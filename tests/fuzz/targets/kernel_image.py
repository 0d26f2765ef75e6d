"""-kernel images: the input is written to a file and a machine is built
with it (``microvm`` or ``pc`` under TCG, by the first byte), which runs the
loaders (ELF, multiboot, PVH, Linux bzImage). A malformed image must end
in start-up's own error naming the problem, never another exception, and
never allocate more than the machine has."""

from __future__ import annotations

import os
import tempfile

from qemu_py.cli import parse_args
from qemu_py.launch import Emulator, StartupError

from ..harness import SLOW_SECONDS, Finding, within

BOARDS = (["-M", "microvm", "-m", "32M"], ["-M", "pc", "-m", "32M"])
_DIR = tempfile.mkdtemp(prefix="qemu-py-fuzz-kernel-")
IMAGE = os.path.join(_DIR, "kernel")


def one(data: bytes) -> None:
    if not data:
        return
    with open(IMAGE, "wb") as f:
        f.write(data[1:])
    argv = BOARDS[data[0] % len(BOARDS)] + ["-accel", "tcg", "-display", "none", "-nodefaults",
                                            "-S", "-kernel", IMAGE]
    emu = Emulator(parse_args(argv))
    with within(SLOW_SECONDS * 4, f"loading a {len(data) - 1}-byte kernel"):
        try:
            emu.build()
        except StartupError as e:
            if not str(e):
                raise Finding("empty start-up error for a kernel image") from None
        finally:
            for chr_ in getattr(emu, "chardevs", {}).values():
                chr_.close()
            loop = getattr(emu, "loop", None)
            if loop is not None:
                loop.close()


def _elf64(phdrs: list[tuple], entry: int = 0x100000, notes: bytes = b"") -> bytes:
    import struct
    ehdr = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 2, 62, 1, entry,
                       64, 0, 0, 64, 56, len(phdrs), 0, 0, 0)
    body = b"".join(struct.pack("<IIQQQQQQ", *p) for p in phdrs)
    return ehdr + body + notes + b"\xf4" * 64


def seeds() -> list[bytes]:
    import struct
    mb = struct.pack("<III", 0x1BADB002, 0x10003, (-(0x1BADB002 + 0x10003)) & 0xffffffff)
    mb_addr = struct.pack("<IIIII", 0x100000, 0x100000, 0x100100, 0x100200, 0x100020)
    bss_huge = struct.pack("<IIIII", 0x100000, 0x100000, 0x100100, 0xffffffff, 0x100020)
    setup = bytearray(0x600)
    setup[0x1f1] = 1
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, 0x020f)
    return [b"\x00" + mb + mb_addr + b"\xf4" * 512,
            b"\x01" + mb + bss_huge + b"\xf4" * 512,
            b"\x00" + _elf64([(1, 5, 0xb0, 0x100000, 0x100000, 0x40, 0x40, 0x1000)]),
            b"\x00" + _elf64([(1, 5, 0xb0, 0x100000, 0x100000, 0x40, 0x10, 0x1000)]),
            b"\x01" + _elf64([(1, 5, 0xb0, 0x100000, 0x100000, 0x40, 1 << 60, 0x1000)]),
            b"\x00" + bytes(setup) + b"\x90" * 256,
            b"\x00\x7fELF", b"\x01" + b"\0" * 4096]
