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

from . import guest as G
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

    def translate(self, iova: int, write: bool):
        """The IOMMUTLBEntry the SMMU gives the requester for IOVA."""
        sdev = self.smmu.find_sdev(self.sid)
        return self.smmu.translate(sdev, iova, write, None)

    # DMA by the requester behind the SMMU
    def dma_write(self, iova: int, data: bytes) -> bool:
        return self.dev_as.write(iova, data) == MemTxResult.OK

    def dma_read(self, iova: int, n: int) -> tuple[bytes, bool]:
        data, res = self.dev_as.read(iova, n)
        return data, res == MemTxResult.OK


# Guest memory layout used by the suite and the unit tests.
STRTAB = 0x4001_0000
CMDQ = 0x4002_0000
EVENTQ = 0x4003_0000
CD_ADDR = 0x4004_0000
POOL = 0x4040_0000
POOL_SIZE = 0x80_0000
FILL = b"\xFF" * 8


class Setup:
    """An in-process rig with the SMMU enabled, SID 8 using a stage-1 CD (ASID 1)."""

    def __init__(self, strict=False, granule=12, tsz=16, record=True, enable=True, rig=None,
                 **cd_kw):
        self.rig = rig if rig is not None else InProcessRig(strict=strict)
        self.strict = strict
        self.granule = granule
        self.smmu = self.rig.smmu
        self.drv = G.SMMUDriver(self.rig, STRTAB, CMDQ, EVENTQ)
        self.drv.init(enable=enable)
        self.pt = G.PageTables(self.rig, POOL, POOL_SIZE, granule, tsz)
        self.drv.set_ste(8, G.ste(5, CD_ADDR))
        self.rig.write_mem(CD_ADDR, G.cd(self.pt.root, asid=1, t0sz=tsz, granule=granule,
                                         record=record, **cd_kw))

    def set_cd(self, **kw):
        args = dict(ttb0=self.pt.root, asid=1, t0sz=self.pt.tsz, granule=self.pt.g)
        args.update(kw)
        self.rig.write_mem(CD_ADDR, G.cd(**args))

    def probe(self, iova, candidates: dict) -> str:
        """Which of CANDIDATES (name -> PA) an 8-byte DMA write to IOVA reached,
        or "fault". The candidates are filled with 0xFF first and the DMA
        writes the rig's pattern (zeros)."""
        for pa in candidates.values():
            self.rig.write_mem(pa, FILL)
        self.rig.dma_write(iova, bytes(8))
        hits = [name for name, pa in candidates.items() if self.rig.read_mem(pa, 8) != FILL]
        if len(hits) > 1:
            raise AssertionError(f"one DMA reached several PAs: {hits}")
        return hits[0] if hits else "fault"

    def reg(self, off):
        return self.drv.reg_read(off)

    def wreg(self, off, value):
        self.drv.reg_write(off, value)

    def write(self, iova, data=b"\xAA" * 8):
        return self.rig.dma_write(iova, data)

    def read(self, iova, n=8):
        return self.rig.dma_read(iova, n)

    def events(self):
        return self.drv.events()

    def event_types(self):
        return sorted({e.type for e in self.drv.events()})
