"""Guest signals: actions, masks, the x86-64 ``rt_sigframe``, default actions.

Signals come from guest faults (precise: the faulting instruction's state),
from the guest itself (``kill``/``tgkill`` to its own pid), from writes to a
broken pipe, and from the host (SIGINT, SIGTERM, SIGCHLD ... are caught and
queued).  They are delivered between translation blocks.  A handler runs on
a frame laid out as Linux's ``struct rt_sigframe``: return address (the
``sa_restorer``), ``ucontext`` (flags, link, ``stack_t``, ``sigcontext``,
signal mask) and ``siginfo``, with the FXSAVE image below it; ``rt_sigreturn``
restores from it.  Default actions are the kernel's; a process killed by a
signal reports it as QEMU does and dies by the same signal.
"""

from __future__ import annotations

import errno
import os
import signal as host_signal
import struct
import sys
import time

from qemu_py.target.i386.insn_x87 import fxrstor_image, fxsave_image
from qemu_py.target.i386.state import CR2, RIP, seg_slot, R_CS, R_SS

from .guest_exit import GuestExit
from .memory import SegFault

NSIG = 64
SIG_DFL, SIG_IGN = 0, 1
SA_NOCLDSTOP, SA_SIGINFO, SA_ONSTACK, SA_RESTART = 1, 4, 0x08000000, 0x10000000
SA_NODEFER, SA_RESETHAND, SA_RESTORER = 0x40000000, 0x80000000, 0x04000000
SS_ONSTACK, SS_DISABLE = 1, 2
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGSEGV, SIGPIPE = 4, 5, 6, 7, 8, 9, 11, 13
SIGCHLD, SIGCONT, SIGSTOP = 17, 18, 19
IGNORED_BY_DEFAULT = {SIGCHLD, 23, 28, SIGCONT}        # CHLD URG WINCH CONT
STOP_BY_DEFAULT = {SIGSTOP, 20, 21, 22}
CORE_BY_DEFAULT = {3, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, 24, 25, 31}
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
HOST_FORWARDED = (1, 2, 3, 10, 12, 14, 15, 17, 28)    # HUP INT QUIT USR1 USR2 ALRM TERM CHLD WINCH
EFLAGS_USER = 0x254DD5 | 0x10000                      # the flags sigreturn may restore, RF
FRAME_SIZE = 440
UC_OFF, MCTX_OFF, MASK_OFF, INFO_OFF = 8, 48, 304, 312
# sigcontext register order: r8-r15 rdi rsi rbp rbx rdx rax rcx rsp
SC_GPRS = (8, 9, 10, 11, 12, 13, 14, 15, 7, 6, 5, 3, 2, 0, 1, 4)
_TRAPS = {  # vector -> (signal, si_code, address is rip)
    0: (SIGFPE, 1, True), 1: (SIGTRAP, 2, True), 3: (SIGTRAP, 0x80, False),
    4: (SIGSEGV, 0x80, False), 5: (SIGSEGV, 0x80, False), 6: (SIGILL, 2, True),
    7: (SIGFPE, 0x80, False), 10: (SIGSEGV, 0x80, False), 11: (SIGBUS, 0x80, False),
    12: (SIGBUS, 0x80, False), 13: (SIGSEGV, 0x80, False), 16: (SIGFPE, 0, True),
    17: (SIGBUS, 1, False), 19: (SIGFPE, 0, True),
}


class Action:
    __slots__ = ("handler", "flags", "restorer", "mask")

    def __init__(self, handler=SIG_DFL, flags=0, restorer=0, mask=0):
        self.handler, self.flags, self.restorer, self.mask = handler, flags, restorer, mask


class SignalState:
    """One thread's signal state; ACTIONS are the process's, shared by its threads."""

    def __init__(self, actions=None):
        self.actions = actions if actions is not None else [Action() for _ in range(NSIG + 1)]
        self.blocked = 0
        self.pending: list[tuple[int, bytes]] = []     # (signal, siginfo)
        self.altstack = (0, SS_DISABLE, 0)              # ss_sp, ss_flags, ss_size
        self.restore_mask = None        # rt_sigsuspend: the mask the next frame saves


def _bit(sig: int) -> int:
    return 1 << (sig - 1)


def siginfo(sig: int, code: int, *, addr: int | None = None, pid: int = 0, uid: int = 0,
            trapno: int = 0) -> bytes:
    head = struct.pack("<iii4x", sig, 0, code)
    if addr is not None:
        body = struct.pack("<Q", addr)
    else:
        body = struct.pack("<ii", pid, uid)
    return (head + body).ljust(128, b"\0")


def queue(p, sig: int, code: int = 0, info: bytes | None = None):
    if info is None:
        info = siginfo(sig, code, pid=os.getpid(), uid=os.getuid())
    st = p.signals
    if sig < 32 and any(s == sig for s, _ in st.pending):
        return                                   # standard signals do not queue twice
    st.pending.append((sig, info))
    p.cpu.request_exit()


