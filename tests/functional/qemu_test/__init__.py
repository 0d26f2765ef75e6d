"""A small functional-test library: boot a guest image under an emulator and
talk to it over its serial console (in the spirit of QEMU's tests/functional).

The emulator is qemu-py by default; ``QEMU_TEST_BINARY=qemu-system-x86_64``
runs the same tests under a real QEMU.
"""

from .asset import Asset, linux_assets
from .console import ConsoleFailure, ConsoleTimeout
from .linuxkernel import LinuxKernelTest
from .machine import Machine, emulator_command

__all__ = ["Asset", "linux_assets", "ConsoleFailure", "ConsoleTimeout", "LinuxKernelTest",
           "Machine", "emulator_command"]
