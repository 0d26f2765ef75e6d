"""Generic PCI Express host bridge (``gpex-pcihost``) as the ``virt`` board uses it.

QEMU's GPEX: an ECAM window onto the root bus ``pcie.0``, a 32-bit (and with
highmem a 64-bit) MMIO window and a 64 KiB PIO window that are aliases of
the bus's memory and I/O spaces, four legacy INTx lines to SPIs 3-6 with the
standard swizzle ((pin + slot) % 4), and the host-bridge function
``gpex-root`` (1b36:0008, class 0600) at 00.0. The bus-master address space
of each device is its IOMMU's region when an SMMU is attached
(:meth:`GPEXHost.set_iommu`), else system memory.
"""

from __future__ import annotations

from qemu_py.hw.pci.constants import PCI_CLASS_BRIDGE_HOST, PCI_VENDOR_ID_REDHAT
from qemu_py.hw.pci.host import ecam_region
from qemu_py.hw.pci.pci import PCIBus, PCIDevice, pci_slot
from qemu_py.memory import MemoryRegion
from qemu_py.qom import Device, register_type

GPEX_NUM_IRQS = 4


@register_type("gpex-root", "pci-device", desc="QEMU generic PCIe host bridge function",
               user_creatable=False)
class GPEXRoot(PCIDevice):
    VENDOR_ID = PCI_VENDOR_ID_REDHAT
    DEVICE_ID = 0x0008
    CLASS_ID = PCI_CLASS_BRIDGE_HOST
    IS_EXPRESS = True


@register_type("gpex-pcihost", "device", desc="QEMU generic PCIe host bridge",
               user_creatable=False)
class GPEXHost(Device):
    def __init__(self):
        super().__init__()
        self.machine = None
        self.irqs = [self.init_irq() for _ in range(GPEX_NUM_IRQS)]
        self.pci_memory = MemoryRegion("gpex_mmio", 1 << 64, owner=self)
        self.pci_io = MemoryRegion("gpex_ioport", 0x10000, owner=self)
        self.bus: PCIBus | None = None
        self.iommu = None

    def create_bus(self, dma_root: MemoryRegion, ecam_size: int):
        bus = self.bus = PCIBus("pcie.0", self.pci_memory, self.pci_io, dma_root)
        bus.is_express = True
        bus.set_irq_routing(lambda dev, pin: (pin + pci_slot(dev.devfn)) % GPEX_NUM_IRQS,
                            lambda n, level: self.irqs[n].set(level), GPEX_NUM_IRQS)
        self.add_child("pcie.0", bus)
        self.ecam = ecam_region(bus, ecam_size, "pcie-mmcfg-mmio", owner=self)
        return bus

    def mmio_alias(self, name: str, base: int, size: int) -> MemoryRegion:
        return MemoryRegion.alias(name, self.pci_memory, base, size)

    def pio_alias(self) -> MemoryRegion:
        return MemoryRegion.alias("pcie-pio", self.pci_io, 0, 0x10000)

    def set_iommu(self, iommu):
        """Route bus mastering of devices on the root bus through IOMMU
        (``get_address_space(bus, devfn)``), QEMU's pci_setup_iommu."""
        self.iommu = iommu

    def attach_iommu(self, dev: PCIDevice):
        """Point DEV's bus-master alias at its IOMMU region (after realize)."""
        if self.iommu is None or not isinstance(dev, PCIDevice) or dev.bus_master_as is None:
            return
        self.iommu.get_address_space(self.bus, dev.devfn)
        sdev = self.iommu.sdevs[(id(self.bus), dev.devfn)]
        old = dev.bus_master_enable
        new = MemoryRegion.alias("bus master", sdev.iommu, 0, 1 << 64)
        new.set_enabled(old.enabled)
        dev.bus_master_container.del_subregion(old)
        dev.bus_master_container.add_subregion(0, new)
        dev.bus_master_enable = new
