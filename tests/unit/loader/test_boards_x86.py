"""The vCPU wired into the pc and microvm boards: the PIT's IRQ 0 through the
8259 (local APIC LINT0 in ExtINT mode) reaches a 32-bit guest's IDT."""

import os
import struct
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "target", "i386"))

from harness import asm  # noqa: E402

from qemu_py.cli import parse_args  # noqa: E402
from qemu_py.launch import Emulator  # noqa: E402

LOAD = 0x200000
GUEST = """
    mov esp, 0x90000
    call 1f
1:  pop ebx
    lea eax, [ebx + handler - 1b]
    mov word ptr [0x201100], ax
    mov word ptr [0x201102], 0x08
    mov word ptr [0x201104], 0x8E00
    shr eax, 16
    mov word ptr [0x201106], ax
    mov word ptr [0x201800], 0x7FF
    mov dword ptr [0x201802], 0x201000
    lidt [0x201800]
    mov al, 0x11
    out 0x20, al
    out 0xA0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xA1, al
    mov al, 1
    out 0x21, al
    out 0xA1, al
    mov al, 0xFE
    out 0x21, al
    mov al, 0xFF
    out 0xA1, al
    mov al, 0x34
    out 0x43, al
    mov al, 0xE8
    out 0x40, al
    mov al, 0x03
    out 0x40, al
    sti
2:  hlt
    cmp dword ptr [0x202000], 3
    jb 2b
    cli
    mov al, 0
    out 0xf4, al
    hlt
handler:
    inc dword ptr [0x202000]
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iret
"""


def image():
    magic, flags = 0x1BADB002, 0x10000
    hdr = struct.pack("<8I", magic, flags, (-(magic + flags)) & 0xFFFFFFFF,
                      LOAD, LOAD, 0, 0, LOAD + 32)
    return hdr + asm(GUEST, bits=32)


@pytest.mark.parametrize("machine", ["pc", "microvm"])
def test_pit_interrupts_reach_the_guest_through_the_8259(tmp_path, machine):
    k = tmp_path / "pit.bin"
    k.write_bytes(image())
    emu = Emulator(parse_args(["-M", machine, "-display", "none", "-icount", "shift=0",
                               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                               "-kernel", str(k)]))
    emu.build()
    assert emu.run() == 1
    mem = emu.vm.machine.system_as
    assert mem.read_value(0x202000, 4)[0] == 3
    # three PIT periods of 1000 counts at 1.193182 MHz: about 2.5 ms of virtual time
    assert 2_400_000 < emu.vm.clock.now() < 2_700_000


PAGING32 = """
    mov dword ptr [0x300000], 0x00000083
    mov dword ptr [0x300004], 0x00400083
    mov dword ptr [0x300008], 0x00000083
    mov eax, cr4
    or eax, 0x10
    mov cr4, eax
    mov eax, 0x300000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov dword ptr [0x802000 + 0x200000], 0x1234
    mov al, 0
    out 0xf4, al
    hlt
"""


def test_legacy_32bit_paging_with_4mib_pages(tmp_path):
    magic, flags = 0x1BADB002, 0x10000
    hdr = struct.pack("<8I", magic, flags, (-(magic + flags)) & 0xFFFFFFFF,
                      LOAD, LOAD, 0, 0, LOAD + 32)
    k = tmp_path / "pg.bin"
    k.write_bytes(hdr + asm(PAGING32, bits=32))
    emu = Emulator(parse_args(["-M", "microvm", "-display", "none", "-device",
                               "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", str(k)]))
    emu.build()
    assert emu.run() == 1
    mem = emu.vm.machine.system_as
    assert mem.read_value(0x202000, 4)[0] == 0x1234        # through the alias at 8 MiB
    assert mem.read_value(0x300008, 4)[0] & 0x60 == 0x60   # accessed and dirty
