"""``qemu-py`` without arguments: boot the bundled guest on microvm with TCG.

The guest (source and build recipe in ``images/default/``, the built image
committed next to them) prints a banner and its results on COM1, takes a
local-APIC timer interrupt and ends by writing 0 to ``isa-debug-exit`` at
port 0xf4 (on failure it writes the number of the failed check).

With run-time options only (``qemu-py -icount shift=0``, ``qemu-py -accel
tcg,backend=interp``, ``-d ...``) the same guest is booted with them.

Exit status mapping: isa-debug-exit makes QEMU exit with ``(value << 1) | 1``,
so a guest can never produce 0 by itself. For this default run only, status
1 (the guest wrote 0: success) is reported as 0; every other status is
passed through unchanged, so 3 means check 1 failed, 5 check 2, and so on.
"""

from __future__ import annotations

import os

DEFAULT_ARGS = ["-M", "microvm", "-accel", "tcg", "-display", "none", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


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
            and not cfg.chardevs and all(n == "tcg" for n, _ in cfg.accels))


def default_image() -> str:
    env = os.environ.get("QEMU_PY_DEFAULT_GUEST")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    return os.path.join(root, "images", "default", "default.elf")


def default_argv() -> list[str]:
    return DEFAULT_ARGS + ["-kernel", default_image()]


def run_default_guest(extra: list[str] | None = None) -> int:
    from qemu_py.cli import UsageError, parse_args
    from qemu_py.launch import Emulator, StartupError, _err
    argv = list(extra or []) + default_argv()
    try:
        cfg = parse_args(argv, "x86_64")
    except UsageError as e:
        return _err(str(e))
    emu = Emulator(cfg)
    try:
        emu.build()
    except StartupError as e:
        return _err(str(e))
    status = emu.run()
    return 0 if status == 1 else status
