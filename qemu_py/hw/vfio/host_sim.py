"""``vfio-host-sim``: a simulated host device standing in for a VFIO device file.

QEMU's vfio-pci talks to the host kernel through a device file descriptor:
``VFIO_DEVICE_GET_INFO`` / ``GET_REGION_INFO`` (flags READ, WRITE, MMAP; a
sparse-mmap capability listing the mmap-able areas), ``pread``/``pwrite`` at
a region's file offset (the slow path, exact widths), ``mmap`` of a region
(the fast path: CPU loads and stores go straight to the device), config
space as region 7, ``GET_IRQ_INFO`` / ``SET_IRQS`` (INTx with automask and
unmask, MSI, MSI-X) and ``VFIO_DEVICE_RESET``.  This object is that file plus
the hardware behind it, so vfio-pci can run without a host device:

``-object vfio-host-sim,id=ID,model=rtl8168[,host=DDDD:BB:DD.F][,group=N]
[,iommu=type1|spapr][,mdev=on|off][,sparse-mmap=on|off]``

* ``model``: the simulated hardware (see ``MODELS``; ``rtl8168`` is the
  Realtek RTL8168 NIC of ``rtl8168.py``).
* ``host``: the device's host address, used as vfio-pci's device name
  (default ``0000:01:00.0``); ``group``: its IOMMU group number (default: a
  group of its own); ``iommu``: the IOMMU type the group's container gets
  (``type1``: uncoordinated discard disable, ``spapr``: full disable);
  ``mdev``: whether the device is a mediated device (only those may use
  vfio-pci's ``x-balloon-allowed``); ``sparse-mmap``: whether the model
  advertises its sparse-mmap areas or one area per mmap-able region.

Every hardware access is recorded, in order, as an :class:`Access` ``(path,
op, region, offset, size, value)`` where ``path`` is ``rw`` (pread/pwrite)
or ``mmap`` (a load/store through the mapping) and ``op`` is ``read`` or
``write``; each also emits the trace event ``vfio_sim_access``.  The model
decides what counts as a violation (the RTL8168: anything wider than 4
bytes), recorded in ``violations`` and traced as ``vfio_sim_violation``.

Device DMA goes through the IOMMU mappings of the container the device's
group is attached to (``dma_read``/``dma_write``): an unmapped IOVA is an
IOMMU fault (recorded, the access does nothing), as on hardware; without
Bus Master Enable in its command register the device cannot DMA at all.
``dma-log`` keeps (op, iova, size, result, first 64 bytes as hex).

QOM properties for tests outside the process: ``accesses`` (count),
``access-log`` (the last 256 records as text), ``violations`` (list),
``dma-log``, ``attached`` and ``irq-mode``.

Not modelled: the VFIO ioctls as such (the methods are the interface),
device-specific regions beyond the PCI ones, error/request IRQs, migration.
"""

from __future__ import annotations

import mmap
from collections import deque
from dataclasses import dataclass
from typing import Callable, NamedTuple

from qemu_py.qom import DeviceProp, QOMError, register_type
from qemu_py.system import trace
from qemu_py.system.log import guest_error
from qemu_py.system.objects import UserObject

# VFIO region and IRQ indexes of a PCI device (linux/vfio.h)
VFIO_PCI_BAR0_REGION_INDEX = 0
VFIO_PCI_ROM_REGION_INDEX = 6
VFIO_PCI_CONFIG_REGION_INDEX = 7
VFIO_PCI_NUM_REGIONS = 9
VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX = 0, 1, 2
VFIO_PCI_NUM_IRQS = 5

# region flags
VFIO_REGION_INFO_FLAG_READ = 1 << 0
VFIO_REGION_INFO_FLAG_WRITE = 1 << 1
VFIO_REGION_INFO_FLAG_MMAP = 1 << 2
VFIO_REGION_INFO_FLAG_CAPS = 1 << 3

