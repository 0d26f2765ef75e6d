"""PCI core: buses, devices, configuration space, BARs, INTx and bus mastering.

Models the conventional PCI function as the PCI Local Bus Specification 3.0
defines it and as QEMU's ``hw/pci/pci.c`` exposes it to guests:

* a 256-byte (4 KiB for PCI Express) configuration space with per-byte
  write masks and write-1-to-clear masks; the standard type-0 header with
  vendor/device/class/revision, command, status, header type
  (multi-function bit), subsystem IDs (0x1af4:0x1100 when a model sets none),
  interrupt line/pin and the capability list;
* BARs: 32-bit and 64-bit memory (optionally prefetchable) and I/O; sizing
  by writing all-ones (the write mask keeps the size bits clear); mapping
  into the bus's memory or I/O space with priority 1 (as QEMU's
  ``pci_update_mappings``) when the command register enables decoding and the
  address is usable, unmapping otherwise;
* INTx: the device's pin is routed by the bus (``map_irq``) to one of the
  bus's interrupt lines, levels are summed per line, the status Interrupt bit
  follows, and command.INTX_DISABLE masks it;
* bus mastering: each device has its own bus-master address space, an alias
  of the bus's DMA root that is enabled only while command.MASTER is set, and
  DMA carries the requester ID (bus << 8 | devfn) in its attributes;
* MSI and MSI-X: see ``msi.py`` and ``msix.py``.

Not modelled: PCI-to-PCI bridges and secondary buses, expansion ROM
contents (the ROM BAR reads 0), hot plug, power management, SR-IOV,
PCI Express extended capabilities other than what a device adds itself.
Guest writes that can never map (an address that wraps, a 32-bit BAR above
4 GiB) are logged as guest errors and leave the BAR unmapped.
"""

from __future__ import annotations

import struct

from qemu_py.hw.misc.bus import Bus
from qemu_py.memory import AddressSpace, MemoryRegion, MemTxAttrs
from qemu_py.qom import Device, DeviceProp, QOMError, register_type
from qemu_py.system.log import guest_error

from .constants import *  # noqa: F403  (the register names of the PCI spec)
from .constants import (
    PCI_BAR_UNMAPPED,
    PCI_BASE_ADDRESS_0,
    PCI_BASE_ADDRESS_MEM_TYPE_64,
    PCI_BASE_ADDRESS_SPACE_IO,
    PCI_CACHE_LINE_SIZE,
    PCI_CAPABILITY_LIST,
    PCI_CLASS_DEVICE,
    PCI_CLASS_PROG,
    PCI_COMMAND,
    PCI_COMMAND_INTX_DISABLE,
    PCI_COMMAND_IO,
    PCI_COMMAND_MASTER,
    PCI_COMMAND_MEMORY,
    PCI_COMMAND_SERR,
    PCI_CONFIG_HEADER_SIZE,
    PCI_CONFIG_SPACE_SIZE,
    PCI_DEVICE_ID,
    PCI_HEADER_TYPE,
    PCI_HEADER_TYPE_MULTI_FUNCTION,
    PCI_INTERRUPT_LINE,
    PCI_INTERRUPT_PIN,
    PCI_NUM_PINS,
    PCI_NUM_REGIONS,
    PCI_REVISION_ID,
    PCI_ROM_ADDRESS,
    PCI_ROM_ADDRESS_ENABLE,
    PCI_ROM_SLOT,
    PCI_STATUS,
    PCI_STATUS_CAP_LIST,
    PCI_STATUS_DETECTED_PARITY,
    PCI_STATUS_INTERRUPT,
    PCI_STATUS_PARITY,
    PCI_STATUS_REC_MASTER_ABORT,
    PCI_STATUS_REC_TARGET_ABORT,
    PCI_STATUS_SIG_SYSTEM_ERROR,
    PCI_STATUS_SIG_TARGET_ABORT,
    PCI_SUBDEVICE_ID_QEMU,
    PCI_SUBSYSTEM_ID,
    PCI_SUBSYSTEM_VENDOR_ID,
    PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
    PCI_VENDOR_ID,
    PCIE_CONFIG_SPACE_SIZE,
    pci_devfn,
    pci_func,
    pci_slot,
)

