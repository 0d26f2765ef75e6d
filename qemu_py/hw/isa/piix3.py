"""Intel 82371SB PIIX3 PCI-to-ISA bridge, function 0 (``PIIX3``).

Models (after the 82371SB datasheet, 290550): the ISA bus below it
(``isa.0``), the PIRQ[A-D] route control registers (0x60-0x63; bit 7 disables
the route, bits 3:0 pick the ISA IRQ) that steer the four PCI interrupt lines
to ISA IRQs (PCI slot S, pin P drives PIRQ (S - 1 + P) mod 4, as on the
i440FX/PIIX board), and the reset control register at port 0xcf9 (a write
with bit 2 set resets the system; bit 1 selects a hard reset and is stored).

Not modelled: the IDE, USB and power-management functions (01.1-01.3),
APIC chip select, deterministic latency, the DMA controller and the
top-of-memory register (register values stored only).
"""

from __future__ import annotations

from qemu_py.hw.misc.registers import Reg
from qemu_py.hw.pci.constants import PCI_CLASS_BRIDGE_ISA, PCI_VENDOR_ID_INTEL, pci_slot
from qemu_py.hw.pci.pci import PCIDevice
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import register_type
from qemu_py.system.log import guest_error

from .isa_bus import ISA_NUM_IRQS, ISABus

PIIX_PIRQCA = 0x60
PIIX_NUM_PIRQS = 4
PIIX_RCR_IOPORT = 0xcf9

REGS = tuple(Reg(PIIX_PIRQCA + i, f"PIRQRC{'ABCD'[i]}", reset=0x80) for i in range(4)) + (
    Reg(0x69, "TOM", reset=0x02), Reg(0x6a, "MSTAT"), Reg(0x70, "MBIRQ0", reset=0x80),
    Reg(0x71, "MBIRQ1", reset=0x80), Reg(0x82, "MBDMA0", reset=0x04), Reg(0x4c, "IORT", reset=0x4d),
    Reg(0x4e, "XBCS", reset=0x03),
)


@register_type("PIIX3", "pci-device", desc="PIIX3 PCI-ISA bridge", user_creatable=False)
class PIIX3(PCIDevice):
    VENDOR_ID = PCI_VENDOR_ID_INTEL
    DEVICE_ID = 0x7000
    CLASS_ID = PCI_CLASS_BRIDGE_ISA

    def __init__(self):
        super().__init__()
        self.isa_bus: ISABus | None = None
        self.pic_irqs = None          # the 16 ISA IRQ inputs (GSIs)
        self.rcr = 0
        self.pci_irq_levels = [0] * PIIX_NUM_PIRQS

    def create_isa_bus(self, io_region, irqs, memory):
        self.isa_bus = ISABus("isa.0", io_region, irqs, memory)
        self.add_child("isa.0", self.isa_bus)
        self.pic_irqs = irqs
        return self.isa_bus

    def pci_realize(self):
        self.rcr_mem = MemoryRegion.io("piix3-reset-control", 1, MemoryRegionOps(
            read=lambda off, size: self.rcr, write=self._rcr_write, endianness=Endian.LITTLE),
            owner=self)
        self.pci_bus.io_space.add_subregion_overlap(PIIX_RCR_IOPORT, self.rcr_mem, 1)
        self.pci_bus.set_irq_routing(self.slot_get_pirq, self.set_pirq, PIIX_NUM_PIRQS)

    def pci_reset(self):
        for r in REGS:
            self.config[r.offset] = r.reset
        self.rcr = 0
        self.pci_irq_levels = [0] * PIIX_NUM_PIRQS

    # -- PCI interrupt routing -------------------------------------------------------------
    @staticmethod
    def slot_get_pirq(dev, pin: int) -> int:
        return (pin + pci_slot(dev.devfn) - 1) & 3

    def set_pirq(self, pirq: int, level: int):
        self.pci_irq_levels[pirq] = level
        self._update_isa_irq(self.config[PIIX_PIRQCA + pirq])

    def _update_isa_irq(self, route: int):
        if route & 0x80 or (route & 0x0f) >= ISA_NUM_IRQS or self.pic_irqs is None:
            return
        pic_irq = route & 0x0f
        level = any(self.pci_irq_levels[p] for p in range(PIIX_NUM_PIRQS)
                    if self.config[PIIX_PIRQCA + p] == pic_irq)
        self.pic_irqs[pic_irq].set(1 if level else 0)

    def config_write(self, addr: int, val: int, size: int):
        old = bytes(self.config[PIIX_PIRQCA:PIIX_PIRQCA + 4])
        super().config_write(addr, val, size)
        new = bytes(self.config[PIIX_PIRQCA:PIIX_PIRQCA + 4])
        if old != new:
            for route in set(old) | set(new):
                self._update_isa_irq(route)

    # -- reset control ---------------------------------------------------------------------------
    def _rcr_write(self, addr: int, val: int, size: int):
        if val & 4:
            vm = self.machine.vm
            vm.loop.call_soon(lambda: vm.system_reset("guest-reset", guest=True))
            return
        if val & ~0x0e & 0xff:
            guest_error(f"PIIX3: reset control bits 0x{val & ~0x0e & 0xff:02x} are reserved")
        self.rcr = val & 2