HOST_PAGE_SIZE = mmap.PAGESIZE
PCI_COMMAND_INTX_DISABLE = 0x400
PCI_COMMAND_MASTER = 0x4
DMA_LOG_BYTES = 64
LOG_TEXT_LINES = 256


class Access(NamedTuple):
    """One access that reached the simulated hardware."""

    path: str       # "rw" (pread/pwrite) or "mmap"
    op: str         # "read" or "write"
    region: int     # VFIO region index (0-5 BARs, 7 config)
    offset: int     # offset in the region
    size: int       # bytes
    value: int

    def text(self) -> str:
        return (f"{self.path} {self.op} region {self.region} offset 0x{self.offset:x} "
                f"size {self.size} value 0x{self.value:x}")


@dataclass(frozen=True)
class RegionSpec:
    """How a model describes one region (what GET_REGION_INFO reports)."""

    size: int
    flags: int = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE
    sparse: tuple[tuple[int, int], ...] | None = None   # (offset, size) mmap areas
    msix_mappable: bool = False


@dataclass(frozen=True)
class RegionInfo:
    index: int
    size: int
    flags: int
    offset: int                                          # file offset (index << 40)
    sparse: tuple[tuple[int, int], ...] | None
    msix_mappable: bool

    @property
    def mmap_allowed(self) -> bool:
        return bool(self.flags & VFIO_REGION_INFO_FLAG_MMAP)


MODELS: dict[str, type] = {}


def sim_model(name: str):
    """Class decorator: register a simulated hardware model under NAME."""
    def deco(cls):
        cls.MODEL_NAME = name
        MODELS[name] = cls
        return cls
    return deco


class SimModel:
    """Base of simulated hardware: regions, config space, register behaviour.

    Subclasses declare ``REGIONS`` ({index: RegionSpec}), ``IRQS`` ({index:
    count}), build ``config`` (256 bytes) and implement ``reg_read`` /
    ``reg_write`` (slow-path accesses of exactly ``size`` bytes),
    optionally ``mmap_access`` (a fast-path access already performed on the
    shared memory) and ``reset``.  ``mem[index]`` is each memory region's
    backing store, shared with every mapping of it.
    """

    MODEL_NAME = ""
    REGIONS: dict[int, RegionSpec] = {}
    IRQS: dict[int, int] = {VFIO_PCI_INTX_IRQ_INDEX: 1}

    def __init__(self, sim: "VFIOHostSim") -> None:
        self.sim = sim
        self.mem: dict[int, mmap.mmap] = {}
        for index, spec in self.REGIONS.items():
            if index != VFIO_PCI_CONFIG_REGION_INDEX:
                self.mem[index] = mmap.mmap(-1, max(spec.size, HOST_PAGE_SIZE))
        self.config = bytearray(256)
        self.config_wmask = bytearray(256)

    # behaviour hooks ------------------------------------------------------------------------
    def reg_read(self, index: int, offset: int, size: int) -> int:
        return int.from_bytes(self.mem[index][offset:offset + size], "little")

    def reg_write(self, index: int, offset: int, value: int, size: int) -> None:
        self.mem[index][offset:offset + size] = value.to_bytes(size, "little")

    def mmap_access(self, index: int, offset: int, size: int, op: str, value: int) -> None:
        """A load/store through a mapping (already done on ``mem``)."""

    def is_violation(self, access: Access) -> bool:
        return False

    def reset(self) -> None:
        for buf in self.mem.values():
            buf[:] = bytes(len(buf))


