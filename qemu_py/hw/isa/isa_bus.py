"""The ISA bus: a window on the port I/O space plus 16 interrupt lines.

On ``pc`` the bus hangs below the PIIX3 (``.../device[3]/isa.0``); on
``microvm`` below a bridge-less ``isabus-bridge``. ISA devices register their
port regions with :meth:`ISADevice.isa_register_ioport` and take their
interrupt from :meth:`ISADevice.isa_get_irq` (ISA IRQ N = GSI N).
"""

from __future__ import annotations

from qemu_py.hw.misc.bus import Bus
from qemu_py.qom import IRQ, Device, DeviceProp, QOMError, register_type

ISA_NUM_IRQS = 16


@register_type("ISA", "bus", desc="ISA bus", user_creatable=False)
class ISABus(Bus):
    def __init__(self, name: str, io_region, irqs: list[IRQ], memory=None):
        super().__init__(name)
        self.io = io_region              # the port I/O space the bus decodes
        self.memory = memory             # ISA memory space (system memory on PCs)
        self.irqs = irqs                 # ISA IRQ 0..15 inputs


@register_type("isa-device", "device", abstract=True, desc="ISA device", user_creatable=False)
class ISADevice(Device):
    CATEGORY = "Misc devices"
    PROPS = [DeviceProp("bus", "str", None, "bus to plug into (isa.0)")]

    def __init__(self):
        super().__init__()
        self.machine = None
        self.isa_bus: ISABus | None = None
        self.io_regions: list = []

    # -- bus helpers -------------------------------------------------------------
    def bus(self) -> ISABus:
        if self.isa_bus is None and self.machine is not None:
            self.isa_bus = getattr(self.machine, "isa_bus", None)
        if self.isa_bus is None:
            raise QOMError(f"No 'ISA' bus found for device '{self.TYPE_NAME}'")
        return self.isa_bus

    def do_realize(self):
        if not self.realized:
            bus = self.bus()
            super().do_realize()
            bus.devices.append(self)

    def isa_register_ioport(self, mr, port: int, priority: int = 0):
        if priority:
            self.bus().io.add_subregion_overlap(port, mr, priority)
        else:
            self.bus().io.add_subregion(port, mr)
        self.io_regions.append(mr)

    def isa_get_irq(self, n: int) -> IRQ:
        if not 0 <= n < ISA_NUM_IRQS:
            raise QOMError(f"Invalid ISA IRQ {n} for device '{self.TYPE_NAME}'")
        return self.bus().irqs[n]

    # -- convenience ---------------------------------------------------------------
    @property
    def vm(self):
        return self.machine.vm

    @property
    def clock(self):
        return self.machine.vm.clock
