"""LinuxKernelTest: boot the images/linux kernel + initramfs and drive its console.

A unittest.TestCase, so the same classes run under pytest (``-m functional``) and
under avocado's python-unittest runner (``avocado run tests/functional``)."""

import os
import re
import tempfile
import unittest
from pathlib import Path

from .asset import linux_assets
from .console import ConsoleFailure, ConsoleTimeout
from .machine import Machine

SECOND_NS = 10**9

# printed by the initramfs /init (images/linux/recipe.py)
MARKER = "qemu-py linux image: all checks passed"
SHELL_READY = "qemu-py linux image: shell on the console"
PROMPT = r"[~/] # "

# -append: the serial console, no reboot loop on panic
KERNEL_COMMAND_LINE = "console=ttyS0 panic=-1"
# a fixed RTC on the virtual clock: with -icount the guest sees the same date every run
RTC_ARGS = ["-rtc", "base=2020-01-01T00:00:00,clock=vm"]


def log_root() -> Path:
    d = os.environ.get("QEMU_TEST_LOG_DIR")
    return Path(d) if d else Path(tempfile.gettempdir()) / "qemu-py-functional"


class LinuxKernelTest(unittest.TestCase):
    """Subclasses call :meth:`launch_kernel`, then wait on and type into the console."""

    # the test ends early, failing, as soon as one of these appears on the console
    failure_patterns = ("Kernel panic", r"Oops[:\s]", "qemu-py linux image: check failed")
    default_timeout_ns = 120 * SECOND_NS
    memory = "512M"

    def setUp(self):
        self.assets = linux_assets()
        self.machines = []
        self._console_pos = 0

    def tearDown(self):
        for m in self.machines:
            m.shutdown()

    # -- machines ---------------------------------------------------------------
    def log_dir(self, n: int) -> Path:
        name = re.sub(r"[^\w.-]", "_", self.id())
        return log_root() / name / f"vm{n}"

    def launch_kernel(self, machine: str = "pc", *, shell: bool = False, args=(),
                      append: str = KERNEL_COMMAND_LINE) -> Machine:
        """Start the emulator on the Linux image; ``shell`` picks the interactive
        initramfs.  Becomes ``self.vm`` (the last machine launched)."""
        initrd = self.assets["initrd_shell" if shell else "initrd"].verify()
        kernel = self.assets["kernel"].verify()
        vm = Machine(["-M", machine, "-m", self.memory, "-no-reboot", *RTC_ARGS,
                      "-kernel", str(kernel), "-initrd", str(initrd), "-append", append,
                      *args], self.log_dir(len(self.machines)))
        self.machines.append(vm)
        vm.launch()
        self.vm = vm
        self._console_pos = 0
        return vm

    def fail_with_logs(self, msg: str, vm: Machine | None = None):
        vm = vm or self.vm
        raise self.failureException(f"{msg} ({vm.logs})")

    # -- the console ------------------------------------------------------------
    def wait_for_console_pattern(self, pattern: str, timeout: int | None = None, *,
                                 pause: bool = False, failures=None, vm: Machine | None = None):
        """Wait until the regex PATTERN appears on the console after what the
        previous wait consumed; TIMEOUT is in virtual ns (the guest's clock).
        With ``pause`` the machine is stopped as soon as the pattern appears:
        QMP ``stop`` right after the match, so the test can inspect it
        through QMP.  Returns the match."""
        vm = vm or self.vm
        timeout = self.default_timeout_ns if timeout is None else timeout
        fails = self.failure_patterns if failures is None else failures
        try:
            m, end = vm.console.wait_for(pattern, self._console_pos, timeout, fails)
        except (ConsoleTimeout, ConsoleFailure) as e:
            self.fail_with_logs(str(e), vm)
        if pause:
            vm.stop_vm()
        self._console_pos = end
        return m

    def console_since(self, start: int, vm: Machine | None = None) -> str:
        vm = vm or self.vm
        with vm.console.cond:
            return bytes(vm.console.data[start:]).decode("utf-8", "replace")

    def exec_command_and_wait_for_pattern(self, command: str, pattern: str = PROMPT,
                                          timeout: int | None = None) -> str:
        """Type COMMAND and Enter on the console, wait for PATTERN after the echo
        of the command; returns what the console printed in between."""
        start = self._console_pos
        self.vm.console.send(command + "\n")
        self.wait_for_console_pattern(re.escape(command), timeout)
        after_echo = self._console_pos
        m = self.wait_for_console_pattern(pattern, timeout)
        del start
        return self.console_since(after_echo)[: m.start() - after_echo]

    def wait_for_exit(self, status: int = 0, timeout_s: float = 600.0):
        """The emulator ends by itself (the guest powered off) with STATUS."""
        try:
            rc = self.vm.wait(timeout_s)
        except Exception:
            self.fail_with_logs(f"the emulator did not exit within {timeout_s:.0f} s")
        if rc != status:
            self.fail_with_logs(f"the emulator exited with status {rc}, expected {status}")
