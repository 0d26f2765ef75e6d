"""``-d page``: the guest page map as QEMU's linux-user ``page_dump`` prints it.

One line per run of pages with the same protection: ``start-end size prot``
in 16 hex digits, protection as ``rwx`` with ``-`` for a missing right.
The log is written after the program is loaded and after every guest mmap.
"""

from __future__ import annotations

from qemu_py.system.log import LOG

from .memory import PROT_EXEC, PROT_READ, PROT_WRITE


def page_dump(mem) -> str:
    lines = [f"{'start':<16} {'end':<16} {'size':<16} prot"]
    runs: list[list[int]] = []
    for m in mem.maps:
        prot = m.prot & 7
        if runs and runs[-1][1] == m.start and runs[-1][2] == prot:
            runs[-1][1] = m.end
        else:
            runs.append([m.start, m.end, prot])
    for start, end, prot in runs:
        rights = "".join(ch if prot & bit else "-" for ch, bit in
                         (("r", PROT_READ), ("w", PROT_WRITE), ("x", PROT_EXEC)))
        lines.append(f"{start:016x}-{end:016x} {end - start:016x} {rights}")
    return "\n".join(lines) + "\n"


def log_page_layout(mem, reason: str):
    """``page layout changed following REASON`` and the map, when ``-d page``."""
    if LOG.enabled("page"):
        LOG.write(f"page layout changed following {reason}\n{page_dump(mem)}")


def log_binary_load(mem, proc):
    """The map after loading and the process's start addresses (QEMU's lines
    for the values qemu-py's loader records)."""
    if not LOG.enabled("page"):
        return
    log_page_layout(mem, "binary load")
    LOG.write(f"start_brk   0x{mem.brk_start:016x}\n"
              f"start_stack 0x{proc.stack_pointer:016x}\n"
              f"brk         0x{proc.brk:016x}\n"
              f"entry       0x{proc.entry:016x}\n")
