"""Intel 82441FX PCI and memory controller (i440FX) as a PC's host bridge.

``i440FX-pcihost`` (at ``/machine/i440fx``) owns root bus ``pci.0`` and the
configuration ports 0xcf8/0xcfc. ``i440FX`` is function 00.0 of that bus
(8086:1237 rev 02, class 0600), with the PAM registers (0x59-0x5f) that route
each segment of 0xc0000-0xfffff to PCI (the BIOS ROM alias), RAM, or
read-only RAM, and the SMRAM window at 0xa0000 routed to PCI (legacy VGA
space). After the i440FX datasheet (290549).

Not modelled: SMRAM open/close/lock (SMRAM register writes are stored;
logged as unimplemented), PAM "write-only" mode (treated as PCI), DRAM row
boundaries, the PCI hole 64-bit window sizing.
"""

from __future__ import annotations

from qemu_py.memory import MemoryRegion
from qemu_py.qom import register_type
from qemu_py.system.log import unimp

from .constants import PCI_CLASS_BRIDGE_HOST, PCI_VENDOR_ID_INTEL
from .host import PCIHostBridge
from .pci import PCIDevice

I440FX_PAM = 0x59
I440FX_PAM_SIZE = 7
I440FX_SMRAM = 0x72


@register_type("i440FX-pcihost", "pci-host-bridge", desc="i440FX PCI host bridge",
               user_creatable=False)
class I440FXHost(PCIHostBridge):
    pass


class PAMSegment:
    """One PAM-controlled window: aliases to PCI, RAM and read-only RAM."""

    def __init__(self, system_memory, ram, pci_space, start: int, size: int):
        self.start, self.size = start, size
        self.aliases = {
            "pci": MemoryRegion.alias("pam-pci", pci_space, start, size),
            "ram": MemoryRegion.alias("pam-ram", ram, start, size),
            "rom": MemoryRegion.alias("pam-rom", ram, start, size),
        }
        self.aliases["rom"].set_readonly(True)
        for mr in self.aliases.values():
            mr.set_enabled(False)
            system_memory.add_subregion_overlap(start, mr, 1)
        self.current = None
        self.set(0)

    def set(self, attr: int):
        want = {0: "pci", 1: "rom", 2: "pci", 3: "ram"}[attr & 3]
        if attr & 3 == 2:
            unimp("i440FX: PAM write-only mode not modelled; segment routed to PCI")
        if want == self.current:
            return
        if self.current is not None:
            self.aliases[self.current].set_enabled(False)
        self.aliases[want].set_enabled(True)
        self.current = want


@register_type("i440FX", "pci-device", desc="i440FX memory controller", user_creatable=False)
class I440FX(PCIDevice):
    VENDOR_ID = PCI_VENDOR_ID_INTEL
    DEVICE_ID = 0x1237
    REVISION = 0x02
    CLASS_ID = PCI_CLASS_BRIDGE_HOST

    def __init__(self):
        super().__init__()
        self.pam: list[PAMSegment] = []

    def setup_memory(self, system_memory, ram, pci_space):
        """Create the PAM and SMRAM windows (called by the board)."""
        self.pam.append(PAMSegment(system_memory, ram, pci_space, 0xf0000, 0x10000))
        for i in range(12):
            self.pam.append(PAMSegment(system_memory, ram, pci_space, 0xc0000 + i * 0x4000, 0x4000))
        self.smram = MemoryRegion.alias("smram-region", pci_space, 0xa0000, 0x20000)
        system_memory.add_subregion_overlap(0xa0000, self.smram, 1)

    def pci_realize(self):
        self.config[I440FX_SMRAM] = 0x02
        # PAM and SMRAM registers are the only writable device-specific bytes
        for i in range(0x40, self.config_size):
            self.wmask[i] = 0
        for i in range(I440FX_PAM, I440FX_PAM + I440FX_PAM_SIZE):
            self.wmask[i] = 0xff
        self.wmask[I440FX_SMRAM] = 0x78
        for off in (0x50, 0x51, 0x57, 0x58, 0x5a - 1):
            self.wmask[off] = 0xff

    def pci_reset(self):
        for i in range(I440FX_PAM, I440FX_PAM + I440FX_PAM_SIZE):
            self.config[i] = 0
        self.config[I440FX_SMRAM] = 0x02
        self._update_pam()

    def _update_pam(self):
        if not self.pam:
            return
        c = self.config
        self.pam[0].set(c[I440FX_PAM] >> 4)
        for i in range(12):
            reg = c[I440FX_PAM + 1 + i // 2]
            self.pam[1 + i].set(reg >> 4 if i & 1 else reg)

    def config_write(self, addr: int, val: int, size: int):
        super().config_write(addr, val, size)
        if addr < I440FX_PAM + I440FX_PAM_SIZE and I440FX_PAM < addr + size:
            self._update_pam()
        if addr <= I440FX_SMRAM < addr + size and self.config[I440FX_SMRAM] & 0x78 != 0:
            unimp("i440FX: SMRAM open/close/lock not modelled")