class VFIOHostSim(UserObject):
    """The simulated VFIO device file and the hardware behind it."""

    PROPS = [
        DeviceProp("model", "str", None, "simulated hardware model (rtl8168)"),
        DeviceProp("host", "str", "0000:01:00.0", "host PCI address (the device name)"),
        DeviceProp("group", "uint32", None, "IOMMU group number (default: own group)"),
        DeviceProp("iommu", "str", "type1", "IOMMU type of the group's container: type1|spapr"),
        DeviceProp("mdev", "bool", False, "a mediated device (may allow RAM discards)"),
        DeviceProp("sparse-mmap", "bool", True, "advertise the model's sparse-mmap areas"),
    ]
    _next_group = 1000

    def __init__(self) -> None:
        super().__init__()
        self.hw: SimModel | None = None
        self.accesses: deque[Access] = deque(maxlen=1 << 16)
        self.access_count = 0
        self.violations: list[Access] = []
        self.dma_log: deque[tuple] = deque(maxlen=1024)
        self.recording = True
        self.attached_to = None          # the vfio-pci device using us
        self.iommu = None                # the container (DMA translation), once attached
        self.irq_mode = "none"           # none | intx | msi | msix
        self.irq_triggers: dict[int, Callable] = {}
        self.intx_masked = False
        self.intx_line = 0
        self.msi_count = 0
        self.listeners: list[Callable[[Access], None]] = []
        self._deferred: list[Callable[[], None]] = []
        self.add_property("accesses", "uint64", get=lambda: self.access_count)
        self.add_property("access-log", "str", get=self._log_text)
        self.add_property("violations", "list",
                          get=lambda: [a._asdict() for a in self.violations])
        self.add_property("dma-log", "list", get=lambda: [
            {"op": op, "iova": iova, "size": size, "result": res, "data": data}
            for op, iova, size, res, data in self.dma_log])
        self.add_property("attached", "bool", get=lambda: self.attached_to is not None)
        self.add_property("irq-mode", "str", get=lambda: self.irq_mode)

    TYPE_DESC = "simulated VFIO host device"

    def complete(self) -> None:
        model = self.prop("model")
        if model is None:
            raise QOMError("Parameter 'model' is missing")
        cls = MODELS.get(model)
        if cls is None:
            raise QOMError(f"Parameter 'model' does not accept value '{model}' "
                           f"(known: {', '.join(sorted(MODELS))})")
        if self.prop("iommu") not in ("type1", "spapr"):
            raise QOMError(f"Parameter 'iommu' does not accept value '{self.prop('iommu')}' "
                           "(type1 or spapr)")
        if self.prop("group") is None:
            VFIOHostSim._next_group += 1
            self.prop_values["group"] = VFIOHostSim._next_group
        self.hw = cls(self)

    @property
    def name(self) -> str:
        return self.prop("host")

    @property
    def group_id(self) -> int:
        return self.prop("group")

    # -- recording ---------------------------------------------------------------------------
    def _record(self, path: str, op: str, region: int, offset: int, size: int, value: int):
        access = Access(path, op, region, offset, size, value)
        self.access_count += 1
        if self.recording:
            self.accesses.append(access)
        if "vfio_sim_access" in trace.ACTIVE:
            trace.emit("vfio_sim_access", device=self.name, path=path, op=op, region=region,
                       offset=offset, size=size, value=value)
        if self.hw.is_violation(access):
            self.violations.append(access)
            if "vfio_sim_violation" in trace.ACTIVE:
                trace.emit("vfio_sim_violation", device=self.name, path=path, op=op,
                           region=region, offset=offset, size=size)
        for fn in self.listeners:
            fn(access)

    def clear_log(self) -> None:
        self.accesses.clear()
        self.violations.clear()
        self.dma_log.clear()

    def _log_text(self) -> str:
        recent = list(self.accesses)[-LOG_TEXT_LINES:]
        return "".join(a.text() + "\n" for a in recent)

    # -- device info (VFIO_DEVICE_GET_INFO / GET_REGION_INFO / GET_IRQ_INFO) ------------------
    def num_regions(self) -> int:
        return VFIO_PCI_NUM_REGIONS

    def region_info(self, index: int) -> RegionInfo:
        spec = self.hw.REGIONS.get(index)
        if spec is None:
            return RegionInfo(index, 0, 0, index << 40, None, False)
        sparse = spec.sparse if self.prop("sparse-mmap") else None
        flags = spec.flags | (VFIO_REGION_INFO_FLAG_CAPS if sparse else 0)
        return RegionInfo(index, spec.size, flags, index << 40, sparse, spec.msix_mappable)

    def irq_count(self, index: int) -> int:
        return self.hw.IRQS.get(index, 0)

    # -- slow path: pread / pwrite ------------------------------------------------------------
    def _check(self, index: int, offset: int, size: int, op: str) -> bool:
        spec = self.hw.REGIONS.get(index)
        flag = VFIO_REGION_INFO_FLAG_READ if op == "read" else VFIO_REGION_INFO_FLAG_WRITE
        if spec is None or not spec.flags & flag or size not in (1, 2, 4, 8) \
                or offset < 0 or offset + size > spec.size:
            guest_error(f"vfio-host-sim {self.name}: p{op[0:4]} of {size} bytes at region "
                        f"{index} offset 0x{offset:x} is outside the region")
            return False
        return True

    # -- posted work ---------------------------------------------------------------------------
    def defer(self, fn: Callable[[], None]) -> None:
        """Hardware work to do after the current access (a posted write): run
        before the device's next access, or by the next main-loop iteration."""
        self._deferred.append(fn)
        loop = getattr(self.vm, "loop", None)
        if loop is not None:
            loop.call_soon(self.flush_deferred)

    def flush_deferred(self) -> None:
        while self._deferred:
            self._deferred.pop(0)()

    def pread(self, index: int, offset: int, size: int) -> int | None:
        """One read of exactly SIZE bytes; None when the region refuses it."""
        if self._deferred:
            self.flush_deferred()
        if not self._check(index, offset, size, "read"):
            return None
        if index == VFIO_PCI_CONFIG_REGION_INDEX:
            value = self.config_read(offset, size)
        else:
            value = self.hw.reg_read(index, offset, size) & ((1 << (8 * size)) - 1)
        self._record("rw", "read", index, offset, size, value)
        return value

    def pwrite(self, index: int, offset: int, value: int, size: int) -> bool:
        """One write of exactly SIZE bytes; False when the region refuses it."""
        if self._deferred:
            self.flush_deferred()
        if not self._check(index, offset, size, "write"):
            return False
        value &= (1 << (8 * size)) - 1
        self._record("rw", "write", index, offset, size, value)
        if index == VFIO_PCI_CONFIG_REGION_INDEX:
            self.config_write(offset, value, size)
        else:
            self.hw.reg_write(index, offset, value, size)
        return True

    # -- config space (the kernel's virtualized view) -------------------------------------------
    def config_read(self, offset: int, size: int) -> int:
        return int.from_bytes(self.hw.config[offset:offset + size], "little")

    def config_write(self, offset: int, value: int, size: int) -> None:
        cfg, wmask = self.hw.config, self.hw.config_wmask
        was_disabled = self.intx_disabled()
        for i in range(size):
            b = (value >> (8 * i)) & 0xff
            a = offset + i
            cfg[a] = (cfg[a] & ~wmask[a]) | (b & wmask[a])
        if was_disabled and not self.intx_disabled() and self.intx_line \
                and self.irq_mode == "intx":
            self._fire_intx()

    def intx_disabled(self) -> bool:
        """Command register INTx Disable (PCI 2.3): the device keeps INTx quiet."""
        return bool(int.from_bytes(self.hw.config[4:6], "little") & PCI_COMMAND_INTX_DISABLE)

    # -- fast path: mmap -------------------------------------------------------------------------
    def mmap(self, index: int, offset: int, size: int):
        """A writable view of SIZE bytes at OFFSET of region INDEX (shared memory)."""
        info = self.region_info(index)
        if not info.mmap_allowed or offset < 0 or offset + size > info.size:
            raise QOMError(f"vfio-host-sim {self.name}: region {index} cannot be mapped at "
                           f"0x{offset:x}+0x{size:x}")
        return memoryview(self.hw.mem[index])[offset:offset + size]

    def mmap_access(self, index: int, offset: int, size: int, op: str, value: int) -> None:
        """Called for every load/store through a mapping (the CPU reached the device)."""
        if self._deferred:
            self.flush_deferred()
        self._record("mmap", op, index, offset, size, value)
        self.hw.mmap_access(index, offset, size, op, value)

    # -- attach / reset -------------------------------------------------------------------------
    def attach(self, device, iommu) -> None:
        self.attached_to = device
        self.iommu = iommu

    def detach(self) -> None:
        self.set_irqs("none")
        self.attached_to = None
        self.iommu = None

    def reset(self) -> None:
        """VFIO_DEVICE_RESET: the hardware back to power-on state."""
        self.hw.reset()
        self.intx_masked = False

    # -- interrupts (SET_IRQS) -------------------------------------------------------------------
    def set_irqs(self, mode: str, triggers: dict[int, Callable] | None = None) -> None:
        """Route the hardware interrupt: ``intx`` (trigger 0, automasked), ``msi``
        or ``msix`` (trigger per vector), or ``none``."""
        self.irq_mode = mode
        self.irq_triggers = dict(triggers or {})
        self.intx_masked = False
        if mode == "intx" and self.intx_line:
            self._fire_intx()

    def _fire_intx(self) -> None:
        trigger = self.irq_triggers.get(0)
        if trigger is None or self.intx_masked or self.intx_disabled():
            return
        self.intx_masked = True            # level-triggered: masked until unmasked
        if "vfio_sim_irq" in trace.ACTIVE:
            trace.emit("vfio_sim_irq", device=self.name, kind="intx", vector=0, level=1)
        trigger()

    def intx_unmask(self) -> None:
        """VFIO_IRQ_SET_ACTION_UNMASK: re-signal if the line is still asserted."""
        if self.irq_mode != "intx" or not self.intx_masked:
            return
        self.intx_masked = False
        if self.intx_line:
            self._fire_intx()

    def hw_irq(self, level: int, vector: int = 0) -> None:
        """The hardware's interrupt output changed (level for INTx, edge for MSI)."""
        rising = level and not self.intx_line
        self.intx_line = 1 if level else 0
        if self.irq_mode == "intx":
            if level:
                self._fire_intx()
        elif self.irq_mode in ("msi", "msix") and rising:
            trigger = self.irq_triggers.get(vector)
            if "vfio_sim_irq" in trace.ACTIVE:
                trace.emit("vfio_sim_irq", device=self.name, kind=self.irq_mode,
                           vector=vector, level=1)
            if trigger is not None:
                trigger()

    # -- DMA through the IOMMU ------------------------------------------------------------------
    def _dma(self, op: str, iova: int, size: int, data: bytes | None):
        result = "fault"
        out = None
        if not int.from_bytes(self.hw.config[4:6], "little") & PCI_COMMAND_MASTER:
            result = "no-bus-master"             # the function may not master the bus
        elif self.iommu is not None:
            views = self.iommu.translate(iova, size, op == "write")
            if views is not None:
                result = "ok"
                if op == "read":
                    out = b"".join(bytes(v) for v in views)
                else:
                    pos = 0
                    for v in views:
                        v[:] = data[pos:pos + len(v)]
                        pos += len(v)
        shown = out if op == "read" else data
        self.dma_log.append((op, iova, size, result, (shown or b"")[:DMA_LOG_BYTES].hex()))
        if "vfio_sim_dma" in trace.ACTIVE:
            trace.emit("vfio_sim_dma", device=self.name, op=op, iova=iova, size=size,
                       result=result)
        return out

    def dma_read(self, iova: int, size: int) -> bytes | None:
        """Device DMA read through the IOMMU; None on an IOMMU fault."""
        return self._dma("read", iova, size, None)

    def dma_write(self, iova: int, data: bytes) -> bool:
        """Device DMA write through the IOMMU; False on an IOMMU fault."""
        self._dma("write", iova, len(data), bytes(data))
        return self.dma_log[-1][3] == "ok"


register_type("vfio-host-sim", "user-creatable", desc="simulated VFIO host device")(VFIOHostSim)
