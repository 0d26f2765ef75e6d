"""The accelerator-neutral direct kernel boot (loader/x86boot.py): the board
prepares ``machine.kernel_boot`` once, every reset writes it to RAM, and the
accelerator enters its entry state (TCG here; KVM in tests/unit/accel/kvm)."""

import struct

import pytest
from elfgen import make_elf

from qemu_py.cli import parse_args
from qemu_py.launch import Emulator, StartupError
from qemu_py.loader.x86boot import (BOOT_GDT, GDT_ADDR, MB_BOOT_MAGIC, MB_INFO, EntryState,
                                    KernelBoot, SegmentState)
from qemu_py.target.i386.state import RIP

PROBE = bytes.fromhex("891d00050000" "a304050000" "b000" "e6f4" "f4")


def mb_header(flags, fields=()):
    magic = 0x1BADB002
    return struct.pack("<III", magic, flags, (-(magic + flags)) & 0xFFFFFFFF) + \
        b"".join(struct.pack("<I", f) for f in fields)


def build(tmp_path, image: bytes, accel="tcg", *extra):
    path = tmp_path / "k.elf"
    path.write_bytes(image)
    emu = Emulator(parse_args(["-M", "microvm", "-accel", accel, "-display", "none",
                               "-kernel", str(path), *extra]))
    emu.build()
    return emu


def test_the_board_prepares_the_boot_whatever_the_accelerator(tmp_path):
    entry = 0x100000 + 12
    emu = build(tmp_path, make_elf(mb_header(0) + PROBE, 0x100000, entry), "qtest")
    boot = emu.vm.machine.kernel_boot
    assert isinstance(boot, KernelBoot) and boot.protocol == "multiboot"
    assert boot.entry == EntryState(rip=entry, rax=MB_BOOT_MAGIC, rbx=MB_INFO)
    assert boot.entry.cs == SegmentState(0x08, 0, 0xFFFFFFFF, 0x00CF9B00)
    assert boot.blobs[0][0] == 0x100000 and boot.blobs[0][1].endswith(PROBE)
    assert boot.blobs[-1] == (GDT_ADDR, b"".join(struct.pack("<Q", d) for d in BOOT_GDT))
    # nothing is written before a CPU accelerator resets the machine
    assert emu.vm.machine.system_as.read(0x100000, 4)[0] == bytes(4)
    boot.load(emu.vm.machine.system_as)
    assert emu.vm.machine.system_as.read(0x100000, 4)[0] == struct.pack("<I", 0x1BADB002)


def test_segment_state_as_kvm_segment_fields():
    fields = SegmentState(0x08, 0, 0xFFFFFFFF, 0x00CF9B00).kvm_fields()
    assert fields == {"selector": 8, "base": 0, "limit": 0xFFFFFFFF, "type": 0xB, "s": 1,
                      "dpl": 0, "present": 1, "avl": 0, "l": 0, "db": 1, "g": 1,
                      "unusable": 0}
    tr = SegmentState(0x18, 0, 0x67, 0x8B00).kvm_fields()
    assert (tr["type"], tr["s"], tr["present"], tr["g"]) == (0xB, 0, 1, 0)


def test_every_reset_writes_the_image_again_and_reenters(tmp_path):
    entry = 0x100000 + 12
    emu = build(tmp_path, make_elf(mb_header(0) + PROBE, 0x100000, entry))
    mem, cpu = emu.vm.machine.system_as, emu.tcg.cpu
    cpu.exec(10000)
    assert mem.read_value(0x504, 4)[0] == MB_BOOT_MAGIC
    mem.write(0x100000 + 12, b"\xcc" * len(PROBE))            # the guest scribbled on itself
    emu.vm.system_reset()
    assert mem.read(0x100000 + 12, len(PROBE))[0] == PROBE
    assert cpu.env_q[RIP] == entry
    assert cpu.apic.lvt[3] == 0x700 and cpu.apic.lvt[4] == 0x400


def test_a_kernel_that_does_not_fit_is_refused_when_the_board_is_built(tmp_path):
    image = make_elf(mb_header(0) + PROBE, 0x10000000, 0x10000000)
    with pytest.raises(StartupError, match=r"^kernel: segment at 0x10000000 \(0x\w+ bytes\) "
                                           r"does not fit in RAM \(0x8000000 bytes below 4 GiB\)$"):
        build(tmp_path, image, "qtest")


def test_a_bzimage_stays_a_fw_cfg_item_under_qtest(tmp_path):
    image = bytearray(0x2000)
    image[0x1f1] = 1
    image[0x202:0x206] = b"HdrS"
    emu = build(tmp_path, bytes(image), "qtest")
    assert emu.vm.machine.kernel_boot is None
