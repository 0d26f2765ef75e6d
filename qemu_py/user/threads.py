"""Guest threads: ``clone(CLONE_VM|CLONE_THREAD)``, futexes, one guest thread at a time.

Every guest thread is a host thread; they share one vCPU, its translated code
and its TLB, as QEMU's single-threaded TCG shares one host thread among its
vCPUs.  Only the thread holding the group's baton runs guest code; it hands
the baton on after each slice of instructions and while it sleeps in a
blocking system call, so the guest's atomic instructions stay atomic.  Taking
the baton loads the thread's registers into the vCPU; giving it up saves them.
Futex waiters queue per guest address.
"""

from __future__ import annotations

import errno
import struct
import threading
import time
from contextlib import contextmanager

from .memory import SegFault

# clone(2) flags (linux/sched.h)
CLONE_VM, CLONE_VFORK, CLONE_THREAD = 0x100, 0x4000, 0x10000
CLONE_SETTLS, CLONE_PARENT_SETTID = 0x80000, 0x100000
CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x200000, 0x1000000

SLICE = 20_000                    # instructions a thread runs before it lets others in
FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 3, 4
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_CLOCK_REALTIME = 256


class ThreadExit(Exception):
    """This guest thread has called exit (the others go on)."""


class _Waiter:
    __slots__ = ("woken",)

    def __init__(self):
        self.woken = False


class ThreadGroup:
    """The threads of one process and the baton that lets one of them run.

    The baton is a ticket lock: a thread that wants to run takes the next ticket
    and runs when it is served, so threads take turns in order; ``cond`` guards
    the bookkeeping (tickets, futex queues) and is held only briefly."""

    def __init__(self, leader):
        self.cond = threading.Condition()
        self.threads = {leader.tid: leader}
        self.cpu = leader.cpu
        self.running = leader              # whose registers the vCPU holds
        self.waiters: dict[int, list[_Waiter]] = {}
        self.next_ticket = 0
        self.serving = 0

    @property
    def multi(self) -> bool:
        return len(self.threads) > 1

    def cpus(self):
        return [self.cpu]

    def enter(self, p):
        """Wait for P's turn to run guest code, then give the vCPU P's registers."""
        with self.cond:
            ticket = self.next_ticket
            self.next_ticket += 1
            while self.serving != ticket:
                self.cond.wait()
        if self.running is not p:
            self.cpu.env_b[:] = p.context
            self.cpu.process = p
            self.running = p

    def leave(self, p):
        p.context = bytes(self.cpu.env_b)
        with self.cond:
            self.serving += 1
            self.cond.notify_all()

    @contextmanager
    def unlocked(self):
        """Let the other guest threads run while the running one waits in the host."""
        if not self.multi:
            yield
            return
        p = self.running
        self.leave(p)
        try:
            yield
        finally:
            self.enter(p)

    def let_others_run(self):
        with self.cond:
            waiting = self.next_ticket - self.serving > 1
        if waiting:
            p = self.running
            self.leave(p)
            self.enter(p)

    # -- futexes ------------------------------------------------------------------------------------
    def futex(self, p, uaddr: int, op: int, val: int, timeout_addr: int, uaddr2: int,
              val3: int) -> int:
        cmd = op & 0x7F & ~FUTEX_CLOCK_REALTIME
        if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
            return self._wait(p, uaddr, val, timeout_addr, absolute=cmd == FUTEX_WAIT_BITSET,
                              realtime=bool(op & FUTEX_CLOCK_REALTIME))
        if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
            return self._wake(uaddr, val)
        if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
            if cmd == FUTEX_CMP_REQUEUE:
                try:
                    (cur,) = struct.unpack("<I", p.mem.read_bytes(uaddr, 4))
                except SegFault:
                    return -errno.EFAULT
                if cur != val3 & 0xFFFF_FFFF:
                    return -errno.EAGAIN
            with self.cond:
                woken = self._wake_locked(uaddr, val)
                moved = self.waiters.pop(uaddr, [])
                limit = timeout_addr & 0x7FFF_FFFF           # val2: how many to requeue
                self.waiters.setdefault(uaddr2, []).extend(moved[:limit])
                if moved[limit:]:
                    self.waiters.setdefault(uaddr, []).extend(moved[limit:])
            return woken + min(limit, len(moved))
        return -errno.ENOSYS

    def _wake(self, uaddr: int, n: int) -> int:
        with self.cond:
            return self._wake_locked(uaddr, n)

    def _wake_locked(self, uaddr: int, n: int) -> int:
        queue = self.waiters.get(uaddr, [])
        woken = 0
        while queue and woken < (n & 0x7FFF_FFFF):
            queue.pop(0).woken = True
            woken += 1
        if not queue:
            self.waiters.pop(uaddr, None)
        if woken:
            self.cond.notify_all()
        return woken

    def _wait(self, p, uaddr: int, val: int, timeout_addr: int, absolute: bool,
              realtime: bool) -> int:
        try:
            (cur,) = struct.unpack("<I", p.mem.read_bytes(uaddr, 4))
            deadline = None
            if timeout_addr:
                sec, nsec = struct.unpack("<qq", p.mem.read_bytes(timeout_addr, 16))
                if sec < 0 or not 0 <= nsec < 1_000_000_000:
                    return -errno.EINVAL
                t = sec + nsec / 1e9
                if absolute:
                    now = time.time() if realtime else time.monotonic()
                    t -= now
                deadline = time.monotonic() + max(0.0, t)
        except SegFault:
            return -errno.EFAULT
        if cur != val & 0xFFFF_FFFF:
            return -errno.EAGAIN
        w = _Waiter()
        p.context = bytes(self.cpu.env_b)         # sleep without the baton
        with self.cond:
            self.waiters.setdefault(uaddr, []).append(w)
            self.serving += 1
            self.cond.notify_all()
            result = 0
            while not w.woken:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    self._drop(uaddr, w)
                    result = -errno.ETIMEDOUT
                    break
                if p.signal_deliverable():
                    self._drop(uaddr, w)
                    result = -errno.EINTR
                    break
                self.cond.wait(0.05 if left is None else min(0.05, left))
        self.enter(p)
        return result

    def _drop(self, uaddr: int, w: _Waiter):
        q = self.waiters.get(uaddr)
        if q and w in q:
            q.remove(w)
            if not q:
                self.waiters.pop(uaddr, None)


