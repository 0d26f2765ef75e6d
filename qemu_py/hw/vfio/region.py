"""A VFIO region as vfio-pci maps it: the slow-path I/O region and its mmaps.

``VFIORegion`` is ``vfio_region_setup`` / ``vfio_region_mmap`` of QEMU 7.2
(``hw/vfio/common.c``; ``region.c`` in 2025 master), spec memory.md §4.1:

* ``mem``: an I/O region of the region's size whose ops are
  ``vfio_region_ops``: little-endian, valid 1..8 bytes (``valid.unaligned``
  false), impl 1..8; a read is one ``pread`` of exactly the access size (a
  failed pread reads all-ones), a write one ``pwrite``; every access then
  signals an INTx EOI to the device.
* mmap areas: the sparse-mmap capability's areas (zero-sized ones skipped),
  or one area for the whole region, unless ``x-no-mmap`` or the region lacks
  the MMAP flag.  Each area becomes a **ram_device** region ``"NAME
  mmaps[i]"`` over the host mapping, added to ``mem`` at the area offset with
  plain ``add_subregion`` (priority 0): ``mem`` terminates, so the mmaps win
  and the I/O ops only fill the gaps.  Every load/store through a mapping is
  reported to the host device and traced as
  ``memory_region_ram_device_read/write`` (cpu -1: not a vCPU access).
* ``set_mmaps_enabled`` switches the mmap regions off (INTx pending) and on.
"""

from __future__ import annotations

from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.system import trace
from qemu_py.system.log import guest_error

ALL_ONES = (1 << 64) - 1


class VFIORegion:
    def __init__(self, vdev, sim, index: int, name: str, no_mmap: bool = False) -> None:
        info = sim.region_info(index)
        self.vdev = vdev
        self.sim = sim
        self.nr = index
        self.name = name
        self.size = info.size
        self.flags = info.flags
        self.info = info
        self.mem: MemoryRegion | None = None
        self.areas: list[tuple[int, int]] = []
        self.mmaps: list[tuple[int, int, MemoryRegion]] = []
        if not info.size:
            return
        ops = MemoryRegionOps(read=self.read, write=self.write, endianness=Endian.LITTLE,
                              valid_min=1, valid_max=8, impl_min=1, impl_max=8)
        self.mem = MemoryRegion.io(name, info.size, ops, owner=vdev)
        if info.mmap_allowed and not no_mmap:
            areas = info.sparse if info.sparse is not None else ((0, info.size),)
            self.areas = [(off, size) for off, size in areas if size]
            if info.sparse is not None and "vfio_region_sparse_mmap_header" in trace.ACTIVE:
                trace.emit("vfio_region_sparse_mmap_header", name=vdev.vbasedev_name,
                           index=index, nr_areas=len(info.sparse))
                for i, (off, size) in enumerate(info.sparse):
                    trace.emit("vfio_region_sparse_mmap_entry", i=i, start=off,
                               end=off + size - 1)

    # -- vfio_region_ops -----------------------------------------------------------------------
    def read(self, addr: int, size: int) -> int:
        data = self.sim.pread(self.nr, addr, size)
        if data is None:
            guest_error(f"vfio_region_read({self.vdev.vbasedev_name}:region{self.nr}"
                        f"+0x{addr:x}, {size}) failed: Invalid argument")
            data = ALL_ONES
        elif "vfio_region_read" in trace.ACTIVE:
            trace.emit("vfio_region_read", name=self.vdev.vbasedev_name, index=self.nr,
                       addr=addr, size=size, data=data)
        self.vdev.intx_eoi()
        return data

    def write(self, addr: int, data: int, size: int) -> None:
        if not self.sim.pwrite(self.nr, addr, data, size):
            guest_error(f"vfio_region_write({self.vdev.vbasedev_name}:region{self.nr}"
                        f"+0x{addr:x}, 0x{data:x}, {size}) failed: Invalid argument")
        elif "vfio_region_write" in trace.ACTIVE:
            trace.emit("vfio_region_write", name=self.vdev.vbasedev_name, index=self.nr,
                       addr=addr, data=data, size=size)
        self.vdev.intx_eoi()

    # -- mmaps -----------------------------------------------------------------------------------
    def mmap(self) -> None:
        """vfio_region_mmap: one ram_device subregion per area."""
        for i, (off, size) in enumerate(self.areas):
            host = self.sim.mmap(self.nr, off, size)
            mr = MemoryRegion.ram_device(f"{self.name} mmaps[{i}]", size, host, owner=self.vdev)
            mr.on_ram_device_access = self._hook(off, mr)
            self.mem.add_subregion(off, mr)
            self.mmaps.append((off, size, mr))
            if "vfio_region_mmap" in trace.ACTIVE:
                trace.emit("vfio_region_mmap", name=mr.name, offset=off, end=off + size - 1)

    def _hook(self, area_offset: int, mr: MemoryRegion):
        sim, nr = self.sim, self.nr

        def access(kind: str, offset: int, size: int, value: int) -> None:
            event = ("memory_region_ram_device_read" if kind == "read"
                     else "memory_region_ram_device_write")
            if event in trace.ACTIVE:
                trace.emit(event, cpu_index=-1, mr=id(mr), addr=offset, value=value, size=size)
            sim.mmap_access(nr, area_offset + offset, size, kind, value)

        return access

    def set_mmaps_enabled(self, enabled: bool) -> None:
        for _, _, mr in self.mmaps:
            mr.set_enabled(enabled)

    def unmap(self) -> None:
        for _, _, mr in self.mmaps:
            self.mem.del_subregion(mr)
        self.mmaps.clear()