def raise_from_exception(p, e):
    """A guest fault at the current instruction: deliver its signal now."""
    sig, code, at_rip = _TRAPS.get(e.vector, (SIGSEGV, 0x80, False))
    env = p.cpu.env_q
    if e.vector == 14:
        addr = e.cr2 if e.cr2 is not None else env[CR2]
        code = 2 if e.error_code & 1 else 1      # SEGV_ACCERR / SEGV_MAPERR
    elif at_rip:
        addr = env[RIP]
    else:
        addr = 0
    info = siginfo(sig, code, addr=addr)
    p.fault_context = (e.vector, e.error_code, addr if e.vector == 14 else 0)
    act = p.signals.actions[sig]
    if p.signals.blocked & _bit(sig) or act.handler == SIG_IGN:
        act.handler = SIG_DFL                    # a blocked or ignored fault kills, as Linux
        p.signals.blocked &= ~_bit(sig)
    deliver(p, sig, info)


def deliver_pending(p):
    st = p.signals
    while True:
        for i, (sig, info) in enumerate(st.pending):
            if not st.blocked & _bit(sig) or sig in (SIGKILL, SIGSTOP):
                del st.pending[i]
                p.fault_context = (0, 0, 0)
                deliver(p, sig, info)
                break
        else:
            if st.restore_mask is not None:
                st.blocked, st.restore_mask = st.restore_mask, None
            return


def deliver(p, sig: int, info: bytes):
    act = p.signals.actions[sig]
    if act.handler == SIG_IGN:
        return
    if act.handler == SIG_DFL:
        if sig in IGNORED_BY_DEFAULT or sig in STOP_BY_DEFAULT:
            return
        die(p, sig)
    setup_frame(p, sig, act, info)
    if act.flags & SA_RESETHAND:
        p.signals.actions[sig] = Action()


def die(p, sig: int):
    raise GuestExit(signal=sig, core=sig in CORE_BY_DEFAULT)


# -- frames --------------------------------------------------------------------------------------------
def _on_altstack(st, sp: int) -> bool:
    base, flags, size = st.altstack
    return not flags & SS_DISABLE and base < sp <= base + size


def setup_frame(p, sig: int, act: Action, info: bytes):
    cpu, mem, st = p.cpu, p.mem, p.signals
    env = cpu.env_q
    rsp = cpu.gpr(4)
    sp = rsp - 128                                  # the red zone
    base, ss_flags, size = st.altstack
    if act.flags & SA_ONSTACK and not ss_flags & SS_DISABLE and not _on_altstack(st, rsp):
        sp = base + size
    fp = (sp - 512) & ~63
    frame = ((fp - FRAME_SIZE) & ~15) - 8
    vector, err, cr2 = getattr(p, "fault_context", (0, 0, 0))
    saved_mask = st.blocked if st.restore_mask is None else st.restore_mask
    st.restore_mask = None
    gprs = [cpu.gpr(i) for i in SC_GPRS]
    cs_gs_fs_ss = struct.pack("<HHHH", env[seg_slot(R_CS, 0)], 0, 0, env[seg_slot(R_SS, 0)])
    mctx = struct.pack("<16Q", *gprs) + struct.pack("<QQ", env[RIP], cpu.get_eflags()) + \
        cs_gs_fs_ss + struct.pack("<QQQQQ", err, vector, saved_mask & 0xFFFF_FFFF, cr2, fp) + \
        bytes(64)
    on_alt = SS_ONSTACK if _on_altstack(st, rsp) else (ss_flags & SS_DISABLE)
    uc = struct.pack("<QQQi4xQ", 6, 0, base, on_alt, size) + mctx + struct.pack("<Q", saved_mask)
    try:
        mem.write_bytes(fp, fxsave_image(cpu, 3))
        mem.write_bytes(frame, struct.pack("<Q", act.restorer) + uc + info)
    except SegFault:
        die(p, SIGSEGV)                             # no room for the frame: forced SIGSEGV
    new_blocked = st.blocked | act.mask
    if not act.flags & SA_NODEFER:
        new_blocked |= _bit(sig)
    st.blocked = new_blocked & ~UNBLOCKABLE
    cpu.set_gpr(4, frame)
    cpu.set_gpr(7, sig)
    cpu.set_gpr(6, frame + INFO_OFF)
    cpu.set_gpr(2, frame + UC_OFF)
    cpu.set_gpr(0, 0)
    env[RIP] = act.handler
    cpu.set_eflags(cpu.get_eflags() & ~(0x400 | 0x100 | 0x10000), 0xFFFF_FFFF)   # DF TF RF


def sys_rt_sigreturn(p, a):
    cpu, mem, st = p.cpu, p.mem, p.signals
    frame = cpu.gpr(4) - 8
    try:
        raw = mem.read_bytes(frame, FRAME_SIZE)
    except SegFault:
        die(p, SIGSEGV)
    m = MCTX_OFF
    gprs = struct.unpack_from("<16Q", raw, m)
    rip, eflags = struct.unpack_from("<QQ", raw, m + 128)
    (fp,) = struct.unpack_from("<Q", raw, m + 184)
    (mask,) = struct.unpack_from("<Q", raw, MASK_OFF)
    for reg, v in zip(SC_GPRS, gprs):
        cpu.set_gpr(reg, v)
    cpu.env_q[RIP] = rip
    cpu.set_eflags(eflags, EFLAGS_USER)
    if fp:
        try:
            fxrstor_image(cpu, mem.read_bytes(fp, 512), 3)
        except SegFault:
            die(p, SIGSEGV)
    st.blocked = mask & ~UNBLOCKABLE
    if st.pending:
        cpu.request_exit()
    return None                                     # RAX is the interrupted context's


