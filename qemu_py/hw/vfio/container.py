"""VFIO groups and legacy containers: the simulated IOMMU and RAM-discard counting.

Models ``hw/vfio/common.c`` of QEMU 7.2 (``container-legacy.c`` in 2025
master) as spec memory.md §3.5, §5.2 and §5.3 describe it:

* A **group** (``VFIOGroup``) is what a host device's IOMMU group number
  names; devices of one group share it.  ``get_group(machine, id, space)``
  finds it (``group N used in multiple address spaces`` if it already lives
  in another DMA address space) or creates it and connects it to a container.
* A **container** (``VFIOContainer``) owns one IOMMU context for one
  AddressSpace.  A new group first tries every container of its address
  space (``VFIO_GROUP_SET_CONTAINER`` succeeds here when the IOMMU types
  match), else a new container is made for it.  Either way the attached
  *group* disables RAM discards once: uncoordinated for type1, fully for
  sPAPR (``Cannot set discarding of RAM broken: Device or resource busy``
  when refused; the group is then not attached).  Two groups in one
  container count twice; one group with several devices counts once.
* A device whose driver allows discards (``x-balloon-allowed``, mdev only)
  marks its group and gives the count back; devices of one group must agree
  (``Inconsistent setting of support for discarding RAM (e.g., balloon)
  within group``).
* ``put_group`` (last device gone) gives the count back unless the group
  was marked, leaves the container, and the last group's leaving destroys
  the container (its listener unregisters: every mapping is unmapped).

The container's **memory listener** keeps the IOMMU mappings of the
address space as vfio_listener_region_add/del do: sections that are
neither RAM nor IOMMU, or lie in the upper half of the 64-bit space, are
skipped; a section whose address and region offset disagree within a
host page is refused (``vfio_listener_region_add received unaligned
region`` on stderr, as QEMU's error_report: it happens to sparse-mmap areas
that do not start on a page); a section is trimmed to host pages (start rounded up, end down)
and skipped when nothing is left; ram_device sections whose trimmed range
is not aligned to the IOMMU page size are not DMA-mapped (trace
``vfio_listener_region_add_no_dma_map``), so sub-page BAR pieces are never
visible to device DMA.  ``translate`` is the IOMMU: device DMA to an
unmapped IOVA faults.

Deliberate differences: vIOMMU (IOMMU memory regions) and RamDiscardManager
sections are skipped rather than shadowed; there is no iommufd backend; the
"kernel" accepts any group into a container of the same IOMMU type.
"""

from __future__ import annotations

import mmap
import os
import sys
from bisect import bisect_right

from qemu_py.qom import QOMError
from qemu_py.system import trace
from qemu_py.system.discard import policy_for
from qemu_py.system.log import guest_error

HOST_PAGE_SIZE = mmap.PAGESIZE
HOST_PAGE_MASK = ~(HOST_PAGE_SIZE - 1)
IOMMU_PAGE_SIZE = 4096                 # the type1 iova_pgsizes minimum


class VFIOMapping:
    __slots__ = ("iova", "size", "view", "readonly", "name")

    def __init__(self, iova: int, size: int, view, readonly: bool, name: str):
        self.iova, self.size, self.view, self.readonly, self.name = \
            iova, size, view, readonly, name

    @property
    def end(self) -> int:
        return self.iova + self.size


