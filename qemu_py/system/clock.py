"""The virtual clock (integer nanoseconds) and timers on it.

One clock per machine. Its source decides how it moves:

* ``manual`` (the qtest accelerator): only :meth:`VirtualClock.warp` moves it,
  stepping from deadline to deadline and running the expired timers at each,
  exactly as QEMU's ``qtest_clock_warp``;
* ``host`` (no qtest, no icount): it follows the host's monotonic time while
  the machine runs and stands still while it is stopped;
* ``icount``: a CPU advances it as it retires instructions.

While the machine is not running the clock is *disabled*: no deadline exists
and no timer runs, although a manual warp still moves the counter.
Timers with equal expiry times fire in the order they were armed.
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Callable

NANOSECONDS_PER_SECOND = 1_000_000_000


class Timer:
    __slots__ = ("clock", "cb", "expire", "_seq", "name")

    def __init__(self, clock: "VirtualClock", cb: Callable[[], None], name: str = ""):
        self.clock = clock
        self.cb = cb
        self.expire = -1      # -1: not armed
        self._seq = 0
        self.name = name

    def mod(self, expire_ns: int):
        """Arm (or re-arm) the timer for absolute virtual time EXPIRE_NS."""
        self.clock._arm(self, int(expire_ns))

    def mod_in(self, delta_ns: int):
        self.mod(self.clock.now() + int(delta_ns))

    def delete(self):
        if self.expire >= 0:
            self.clock._stale += 1
        self.expire = -1
        self._seq = 0

    @property
    def pending(self) -> bool:
        return self.expire >= 0


class VirtualClock:
    def __init__(self, source: str = "manual"):
        self.source = source
        self.enabled = False
        self._ns = 0                      # value when last frozen / manual value
        self._host_base = 0               # host monotonic ns when last enabled (host source)
        self._heap: list[tuple[int, int, Timer]] = []
        self._counter = itertools.count(1)
        self._stale = 0                   # heap entries of re-armed or deleted timers
        self.warp_dest: int | None = None  # target of the manual warp in progress
        self.on_change: Callable[[], None] | None = None   # main loop wake-up

    # -- reading -----------------------------------------------------------
    def now(self) -> int:
        if self.source == "host" and self.enabled:
            return self._ns + (time.monotonic_ns() - self._host_base)
        return self._ns

    # -- enable / disable (run state) ------------------------------------------
    def enable(self):
        if not self.enabled:
            self._host_base = time.monotonic_ns()
            self.enabled = True
            self._notify()

    def disable(self):
        if self.enabled:
            self._ns = self.now()
            self.enabled = False

    # -- timers ----------------------------------------------------------------
    def new_timer(self, cb: Callable[[], None], name: str = "") -> Timer:
        return Timer(self, cb, name)

    def _arm(self, timer: Timer, expire: int):
        if timer.expire >= 0:
            self._stale += 1
        timer.expire = expire
        timer._seq = next(self._counter)
        heapq.heappush(self._heap, (expire, timer._seq, timer))
        if self._stale > 64 and 2 * self._stale > len(self._heap):
            self._compact()
        self._notify()

    def _compact(self):
        """Drop the entries of re-armed and deleted timers, so re-arming cannot leak."""
        self._heap = [e for e in self._heap if e[2]._seq == e[1] and e[2].expire == e[0]]
        heapq.heapify(self._heap)
        self._stale = 0

    def _notify(self):
        if self.on_change is not None:
            self.on_change()

    def _head(self) -> Timer | None:
        heap = self._heap
        while heap:
            expire, seq, timer = heap[0]
            if timer._seq == seq and timer.expire == expire:
                return timer
            heapq.heappop(heap)
            self._stale = max(0, self._stale - 1)
        return None

    def next_expire(self) -> int | None:
        """Absolute time of the earliest armed timer, or None (also when disabled)."""
        if not self.enabled:
            return None
        head = self._head()
        return None if head is None else head.expire

    def deadline(self) -> int:
        """Nanoseconds until the next timer, -1 when none (QEMU's deadline_ns_all)."""
        nxt = self.next_expire()
        if nxt is None:
            return -1
        return max(0, nxt - self.now())

    def run_timers(self) -> int:
        """Run every expired timer in expiry order; returns how many ran."""
        if not self.enabled:
            return 0
        ran = 0
        now = self.now()
        while True:
            head = self._head()
            if head is None or head.expire > now:
                break
            heapq.heappop(self._heap)
            head.expire = -1
            head._seq = 0
            head.cb()
            ran += 1
        return ran

    # -- manual source (qtest) -----------------------------------------------
    def set_ns(self, ns: int):
        self._ns = ns

    def warp(self, dest: int):
        """Advance to DEST stepping through deadlines (qtest_clock_warp)."""
        clock = self.now()
        self.warp_dest = dest
        try:
            while clock < dest:
                deadline = self.deadline()
                step = dest - clock if deadline < 0 else min(dest - clock, deadline)
                self._ns = self.now() + step
                self.run_timers()
                clock = self.now()
        finally:
            self.warp_dest = None
        self._notify()
