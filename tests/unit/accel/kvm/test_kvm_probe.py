"""The PVM transition probe (accel/kvm/probe.py): its guest image, how exits are
read, the texts, and the probe itself where /dev/kvm works."""

from __future__ import annotations

import struct

import pytest

from qemu_py.accel.kvm import abi, probe
from qemu_py.accel.kvm.host import detect

kvm = detect()


def test_image_gates_and_code():
    img = probe._image()
    off, sel, _ist, kind, mid, high, _ = struct.unpack_from("<HHBBHII", img,
                                                            probe.IDT + 16 * probe.INT_VECTOR)
    assert (off | mid << 16 | high << 32, sel, kind) == (probe.REPORT, probe.KCODE, 0xEE)
    off, sel, _ist, kind, mid, high, _ = struct.unpack_from("<HHBBHII", img, probe.IDT + 16 * 13)
    assert (off | mid << 16, kind) == (probe.STUBS + 16 * 13, 0x8E)
    assert img[probe.USER:probe.USER + 2] == b"\x0f\x05"                 # syscall
    assert img[probe.USER + 16:probe.USER + 18] == bytes([0xCD, probe.INT_VECTOR])
    tss_rsp0 = struct.unpack_from("<Q", img, probe.TSS + 4)[0]
    assert tss_rsp0 == probe.KERNEL_STACK


def test_how_an_exit_is_read():
    io = abi.KVM_EXIT_IO
    assert probe._describe("SYSCALL", io, 0x10, probe.PORT_REPORT).ok
    assert probe._describe("SYSCALL", io, 0x33, probe.PORT_REPORT) == probe.Transition(
        "SYSCALL", False, "stays at CPL3 (CS 0x33)")
    assert probe._describe("INT 0x80", io, 6, probe.PORT_FAULT).detail == "raises #UD"
    assert probe._describe("INT 0x80", abi.KVM_EXIT_SHUTDOWN, None, None).detail == \
        "ends with exit SHUTDOWN"
    found = [probe.Transition("SYSCALL", False, "stays at CPL3 (CS 0x33)"),
             probe.Transition("INT 0x80", True, "")]
    assert probe.limitations(found) == ["SYSCALL from guest user mode stays at CPL3 (CS 0x33)"]
    assert probe.limitations(None) == []


@pytest.mark.skipif(not (kvm.usable and kvm.x86_64), reason=f"no /dev/kvm ({kvm.reason})")
def test_probe_on_this_host():
    found = probe.user_to_kernel()
    assert [t.name for t in found] == ["SYSCALL", "INT 0x80"]
    if kvm.cpl0_native:
        assert all(t.ok for t in found), found
    elif kvm.kind == "pvm":
        # what the reference PVM host does (docs/kvm.md); a fixed PVM would pass
        for t in found:
            assert t.ok or t.detail in ("stays at CPL3 (CS 0x33)", "raises #UD"), t
