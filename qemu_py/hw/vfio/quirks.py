"""Device quirks of vfio-pci: I/O regions laid over a BAR at priority 1.

QEMU adds quirk regions to ``bars[n].region.mem`` with
``add_subregion_overlap(..., 1)``, above the mmap subregions (priority 0)
and the region's own ops (spec memory.md §4.3).  Pass-through accesses of a
quirk use the base region's ``vfio_region_ops`` (pread/pwrite, INTx EOI).

Realtek RTL8168 BAR2 window (``pci-quirks.c``): the device has a backdoor to
its own MSI-X table at BAR2+0x70 (data) and +0x74 (address), 4 bytes each,
ops ``valid min=max=4, unaligned=false``, little-endian.  The address
register selects the MSI-X table when bits 16-30 equal 1; bit 31 means
"write" on a write and "latched / complete" on a read back.

* address read: pass through; if the window is on the MSI-X table, return
  the last address written XOR 0x80000000 instead (the fake latch);
* address write: the window turns off; if the value selects the MSI-X table
  it turns on and the address is kept; with bit 31 set (do-write), and when
  the device has MSI-X, the last data written goes into the *emulated*
  MSI-X table at ``address & 0xfff`` and nothing reaches the hardware;
  otherwise the write passes through;
* data read: pass through; if the window is on and the device has MSI-X,
  the emulated table at ``address & 0xfff`` answers instead;
* data write: kept as the window's data, and passed through.

Only accesses of exactly 4 aligned bytes are valid; anything else fails
validation (DECODE_ERROR, reads 0) and touches neither quirk nor hardware.

The re-entrancy guard (spec §2.6, backported to 7.2.x and in master): the
quirk regions and ``msix-table`` have the same owner, so the quirk's nested
dispatch to the table is *blocked* (``Blocked re-entrant IO on
MemoryRegion: msix-table ...`` once, MEMTX_ACCESS_ERROR): a redirected write
is lost and a redirected read returns 0, exactly as QEMU 7.2.22 behaves.
Before the guard (7.2.0) the redirect reached the table; qemu-py shows that
behaviour when the table region's ``disable_reentrancy_guard`` is set.
"""

from __future__ import annotations

from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.system import trace
from qemu_py.system.log import guest_error

PCI_VENDOR_ID_REALTEK = 0x10ec
RTL8168_DEVICE_ID = 0x8168
RTL_DATA, RTL_ADDRESS = 0x70, 0x74
WINDOW_FLAG = 0x80000000


class RTL8168Quirk:
    """The RTL8168 BAR2 MSI-X window quirk (two 4-byte regions)."""

    def __init__(self, vdev, bar: int = 2) -> None:
        self.vdev = vdev
        self.region = vdev.bars[bar].region
        self.addr = 0
        self.data = 0
        self.enabled = False
        ops = dict(endianness=Endian.LITTLE, valid_min=4, valid_max=4, valid_unaligned=False)
        self.address_mr = MemoryRegion.io(
            "vfio-rtl8168-window-address-quirk", 4,
            MemoryRegionOps(read=self.address_read, write=self.address_write, **ops), owner=vdev)
        self.data_mr = MemoryRegion.io(
            "vfio-rtl8168-window-data-quirk", 4,
            MemoryRegionOps(read=self.data_read, write=self.data_write, **ops), owner=vdev)
        mem = self.region.mem
        mem.add_subregion_overlap(RTL_ADDRESS, self.address_mr, 1)
        mem.add_subregion_overlap(RTL_DATA, self.data_mr, 1)
        self.regions = (self.address_mr, self.data_mr)
        if "vfio_quirk_rtl8168_probe" in trace.ACTIVE:
            trace.emit("vfio_quirk_rtl8168_probe", name=vdev.vbasedev_name)

    @staticmethod
    def applies(vdev, bar: int) -> bool:
        return (bar == 2 and vdev.vendor_id() == PCI_VENDOR_ID_REALTEK
                and vdev.device_id() == RTL8168_DEVICE_ID and vdev.bars[bar].region.mem
                is not None)

    def reset(self) -> None:
        self.addr = self.data = 0
        self.enabled = False

    def remove(self) -> None:
        for mr in self.regions:
            self.region.mem.del_subregion(mr)

    def _msix(self):
        return self.vdev.msix

    def _in_table(self, offset: int, size: int) -> bool:
        """QEMU does not bound the window offset (it would access past the
        table); here an offset outside the emulated table is a guest error."""
        msix = self._msix()
        if offset + size <= len(msix.table):
            return True
        guest_error(f"vfio {self.vdev.vbasedev_name}: RTL8168 window offset 0x{offset:x} "
                    f"is outside the {len(msix.table)}-byte MSI-X table")
        return False

    def address_read(self, addr: int, size: int) -> int:
        data = self.region.read(addr + RTL_ADDRESS, size)
        if self.enabled:
            data = self.addr ^ WINDOW_FLAG
            if "vfio_quirk_rtl8168_fake_latch" in trace.ACTIVE:
                trace.emit("vfio_quirk_rtl8168_fake_latch", name=self.vdev.vbasedev_name,
                           val=data)
        return data

    def address_write(self, addr: int, data: int, size: int) -> None:
        self.enabled = False
        if (data & 0x7fff0000) == 0x10000:           # the MSI-X table
            self.enabled = True
            self.addr = data & 0xffffffff
            if data & WINDOW_FLAG:                    # do write
                msix = self._msix()
                if msix is not None:
                    offset = data & 0xfff
                    if "vfio_quirk_rtl8168_msix_write" in trace.ACTIVE:
                        trace.emit("vfio_quirk_rtl8168_msix_write",
                                   name=self.vdev.vbasedev_name, offset=offset, val=self.data)
                    if self._in_table(offset, size):
                        msix.table_mmio.dispatch_write(offset, self.data, size)
                return                                # guest MSI-X data never reaches hardware
        self.region.write(addr + RTL_ADDRESS, data, size)

    def data_read(self, addr: int, size: int) -> int:
        data = self.region.read(addr + RTL_DATA, size)
        msix = self._msix()
        if self.enabled and msix is not None:
            offset = self.addr & 0xfff
            if self._in_table(offset, size):
                data, _ = msix.table_mmio.dispatch_read(offset, size)
            if "vfio_quirk_rtl8168_msix_read" in trace.ACTIVE:
                trace.emit("vfio_quirk_rtl8168_msix_read", name=self.vdev.vbasedev_name,
                           offset=offset, val=data)
        return data

    def data_write(self, addr: int, data: int, size: int) -> None:
        self.data = data & 0xffffffff
        self.region.write(addr + RTL_DATA, data, size)


BAR_QUIRKS = (RTL8168Quirk,)


def bar_quirk_setup(vdev, bar: int) -> list:
    """vfio_bar_quirk_setup: every quirk that applies to BAR."""
    return [q(vdev, bar) for q in BAR_QUIRKS if q.applies(vdev, bar)]
