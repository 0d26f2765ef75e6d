"""Command lines: NUL-separated arguments go through the parser, and the
ones that parse are built into a machine (not started), which is then torn
down. A bad command line must end in the parser's or start-up's own error
(the message a user sees), never another exception.

Command lines that would touch host files or sockets (chardevs other than
``null``, monitors, qtest, -D, -trace, -kernel, -initrd, -object) are parsed
but not built: a fuzzer must not create or truncate files on the host."""

from __future__ import annotations

from qemu_py.cli import UsageError, parse_args
from qemu_py.launch import Emulator, StartupError

from ..harness import SLOW_SECONDS, Finding, within

SAFE_CHARDEV_SPECS = {"null", "none"}


def _safe_to_build(cfg) -> bool:
    return (cfg.help is None and not cfg.version and not cfg.chardevs and not cfg.monitors
            and cfg.qtest is None and cfg.log_file is None and not cfg.trace
            and cfg.kernel is None and cfg.initrd is None and not cfg.objects
            and not cfg.nographic and cfg.qtest_log in (None, "none")
            and all(s in SAFE_CHARDEV_SPECS for s in cfg.serials)
            and not cfg.exit_with_parent)


def one(data: bytes) -> None:
    argv = [a.decode("latin-1") for a in data.split(b"\0")][:24]
    if argv == [""]:
        return
    with within(SLOW_SECONDS * 4, f"command line {argv!r}"):
        try:
            cfg = parse_args(argv)
        except UsageError as e:
            if not str(e):
                raise Finding(f"empty error message for {argv!r}") from None
            return
        if not _safe_to_build(cfg):
            return
        if cfg.machine is None:
            return                      # the default guest: booted, not built (see tests)
        emu = Emulator(cfg)
        try:
            emu.build()
        except StartupError as e:
            if not str(e):
                raise Finding(f"empty start-up error for {argv!r}") from None
        finally:
            for chr_ in getattr(emu, "chardevs", {}).values():
                chr_.close()
            loop = getattr(emu, "loop", None)
            if loop is not None:
                loop.close()


def seeds() -> list[bytes]:
    lines = [["-M", "none", "-m", "16M"], ["-M", "pc", "-m", "100T"], ["-m", "8E"],
             ["-M", "pc,usb=maybe"], ["-smp", "abc"], ["-icount", "shift=abc"],
             ["-M", "microvm", "-accel", "qtest", "-device", "isa-debug-exit"],
             ["-M", "pc", "-accel", "qtest", "-device", "nosuchdev"],
             ["-M", "pseries,htab-shift=46", "-accel", "qtest"], ["-m", "16M,foo=1"],
             ["-M", "help"], ["-cpu", "help"], ["-d", "help"], ["-chardev", "null,id="],
             ["-M", "virt", "-accel", "qtest", "-nodefaults", "-device", "edu"]]
    return [b"\0".join(a.encode() for a in line) for line in lines]
