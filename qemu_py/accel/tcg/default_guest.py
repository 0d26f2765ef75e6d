"""``qemu-py`` without arguments: boot the bundled guest on microvm with TCG.

This module holds the facts (command line, image, status mapping); the
launcher that runs them is :func:`qemu_py.cli.run_default_guest`.

The guest (source and build recipe in ``images/default/`` of the source
tree, the built image shipped as package data in ``qemu_py.guests``) prints a banner and its results on COM1, takes a
local-APIC timer interrupt and ends by writing 0 to ``isa-debug-exit`` at
port 0xf4 (on failure it writes the number of the failed check).

With run-time options only (``qemu-py -icount shift=0``, ``qemu-py -accel
tcg,backend=interp``, ``qemu-py -accel kvm``, ``-d ...``) the same guest is
booted with them; an ``-accel`` given replaces the default ``-accel tcg``
(so ``-accel kvm`` without a usable /dev/kvm fails as QEMU does, and
``-accel kvm:tcg`` falls back).

Under KVM on a PVM host (see ``docs/kvm.md``) the guest's return from user
mode cannot work: SYSCALL from guest CPL3 stays at CPL3 there. The guest then
faults and exits with its own status; qemu-py adds an error line that names
the probed cause.

Exit status mapping: isa-debug-exit makes QEMU exit with ``(value << 1) | 1``,
so a guest can never produce 0 by itself. For this default run only, status
1 (the guest wrote 0: success) is reported as 0; every other status is
passed through unchanged, so 3 means check 1 failed, 5 check 2, and so on.
"""

from __future__ import annotations

import os
from importlib import resources

DEFAULT_ARGS = ["-M", "microvm", "-accel", "tcg", "-display", "none", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
GUEST_ACCELS = ("tcg", "kvm")
SYSCALL_CHECK = 6            # "sum of squares computed at CPL3": back through SYSCALL


def wants_default_guest(cfg, argv: list[str]) -> bool:
    """No arguments, or only run-time options (``-icount``, ``-d``, ``-D``,
    ``-accel tcg,...``, ``-no-reboot``...) without a machine, kernel, qtest or
    monitor: boot the bundled guest."""
    if cfg.target != "x86_64":
        return False
    if not argv:
        return True
    return (cfg.machine is None and cfg.kernel is None and cfg.qtest is None
            and not cfg.monitors and not cfg.devices and not cfg.serials
            and not cfg.chardevs and all(n in GUEST_ACCELS for n, _ in cfg.accels))


def default_image() -> str:
    env = os.environ.get("QEMU_PY_DEFAULT_GUEST")
    if env:
        return env
    # Installed packages live on the file system (wheels are unpacked), so the
    # resource is a real file whose path the loader can open.
    return str(resources.files("qemu_py.guests").joinpath("default.elf"))


def default_argv(accel_given: bool = False, nographic: bool = False) -> list[str]:
    """The machine and devices for the default guest; ``-accel tcg`` unless the
    caller chose an accelerator; with ``-nographic`` the serial port is
    ``mon:stdio`` (the monitor shares the terminal, as QEMU's -nographic)."""
    args = list(DEFAULT_ARGS)
    if nographic:
        args[args.index("-serial") + 1] = "mon:stdio"
    if accel_given:
        i = args.index("-accel")
        del args[i:i + 2]
    return args + ["-kernel", default_image()]


def kvm_failure_text(status: int, limitation: str) -> str:
    """Why the default guest failed under KVM on a host that cannot run SYSCALL
    from guest user mode (LIMITATION: the probe's finding)."""
    value = status >> 1
    what = f"unexpected exception {value - 0x40}" if value >= 0x40 else f"check {value} failed"
    return (f"the default guest failed under -accel kvm (exit status {status}: {what}): its "
            f"check {SYSCALL_CHECK} comes back from user mode through SYSCALL/SYSRET, but on "
            f"this host's KVM (PVM) {limitation} (probed); use -accel tcg, or a host with "
            "VMX or SVM")
