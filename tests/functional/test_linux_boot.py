"""The Debian 12 kernel + busybox initramfs (images/linux) boots to the /init
marker and powers off; driven over the serial console.

Emulator: qemu-py by default, ``QEMU_TEST_BINARY=qemu-system-x86_64`` for a real
QEMU.  Runs under ``pytest -m functional`` and ``avocado run tests/functional``.
"""

import pytest
from qemu_test import LinuxKernelTest
from qemu_test.linuxkernel import MARKER, SECOND_NS

pytestmark = pytest.mark.functional


class LinuxBoot(LinuxKernelTest):
    def boot_to_marker_and_power_off(self, machine):
        self.launch_kernel(machine)
        self.wait_for_console_pattern(r"Linux version 6\.1\.0-\d+-amd64")
        self.wait_for_console_pattern(r"check: sum of squares 1\.\.100 = 338350")
        self.wait_for_console_pattern(MARKER)
        self.wait_for_console_pattern("reboot: Power down")
        self.wait_for_exit(0)

    def test_pc_boots_to_the_marker_and_powers_off(self):
        self.boot_to_marker_and_power_off("pc")

    def test_microvm_boots_to_the_marker_and_powers_off(self):
        self.boot_to_marker_and_power_off("microvm")

    def test_icount_shift_0_twice_gives_the_same_console(self):
        consoles = []
        for _ in range(2):
            vm = self.launch_kernel("pc", args=["-icount", "shift=0,sleep=off"])
            self.wait_for_console_pattern(MARKER)
            self.wait_for_exit(0)
            vm.console.close()
            consoles.append(vm.console.text())
        self.assertIn(MARKER, consoles[0])
        if consoles[0] != consoles[1]:
            self.fail_with_logs("the two -icount shift=0 consoles differ (compare "
                                f"{self.machines[0].console_log} and "
                                f"{self.machines[1].console_log})")

    def test_pause_on_match_stops_the_machine(self):
        vm = self.launch_kernel("pc")
        self.wait_for_console_pattern(r"Run /init as init process", pause=True)
        status = vm.qmp.command("query-status")
        self.assertEqual((status["status"], status["running"]), ("paused", False))
        # paused: the console stays as it was; after cont the boot goes on
        vm.qmp.command("cont")
        self.wait_for_console_pattern(MARKER, timeout=30 * SECOND_NS)
        self.wait_for_exit(0)