def spawn(p, flags: int, stack: int, parent_tid: int, child_tid: int, tls: int) -> int:
    """A new guest thread that starts where P's clone returns, with RAX 0 and STACK."""
    from qemu_py.target.i386.state import REGS, R_FS, seg_slot


    ctx = bytearray(p.cpu.env_b)
    regs = memoryview(ctx).cast("Q")
    regs[REGS] = 0
    if stack:
        regs[REGS + 4] = stack
    if flags & CLONE_SETTLS:
        regs[seg_slot(R_FS, 1)] = tls
    child = p.new_thread(bytes(ctx))
    started = threading.Event()

    def body():
        child.tid = threading.get_native_id()
        started.set()
        p.group.enter(child)
        child.run_thread()

    t = threading.Thread(target=body, name="guest-thread", daemon=True)
    t.start()                     # it runs guest code only once this thread lets it
    started.wait()
    p.group.threads[child.tid] = child
    if flags & CLONE_CHILD_CLEARTID:
        child.clear_child_tid = child_tid
    try:
        if flags & CLONE_PARENT_SETTID:
            p.mem.write_bytes(parent_tid, struct.pack("<I", child.tid))
        if flags & CLONE_CHILD_SETTID:
            p.mem.write_bytes(child_tid, struct.pack("<I", child.tid))
    except SegFault:
        pass
    return child.tid


def end_thread(p):
    """P's thread exits: clear and wake its child-tid word, leave the group."""
    if p.clear_child_tid:
        try:
            p.mem.write_bytes(p.clear_child_tid, b"\0\0\0\0")
            p.group._wake(p.clear_child_tid, 1)
        except SegFault:
            pass
    with p.group.cond:
        p.group.threads.pop(p.tid, None)
        p.group.cond.notify_all()
    p.group.leave(p)
