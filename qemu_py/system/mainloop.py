"""The main loop: file descriptors, bottom halves, timers and signals.

Single-threaded. Device models and protocol servers register callbacks for
readable/writable descriptors; the loop sleeps until one is ready, a bottom
half is queued, the host-time clock reaches a timer deadline, or a signal
arrives. SIGTERM, SIGINT and SIGHUP request a shutdown with reason
``host-signal`` as QEMU does.
"""

from __future__ import annotations

import selectors
import signal
import socket
from collections import deque
from typing import Callable

from .clock import VirtualClock


class MainLoop:
    def __init__(self, clock: VirtualClock | None = None):
        self.sel = selectors.DefaultSelector()
        self._handlers: dict[int, list] = {}
        self._bh: deque[Callable[[], None]] = deque()
        self.clock = clock
        self.quit_requested = False
        self.signal_handler: Callable[[int], None] | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.add_reader(self._wake_r.fileno(), self._drain_wakeups)
        self._old_wakeup_fd = None
        self.error: BaseException | None = None

    # -- descriptors -----------------------------------------------------------
    def _update(self, fd: int):
        r, w = self._handlers.get(fd, (None, None))
        events = (selectors.EVENT_READ if r else 0) | (selectors.EVENT_WRITE if w else 0)
        try:
            key = self.sel.get_key(fd)
        except (KeyError, ValueError):
            key = None
        if not events:
            if key is not None:
                self.sel.unregister(fd)
            self._handlers.pop(fd, None)
        elif key is None:
            try:
                self.sel.register(fd, events)
            except OSError:
                self._handlers.pop(fd, None)
                raise
        elif key.events != events:
            self.sel.modify(fd, events)

    def add_reader(self, fd: int, cb: Callable[[], None]):
        self._handlers.setdefault(fd, [None, None])[0] = cb
        self._update(fd)

    def remove_reader(self, fd: int):
        if fd in self._handlers:
            self._handlers[fd][0] = None
            self._update(fd)

    def add_writer(self, fd: int, cb: Callable[[], None]):
        self._handlers.setdefault(fd, [None, None])[1] = cb
        self._update(fd)

    def remove_writer(self, fd: int):
        if fd in self._handlers:
            self._handlers[fd][1] = None
            self._update(fd)

    # -- bottom halves and wake-ups ------------------------------------------------
    def call_soon(self, fn: Callable[[], None]):
        self._bh.append(fn)

    def wake(self):
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass

    def _drain_wakeups(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    # -- signals -----------------------------------------------------------------
    def install_signal_handlers(self, handler: Callable[[int], None]):
        self.signal_handler = handler

        def on_signal(signum, _frame):
            self.call_soon(lambda: handler(signum))

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, on_signal)
        self._old_wakeup_fd = signal.set_wakeup_fd(self._wake_w.fileno())

    # -- running -----------------------------------------------------------------
    def quit(self):
        self.quit_requested = True
        self.wake()

    def _timeout(self) -> float | None:
        if self._bh:
            return 0
        clock = self.clock
        if clock is not None and clock.source == "host":
            d = clock.deadline()
            if d >= 0:
                return d / 1e9
        return None

    def iterate(self, timeout: float | None = None):
        t = self._timeout()
        if timeout is not None:
            t = timeout if t is None else min(t, timeout)
        for key, mask in self.sel.select(t):
            fd = key.fd
            handlers = self._handlers.get(fd)
            if handlers is None:
                continue
            if mask & selectors.EVENT_READ and handlers[0]:
                handlers[0]()
            handlers = self._handlers.get(fd)
            if handlers and mask & selectors.EVENT_WRITE and handlers[1]:
                handlers[1]()
        while self._bh:
            self._bh.popleft()()
        if self.clock is not None and self.clock.source == "host":
            self.clock.run_timers()

    def run(self):
        while not self.quit_requested:
            self.iterate()

    def close(self):
        if self._old_wakeup_fd is not None:
            signal.set_wakeup_fd(self._old_wakeup_fd)
        self.sel.close()
        self._wake_r.close()
        self._wake_w.close()
