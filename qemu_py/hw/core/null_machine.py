"""The ``none`` machine: an empty board, with RAM at address 0 when ``-m`` is given.

QEMU's ``-M none`` has no CPU, so its qtest memory commands crash; qemu-py
serves them from the system address space instead (an empty space reads 0).
"""

from __future__ import annotations

from .machine import Machine, machine_type


@machine_type("none", desc="empty machine")
class NullMachine(Machine):
    DEFAULT_RAM_SIZE = 0

    def init(self):
        if self.config.ram_size:
            self.add_ram(self.ram_size, 0, "ram")
