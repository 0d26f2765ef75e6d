"""PCI host bridges: configuration mechanism #1 (0xcf8/0xcfc) and ECAM.

``PCIHostBridge`` is the base of host-bridge devices (``i440FX-pcihost``):
it owns the root bus and the two port regions of configuration mechanism #1
(PCI 3.0 section 3.2.2.3.2): CONFIG_ADDRESS at 0xcf8 (a 32-bit register
written only by 4-byte accesses; any read returns it) and CONFIG_DATA at
0xcfc-0xcff (accesses of 1, 2 or 4 bytes reach the function selected by
CONFIG_ADDRESS when its enable bit 31 is set; otherwise reads return
all-ones and writes are dropped). Absent functions read all-ones.

:func:`ecam_region` builds a PCI Express enhanced configuration access
(ECAM/MMCONFIG) window for a bus: offset = bus << 20 | devfn << 12 | register.
"""

from __future__ import annotations

from qemu_py.hw.core.vmstate import VMState
from qemu_py.hw.misc.registers import Field, Reg, RegisterBlock
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import Device, register_type

# Two windows: CONFIG_ADDRESS at 0xcf8, CONFIG_DATA at 0xcfc (offsets within each).
ADDRESS_REGS = (
    Reg(0, "CONFIG_ADDRESS", width=4, write="_conf_write", fields=(
        Field("REG", 2, 6), Field("FUNC", 8, 3), Field("DEV", 11, 5), Field("BUS", 16, 8),
        Field("ENABLE", 31))),
)
DATA_REGS = (Reg(0, "CONFIG_DATA", width=4, read="_data_read", write="_data_write"),)
REGS = ADDRESS_REGS + DATA_REGS
ENABLE = ADDRESS_REGS[0].field("ENABLE")


@register_type("pci-host-bridge", "device", abstract=True, desc="PCI host bridge",
               user_creatable=False)
class PCIHostBridge(Device):
    VMSTATE = VMState("pci-host-bridge", 1, ("config_reg",))

    def __init__(self):
        super().__init__()
        self.machine = None
        self.bus = None
        self.address = RegisterBlock(self, "pci-conf-idx", ADDRESS_REGS)
        self.data = RegisterBlock(self, "pci-conf-data", DATA_REGS)

    @property
    def config_reg(self) -> int:
        return self.address["CONFIG_ADDRESS"]

    @config_reg.setter
    def config_reg(self, value: int):
        self.address["CONFIG_ADDRESS"] = value

    def init_conf_regions(self):
        self.conf_mem = MemoryRegion.io("pci-conf-idx", 4, MemoryRegionOps(
            read=self._address_read, write=self.address.write,
            endianness=Endian.LITTLE), owner=self)
        self.data_mem = MemoryRegion.io("pci-conf-data", 4, MemoryRegionOps(
            read=self.data.read, write=self.data.write, endianness=Endian.LITTLE),
            owner=self)

    def _address_read(self, addr: int, size: int) -> int:
        # any read of the port, at any byte and size, returns the whole register
        return self.address.read(0, 4)

    def map_conf_regions(self, io_region):
        io_region.add_subregion(0xcf8, self.conf_mem)
        io_region.add_subregion(0xcfc, self.data_mem)

    def reset(self):
        self.address.reset()

    def _conf_write(self, sub: int, val: int, size: int):
        if sub != 0 or size != 4:
            return
        self.config_reg = val

    def _decode(self, addr: int):
        reg = self.config_reg | (addr & 3)
        return (reg >> 16) & 0xff, (reg >> 8) & 0xff, reg & 0xff

    def _data_read(self, addr: int, size: int) -> int:
        if not ENABLE.get(self.config_reg):
            return 0xffffffff
        bus_num, devfn, reg = self._decode(addr)
        return self.bus.config_read(bus_num, devfn, reg, size)

    def _data_write(self, addr: int, val: int, size: int):
        if not ENABLE.get(self.config_reg):
            return
        bus_num, devfn, reg = self._decode(addr)
        self.bus.config_write(bus_num, devfn, reg, val, size)


def ecam_region(bus, size: int, name: str = "pcie-mmcfg-mmio", owner=None) -> MemoryRegion:
    """An ECAM window of SIZE bytes (a multiple of 1 MiB) onto BUS and its bus numbers."""

    def decode(addr):
        return (addr >> 20) & 0xff, (addr >> 12) & 0xff, addr & 0xfff

    def read(addr, sz):
        b, devfn, reg = decode(addr)
        return bus.config_read(b, devfn, reg, sz)

    def write(addr, val, sz):
        b, devfn, reg = decode(addr)
        bus.config_write(b, devfn, reg, val, sz)

    return MemoryRegion.io(name, size, MemoryRegionOps(
        read=read, write=write, endianness=Endian.LITTLE, valid_min=1, valid_max=4), owner=owner)
