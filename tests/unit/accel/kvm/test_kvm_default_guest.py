"""`qemu-py -accel kvm` selects the default guest; the accelerator given replaces
the default `-accel tcg`; a failure on a PVM host names its probed cause."""

from __future__ import annotations

import pytest

from qemu_py.accel.tcg import default_guest as dg
from qemu_py.cli import parse_args, run_default_guest


@pytest.mark.parametrize("argv", [[], ["-accel", "kvm"], ["-accel", "kvm:tcg"], ["-enable-kvm"],
                                  ["-accel", "tcg,backend=interp"], ["-accel", "kvm", "-d", "int"]])
def test_runtime_options_select_the_default_guest(argv):
    assert dg.wants_default_guest(parse_args(argv, "x86_64"), argv)


@pytest.mark.parametrize("argv", [["-accel", "qtest"], ["-M", "pc", "-accel", "kvm"],
                                  ["-accel", "kvm", "-kernel", "x.elf"]])
def test_other_command_lines_do_not(argv):
    assert not dg.wants_default_guest(parse_args(argv, "x86_64"), argv)


def test_an_accelerator_given_replaces_the_default_tcg():
    assert dg.default_argv()[:4] == ["-M", "microvm", "-accel", "tcg"]
    argv = dg.default_argv(accel_given=True)
    assert "-accel" not in argv and argv[-2:] == ["-kernel", dg.default_image()]
    cfg = parse_args(["-accel", "kvm"] + argv, "x86_64")
    assert [n for n, _ in cfg.accels] == ["kvm"]


def test_missing_kvm_fails_like_qemu(monkeypatch, capsys):
    import qemu_py.accel.kvm.accel as acc
    monkeypatch.setattr(acc, "kvm_init_error", lambda device="/dev/kvm": "No such file or directory")
    assert run_default_guest(["-accel", "kvm"]) == 1
    assert capsys.readouterr().err == (
        "qemu-py: -accel kvm: failed to initialize kvm: No such file or directory\n"
        "qemu-py: no accelerator found\n")


def test_pvm_failure_text_names_the_status_and_the_probe():
    text = dg.kvm_failure_text(155, "SYSCALL from guest user mode stays at CPL3 (CS 0x33)")
    assert text == (
        "the default guest failed under -accel kvm (exit status 155: unexpected exception 13): "
        "its check 6 comes back from user mode through SYSCALL/SYSRET, but on this host's KVM "
        "(PVM) SYSCALL from guest user mode stays at CPL3 (CS 0x33) (probed); use -accel tcg, "
        "or a host with VMX or SVM")
    assert "(exit status 13: check 6 failed)" in dg.kvm_failure_text(13, "x")