U32_MAX = 0xffffffff
HWADDR_MAX = (1 << 64) - 1


def _get(buf, off, n) -> int:
    return int.from_bytes(buf[off:off + n], "little")


def _set(buf, off, n, val):
    buf[off:off + n] = (val & ((1 << (8 * n)) - 1)).to_bytes(n, "little")


@register_type("PCI", "bus", desc="PCI bus", user_creatable=False)
class PCIBus(Bus):
    def __init__(self, name: str, mem_space: MemoryRegion, io_space: MemoryRegion,
                 dma_root: MemoryRegion, bus_num: int = 0, devfn_min: int = 0, nirq: int = 4):
        super().__init__(name)
        self.mem_space = mem_space
        self.io_space = io_space
        self.dma_root = dma_root
        self.bus_num = bus_num
        self.devfn_min = devfn_min
        self.slots: list[PCIDevice | None] = [None] * 256
        self.irq_count = [0] * nirq
        self.map_irq = lambda dev, pin: pin          # (device, INTx pin 0-3) -> bus irq
        self.set_irq = lambda n, level: None         # bus irq n -> interrupt controller
        self.is_express = False

    def set_irq_routing(self, map_irq, set_irq, nirq: int):
        self.map_irq, self.set_irq = map_irq, set_irq
        self.irq_count = [0] * nirq

    def change_irq_level(self, n: int, change: int):
        self.irq_count[n] += change
        self.set_irq(n, 1 if self.irq_count[n] else 0)

    def find_device(self, bus_num: int, devfn: int) -> PCIDevice | None:
        if bus_num != self.bus_num:
            return None
        return self.slots[devfn & 0xff]

    def free_devfn(self, dev_name: str) -> int:
        for devfn in range(self.devfn_min, 256, 8):
            if self.slots[devfn] is None:
                return devfn
        raise QOMError(f"PCI: no slot/function available for {dev_name}, all in use or reserved")

    # -- configuration access (used by host bridges) --------------------------------------------
    def config_read(self, bus_num: int, devfn: int, addr: int, size: int) -> int:
        dev = self.find_device(bus_num, devfn)
        mask = (1 << (8 * size)) - 1
        if dev is None:
            return mask
        limit = dev.config_size
        if addr >= limit:
            return mask
        size = min(size, limit - addr)
        return dev.config_read(addr, size)

    def config_write(self, bus_num: int, devfn: int, addr: int, val: int, size: int):
        dev = self.find_device(bus_num, devfn)
        if dev is None:
            return
        limit = dev.config_size
        if addr >= limit:
            return
        dev.config_write(addr, val, min(size, limit - addr))


class PCIIORegion:
    __slots__ = ("addr", "address_space", "memory", "size", "type")

    def __init__(self, size, type_, memory, address_space):
        self.size, self.type, self.memory, self.address_space = size, type_, memory, address_space
        self.addr = PCI_BAR_UNMAPPED


def parse_devfn(text) -> int:
    """``-device ...,addr=SLOT[.FN]`` (hex) or an integer devfn."""
    if isinstance(text, int):
        return text
    s = str(text)
    try:
        if "." in s:
            slot_s, fn_s = s.split(".", 1)
            slot, fn = int(slot_s, 16), int(fn_s, 16)
        else:
            slot, fn = int(s, 16), 0
    except ValueError:
        raise QOMError(f"Property 'addr' doesn't take value '{s}'") from None
    if not 0 <= slot < 32 or not 0 <= fn < 8:
        raise QOMError(f"Property 'addr' doesn't take value '{s}'")
    return pci_devfn(slot, fn)