class VFIOContainer:
    """One IOMMU context: its groups, its listener and its DMA mappings."""

    _fds = iter(range(100, 1 << 30))

    def __init__(self, state: "VFIOState", space, iommu_type: str) -> None:
        self.state = state
        self.space = space
        self.iommu_type = iommu_type
        self.groups: list[VFIOGroup] = []
        self.fd = next(VFIOContainer._fds)
        self._starts: list[int] = []
        self._maps: list[VFIOMapping] = []
        self.listening = False
        self.priority = 10

    # -- discards ----------------------------------------------------------------------------------
    def discard_disable(self, state: bool) -> int:
        """vfio_ram_block_discard_disable: type1 -> uncoordinated, else full."""
        policy = self.state.policy
        if self.iommu_type == "type1":
            return policy.uncoordinated_discard_disable(state)
        return policy.discard_disable(state)

    # -- listener ------------------------------------------------------------------------------------
    def start_listening(self) -> None:
        self.listening = True
        self.space.add_listener(self)

    def stop_listening(self) -> None:
        if self.listening:
            self.space.remove_listener(self)
            self.listening = False

    @staticmethod
    def _skipped(section) -> bool:
        mr = section.mr
        return ((not mr.is_ram() and not mr.is_iommu())
                or section.offset_within_address_space & (1 << 63) != 0)

    def _trimmed(self, section):
        """(iova, end) of the host pages inside SECTION, or None."""
        start = section.offset_within_address_space
        iova = (start + HOST_PAGE_SIZE - 1) & HOST_PAGE_MASK
        llend = (start + section.size) & HOST_PAGE_MASK
        if iova >= llend:
            return None
        return iova, llend

    def region_add(self, section) -> None:
        if self._skipped(section):
            if "vfio_listener_region_add_skip" in trace.ACTIVE:
                trace.emit("vfio_listener_region_add_skip",
                           start=section.offset_within_address_space,
                           end=section.offset_within_address_space + section.size - 1)
            return
        mr = section.mr
        if (section.offset_within_address_space & ~HOST_PAGE_MASK) != \
                (section.offset_within_region & ~HOST_PAGE_MASK):
            # QEMU's error_report (a host-side problem, not the guest's)
            print("qemu-py: vfio_listener_region_add received unaligned region",
                  file=sys.stderr)
            return
        trimmed = self._trimmed(section)
        if trimmed is None:
            if mr.is_ram_device():
                self._no_dma_map(section, HOST_PAGE_SIZE)
            return
        iova, llend = trimmed
        if mr.is_iommu():
            return                      # vIOMMU shadowing is not modelled
        offset = section.offset_within_region + (iova - section.offset_within_address_space)
        size = llend - iova
        if mr.is_ram_device() and (iova % IOMMU_PAGE_SIZE or size % IOMMU_PAGE_SIZE):
            self._no_dma_map(section, IOMMU_PAGE_SIZE)
            return
        view = memoryview(mr.host).cast("B")[offset:offset + size]
        if "vfio_listener_region_add_ram" in trace.ACTIVE:
            trace.emit("vfio_listener_region_add_ram", iova_start=iova, iova_end=llend - 1,
                       vaddr=(mr.host_address or 0) + offset)
        err = self.dma_map(iova, size, view, section.readonly, mr.name)
        if err:
            guest_error(f"vfio_dma_map(0x{iova:x}, 0x{size:x}) = {err} (File exists)")

    def _no_dma_map(self, section, page_size: int) -> None:
        if "vfio_listener_region_add_no_dma_map" in trace.ACTIVE:
            trace.emit("vfio_listener_region_add_no_dma_map", name=section.mr.name,
                       iova=section.offset_within_address_space, size=section.size,
                       page_size=page_size)

    def region_del(self, section) -> None:
        if self._skipped(section):
            return
        trimmed = self._trimmed(section)
        if trimmed is None:
            return
        iova, llend = trimmed
        if "vfio_listener_region_del" in trace.ACTIVE:
            trace.emit("vfio_listener_region_del", start=iova, end=llend - 1)
        self.dma_unmap(iova, llend - iova)

    # -- the IOMMU -----------------------------------------------------------------------------------
    def dma_map(self, iova: int, size: int, view, readonly: bool, name: str = "") -> int:
        """VFIO_IOMMU_MAP_DMA: 0, or -EEXIST when the range is already mapped."""
        i = bisect_right(self._starts, iova)
        if (i > 0 and self._maps[i - 1].end > iova) or \
                (i < len(self._maps) and self._maps[i].iova < iova + size):
            return -17
        self._maps.insert(i, VFIOMapping(iova, size, view, readonly, name))
        self._starts.insert(i, iova)
        if "vfio_dma_map" in trace.ACTIVE:
            trace.emit("vfio_dma_map", iova=iova, size=size, readonly=int(readonly))
        return 0

    def dma_unmap(self, iova: int, size: int) -> int:
        """VFIO_IOMMU_UNMAP_DMA: remove the mappings inside [iova, iova+size)."""
        end = iova + size
        keep = [m for m in self._maps if not (iova <= m.iova and m.end <= end)]
        removed = len(self._maps) - len(keep)
        self._maps = keep
        self._starts = [m.iova for m in keep]
        if "vfio_dma_unmap" in trace.ACTIVE:
            trace.emit("vfio_dma_unmap", iova=iova, size=size)
        return removed

    def mappings(self) -> list[tuple[int, int, str]]:
        """(iova, size, region name) of every mapping, in IOVA order."""
        return [(m.iova, m.size, m.name) for m in self._maps]

    def translate(self, iova: int, size: int, is_write: bool):
        """The host memory behind [iova, iova+size) as views, or None (IOMMU fault)."""
        out = []
        pos = iova
        end = iova + size
        while pos < end:
            i = bisect_right(self._starts, pos) - 1
            if i < 0:
                return None
            m = self._maps[i]
            if pos >= m.end or (is_write and m.readonly):
                return None
            n = min(end, m.end) - pos
            off = pos - m.iova
            out.append(m.view[off:off + n])
            pos += n
        return out