# -- system calls ----------------------------------------------------------------------------------------
def sys_rt_sigaction(p, a):
    sig, new, old, size = a[0] & 0xFFFF_FFFF, a[1], a[2], a[3]
    if size != 8 or not 1 <= sig <= NSIG or sig in (SIGKILL, SIGSTOP) and new:
        return -errno.EINVAL
    st, mem = p.signals, p.mem
    cur = st.actions[sig]
    try:
        if old:
            mem.write_bytes(old, struct.pack("<QQQQ", cur.handler, cur.flags, cur.restorer,
                                             cur.mask))
        if new:
            handler, flags, restorer, mask = struct.unpack("<QQQQ", mem.read_bytes(new, 32))
            st.actions[sig] = Action(handler, flags, restorer, mask & ~UNBLOCKABLE)
            if handler == SIG_IGN:
                st.pending = [(s, i) for s, i in st.pending if s != sig]
    except SegFault:
        return -errno.EFAULT
    return 0


def sys_rt_sigprocmask(p, a):
    how, new, old, size = a[0] & 0xFFFF_FFFF, a[1], a[2], a[3]
    if size != 8:
        return -errno.EINVAL
    st, mem = p.signals, p.mem
    try:
        prev = st.blocked
        if new:
            (m,) = struct.unpack("<Q", mem.read_bytes(new, 8))
            if how == SIG_BLOCK:
                st.blocked |= m
            elif how == SIG_UNBLOCK:
                st.blocked &= ~m
            elif how == SIG_SETMASK:
                st.blocked = m
            else:
                return -errno.EINVAL
            st.blocked &= ~UNBLOCKABLE
        if old:
            mem.write_bytes(old, struct.pack("<Q", prev))
    except SegFault:
        return -errno.EFAULT
    if st.pending:
        p.cpu.request_exit()
    return 0


def sys_rt_sigpending(p, a):
    bits = 0
    for s, _ in p.signals.pending:
        bits |= _bit(s)
    try:
        p.mem.write_bytes(a[0], struct.pack("<Q", bits & p.signals.blocked))
    except SegFault:
        return -errno.EFAULT
    return 0


def sys_rt_sigsuspend(p, a):
    st = p.signals
    try:
        (m,) = struct.unpack("<Q", p.mem.read_bytes(a[0], 8))
    except SegFault:
        return -errno.EFAULT
    saved = st.blocked
    st.blocked = m & ~UNBLOCKABLE
    wait_for_signal(p)
    st.restore_mask = saved          # the handler's frame saves it; sigreturn restores it
    p.cpu.request_exit()
    return -errno.EINTR


def sys_sigaltstack(p, a):
    new, old = a[0], a[1]
    st = p.signals
    try:
        if old:
            base, flags, size = st.altstack
            if _on_altstack(st, p.cpu.gpr(4)):
                flags = SS_ONSTACK
            p.mem.write_bytes(old, struct.pack("<Qi4xQ", base, flags, size))
        if new:
            if _on_altstack(st, p.cpu.gpr(4)):
                return -errno.EPERM
            base, flags, size = struct.unpack("<Qi4xQ", p.mem.read_bytes(new, 24))
            if flags & ~(SS_DISABLE | (1 << 31)):
                return -errno.EINVAL
            if not flags & SS_DISABLE and size < 2048:
                return -errno.ENOMEM
            st.altstack = (base, flags & SS_DISABLE, size) if not flags & SS_DISABLE \
                else (0, SS_DISABLE, 0)
    except SegFault:
        return -errno.EFAULT
    return 0


# -- host signals -----------------------------------------------------------------------------------------
def wait_for_signal(p):
    """Sleep until a deliverable signal is pending (host signals arrive as Python handlers)."""
    st = p.signals
    with p.group.unlocked():
        while not any(not st.blocked & _bit(s) for s, _ in st.pending):
            time.sleep(0.01)


def install_host_handlers(p):
    def on_host_signal(signum, _frame):
        info = siginfo(signum, 0, pid=0, uid=0)
        if signum == SIGCHLD:
            info = siginfo(signum, 1)           # CLD_EXITED; waitpid tells the rest
        queue(p, signum, info=info)

    for s in HOST_FORWARDED:
        try:
            host_signal.signal(s, on_host_signal)
        except (OSError, ValueError):
            pass


def kill_self(sig: int):
    """End the emulator by SIG with its default action (no core file), as QEMU does."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    host_signal.signal(sig, host_signal.SIG_DFL)
    host_signal.pthread_sigmask(host_signal.SIG_UNBLOCK, {sig})
    os.kill(os.getpid(), sig)
    time.sleep(1)
    os._exit(128 + sig)
