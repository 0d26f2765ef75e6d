"""``vfio-pci``: PCI device assignment of a (simulated) host device.

``-device vfio-pci,host-sim=ID`` assigns the ``vfio-host-sim`` object ID to
the guest, following QEMU 7.2's ``hw/vfio/pci.c`` (spec memory.md §4, §5.3):

Realize, in QEMU's order: the host device's IOMMU group is attached to a
container of the device's DMA address space (the system address space on a
board without vIOMMU), which disables RAM discards once per group
(``container.py``); the device joins the group (``x-balloon-allowed=on``
gives the count back, and is refused unless the host device is an mdev);
regions are set up (``region.py``); config space is read from the device;
BARs are prepared and registered; the MSI-X table is cut out of its BAR's
mmap; capabilities are rebuilt (MSI and MSI-X emulated, the others passed
through); BAR quirks are added; INTx is enabled.

BAR region stack (spec §4.2), for BAR n of size S::

    "<host> base BAR n"   reservation (NULL ops), S bytes; mapped by the PCI
     |                    core into the bus address space at priority 1
     +- "<host> BAR n"    I/O, vfio_region_ops (pread/pwrite), priority 0
     |   +- "<host> BAR n mmaps[i]"   ram_device per mmap area, priority 0
     |   +- quirk regions              priority 1 (RTL8168: 0x70, 0x74)
     +- "msix-table", "msix-pba"      priority 0, added later, so they win

Config space: reads merge the emulated bits (BARs, ROM BAR, the
multi-function bit, the capability pointers, status.CAP_LIST, and the whole
MSI and MSI-X capabilities) from QEMU's copy with the rest from the device
(``pread`` of region 7); writes go to the device first (it filters), then to
the emulated copy (BAR mapping, bus mastering, MSI/MSI-X state).

Interrupts arrive like QEMU's eventfds: handled by the main loop after the
access in progress (a bottom half).  INTx is the device's automasked line:
when it fires the PCI pin
is asserted and the BAR mmaps are switched off, so the next BAR access goes
through ``vfio_region_ops`` and signals the EOI (pin deasserted, device
unmasked; still asserted means it fires again); the mmaps come back
``x-intx-mmap-timeout-ms`` (default 1100) of virtual time later once no
INTx is pending.  Enabling MSI or MSI-X in config space routes the device's
interrupt to the emulated capability instead (a masked MSI-X vector sets
its pending bit and turns the emulated PBA region on).

Hot-unplug (``device_del``) undoes it all: interrupts off, BARs unmapped,
the device leaves its group; the last device of a group gives the discard
count back and detaches the group from its container, and the last group
of a container unregisters its listener (every DMA mapping is removed).

Not modelled: the ROM BAR contents, VGA ranges, sub-page BAR resizing
(``vfio_sub_page_bar_update_mapping``), MSI-X relocation, KVM irqfd/INTx
bypass, error and request IRQs, migration, PCIe capability adjustments.
"""

from __future__ import annotations

from qemu_py.hw.pci.constants import (
    PCI_BASE_ADDRESS_0,
    PCI_BASE_ADDRESS_MEM_TYPE_64,
    PCI_BASE_ADDRESS_SPACE_IO,
    PCI_CAP_ID_MSI,
    PCI_CAP_ID_MSIX,
    PCI_CAP_ID_EXP,
    PCI_CAP_ID_PM,
    PCI_CAPABILITY_LIST,
    PCI_CONFIG_HEADER_SIZE,
    PCI_DEVICE_ID,
    PCI_HEADER_TYPE,
    PCI_HEADER_TYPE_MULTI_FUNCTION,
    PCI_INTERRUPT_PIN,
    PCI_ROM_ADDRESS,
    PCI_STATUS,
    PCI_STATUS_CAP_LIST,
    PCI_VENDOR_ID,
)
from qemu_py.hw.pci.msi import MSI
from qemu_py.hw.pci.msix import MSIX
from qemu_py.hw.pci.pci import PCIDevice
from qemu_py.memory import AddressSpace, MemoryRegion
from qemu_py.qom import DeviceProp, QOMError, register_type
from qemu_py.system import trace
from qemu_py.system.objects import find_object