class VFIOGroup:
    """An IOMMU group: its devices, its container, whether it allows discards."""

    _fds = iter(range(200, 1 << 30))

    def __init__(self, groupid: int) -> None:
        self.groupid = groupid
        self.fd = next(VFIOGroup._fds)
        self.container: VFIOContainer | None = None
        self.devices: list = []
        self.ram_block_discard_allowed = False


class VFIOState:
    """Every group and container of one machine (QEMU keeps them global)."""

    def __init__(self, machine) -> None:
        self.machine = machine
        self.policy = policy_for(machine)
        self.groups: dict[int, VFIOGroup] = {}
        self.containers: list[VFIOContainer] = []


def vfio_state(machine) -> VFIOState:
    state = getattr(machine, "vfio_state", None)
    if state is None:
        state = machine.vfio_state = VFIOState(machine)
    return state


def _strerror(ret: int) -> str:
    return os.strerror(-ret)


def connect_container(state: VFIOState, group: VFIOGroup, space, iommu_type: str) -> None:
    """vfio_connect_container: join a container of SPACE or make one; count discards."""
    for container in state.containers:
        if container.space is not space or container.iommu_type != iommu_type:
            continue
        ret = container.discard_disable(True)
        if ret:
            raise QOMError(f"Cannot set discarding of RAM broken: {_strerror(ret)}")
        group.container = container
        container.groups.append(group)
        return
    container = VFIOContainer(state, space, iommu_type)
    ret = container.discard_disable(True)
    if ret:
        raise QOMError(f"Cannot set discarding of RAM broken: {_strerror(ret)}")
    state.containers.append(container)
    group.container = container
    container.groups.append(group)
    container.start_listening()


def disconnect_container(state: VFIOState, group: VFIOGroup) -> None:
    container = group.container
    container.groups.remove(group)
    group.container = None
    if not container.groups:
        container.stop_listening()
        state.containers.remove(container)
        if "vfio_disconnect_container" in trace.ACTIVE:
            trace.emit("vfio_disconnect_container", fd=container.fd)


def get_group(machine, groupid: int, space, iommu_type: str) -> VFIOGroup:
    """vfio_get_group: the group GROUPID attached to a container of SPACE."""
    state = vfio_state(machine)
    group = state.groups.get(groupid)
    if group is not None:
        if group.container.space is space:
            return group
        raise QOMError(f"group {groupid} used in multiple address spaces")
    group = VFIOGroup(groupid)
    try:
        connect_container(state, group, space, iommu_type)
    except QOMError as e:
        raise QOMError(f"failed to setup container for group {groupid}: {e}") from None
    state.groups[groupid] = group
    return group


def put_group(machine, group: VFIOGroup) -> None:
    """vfio_put_group: when the last device left, undo everything get_group did."""
    if group.devices:
        return
    state = vfio_state(machine)
    if not group.ram_block_discard_allowed:
        group.container.discard_disable(False)
    disconnect_container(state, group)
    state.groups.pop(group.groupid, None)
    if "vfio_put_group" in trace.ACTIVE:
        trace.emit("vfio_put_group", fd=group.fd)


def attach_device(group: VFIOGroup, device, discard_allowed: bool) -> None:
    """The discard part of vfio_get_device, then the device joins the group."""
    if discard_allowed != group.ram_block_discard_allowed:
        if group.devices:
            raise QOMError("Inconsistent setting of support for discarding RAM "
                           "(e.g., balloon) within group")
        if not group.ram_block_discard_allowed:
            group.ram_block_discard_allowed = True
            group.container.discard_disable(False)
    group.devices.append(device)


def detach_device(group: VFIOGroup, device) -> None:
    if device in group.devices:
        group.devices.remove(device)
