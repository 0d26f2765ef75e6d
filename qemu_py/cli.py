"""The ``qemu-py`` commands: parse the command line, then answer ``-version`` /
``-help``, boot the bundled default guest, or build and run the machine.

This is the top of the tree: it sits above the launcher (:mod:`qemu_py.launch`)
and the accelerators; parsing itself is :mod:`qemu_py.cmdline`.
"""

from __future__ import annotations

import os
import sys

from .accel.tcg import default_guest as dg
from .cmdline import OPTIONS, TARGETS, UsageError, parse_args
from .launch import Emulator, StartupError, answer_info, run
from .system.error import error_report, reset_prog, set_prog_from_argv0

__all__ = ["OPTIONS", "TARGETS", "UsageError", "main", "parse_args", "run_default_guest"]


def main(argv: list[str] | None = None, target: str | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
        set_prog_from_argv0(sys.argv[0])
    else:
        reset_prog()
    if target is None:
        target = os.environ.get("QEMU_PY_TARGET", "x86_64")
        if target not in TARGETS:
            return error_report(f"QEMU_PY_TARGET={target}: unknown target "
                                f"(known: {', '.join(TARGETS)})")
    try:
        cfg = parse_args(argv, target)
    except UsageError as e:
        return error_report(str(e))
    status = answer_info(cfg)
    if status is not None:
        return status
    if dg.wants_default_guest(cfg, argv):
        return run_default_guest(argv)
    return run(cfg)


def main_x86_64() -> int:
    return main(target="x86_64")


def main_aarch64() -> int:
    return main(target="aarch64")


def main_ppc64() -> int:
    return main(target="ppc64")


def run_default_guest(extra: list[str] | None = None) -> int:
    extra = list(extra or [])
    try:
        given = parse_args(extra, "x86_64")
        cfg = parse_args(extra + dg.default_argv(bool(given.accels), given.nographic), "x86_64")
    except UsageError as e:
        return error_report(str(e))
    emu = Emulator(cfg)
    try:
        emu.build()
    except StartupError as e:
        return error_report(str(e))
    status = emu.run()
    kvm = getattr(emu, "kvm", None)
    if kvm is not None and kvm.error is not None:
        return 1                              # the vCPU failed (reported on stderr)
    if status == 1:
        return 0
    syscall = [t for t in (kvm.limitations if kvm is not None else []) if t.startswith("SYSCALL")]
    if syscall:
        error_report(dg.kvm_failure_text(status, syscall[0]))
    return status
