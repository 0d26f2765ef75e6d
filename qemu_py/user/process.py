"""A linux-user guest process: its CPU, memory, system calls and signals.

:meth:`Process.run` executes the guest until it exits; the CPU hands every
``syscall`` to :meth:`on_syscall`, which looks the number up in the declared
table, prints the ``-strace`` line, runs the marshalled host call or the
emulator's handler and puts the result in RAX.  Faults come to
:meth:`on_trap` and become signals (:mod:`.signal`).
"""

from __future__ import annotations

import errno
import os
import sys

from qemu_py.system.log import unimp
from qemu_py.target.i386.state import REGS

from . import signal as gsig
from . import sys_file, sys_mem, sys_proc
from .marshal import call_marshalled
from .strace import format_call, format_result
from .syscall_table import MARSHAL, SYSCALLS

ARG_REGS = (7, 6, 2, 10, 8, 9)          # rdi rsi rdx r10 r8 r9
_PIPE_WRITERS = {"write", "writev", "pwrite64", "sendfile"}
_HANDLERS = {}
for _mod in (sys_file, sys_mem, sys_proc, gsig):
    for _n in dir(_mod):
        if _n.startswith("sys_"):
            _HANDLERS[_n[4:]] = getattr(_mod, _n)


class GuestExit(Exception):
    """The process ends: exit status STATUS, or killed by SIGNAL."""

    def __init__(self, status: int = 0, signal: int = 0, core: bool = False):
        super().__init__(f"exit {status} signal {signal}")
        self.status = status
        self.signal = signal
        self.core = core


class Process:
    def __init__(self, cpu, mem, *, exe: str, argv: list[str], options):
        self.cpu = cpu
        self.mem = mem
        self.exe = exe
        self.argv = argv
        self.options = options
        self.strace = options.strace
        self.pid = os.getpid()
        self.clear_child_tid = 0
        self.signals = gsig.SignalState()
        cpu.process = self
        mem.on_unmap = lambda start, length: cpu.invalidate_code(start, length)

    # -- running -------------------------------------------------------------------------------
    def run(self) -> GuestExit:
        gsig.install_host_handlers(self)
        try:
            while True:
                self.cpu.exec(10_000_000)
                gsig.deliver_pending(self)
        except GuestExit as e:
            return e

    def reg(self, i: int) -> int:
        return self.cpu.env_q[REGS + i]

    # -- system calls ----------------------------------------------------------------------------
    def on_syscall(self, cpu):
        nr = self.reg(0)
        args = [self.reg(r) for r in ARG_REGS]
        ret = self.syscall(nr, args)
        if ret is not None:
            cpu.env_q[REGS] = ret & 0xFFFF_FFFF_FFFF_FFFF
        if self.signals.pending:
            cpu.request_exit()

    def syscall(self, nr: int, args) -> int | None:
        entry = SYSCALLS.get(nr)
        if entry is None:
            if self.strace:
                self.trace(f"{self.pid} Unknown syscall {nr}\n")
            unimp(f"Unsupported syscall: {nr}\n")
            return -errno.ENOSYS
        if self.strace:
            line = format_call(self.pid, entry.name, entry.kinds, args, self.mem)
            self.trace(line + ("\n" if entry.name in ("exit", "exit_group") else ""))
        if entry.handler is not None:
            ret = _HANDLERS[entry.handler](self, args)
        else:
            ret = call_marshalled(self.mem, nr, MARSHAL[nr], args)
        if self.strace and ret is not None:
            self.trace(format_result(ret, entry.addr_result))
        if ret == -errno.EPIPE and entry.name in _PIPE_WRITERS:
            gsig.queue(self, gsig.SIGPIPE, code=0)     # the kernel's SIGPIPE to the writer
        return ret

    def trace(self, text: str):
        sys.stderr.write(text)
        sys.stderr.flush()

    # -- faults -----------------------------------------------------------------------------------
    def on_trap(self, cpu, e):
        gsig.raise_from_exception(self, e)
