"""-accel kvm on the x86 machines, and its error texts."""

from __future__ import annotations

import pytest

from qemu_py.accel.kvm.host import detect
from qemu_py.cli import parse_args
from qemu_py.launch import Emulator, StartupError, choose_accel

kvm = detect()


def test_missing_kvm_prints_qemus_message_and_falls_back(monkeypatch, capsys):
    import qemu_py.accel.kvm.accel as acc
    monkeypatch.setattr(acc, "kvm_init_error", lambda device="/dev/kvm": "No such file or directory")
    assert choose_accel(parse_args(["-accel", "kvm:tcg"])) == "tcg"
    err = capsys.readouterr().err
    assert err == ("qemu-py: -accel kvm: failed to initialize kvm: No such file or directory\n"
                   "qemu-py: falling back to tcg\n")
    with pytest.raises(StartupError, match="no accelerator found"):
        choose_accel(parse_args(["-accel", "kvm"]))


def test_kvm_init_error_names_the_errno():
    from qemu_py.accel.kvm.accel import kvm_init_error
    assert kvm_init_error("/nonexistent/kvm") == "No such file or directory"


@pytest.mark.skipif(not kvm.usable, reason=f"no /dev/kvm ({kvm.reason})")
@pytest.mark.parametrize("machine", ["pc", "microvm"])
def test_reset_stub_runs_to_hlt_under_kvm(machine):
    emu = Emulator(parse_args(["-M", machine, "-accel", "kvm", "-nodefaults", "-display",
                               "none"]))
    emu.build()
    try:
        for _ in range(50):
            emu.loop.iterate(0.01)
            if emu.kvm.halted:
                break
        assert emu.kvm.halted and emu.kvm.exits.get("HLT") == 1
        regs = emu.kvm.cpu.get_regs()
        assert regs["rip"] == 0xFFF2                     # after "cli; hlt" at 0xfffffff0
        assert "RIP=000000000000fff2" in emu.kvm.cpu.dump_state()
        assert emu.vm.machine.cpus[0] is emu.kvm.cpu
    finally:
        emu.kvm.close()
