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

from qemu_py.system.log import LOG, unimp
from qemu_py.target.i386.state import REGS, RIP

from . import signal as gsig
from .ending import finish
from .guest_exit import GuestExit
from . import sys_file, sys_mem, sys_proc
from .marshal import call_marshalled
from .threads import SLICE, ThreadExit, ThreadGroup, end_thread
from .strace import format_call, format_result
from .syscall_table import MARSHAL, SYSCALLS

ARG_REGS = (7, 6, 2, 10, 8, 9)          # rdi rsi rdx r10 r8 r9
_PIPE_WRITERS = {"write", "writev", "pwrite64", "sendfile"}
# calls that may sleep in the host: the other guest threads run meanwhile
BLOCKING = {0, 1, 7, 17, 18, 23, 35, 42, 61, 230, 270, 271}
# never restarted after a handler, as Linux: sleeps and waits for events (-EINTR)
_NEVER_RESTARTED = {7, 23, 34, 35, 130, 230, 270, 271}
_HANDLERS = {}
for _mod in (sys_file, sys_mem, sys_proc, gsig):
    for _n in dir(_mod):
        if _n.startswith("sys_"):
            _HANDLERS[_n[4:]] = getattr(_mod, _n)


class Process:
    def __init__(self, cpu, mem, *, exe: str, argv: list[str], options):
        self.cpu = cpu
        self.mem = mem
        self.exe = exe
        self.argv = argv
        self.options = options
        self.strace = options.strace
        self.pid = self.tid = os.getpid()
        self.clear_child_tid = 0
        self.signals = gsig.SignalState()
        self.group = ThreadGroup(self)
        self.exit_status = 0
        cpu.process = self
        mem.on_unmap = self._invalidate

    def _invalidate(self, start: int, length: int):
        for cpu in self.group.cpus():
            cpu.invalidate_code(start, length)

    def new_thread(self, context: bytes) -> "Process":
        """A thread of this process starting from the register image CONTEXT: shared
        memory, vCPU, signal actions and group; its own mask, pending signals, id."""
        t = object.__new__(Process)
        t.__dict__.update(self.__dict__)
        t.context = context
        t.clear_child_tid = 0
        t.signals = gsig.SignalState(actions=self.signals.actions)
        t.signals.blocked = self.signals.blocked
        return t

    def signal_deliverable(self) -> bool:
        st = self.signals
        return any(not st.blocked & (1 << (s - 1)) for s, _ in st.pending)

    # -- running -------------------------------------------------------------------------------
    def run(self) -> GuestExit:
        """Run the main thread until the process ends."""
        gsig.install_host_handlers(self)
        g = self.group
        g.enter(self)
        try:
            self._loop()
        except GuestExit as e:
            return e
        except ThreadExit:
            end_thread(self)
            with g.cond:
                while g.threads:                  # the process lives on in its threads
                    g.cond.wait(0.05)
            return GuestExit(self.exit_status)

    def run_thread(self):
        """The body of a thread made by clone (the group lock held)."""
        try:
            self._loop()
        except ThreadExit:
            end_thread(self)
        except GuestExit as e:                    # exit_group or a fatal signal
            finish(e)

    def _loop(self):
        g = self.group
        while True:
            self.cpu.exec(SLICE if g.multi else 10_000_000)
            gsig.deliver_pending(self)
            g.let_others_run()

    def reg(self, i: int) -> int:
        return self.cpu.env_q[REGS + i]

    # -- system calls ----------------------------------------------------------------------------
    def on_syscall(self, cpu):
        nr = self.reg(0)
        args = [self.reg(r) for r in ARG_REGS]
        ret = self.syscall(nr, args)
        if ret == -errno.EINTR and nr not in _NEVER_RESTARTED and self._restart_after_signal():
            cpu.env_q[RIP] = (cpu.env_q[RIP] - 2) & 0xFFFF_FFFF_FFFF_FFFF   # re-run syscall
            ret = nr
        if ret is not None:
            cpu.env_q[REGS] = ret & 0xFFFF_FFFF_FFFF_FFFF
        if self.signals.pending:
            cpu.request_exit()

    def _restart_after_signal(self) -> bool:
        """A call interrupted by a signal is restarted when every deliverable pending
        signal is ignored or has an SA_RESTART handler (the kernel's -ERESTARTSYS)."""
        st = self.signals
        due = [s for s, _ in st.pending if not st.blocked & (1 << (s - 1))]
        if not due:
            return False
        for s in due:
            act = st.actions[s]
            if act.handler == gsig.SIG_DFL and s in gsig.IGNORED_BY_DEFAULT:
                continue
            if act.handler == gsig.SIG_IGN or act.flags & gsig.SA_RESTART:
                continue
            return False
        return True

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
            around = self.group.unlocked if nr in BLOCKING else None
            ret = call_marshalled(self.mem, nr, MARSHAL[nr], args, around)
        if self.strace and ret is not None:
            self.trace(format_result(ret, entry.addr_result))
        if ret == -errno.EPIPE and entry.name in _PIPE_WRITERS:
            gsig.queue(self, gsig.SIGPIPE, code=0)     # the kernel's SIGPIPE to the writer
        return ret

    def trace(self, text: str):
        """-strace output goes to the log (standard error, or the -D file), as QEMU's."""
        fp = LOG.fp
        fp.write(text)
        fp.flush()

    # -- faults -----------------------------------------------------------------------------------
    def on_trap(self, cpu, e):
        gsig.raise_from_exception(self, e)