from . import container as vfio_container
from .host_sim import VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIOHostSim
from .quirks import bar_quirk_setup
from .region import VFIORegion

VFIO_MSG_PREFIX = "vfio {}: "
PCI_MSIX_FLAGS_QSIZE = 0x07ff
PCI_MSIX_FLAGS_BIRMASK = 0x7
PCI_MSI_FLAGS_64BIT, PCI_MSI_FLAGS_MASKBIT, PCI_MSI_FLAGS_QMASK = 0x80, 0x100, 0x0e
MSIX_CAP_LENGTH = 12
PCI_MSIX_ENTRY_SIZE = 16


class VFIOBAR:
    __slots__ = ("region", "mr", "size", "type", "ioport", "mem64", "quirks")

    def __init__(self) -> None:
        self.region: VFIORegion | None = None
        self.mr: MemoryRegion | None = None
        self.size = 0
        self.type = 0
        self.ioport = False
        self.mem64 = False
        self.quirks: list = []


class VFIOMSIXInfo:
    __slots__ = ("table_bar", "table_offset", "pba_bar", "pba_offset", "entries")

    def __init__(self, table: int, pba: int, ctrl: int) -> None:
        self.table_bar = table & PCI_MSIX_FLAGS_BIRMASK
        self.table_offset = table & ~PCI_MSIX_FLAGS_BIRMASK
        self.pba_bar = pba & PCI_MSIX_FLAGS_BIRMASK
        self.pba_offset = pba & ~PCI_MSIX_FLAGS_BIRMASK
        self.entries = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1


@register_type("vfio-pci", "pci-device",
               desc="VFIO-based PCI device assignment (of a vfio-host-sim device)")