@register_type("pci-device", "device", abstract=True, desc="PCI device", user_creatable=False)
class PCIDevice(Device):
    CATEGORY = "Misc devices"
    HOTPLUGGABLE = True
    VENDOR_ID = 0xffff
    DEVICE_ID = 0xffff
    REVISION = 0
    CLASS_ID = 0
    SUBSYSTEM_VENDOR_ID = 0
    SUBSYSTEM_ID = 0
    IS_EXPRESS = False
    PROPS = [
        DeviceProp("addr", "str", None, "Slot and optional function number, example: 06.0 or 06"),
        DeviceProp("multifunction", "bool", False, "on/off"),
        DeviceProp("bus", "str", None, "bus to plug into (e.g. pci.0)"),
        DeviceProp("romfile", "str", None),
    ]

    def __init__(self):
        super().__init__()
        self.machine = None
        self.pci_bus: PCIBus | None = None
        self.devfn = -1
        self.config_size = PCIE_CONFIG_SPACE_SIZE if self.IS_EXPRESS else PCI_CONFIG_SPACE_SIZE
        n = self.config_size
        self.config = bytearray(n)
        self.wmask = bytearray(n)
        self.w1cmask = bytearray(n)
        self.cmask = bytearray(n)
        self.used = bytearray(n)
        self.io_regions: list[PCIIORegion | None] = [None] * PCI_NUM_REGIONS
        self.irq_state = 0
        self.msi = None
        self.msix = None
        self.bus_master_as: AddressSpace | None = None

    # -- identity ------------------------------------------------------------------------------
    @property
    def requester_id(self) -> int:
        bus_num = self.pci_bus.bus_num if self.pci_bus is not None else 0
        return (bus_num << 8) | (self.devfn & 0xff)

    def dma_attrs(self) -> MemTxAttrs:
        return MemTxAttrs(requester_id=self.requester_id)

    # -- realize ---------------------------------------------------------------------------------
    def do_realize(self):
        if self.realized:
            return
        bus = self.pci_bus
        if bus is None and self.machine is not None:
            want = self.prop("bus")
            bus = getattr(self.machine, "pci_bus", None)
            if want is not None and (bus is None or bus.bus_name != want):
                raise QOMError(f"Bus '{want}' not found")
        if bus is None:
            raise QOMError(f"No 'PCI' bus found for device '{self.TYPE_NAME}'")
        addr = self.prop("addr")
        devfn = bus.free_devfn(self.TYPE_NAME) if addr is None else parse_devfn(addr)
        if devfn < bus.devfn_min:
            raise QOMError(f"PCI: slot {pci_slot(devfn)} function {pci_func(devfn)} "
                           f"not available for {self.TYPE_NAME}, reserved")
        other = bus.slots[devfn]
        if other is not None:
            raise QOMError(f"PCI: slot {pci_slot(devfn)} function {pci_func(devfn)} not "
                           f"available for {self.TYPE_NAME}, in use by {other.TYPE_NAME},"
                           f"id={other.id or ''}")
        self.pci_bus = bus
        self.devfn = devfn
        self._init_config()
        self._init_bus_master()
        self.pci_realize()
        bus.slots[devfn] = self
        bus.devices.append(self)
        self.realized = True

    def _init_config(self):
        c = self.config
        _set(c, PCI_VENDOR_ID, 2, self.VENDOR_ID)
        _set(c, PCI_DEVICE_ID, 2, self.DEVICE_ID)
        c[PCI_REVISION_ID] = self.REVISION
        c[PCI_CLASS_PROG] = getattr(self, 'PROG_IF', 0)
        _set(c, PCI_CLASS_DEVICE, 2, self.CLASS_ID)
        if self.SUBSYSTEM_VENDOR_ID or self.SUBSYSTEM_ID:
            _set(c, PCI_SUBSYSTEM_VENDOR_ID, 2, self.SUBSYSTEM_VENDOR_ID)
            _set(c, PCI_SUBSYSTEM_ID, 2, self.SUBSYSTEM_ID)
        else:
            _set(c, PCI_SUBSYSTEM_VENDOR_ID, 2, PCI_SUBVENDOR_ID_REDHAT_QUMRANET)
            _set(c, PCI_SUBSYSTEM_ID, 2, PCI_SUBDEVICE_ID_QEMU)
        if self.prop("multifunction"):
            c[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MULTI_FUNCTION
        w = self.wmask
        w[PCI_CACHE_LINE_SIZE] = 0xff
        w[PCI_INTERRUPT_LINE] = 0xff
        _set(w, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER
             | PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_SERR)
        for i in range(PCI_CONFIG_HEADER_SIZE, self.config_size):
            w[i] = 0xff
        _set(self.w1cmask, PCI_STATUS, 2, PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT
             | PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT
             | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)
        for i in range(PCI_CONFIG_HEADER_SIZE):
            self.cmask[i] = 0xff

    def _init_bus_master(self):
        root = self.pci_bus.dma_root
        self.bus_master_container = MemoryRegion("bus master container", 1 << 64, owner=None)
        self.bus_master_enable = MemoryRegion.alias("bus master", root, 0, 1 << 64)
        self.bus_master_enable.set_enabled(False)
        self.bus_master_container.add_subregion(0, self.bus_master_enable)
        self.bus_master_as = AddressSpace(self.bus_master_container, self.TYPE_NAME)

    def pci_realize(self):
        """Subclasses: set the interrupt pin, register BARs and capabilities."""

    def pci_unrealize(self):
        """The PCI half of hot-unplug (QEMU's do_pci_unregister_device): mapped
        BARs leave their address space, the function leaves its bus slot and
        its bus-master address space goes. The device's own teardown comes first."""
        for r in self.io_regions:
            if r is not None and r.addr != PCI_BAR_UNMAPPED:
                r.address_space.del_subregion(r.memory)
                r.addr = PCI_BAR_UNMAPPED
        bus = self.pci_bus
        if bus is not None:
            if bus.slots[self.devfn] is self:
                bus.slots[self.devfn] = None
            if self in bus.devices:
                bus.devices.remove(self)
        if self.bus_master_as is not None:
            self.bus_master_enable.set_enabled(False)
            self.bus_master_as.destroy()

    # -- reset ---------------------------------------------------------------------------------
    def reset(self):
        if self.devfn < 0:
            return
        self.pci_reset()
        self.irq_state_reset()
        c = self.config
        cmd = _get(c, PCI_COMMAND, 2) & ~_get(self.wmask, PCI_COMMAND, 2)
        _set(c, PCI_COMMAND, 2, cmd)
        status = _get(c, PCI_STATUS, 2) & ~_get(self.w1cmask, PCI_STATUS, 2)
        _set(c, PCI_STATUS, 2, status)
        c[PCI_CACHE_LINE_SIZE] = 0
        c[PCI_INTERRUPT_LINE] = 0
        for i, r in enumerate(self.io_regions):
            if r is None:
                continue
            off = self._bar_offset(i)
            _set(c, off, 4, (_get(c, off, 4) & ~_get(self.wmask, off, 4)) | r.type)
            if r.type & PCI_BASE_ADDRESS_MEM_TYPE_64 and not r.type & PCI_BASE_ADDRESS_SPACE_IO:
                _set(c, off + 4, 4, 0)
        self.update_mappings()
        self.bus_master_enable.set_enabled(False)
        if self.msi is not None:
            self.msi.reset()
        if self.msix is not None:
            self.msix.reset()

    def pci_reset(self):
        """Subclasses: device-specific reset (before the generic part)."""

    def irq_state_reset(self):
        if self.irq_state:
            self.set_irq(0)
        self.irq_state = 0

    # -- BARs ------------------------------------------------------------------------------------
    @staticmethod
    def _bar_offset(region_num: int) -> int:
        return PCI_ROM_ADDRESS if region_num == PCI_ROM_SLOT else PCI_BASE_ADDRESS_0 + 4 * region_num

    def register_bar(self, region_num: int, type_: int, memory: MemoryRegion):
        size = memory.size
        if size & (size - 1) or (type_ & PCI_BASE_ADDRESS_SPACE_IO and size < 4) or \
                (not type_ & PCI_BASE_ADDRESS_SPACE_IO and size < 16):
            raise QOMError(f"{self.TYPE_NAME}: BAR {region_num} size 0x{size:x} is not a "
                           "power of two of at least 16 (memory) / 4 (I/O) bytes")
        space = self.pci_bus.io_space if type_ & PCI_BASE_ADDRESS_SPACE_IO else self.pci_bus.mem_space
        self.io_regions[region_num] = PCIIORegion(size, type_, memory, space)
        off = self._bar_offset(region_num)
        wmask = ~(size - 1) & ((1 << 64) - 1)
        if region_num == PCI_ROM_SLOT:
            wmask |= PCI_ROM_ADDRESS_ENABLE
        _set(self.config, off, 4, type_)
        if not type_ & PCI_BASE_ADDRESS_SPACE_IO and type_ & PCI_BASE_ADDRESS_MEM_TYPE_64:
            _set(self.wmask, off, 8, wmask)
            _set(self.cmask, off, 8, (1 << 64) - 1)
        else:
            _set(self.wmask, off, 4, wmask & U32_MAX)
            _set(self.cmask, off, 4, U32_MAX)

    def bar_address(self, region_num: int) -> int:
        r = self.io_regions[region_num]
        off = self._bar_offset(region_num)
        cmd = _get(self.config, PCI_COMMAND, 2)
        size = r.size
        if r.type & PCI_BASE_ADDRESS_SPACE_IO:
            if not cmd & PCI_COMMAND_IO:
                return PCI_BAR_UNMAPPED
            new_addr = _get(self.config, off, 4) & ~(size - 1)
            last_addr = new_addr + size - 1
            if last_addr <= new_addr or last_addr >= U32_MAX or new_addr == 0:
                if new_addr != 0 and _get(self.config, off, 4) != (~(size - 1) & U32_MAX) | r.type:
                    guest_error(f"pci {self.TYPE_NAME} {self.slot_name()}: I/O BAR {region_num} "
                                f"address 0x{new_addr:x} is unusable; left unmapped")
                return PCI_BAR_UNMAPPED
            return new_addr
        if not cmd & PCI_COMMAND_MEMORY:
            return PCI_BAR_UNMAPPED
        if r.type & PCI_BASE_ADDRESS_MEM_TYPE_64:
            new_addr = _get(self.config, off, 8)
        else:
            new_addr = _get(self.config, off, 4)
        if region_num == PCI_ROM_SLOT and not new_addr & PCI_ROM_ADDRESS_ENABLE:
            return PCI_BAR_UNMAPPED
        new_addr &= ~(size - 1) & HWADDR_MAX
        last_addr = new_addr + size - 1
        sizing = new_addr == (~(size - 1) & (HWADDR_MAX if r.type & PCI_BASE_ADDRESS_MEM_TYPE_64
                                             else U32_MAX))
        if last_addr <= new_addr or last_addr >= PCI_BAR_UNMAPPED or new_addr == 0:
            if new_addr != 0 and not sizing:
                guest_error(f"pci {self.TYPE_NAME} {self.slot_name()}: BAR {region_num} "
                            f"address 0x{new_addr:x} wraps; left unmapped")
            return PCI_BAR_UNMAPPED
        if not r.type & PCI_BASE_ADDRESS_MEM_TYPE_64 and last_addr >= U32_MAX:
            if not sizing:
                guest_error(f"pci {self.TYPE_NAME} {self.slot_name()}: 32-bit BAR {region_num} "
                            f"address 0x{new_addr:x} reaches 4 GiB; left unmapped")
            return PCI_BAR_UNMAPPED
        return new_addr

    def update_mappings(self):
        for i, r in enumerate(self.io_regions):
            if r is None:
                continue
            new_addr = self.bar_address(i)
            if new_addr == r.addr:
                continue
            if r.addr != PCI_BAR_UNMAPPED:
                r.address_space.del_subregion(r.memory)
            r.addr = new_addr
            if new_addr != PCI_BAR_UNMAPPED:
                r.address_space.add_subregion_overlap(new_addr, r.memory, 1)

    def slot_name(self) -> str:
        return f"{self.pci_bus.bus_num if self.pci_bus else 0:02x}:{pci_slot(self.devfn):02x}.{pci_func(self.devfn)}"

    # -- configuration space access ----------------------------------------------------------------
    def config_read(self, addr: int, size: int) -> int:
        return _get(self.config, addr, size)

    def config_write(self, addr: int, val: int, size: int):
        """The default write: masks, then side effects of the touched registers."""
        c, w, w1c = self.config, self.wmask, self.w1cmask
        for i in range(size):
            b = (val >> (8 * i)) & 0xff
            a = addr + i
            c[a] = (c[a] & ~w[a]) | (b & w[a])
            c[a] &= ~(b & w1c[a]) & 0xff
        end = addr + size
        touches = lambda lo, n: addr < lo + n and lo < end
        if touches(PCI_BASE_ADDRESS_0, 24) or touches(PCI_ROM_ADDRESS, 4) or touches(PCI_COMMAND, 2):
            self.update_mappings()
        if touches(PCI_COMMAND, 2):
            self._update_irq_disabled()
            self.bus_master_enable.set_enabled(bool(_get(c, PCI_COMMAND, 2) & PCI_COMMAND_MASTER))
        if self.msi is not None:
            self.msi.write_config(addr, val, size)
        if self.msix is not None:
            self.msix.write_config(addr, val, size)

    # -- capabilities ---------------------------------------------------------------------------
    def add_capability(self, cap_id: int, offset: int, size: int) -> int:
        if offset == 0:
            offset = self._find_space(size)
            if offset == 0:
                raise QOMError(f"{self.TYPE_NAME}: no room for capability 0x{cap_id:02x}")
        else:
            for i in range(offset, offset + size):
                if self.used[i]:
                    raise QOMError(f"{self.TYPE_NAME}: capability 0x{cap_id:02x} at 0x{offset:x} "
                                   "overlaps another capability")
        c = self.config
        c[offset] = cap_id
        c[offset + 1] = c[PCI_CAPABILITY_LIST]
        c[PCI_CAPABILITY_LIST] = offset
        _set(c, PCI_STATUS, 2, _get(c, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST)
        for i in range(offset, offset + size):
            self.used[i] = 1
            self.wmask[i] = 0
            self.cmask[i] = 0xff
        return offset

    def _find_space(self, size: int) -> int:
        for off in range(PCI_CONFIG_HEADER_SIZE, PCI_CONFIG_SPACE_SIZE - size + 1, 4):
            if not any(self.used[off:off + size]):
                return off
        return 0

    def find_capability(self, cap_id: int) -> int:
        seen = set()
        ptr = self.config[PCI_CAPABILITY_LIST] & ~3
        while ptr and ptr not in seen:
            seen.add(ptr)
            if self.config[ptr] == cap_id:
                return ptr
            ptr = self.config[ptr + 1] & ~3
        return 0

    # -- INTx ----------------------------------------------------------------------------------------
    def intx_pin(self) -> int:
        return self.config[PCI_INTERRUPT_PIN] - 1

    def set_irq(self, level: int):
        """Drive the device's INTx pin (the one in the interrupt-pin register)."""
        pin = self.intx_pin()
        if not 0 <= pin < PCI_NUM_PINS:
            return
        level = 1 if level else 0
        change = level - self.irq_state
        if not change:
            return
        self.irq_state = level
        status = _get(self.config, PCI_STATUS, 2)
        status = status | PCI_STATUS_INTERRUPT if level else status & ~PCI_STATUS_INTERRUPT
        _set(self.config, PCI_STATUS, 2, status)
        if self._irq_disabled():
            return
        self._change_irq_level(pin, change)

    def _irq_disabled(self) -> bool:
        return bool(_get(self.config, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE)

    def _change_irq_level(self, pin: int, change: int):
        bus = self.pci_bus
        bus.change_irq_level(bus.map_irq(self, pin), change)

    def _update_irq_disabled(self):
        disabled = self._irq_disabled()
        if disabled == getattr(self, "_was_irq_disabled", False):
            return
        self._was_irq_disabled = disabled
        if self.irq_state:
            self._change_irq_level(self.intx_pin(), -1 if disabled else 1)

    # -- DMA -------------------------------------------------------------------------------------------
    def dma_read(self, addr: int, length: int):
        return self.bus_master_as.read(addr, length, self.dma_attrs())

    def dma_write(self, addr: int, data: bytes):
        return self.bus_master_as.write(addr, data, self.dma_attrs())


def pci_config_get(dev: PCIDevice, off: int, n: int) -> int:
    return _get(dev.config, off, n)


def pci_config_set(dev: PCIDevice, off: int, n: int, val: int):
    _set(dev.config, off, n, val)


def pack_le(fmt: str, *vals) -> bytes:
    return struct.pack("<" + fmt, *vals)
