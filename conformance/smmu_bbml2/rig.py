"""Rigs: a machine-like setup the suite drives through one interface.

:class:`InProcessRig` builds RAM at 0x4000_0000, an SMMUv3 at 0x0905_0000
and one requester (SID 8) in this process, and performs DMA through the
requester's bus-master address space, i.e. the same IOMMU path a PCI device
uses. It is the fast rig for unit tests and the heavy hypothesis runs.
"""

from __future__ import annotations

import struct

from qemu_py.hw.arm.smmuv3 import SMMUv3
from qemu_py.memory import AddressSpace, MemoryRegion, MemTxResult

from .guest import RAM_BASE, SMMU_BASE

SID = 8


class InProcessRig:
    def __init__(self, strict: bool = False, ram_size: int = 64 << 20, sid: int = SID):
        self.system = MemoryRegion("system", 1 << 64)
        self.ram = MemoryRegion.ram("ram", ram_size)
        self.system.add_subregion(RAM_BASE, self.ram)
        self.as_ = AddressSpace(self.system, "memory")
        self.smmu = SMMUv3()
        if strict:
            self.smmu.set_property("strict-arch", "on")
        self.smmu.dma_as = self.as_
        self.smmu.do_realize()
        self.system.add_subregion(SMMU_BASE, self.smmu.mmio)
        self.irq_log: list[tuple[int, int]] = []
        from qemu_py.qom import IRQ
        for n in range(4):
            self.smmu.connect_irq(n, IRQ(lambda line, level: self.irq_log.append((line, level)), n))
        self.sid = sid
        self.dev_as = self.smmu.get_address_space(sid >> 8, sid & 0xFF)

    # guest-physical accesses (what qtest readl/writel do)
    def readl(self, addr: int) -> int:
        return self.as_.read_value(addr, 4)[0]

    def writel(self, addr: int, value: int):
        self.as_.write_value(addr, value, 4)

    def readq(self, addr: int) -> int:
        return self.as_.read_value(addr, 8)[0]

    def writeq(self, addr: int, value: int):
        self.as_.write_value(addr, value, 8)

    def read_q(self, addr: int) -> int:
        return struct.unpack("<Q", self.read_mem(addr, 8))[0]

    def write_q(self, addr: int, value: int):
        self.write_mem(addr, struct.pack("<Q", value))

    def write_mem(self, addr: int, data: bytes):
        self.as_.write(addr, data)

    def read_mem(self, addr: int, n: int) -> bytes:
        return self.as_.read(addr, n)[0]

    # DMA by the requester behind the SMMU
    def dma_write(self, iova: int, data: bytes) -> bool:
        return self.dev_as.write(iova, data) == MemTxResult.OK

    def dma_read(self, iova: int, n: int) -> tuple[bytes, bool]:
        data, res = self.dev_as.read(iova, n)
        return data, res == MemTxResult.OK
