"""Run states and the VM life cycle shared by every accelerator.

The names are QEMU's RunState values. Events (STOP, RESUME, RESET,
SHUTDOWN, POWERDOWN) go to every registered listener synchronously, so a
monitor sends them before the reply of the command that caused them.
"""

from __future__ import annotations

import time
from typing import Callable

RUN_STATES = ("debug", "inmigrate", "internal-error", "io-error", "paused", "postmigrate",
              "prelaunch", "finish-migrate", "restore-vm", "running", "save-vm", "shutdown",
              "suspended", "watchdog", "guest-panicked", "colo")

SHUTDOWN_CAUSES = ("none", "host-error", "host-qmp-quit", "host-qmp-system-reset", "host-signal",
                   "host-ui", "guest-shutdown", "guest-reset", "guest-panic", "subsystem-reset",
                   "snapshot-load")


class VM:
    """Run state, the virtual clock and the event bus of one emulator instance."""

    def __init__(self, clock, loop, *, no_reboot: bool = False, no_shutdown: bool = False):
        self.clock = clock
        self.loop = loop
        self.runstate = "prelaunch"
        self.no_reboot = no_reboot
        self.no_shutdown = no_shutdown
        self.machine = None                    # the /machine object once created
        self.machine_ready = False             # False until the machine is initialised
        self.preconfig = False                 # --preconfig: waiting for x-exit-preconfig
        self.qom_root = None                   # the root of the composition tree ("/")
        self.config = None                     # the MachineConfig it was started from
        self.accel = "qtest"                   # the accelerator in use
        self.finish_init = None                # callable completing machine start-up
        self.exit_code = 0
        self._listeners: list[Callable[[str, dict | None, dict], None]] = []
        self.reset_handlers: list[Callable[[], None]] = []

    # -- events ------------------------------------------------------------------
    def add_event_listener(self, fn):
        self._listeners.append(fn)

    def remove_event_listener(self, fn):
        if fn in self._listeners:
            self._listeners.remove(fn)

    def emit(self, name: str, data: dict | None = None):
        now = time.time()
        ts = {"seconds": int(now), "microseconds": int((now - int(now)) * 1e6)}
        for fn in list(self._listeners):
            fn(name, data, ts)

    def exit_preconfig(self):
        """x-exit-preconfig: build the machine, then run unless -S was given."""
        self.preconfig = False
        self.finish_init()

    # -- state transitions ----------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.runstate == "running"

    def start(self):
        """cont / start-up without -S: prelaunch or paused -> running."""
        if self.runstate == "running":
            return
        self.emit("RESUME")
        self.runstate = "running"
        self.clock.enable()

    def stop(self, state: str = "paused"):
        """vm_stop: only a running machine stops (and says so with STOP)."""
        if self.runstate == "running":
            self.clock.disable()
            self.runstate = state
            self.emit("STOP")

    def system_reset(self, reason: str = "host-qmp-system-reset", guest: bool = False):
        if guest and self.no_reboot:
            self.request_shutdown("guest-reset", guest=True)
            return
        if self.machine is not None:
            self.machine.reset_tree()
        for fn in list(self.reset_handlers):
            fn()
        self.emit("RESET", {"guest": guest, "reason": reason})
        if self.runstate not in ("running", "inmigrate", "finish-migrate"):
            self.runstate = "prelaunch"      # a reset machine that is not running

    def system_powerdown(self):
        self.emit("POWERDOWN")
        if self.machine is not None and hasattr(self.machine, "powerdown_request"):
            self.machine.powerdown_request()

    def request_shutdown(self, reason: str, guest: bool = False, exit_code: int = 0):
        """Emit SHUTDOWN; quit unless -no-shutdown keeps a guest shutdown paused."""
        self.emit("SHUTDOWN", {"guest": guest, "reason": reason})
        if guest and self.no_shutdown:
            if self.runstate == "running":
                self.stop("shutdown")
            else:
                self.runstate = "shutdown"
            return
        self.exit_code = exit_code
        self.clock.disable()
        self.runstate = "shutdown"
        self.loop.quit()

    def exit_now(self, code: int):
        """A device asked the process to end with CODE (isa-debug-exit)."""
        self.exit_code = code
        self.clock.disable()
        self.runstate = "shutdown"
        self.loop.quit()
