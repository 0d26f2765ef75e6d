"""Bounding KVM_RUN in time: a per-thread POSIX timer and a signal only KVM_RUN sees.

QEMU kicks a vCPU out of the guest with a signal (SIG_IPI) that is blocked in
the vCPU thread except inside KVM_RUN (``KVM_SET_SIGNAL_MASK``), and eats it
afterwards (``kvm_eat_signals``). :class:`RunTimer` does the same from
Python, so no Python-level signal handler is involved and it works in any
thread:

* the kick signal (``SIGRTMIN + 3``) is blocked in the calling thread;
* the vCPU's KVM_RUN signal mask is the thread's mask without it;
* ``arm(ns)`` starts a one-shot ``CLOCK_MONOTONIC`` timer that sends the
  signal to this thread only (``SIGEV_THREAD_ID``); when it fires inside
  KVM_RUN the ioctl returns ``EINTR`` (exit reason KVM_EXIT_INTR); when it
  fires outside, it stays pending and the next KVM_RUN returns at once;
* ``disarm()`` stops the timer and consumes a pending signal.
"""

from __future__ import annotations

import ctypes
import signal
import threading

from .kvm import VCPU

SIG_KICK = signal.SIGRTMIN + 3
CLOCK_MONOTONIC = 1
SIGEV_THREAD_ID = 4

_libc = ctypes.CDLL(None, use_errno=True)


class _sigevent(ctypes.Structure):
    _fields_ = [("sigev_value", ctypes.c_uint64), ("sigev_signo", ctypes.c_int),
                ("sigev_notify", ctypes.c_int), ("tid", ctypes.c_int),
                ("pad", ctypes.c_int * 11)]


class _timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _timespec), ("it_value", _timespec)]


_libc.timer_create.argtypes = (ctypes.c_int, ctypes.POINTER(_sigevent),
                               ctypes.POINTER(ctypes.c_void_p))
_libc.timer_settime.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_itimerspec),
                                ctypes.c_void_p)
_libc.timer_delete.argtypes = (ctypes.c_void_p,)


class RunTimer:
    """One-shot deadline for the KVM_RUN calls of VCPU, made in the calling thread."""

    def __init__(self, vcpu: VCPU):
        self.vcpu = vcpu
        self.thread = threading.get_ident()
        self._old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {SIG_KICK})
        run_mask = set(self._old_mask) - {SIG_KICK}
        vcpu.set_signal_mask(run_mask)
        ev = _sigevent()
        ev.sigev_signo = int(SIG_KICK)
        ev.sigev_notify = SIGEV_THREAD_ID
        ev.tid = threading.get_native_id()
        self._timer = ctypes.c_void_p()
        if _libc.timer_create(CLOCK_MONOTONIC, ctypes.byref(ev), ctypes.byref(self._timer)):
            err = ctypes.get_errno()
            raise OSError(err, f"timer_create: {__import__('os').strerror(err)}")
        self.armed = False

    def arm(self, ns: int):
        spec = _itimerspec()
        ns = max(int(ns), 1000)
        spec.it_value.tv_sec, spec.it_value.tv_nsec = divmod(ns, 1_000_000_000)
        _libc.timer_settime(self._timer, 0, ctypes.byref(spec), None)
        self.armed = True

    def disarm(self):
        if self.armed:
            _libc.timer_settime(self._timer, 0, ctypes.byref(_itimerspec()), None)
            self.armed = False
        while signal.sigtimedwait({SIG_KICK}, 0) is not None:
            pass

    def kick_now(self):
        """Make the current or next KVM_RUN of this vCPU return (from any thread)."""
        signal.pthread_kill(self.thread, SIG_KICK)

    def close(self):
        if self._timer is not None:
            self.disarm()
            _libc.timer_delete(self._timer)
            self._timer = None
            if threading.get_ident() == self.thread:
                signal.pthread_sigmask(signal.SIG_SETMASK, self._old_mask)
