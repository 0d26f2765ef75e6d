"""-kernel and interrupts under -accel kvm: the shared loader's entry state on
both accelerators, and a small multiboot guest (irq_guest.S) that takes a local
APIC timer interrupt and an 8259 interrupt through LINT0 under KVM and TCG.

The tests that need /dev/kvm skip with the reason it is not usable."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess

import pytest

from qemu_py.accel.kvm.accel import boot_regs, boot_sregs
from qemu_py.accel.kvm.host import detect
from qemu_py.cli import parse_args
from qemu_py.launch import Emulator, StartupError
from qemu_py.loader.x86boot import MB_BOOT_MAGIC, MB_INFO

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST = os.path.join(HERE, "irq_guest.bin")
RESULTS = 0x100800
EXIT_STATUS = (0x10 << 1) | 1            # the guest writes 0x10 to isa-debug-exit
kvm = detect()
needs_kvm = pytest.mark.skipif(not kvm.usable, reason=f"no /dev/kvm ({kvm.reason})")
needs_x86_kvm = pytest.mark.skipif(not (kvm.usable and kvm.x86_64),
                                   reason=f"no x86-64 /dev/kvm ({kvm.reason or kvm.machine})")


def emulator(machine: str, accel: str, kernel: str = GUEST, *extra) -> Emulator:
    emu = Emulator(parse_args(["-M", machine, "-accel", accel, "-display", "none",
                               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                               "-kernel", kernel, *extra]))
    emu.build()
    return emu


def run_guest(emu: Emulator, limit_s: float = 30.0) -> int:
    """Run to the guest's isa-debug-exit; a watchdog on the virtual clock ends a
    guest that never gets there with status 99."""
    clock = emu.vm.clock
    watchdog = clock.new_timer(lambda: emu.vm.request_shutdown("host-signal", exit_code=99))
    watchdog.mod(clock.now() + int(limit_s * 1e9))
    return emu.run()


def results(emu: Emulator) -> dict:
    raw = emu.vm.machine.system_as.read(RESULTS, 0x20)[0]
    apic_ticks, pic_ticks, _, _, magic, version, lint0, isr = struct.unpack("<8I", raw)
    return {"apic_ticks": apic_ticks, "pic_ticks": pic_ticks, "magic": magic,
            "version": version, "lint0": lint0, "isr": isr}


EXPECTED = {"apic_ticks": 1, "pic_ticks": 1, "magic": MB_BOOT_MAGIC, "version": 0x50014,
            "lint0": 0x700, "isr": 0}


def test_kvm_entry_state_is_the_tcg_entry_state(tmp_path):
    """One KernelBoot, two ways into a vCPU: the sregs KVM is given describe the
    segment cache TCG loads."""
    from qemu_py.target.i386.state import CR0, EFLAGS, GDT_BASE, GDT_LIMIT, RIP, seg_slot
    emu = emulator("microvm", "tcg")
    boot = emu.vm.machine.kernel_boot
    env = emu.tcg.cpu.env_q
    sregs, regs = boot_sregs(boot.entry, 0xFEE00900), boot_regs(boot.entry)
    assert boot.protocol == "multiboot"
    assert (regs["rip"], regs["rax"], regs["rbx"], regs["rflags"]) == (
        env[RIP], MB_BOOT_MAGIC, MB_INFO, env[EFLAGS])
    assert (sregs["cr0"], sregs["gdt"]["base"], sregs["gdt"]["limit"]) == (
        env[CR0], env[GDT_BASE], env[GDT_LIMIT])
    for i, name in enumerate(("es", "cs", "ss", "ds", "fs", "gs")):
        s = sregs[name]
        flags = (s["type"] << 8) | (s["s"] << 12) | (s["dpl"] << 13) | (s["present"] << 15) | \
            (s["avl"] << 20) | (s["l"] << 21) | (s["db"] << 22) | (s["g"] << 23)
        selector, base, limit, tcg_flags = (env[seg_slot(i, k)] for k in range(4))
        # TCG keeps the whole descriptor word; the attribute bits are 8-15 and 20-23
        assert (s["selector"], s["base"], s["limit"], flags) == (
            selector, base, limit, tcg_flags & 0x00F0FF00), name
    assert sregs["cs"]["db"] == 1 and sregs["cs"]["l"] == 0 and sregs["apic_base"] == 0xFEE00900


@pytest.mark.parametrize("machine", ["microvm", "pc"])
def test_irq_guest_under_tcg(machine):
    emu = emulator(machine, "tcg")
    assert run_guest(emu) == EXIT_STATUS
    assert results(emu) == EXPECTED


@needs_x86_kvm
@pytest.mark.parametrize("machine", ["microvm", "pc"])
def test_irq_guest_under_kvm_takes_apic_timer_and_8259_interrupts(machine):
    emu = emulator(machine, "kvm")
    try:
        assert run_guest(emu) == EXIT_STATUS
        assert results(emu) == EXPECTED
        assert emu.kvm.exits.get("MMIO", 0) >= 8             # the APIC page is MMIO exits
        assert emu.kvm.apic.mapped_at == 0xFEE00000
    finally:
        emu.kvm.close()


@needs_x86_kvm
def test_kvm_vcpu_starts_in_the_multiboot_entry_state():
    emu = Emulator(parse_args(["-M", "microvm", "-accel", "kvm", "-display", "none",
                               "-kernel", GUEST, "-S"]))
    emu.build()
    try:
        regs, sregs = emu.kvm.cpu.get_regs(), emu.kvm.cpu.get_sregs()
        assert (regs["rip"], regs["rax"], regs["rbx"]) == (0x100020, MB_BOOT_MAGIC, MB_INFO)
        assert sregs["cs"]["selector"] == 0x08 and sregs["cs"]["db"] == 1
        assert sregs["cr0"] & 0x80000001 == 1
        assert emu.vm.machine.system_as.read(0x100000, 4)[0] == struct.pack("<I", 0x1BADB002)
    finally:
        emu.kvm.close()


@needs_x86_kvm
def test_icount_is_refused_with_kvm():
    with pytest.raises(StartupError, match="^-icount is not allowed with hardware "
                                           "virtualization$"):
        emulator("microvm", "kvm", GUEST, "-icount", "shift=0")


@pytest.mark.skipif(shutil.which("as") is None or shutil.which("ld") is None,
                    reason="no GNU as/ld to rebuild irq_guest.bin")
def test_irq_guest_bin_is_built_from_its_source(tmp_path):
    obj, out = tmp_path / "g.o", tmp_path / "g.bin"
    subprocess.run(["as", "--64", "-o", str(obj), os.path.join(HERE, "irq_guest.S")], check=True)
    subprocess.run(["ld", "-m", "elf_x86_64", "-Ttext=0x100000", "--oformat", "binary",
                    "-o", str(out), str(obj)], check=True)
    with open(GUEST, "rb") as f:
        assert out.read_bytes() == f.read()
