"""What every SMMU model shares (QEMU's ``hw/arm/smmu-common.c``).

:class:`SMMUBase` owns the IOTLB, the per-device configuration cache and one
:class:`SMMUDevice` per (bus, devfn) that asked for DMA through it. Each
SMMUDevice has an IOMMU memory region covering the 64-bit input space and an
AddressSpace on it: that address space is what a PCI device behind the SMMU
uses as its bus-master space, so its DMA is translated with StreamID =
``bus_number << 8 | devfn`` (the PCI requester ID).

The stream-table and page-table walks read guest memory through ``dma_as``
(the machine's system address space, or any AddressSpace a test hands in).
"""

from __future__ import annotations

from qemu_py.memory import AddressSpace, MemoryRegion
from qemu_py.qom import Device, DeviceProp, register_type

from .smmu_iotlb import IOTLB
from .smmu_trace import TraceLog


def bus_number(bus) -> int:
    """The current number of BUS: an int, or an object with ``bus_num()``."""
    if bus is None:
        return 0
    if isinstance(bus, int):
        return bus
    num = getattr(bus, "bus_num", None)
    if callable(num):
        return num()
    return int(getattr(bus, "number", 0))


class SMMUDevice:
    """One requester behind the SMMU: its IOMMU region and address space."""

    def __init__(self, smmu: "SMMUBase", bus, devfn: int):
        self.smmu = smmu
        self.bus = bus
        self.devfn = devfn
        name = f"{smmu.MR_TYPE_NAME}-{bus_number(bus)}-{devfn}"
        self.iommu = MemoryRegion.iommu(name, 1 << 64, self._translate, owner=smmu)
        self.address_space = AddressSpace(self.iommu, name)
        self.cfg_cache_hits = 0
        self.cfg_cache_misses = 0

    @property
    def sid(self) -> int:
        return (bus_number(self.bus) << 8) | self.devfn

    def _translate(self, addr, is_write, attrs):
        return self.smmu.translate(self, addr, is_write, attrs)

    def __repr__(self):
        return f"<SMMUDevice sid={self.sid:#06x}>"


@register_type("arm-smmu", "device", abstract=True, desc="Arm SMMU common state",
               user_creatable=False)
class SMMUBase(Device):
    MR_TYPE_NAME = "smmu-iommu-memory-region"
    PROPS = [
        DeviceProp("bus_num", "uint8", 0, "PCI bus number of the primary bus"),
        DeviceProp("strict-arch", "bool", False,
                   "follow the Arm architecture where QEMU 7.2 deviates (qemu-py extension)"),
    ]

    def __init__(self):
        super().__init__()
        self.trace = TraceLog()
        self.iotlb = IOTLB(self.trace)
        self.configs: dict[SMMUDevice, object] = {}
        self.sdevs: dict[tuple[int, int], SMMUDevice] = {}
        self.dma_as: AddressSpace | None = None

    @property
    def strict(self) -> bool:
        return bool(self.prop_values.get("strict-arch"))

    def realize(self):
        self.iotlb.strict = self.strict

    # -- requesters ------------------------------------------------------------------
    def get_address_space(self, bus, devfn: int) -> AddressSpace:
        """The bus-master address space of (BUS, DEVFN): QEMU's smmu_find_add_as."""
        key = (id(bus) if not isinstance(bus, int) else bus, devfn)
        sdev = self.sdevs.get(key)
        if sdev is None:
            sdev = self.sdevs[key] = SMMUDevice(self, bus, devfn)
        return sdev.address_space

    def find_sdev(self, sid: int) -> SMMUDevice | None:
        for sdev in self.sdevs.values():
            if sdev.sid == sid:
                return sdev
        return None

    def flush_config_sid_range(self, start: int, end: int):
        for sdev in [d for d in self.configs if start <= d.sid <= end]:
            self.trace.emit("smmu_config_cache_inv", sid=sdev.sid)
            del self.configs[sdev]

    # -- qemu-py extensions for the monitor ------------------------------------------------
    def iotlb_dump_text(self) -> str:
        """``info iotlb``: the cached translations, one per line (qemu-py extension)."""
        return self.iotlb.dump_text()

    def trace_text(self, prefix: str = "") -> str:
        """The recorded trace events, oldest first (qemu-py extension)."""
        return self.trace.text(prefix)
