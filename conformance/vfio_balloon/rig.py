"""Machines for the vfio/balloon suite and the guest-side steps on them.

``start(kind, vfio=..., balloon=...)`` builds ``pc`` (or ``microvm`` for a
virtio-mmio balloon) in process or as a separate emulator, and returns a
``Guest``: the qtest session plus a started balloon driver and, when an
RTL8168 is assigned, its BAR2 address.  ``Guest.transmit(addr, n)`` makes
the RTL8168 DMA-read N bytes at ADDR (one Tx descriptor), which is how the
device's view of guest memory is observed.
"""

from __future__ import annotations

import struct
import tempfile

from qemu_py.qtest.client import QTest
from qemu_py.qtest.libqos.balloon import QVirtioBalloon
from qemu_py.qtest.libqos.inproc import InProcessQTest
from qemu_py.qtest.libqos.malloc import pc_allocator
from qemu_py.qtest.libqos.pci import QPCIBus
from qemu_py.qtest.libqos.virtio_mmio import QVirtioMMIODevice, find_mmio_devices
from qemu_py.qtest.libqos.virtio_pci import QVirtioPCIDevice

BAR2 = 0xe0000000
NIC_SLOT, BALLOON_SLOT = 4, 8
PATTERN = bytes(range(256)) * 16          # one 4 KiB page


def args_for(vfio: int = 1, balloon: str = "pci", groups=None, iommu: str = "type1",
             extra=()) -> list[str]:
    if balloon == "mmio":
        return ["-M", "microvm", "-m", "128M", "-device", "virtio-balloon-device,id=b0",
                *extra]
    args = ["-M", "pc", "-m", "128M"]
    for i in range(vfio):
        group = groups[i] if groups else 100 + i
        args += ["-object", f"vfio-host-sim,id=hs{i},model=rtl8168,host=0000:0{i + 1}:00.0,"
                            f"group={group},iommu={iommu}",
                 "-device", f"vfio-pci,host-sim=hs{i},addr={NIC_SLOT + i:02x}.0,id=nic{i}"]
    if balloon == "pci":
        args += ["-device", f"virtio-balloon-pci,addr={BALLOON_SLOT:02x}.0,id=b0"]
    return args + list(extra)


class Guest:
    def __init__(self, q, balloon: str, vfio: int):
        self.q = q
        self.alloc = pc_allocator()
        self.nic_bar2 = None
        if balloon == "mmio":
            (base, _), = find_mmio_devices(q)
            self.balloon = QVirtioBalloon(QVirtioMMIODevice(q, base, self.alloc))
            return
        bus = QPCIBus(q)
        if vfio:
            nic = bus.device(NIC_SLOT)
            self.nic_bar2 = nic.map_bar(2, BAR2)
            nic.enable(intx_disable=True)
        if balloon == "pci":
            self.balloon = QVirtioBalloon(QVirtioPCIDevice(bus.device(BALLOON_SLOT),
                                                           self.alloc))

    def page_with_pattern(self) -> int:
        page = self.alloc.alloc(4096)
        self.q.memwrite(page, PATTERN)
        return page

    def transmit(self, addr: int, length: int) -> None:
        """One RTL8168 Tx descriptor over [addr, addr+length): the NIC DMA-reads it."""
        q, bar = self.q, self.nic_bar2
        ring = self.alloc.alloc(256, 256)
        q.memwrite(ring, struct.pack("<IIQ", (1 << 31) | (1 << 30) | (3 << 28) | length, 0, addr))
        q.writel(bar + 0x20, ring & 0xffffffff)
        q.writel(bar + 0x24, ring >> 32)
        q.writeb(bar + 0x37, 0x04)              # TxEnb
        q.writeb(bar + 0x38, 0x40)              # TxPoll: NPQ

    def dma_reads(self, sim_id: str = "hs0") -> list[dict]:
        log = self.q.qmp("qom-get", path=f"/objects/{sim_id}", property="dma-log")
        return [e for e in log if e["op"] == "read"]

    def discard_state(self) -> dict:
        return self.q.qmp("qom-get", path="/machine", property="x-ram-discard")


def start(kind: str = "inproc", vfio: int = 1, balloon: str = "pci", log_dir=None, **kw):
    args = args_for(vfio, balloon, **kw)
    if kind == "inproc":
        q = InProcessQTest(args)
    else:
        q = QTest(args, log_dir=log_dir or tempfile.mkdtemp(prefix="vfio-balloon-")).launch()
    return Guest(q, balloon, vfio)


def stop(guest: Guest) -> None:
    q = guest.q
    if isinstance(q, InProcessQTest):
        q.close()
    else:
        q.quit()
