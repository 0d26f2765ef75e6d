"""The /dev/kvm layer: ABI layout, host kind, slot alignment, a real VM where /dev/kvm works."""

from __future__ import annotations

import ctypes
import mmap

import pytest
from hypothesis import given, strategies as st

from qemu_py.accel.kvm import abi
from qemu_py.accel.kvm.host import classify, detect
from qemu_py.accel.kvm.memory import KVMMemoryListener, align_section


def test_struct_layout_matches_linux_kvm_h():
    assert ctypes.sizeof(abi.kvm_regs) == 144
    assert ctypes.sizeof(abi.kvm_sregs) == 312
    assert abi.kvm_sregs.cr0.offset == 224 and abi.kvm_sregs.efer.offset == 264
    assert ctypes.sizeof(abi.kvm_fpu) == 416 and abi.kvm_fpu.mxcsr.offset == 408
    assert ctypes.sizeof(abi.kvm_run) == 2352
    assert abi.kvm_run.u.offset == 32 and abi.kvm_run.s.offset == 304
    assert ctypes.sizeof(abi.kvm_vcpu_events) == 64
    assert (abi.KVM_GET_SREGS, abi.KVM_SET_USER_MEMORY_REGION, abi.KVM_ENABLE_CAP,
            abi.KVM_GET_FPU, abi.KVM_GET_SUPPORTED_CPUID) == (
        0x8138AE83, 0x4020AE46, 0x4068AEA3, 0x81A0AE8C, 0xC008AE05)


def test_host_kind():
    assert classify({"kvm", "kvm_pvm"}, "flags : fpu sse") == "pvm"
    assert classify({"kvm", "kvm_intel"}, "flags : vmx") == "vmx"
    assert classify(set(), "flags : fpu svm") == "svm"
    assert classify(set(), "flags : fpu") == "none"


@given(st.integers(0, 1 << 40), st.integers(1, 1 << 24), st.integers(0, 1 << 20))
def test_align_section_keeps_whole_pages_inside(start, size, off):
    r = align_section(start, size, off, 4096)
    if r is None:
        assert (start + 4095) // 4096 * 4096 + 4096 > start + size
        return
    gpa, n, roff = r
    assert gpa % 4096 == 0 and n % 4096 == 0 and n > 0
    assert start <= gpa and gpa + n <= start + size and roff - off == gpa - start


class _FakeVM:
    def __init__(self):
        self.calls = []

    def check_extension(self, cap):
        return 1

    def set_user_memory_region(self, slot, gpa, size, hva, flags=0):
        self.calls.append((slot, gpa, size, flags))


def test_listener_maps_ram_and_rom_pages_only():
    from qemu_py.memory import AddressSpace, MemoryRegion, MemoryRegionOps
    root = MemoryRegion("system", 1 << 64)
    ram = MemoryRegion.ram("ram", 0x10000)
    root.add_subregion(0, ram)
    root.add_subregion(0x100000, MemoryRegion.rom("rom", 0x3000))
    root.add_subregion(0x200000, MemoryRegion.io("mmio", 0x1000, MemoryRegionOps()))
    root.add_subregion(0x300800, MemoryRegion.ram("odd", 0x1000))     # no whole page
    space = AddressSpace(root, "memory")
    vm = _FakeVM()
    lst = KVMMemoryListener(vm)
    space.add_listener(lst)
    assert [(g, n, f) for _, g, n, f in vm.calls] == [(0, 0x10000, 0), (0x100000, 0x3000, 2)]
    root.del_subregion(ram)
    assert vm.calls[-1][1:3] == (0, 0)


kvm = detect()
needs_kvm = pytest.mark.skipif(not kvm.usable, reason=f"no /dev/kvm ({kvm.reason})")


@needs_kvm
def test_real_mode_out_and_hlt_exits_and_register_dicts():
    from qemu_py.accel.kvm.kvm import KVM
    k = KVM()
    vm = k.create_vm()
    ram = mmap.mmap(-1, 0x10000)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(ram))
    vm.set_user_memory_region(0, 0, 0x10000, addr)
    ram[0x1000:0x1005] = bytes([0xB0, 0x42, 0xE6, 0x10, 0xF4])   # mov al,42h; out 10h,al; hlt
    cpu = vm.create_vcpu(0)
    cpu.set_sregs({"cs": {"base": 0, "selector": 0}})
    cpu.set_regs({"rip": 0x1000, "rflags": 2})
    assert cpu.run() == abi.KVM_EXIT_IO
    io = cpu.run_struct.u.io
    assert (io.direction, io.port, io.size) == (1, 0x10, 1)
    assert bytes(cpu.io_data(1)) == b"\x42"
    assert cpu.run() == abi.KVM_EXIT_HLT
    regs = cpu.get_regs()
    assert regs["rax"] & 0xFF == 0x42 and regs["rip"] == 0x1005
    assert cpu.get_sregs()["cs"]["selector"] == 0
    vm.close()
    k.close()
    del addr
