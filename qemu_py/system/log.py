"""``-d ITEMS`` / ``-D FILE`` logging, QEMU's ``qemu_log_mask``.

The log is process-wide like QEMU's: device models call
``log_mask("guest_errors", text)`` or ``log_mask("unimp", text)`` and the
line is written only when that item was selected with ``-d``.
"""

from __future__ import annotations

import logging
import sys

LOG_ITEMS = {                # QEMU 7.2's qemu_log_items, in its order
    "out_asm": "show generated host assembly code for each compiled TB",
    "in_asm": "show target assembly code for each compiled TB",
    "op": "show micro ops for each compiled TB",
    "op_opt": "show micro ops after optimization",
    "op_ind": "show micro ops before indirect lowering",
    "int": "show interrupts/exceptions in short format",
    "exec": "show trace before each executed TB (lots of logs)",
    "cpu": "show CPU registers before entering a TB (lots of logs)",
    "fpu": "include FPU registers in the 'cpu' logging",
    "mmu": "log MMU-related activities",
    "pcall": "x86 only: show protected mode far calls/returns/exceptions",
    "cpu_reset": "show CPU state before CPU resets",
    "unimp": "log unimplemented functionality",
    "guest_errors": "log when the guest OS does something invalid (eg accessing a\nnon-existent register)",
    "page": "dump pages at beginning of user mode emulation",
    "nochain": "do not chain compiled TBs so that \"exec\" and \"cpu\" show\ncomplete traces",
    "plugin": "output from TCG plugins\n",
    "strace": "log every user-mode syscall, its input, and its result",
    "tid": "open a separate log file per thread; filename must contain '%d'",
}


class Log:
    def __init__(self):
        self.items: set[str] = set()
        self.fp = sys.stderr
        self.path: str | None = None

    def configure(self, items, path: str | None):
        self.items = {i for i in items if not i.startswith("trace:")}
        if path is not None:
            self.path = path
            self.fp = open(path, "w", buffering=1)
        # packages below this layer (the memory API) report through logging
        bridge = logging.getLogger("qemu_py.memory.guest_errors")
        for h in list(bridge.handlers):
            if isinstance(h, _LogBridge):
                bridge.removeHandler(h)
        if "guest_errors" in self.items:
            bridge.setLevel(logging.INFO)
            bridge.addHandler(_LogBridge(self))
            bridge.propagate = False
        else:
            bridge.setLevel(logging.NOTSET)
            bridge.propagate = True

    def enabled(self, item: str) -> bool:
        return item in self.items

    def write(self, text: str):
        if not text.endswith("\n"):
            text += "\n"
        try:
            self.fp.write(text)
        except (OSError, ValueError):
            pass


class _LogBridge(logging.Handler):
    def __init__(self, log: Log):
        super().__init__()
        self.log = log

    def emit(self, record):
        self.log.write(record.getMessage())


LOG = Log()


def log_mask(item: str, text: str):
    if item in LOG.items:
        LOG.write(text)


def guest_error(text: str):
    log_mask("guest_errors", text)


def unimp(text: str):
    log_mask("unimp", text)


def help_text() -> str:
    """``-d help`` as QEMU prints it (``%-15s %s`` per item, a description's second
    line unindented), listing the items qemu-py accepts."""
    lines = ["Log items (comma separated):"]
    for name, desc in LOG_ITEMS.items():
        lines.append(f"{name:<15} {desc}")
    lines.append("trace:PATTERN   enable trace events")
    lines.append("")
    lines.append("Use \"-d trace:help\" to get a list of trace events.")
    return "\n".join(lines) + "\n\n"
