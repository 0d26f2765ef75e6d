"""An interactive busybox shell on the serial console of the Debian 12 kernel:
commands typed, their output asserted on."""

import re

import pytest
from qemu_test import LinuxKernelTest
from qemu_test.linuxkernel import PROMPT, SHELL_READY

pytestmark = pytest.mark.functional


class LinuxConsole(LinuxKernelTest):
    def test_uname_cpuinfo_dmesg_over_the_console(self):
        self.launch_kernel("pc", shell=True)
        self.wait_for_console_pattern(SHELL_READY)
        self.wait_for_console_pattern(PROMPT)

        uname = self.exec_command_and_wait_for_pattern("uname -a")
        self.assertRegex(uname, r"Linux \S+ 6\.1\.0-\d+-amd64 #1 SMP .* x86_64")

        cpuinfo = self.exec_command_and_wait_for_pattern("cat /proc/cpuinfo")
        self.assertRegex(cpuinfo, r"(?m)^processor\s+: 0\s*$")
        flags = re.search(r"(?m)^flags\s+: (.*)$", cpuinfo)
        self.assertIsNotNone(flags, cpuinfo)
        for f in ("fpu", "tsc", "msr", "pae", "cx8", "apic", "cmov", "pat", "pse", "fxsr",
                  "sse", "sse2", "nx", "lm", "syscall"):
            self.assertIn(f, flags.group(1).split(), f"cpuinfo flags lack {f}")

        dmesg = self.exec_command_and_wait_for_pattern("dmesg")
        self.assertIn("Run /init as init process", dmesg)
        for bad in ("BUG:", "WARNING:"):
            if bad in dmesg:
                line = next(ln for ln in dmesg.splitlines() if bad in ln)
                self.fail_with_logs(f"the kernel log has {bad!r}: {line.strip()}")

        self.vm.console.send("exit\n")
        self.wait_for_console_pattern("reboot: Power down")
        self.wait_for_exit(0)