class VFIOPCIDevice(PCIDevice):
    CATEGORY = "Misc devices"
    PROPS = [
        DeviceProp("host-sim", "str", None, "id of the vfio-host-sim object to assign"),
        DeviceProp("x-no-mmap", "bool", False, "on/off"),
        DeviceProp("x-intx-mmap-timeout-ms", "uint32", 1100),
        DeviceProp("x-balloon-allowed", "bool", False, "on/off"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.sim: VFIOHostSim | None = None
        self.group = None
        self.bars = [VFIOBAR() for _ in range(6)]
        self.emulated_config_bits = bytearray(self.config_size)
        self.msix_info: VFIOMSIXInfo | None = None
        self.interrupt = "none"              # none | intx | msi | msix
        self.intx_pending = False
        self.mmap_timer = None
        self.quirks: list = []
        self._in_group = False

    # -- identity --------------------------------------------------------------------------------
    @property
    def vbasedev_name(self) -> str:
        return self.sim.name if self.sim is not None else "?"

    def vendor_id(self) -> int:
        return int.from_bytes(self.config[PCI_VENDOR_ID:PCI_VENDOR_ID + 2], "little")

    def device_id(self) -> int:
        return int.from_bytes(self.config[PCI_DEVICE_ID:PCI_DEVICE_ID + 2], "little")

    def dma_space(self) -> AddressSpace:
        """pci_device_iommu_address_space: where the device's DMA goes."""
        machine = self.machine
        root = self.pci_bus.dma_root
        if root is machine.system_memory:
            return machine.system_as
        state = vfio_container.vfio_state(machine)
        spaces = state.__dict__.setdefault("dma_spaces", {})
        if id(root) not in spaces:
            spaces[id(root)] = AddressSpace(root, "vfio-dma")
        return spaces[id(root)]

    # -- realize ---------------------------------------------------------------------------------
    def pci_realize(self) -> None:
        sim_id = self.prop("host-sim")
        if sim_id is None:
            raise QOMError("No provided host device (use -device vfio-pci,host-sim=ID with "
                           "-object vfio-host-sim,id=ID,model=...)")
        sim = find_object(getattr(self.machine, "vm", None), sim_id, "vfio-host-sim")
        if sim is None:
            raise QOMError(f"vfio-host-sim '{sim_id}' not found")
        self.sim = sim
        prefix = VFIO_MSG_PREFIX.format(sim.name)
        try:
            self._realize(sim)
        except QOMError as e:
            self._undo_realize()
            raise QOMError(prefix + str(e)) from None
        if "vfio_realize" in trace.ACTIVE:
            trace.emit("vfio_realize", name=sim.name, group_id=sim.group_id)

    def _realize(self, sim: VFIOHostSim) -> None:
        machine = self.machine
        self.group = vfio_container.get_group(machine, sim.group_id, self.dma_space(),
                                              sim.prop("iommu"))
        for other in self.group.devices:
            if other.sim is sim or other.vbasedev_name == sim.name:
                raise QOMError("device is already attached")
        if self.prop("x-balloon-allowed") and not sim.prop("mdev"):
            raise QOMError("x-balloon-allowed only potentially compatible with mdev devices")
        vfio_container.attach_device(self.group, self, self.prop("x-balloon-allowed"))
        self._in_group = True
        sim.attach(self, self.group.container)

        # populate: regions and config space
        for i, bar in enumerate(self.bars):
            bar.region = VFIORegion(self, sim, i, f"{sim.name} BAR {i}", self.prop("x-no-mmap"))
        cfg = bytearray(b"".join(sim.config_read(off, 4).to_bytes(4, "little")
                                 for off in range(0, 256, 4)))
        self.hw_config = cfg
        self.config[:256] = cfg
        emu = self.emulated_config_bits
        emu[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_MULTI_FUNCTION
        if self.prop("multifunction"):
            self.config[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MULTI_FUNCTION
        else:
            self.config[PCI_HEADER_TYPE] &= ~PCI_HEADER_TYPE_MULTI_FUNCTION
        self.config[PCI_BASE_ADDRESS_0:PCI_BASE_ADDRESS_0 + 24] = bytes(24)
        self.config[PCI_ROM_ADDRESS:PCI_ROM_ADDRESS + 4] = bytes(4)
        emu[PCI_BASE_ADDRESS_0:PCI_BASE_ADDRESS_0 + 24] = b"\xff" * 24
        emu[PCI_ROM_ADDRESS:PCI_ROM_ADDRESS + 4] = b"\xff" * 4

        self._bars_prepare(cfg)
        self._msix_early_setup(cfg)
        self._bars_register()
        self._add_capabilities(cfg)
        for i in range(6):
            self.bars[i].quirks = bar_quirk_setup(self, i)
        if self.config[PCI_INTERRUPT_PIN]:
            self.mmap_timer = machine.vm.clock.new_timer(self._intx_mmap_enable,
                                                         f"vfio {sim.name} intx mmap")
            self._intx_enable()

    def _undo_realize(self) -> None:
        if self.sim is not None and self.sim.attached_to is self:
            self.sim.detach()
        if self.group is not None:
            if self._in_group:
                vfio_container.detach_device(self.group, self)
                self._in_group = False
            vfio_container.put_group(self.machine, self.group)
            self.group = None

    def _bars_prepare(self, cfg: bytearray) -> None:
        for i, bar in enumerate(self.bars):
            if not bar.region.size:
                continue
            off = PCI_BASE_ADDRESS_0 + 4 * i
            pci_bar = int.from_bytes(cfg[off:off + 4], "little")
            bar.ioport = bool(pci_bar & PCI_BASE_ADDRESS_SPACE_IO)
            bar.mem64 = not bar.ioport and bool(pci_bar & PCI_BASE_ADDRESS_MEM_TYPE_64)
            bar.type = pci_bar & (0x3 if bar.ioport else 0xf)
            bar.size = bar.region.size

    def _find_hw_cap(self, cfg: bytearray, cap_id: int) -> int:
        seen = set()
        pos = cfg[PCI_CAPABILITY_LIST] & ~3
        while pos and pos not in seen and pos < 256:
            seen.add(pos)
            if cfg[pos] == cap_id:
                return pos
            pos = cfg[pos + 1] & ~3
        return 0

    def _msix_early_setup(self, cfg: bytearray) -> None:
        pos = self._find_hw_cap(cfg, PCI_CAP_ID_MSIX)
        if not pos:
            return
        ctrl = int.from_bytes(cfg[pos + 2:pos + 4], "little")
        table = int.from_bytes(cfg[pos + 4:pos + 8], "little")
        pba = int.from_bytes(cfg[pos + 8:pos + 12], "little")
        msix = VFIOMSIXInfo(table, pba, ctrl)
        if not self.bars[msix.table_bar].size or not self.bars[msix.pba_bar].size:
            raise QOMError(f"MSI-X table or PBA in BAR {msix.table_bar}/{msix.pba_bar}, "
                           "which the device does not have")
        self.msix_info = msix
        self._fixup_msix_region()

    def _fixup_msix_region(self) -> None:
        """vfio_pci_fixup_msix_region: cut the table's host pages out of the mmap."""
        msix = self.msix_info
        region = self.bars[msix.table_bar].region
        if region.info.msix_mappable:
            return
        if len(region.areas) != 1 or region.areas[0] != (0, region.size):
            return
        page = vfio_container.HOST_PAGE_SIZE
        start = msix.table_offset & ~(page - 1)
        end = (msix.table_offset + msix.entries * PCI_MSIX_ENTRY_SIZE + page - 1) & ~(page - 1)
        if not start:
            region.areas = [] if end >= region.size else [(end, region.size - end)]
        elif end >= region.size:
            region.areas = [(0, start)]
        else:
            region.areas = [(0, start), (end, region.size - end)]

    def _bars_register(self) -> None:
        for i, bar in enumerate(self.bars):
            if not bar.size:
                continue
            bar.mr = MemoryRegion.reservation(f"{self.vbasedev_name} base BAR {i}", bar.size,
                                              owner=self)
            bar.mr.add_subregion(0, bar.region.mem)
            bar.region.mmap()
            self.register_bar(i, bar.type, bar.mr)

    @staticmethod
    def _cap_size(cfg: bytearray, pos: int, cap_id: int, positions: list[int]) -> int:
        if cap_id == PCI_CAP_ID_MSI:
            flags = int.from_bytes(cfg[pos + 2:pos + 4], "little")
            size = 0x0e if flags & PCI_MSI_FLAGS_64BIT else 0x0a
            return size + (0x0a if flags & PCI_MSI_FLAGS_MASKBIT else 0)
        if cap_id == PCI_CAP_ID_MSIX:
            return MSIX_CAP_LENGTH
        if cap_id == PCI_CAP_ID_PM:
            return 8
        # everything else: up to the next capability (vfio_std_cap_max_size)
        later = [p for p in positions if p > pos]
        end = min(later) if later else 256
        size = end - pos
        if cap_id == PCI_CAP_ID_EXP:
            size = min(size, 0x3c)
        return size

    def _add_capabilities(self, cfg: bytearray) -> None:
        """vfio_add_capabilities: rebuild the list in the hardware's order."""
        caps = []
        seen = set()
        pos = cfg[PCI_CAPABILITY_LIST] & ~3
        while pos and pos not in seen and PCI_CONFIG_HEADER_SIZE <= pos < 256:
            seen.add(pos)
            caps.append((pos, cfg[pos]))
            pos = cfg[pos + 1] & ~3
        emu = self.emulated_config_bits
        self.config[PCI_CAPABILITY_LIST] = 0
        emu[PCI_CAPABILITY_LIST] = 0xff
        emu[PCI_STATUS] |= PCI_STATUS_CAP_LIST
        if not caps:
            return
        positions = [p for p, _ in caps]
        for pos, cap_id in reversed(caps):
            size = self._cap_size(cfg, pos, cap_id, positions)
            if cap_id == PCI_CAP_ID_MSI:
                flags = int.from_bytes(cfg[pos + 2:pos + 4], "little")
                entries = 1 << ((flags & PCI_MSI_FLAGS_QMASK) >> 1)
                MSI(self, pos, entries, bool(flags & PCI_MSI_FLAGS_64BIT),
                    bool(flags & PCI_MSI_FLAGS_MASKBIT))
                emu[pos:pos + size] = b"\xff" * size
            elif cap_id == PCI_CAP_ID_MSIX and self.msix_info is not None:
                info = self.msix_info
                MSIX(self, info.entries, info.table_bar, self.bars[info.table_bar].mr,
                     info.table_offset, info.pba_bar, self.bars[info.pba_bar].mr,
                     info.pba_offset, cap_pos=pos)
                self.msix.pba_mmio.set_enabled(False)
                emu[pos:pos + size] = b"\xff" * size
            else:
                self.add_capability(cap_id, pos, size)
                self.config[pos + 2:pos + size] = cfg[pos + 2:pos + size]
                emu[pos + 1] = 0xff

    # -- config space ------------------------------------------------------------------------
    def config_read(self, addr: int, size: int) -> int:
        emu_bits = int.from_bytes(self.emulated_config_bits[addr:addr + size], "little")
        emu_val = super().config_read(addr, size) if emu_bits else 0
        phys_val = 0
        if ~emu_bits & ((1 << (8 * size)) - 1):
            value = self.sim.pread(VFIO_PCI_CONFIG_REGION_INDEX, addr, size) \
                if self.sim is not None else None
            phys_val = value if value is not None else (1 << (8 * size)) - 1
        val = (emu_val & emu_bits) | (phys_val & ~emu_bits & ((1 << (8 * size)) - 1))
        if "vfio_pci_read_config" in trace.ACTIVE:
            trace.emit("vfio_pci_read_config", name=self.vbasedev_name, addr=addr, len=size,
                       val=val)
        return val

    def config_write(self, addr: int, val: int, size: int) -> None:
        if "vfio_pci_write_config" in trace.ACTIVE:
            trace.emit("vfio_pci_write_config", name=self.vbasedev_name, addr=addr, val=val,
                       len=size)
        if self.sim is not None:
            self.sim.pwrite(VFIO_PCI_CONFIG_REGION_INDEX, addr, val, size)
        super().config_write(addr, val, size)
        if self.realized:
            self._update_interrupt_mode()

    # -- interrupts ------------------------------------------------------------------------------
    def _update_interrupt_mode(self) -> None:
        if self.msix is not None and self.msix.enabled():
            want = "msix"
        elif self.msi is not None and self.msi.enabled():
            want = "msi"
        elif self.config[PCI_INTERRUPT_PIN]:
            want = "intx"
        else:
            want = "none"
        if want == self.interrupt:
            return
        self._disable_interrupts()
        if want == "msix":
            self._vectors_enable("msix", self.sim.irq_count(VFIO_PCI_MSIX_IRQ_INDEX))
        elif want == "msi":
            self._vectors_enable("msi", self.msi.vectors_enabled())
        elif want == "intx":
            self._intx_enable()

    def _disable_interrupts(self) -> None:
        mode = self.interrupt
        if mode == "intx":
            if self.intx_pending:
                self.intx_pending = False
                self.set_irq(0)
            if "vfio_intx_disable" in trace.ACTIVE:
                trace.emit("vfio_intx_disable", name=self.vbasedev_name)
        elif mode in ("msi", "msix") and f"vfio_{mode}_disable" in trace.ACTIVE:
            trace.emit(f"vfio_{mode}_disable", name=self.vbasedev_name)
        self._mmaps_enabled(True)
        if self.sim is not None:
            self.sim.set_irqs("none")
        self.interrupt = "none"

    def _intx_enable(self) -> None:
        if not self.config[PCI_INTERRUPT_PIN]:
            return
        self.interrupt = "intx"
        self.intx_pending = False
        if "vfio_intx_enable" in trace.ACTIVE:
            trace.emit("vfio_intx_enable", name=self.vbasedev_name)
        self.sim.set_irqs("intx", {0: self._eventfd(self._intx_interrupt)})

    def _vectors_enable(self, mode: str, count: int) -> None:
        self.interrupt = mode
        triggers = {n: self._eventfd(lambda n=n: self._msi_interrupt(n))
                    for n in range(max(count, 1))}
        if mode == "msi" and "vfio_msi_enable" in trace.ACTIVE:
            trace.emit("vfio_msi_enable", name=self.vbasedev_name, nr_vectors=count)
        elif mode == "msix" and "vfio_msix_enable" in trace.ACTIVE:
            trace.emit("vfio_msix_enable", name=self.vbasedev_name)
        self.sim.set_irqs(mode, triggers)

    def _eventfd(self, handler):
        """The kernel signals an eventfd; QEMU's main loop runs HANDLER later
        (after the access in progress has completed, EOI included)."""
        loop = getattr(getattr(self.machine, "vm", None), "loop", None)
        if loop is None:
            return handler
        return lambda: loop.call_soon(handler)

    def _intx_interrupt(self) -> None:
        """vfio_intx_interrupt: the device's automasked line fired."""
        if self.interrupt != "intx" or self.intx_pending:
            return
        if "vfio_intx_interrupt" in trace.ACTIVE:
            trace.emit("vfio_intx_interrupt", name=self.vbasedev_name,
                       line="ABCD"[max(self.intx_pin(), 0) % 4])
        self.intx_pending = True
        self.set_irq(1)
        self._mmaps_enabled(False)
        timeout = self.prop("x-intx-mmap-timeout-ms")
        if timeout and self.mmap_timer is not None:
            clock = self.machine.vm.clock
            self.mmap_timer.mod(clock.now() + timeout * 1_000_000)

    def intx_eoi(self) -> None:
        """vfio_intx_eoi: every BAR access through vfio_region_ops ends a pending INTx."""
        if not self.intx_pending:
            return
        if "vfio_intx_eoi" in trace.ACTIVE:
            trace.emit("vfio_intx_eoi", name=self.vbasedev_name)
        self.intx_pending = False
        self.set_irq(0)
        self.sim.intx_unmask()

    def _intx_mmap_enable(self) -> None:
        if self.intx_pending:
            clock = self.machine.vm.clock
            self.mmap_timer.mod(clock.now() + self.prop("x-intx-mmap-timeout-ms") * 1_000_000)
            return
        self._mmaps_enabled(True)

    def _mmaps_enabled(self, enabled: bool) -> None:
        for bar in self.bars:
            if bar.region is not None and bar.region.mem is not None:
                bar.region.set_mmaps_enabled(enabled)

    def _msi_interrupt(self, vector: int) -> None:
        """vfio_msi_interrupt: deliver through the emulated MSI / MSI-X capability."""
        if not self.realized:
            return
        if self.interrupt == "msix":
            msix = self.msix
            if vector >= msix.nentries:
                return
            if msix.is_masked(vector):
                msix.pba_mmio.set_enabled(True)
            addr, data = msix.message(vector)
            if "vfio_msi_interrupt" in trace.ACTIVE:
                trace.emit("vfio_msi_interrupt", name=self.vbasedev_name, index=vector,
                           addr=addr, data=data)
            msix.notify(vector)
        elif self.interrupt == "msi":
            addr, data = self.msi.message(vector)
            if "vfio_msi_interrupt" in trace.ACTIVE:
                trace.emit("vfio_msi_interrupt", name=self.vbasedev_name, index=vector,
                           addr=addr, data=data)
            self.msi.notify(vector)

    # -- reset -----------------------------------------------------------------------------------
    def pci_reset(self) -> None:
        """vfio_pci_pre_reset + the device reset (FLR)."""
        if self.sim is None:
            return
        self._disable_interrupts()
        if self.mmap_timer is not None:
            self.mmap_timer.delete()
        self.sim.reset()
        for bar in self.bars:
            for quirk in bar.quirks:
                quirk.reset()

    def reset(self) -> None:
        super().reset()
        if self.sim is not None and self.realized:
            if self.msix is not None:
                self.msix.pba_mmio.set_enabled(False)
            self._update_interrupt_mode()

    # -- hot-unplug ------------------------------------------------------------------------------
    def unrealize(self) -> None:
        """vfio_exitfn + finalize: undo realize; the group may release its discard count."""
        if not self.realized:
            return
        self._disable_interrupts()
        if self.mmap_timer is not None:
            self.mmap_timer.delete()
        for bar in self.bars:
            for quirk in bar.quirks:
                quirk.remove()
            bar.quirks = []
            if bar.region is not None and bar.region.mem is not None:
                bar.region.unmap()
        self.pci_unrealize()
        self._undo_realize()
        self.realized = False
