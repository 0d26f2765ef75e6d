"""Guest RAM slots kept in step with the memory API (QEMU's kvm_set_phys_mem).

A memory listener on the machine's system AddressSpace: every RAM or ROM
section is trimmed to whole host pages (QEMU's ``kvm_align_section``: the
start rounded up, the size rounded down; a section shorter than that is not
mapped and its accesses exit as MMIO) and registered as a memory slot; ROM,
and RAM seen read-only, get ``KVM_MEM_READONLY`` when the kernel offers it
(writes then exit as MMIO and are dispatched, i.e. dropped), else they are
left unmapped. ``region_del`` removes the slot. Everything else (MMIO, I/O,
ram_device, holes) is not mapped, so guest accesses exit to userspace.
"""

from __future__ import annotations

import mmap

from . import abi

PAGE = mmap.PAGESIZE
KVM_MEM_READONLY = 1 << 1
KVM_CAP_READONLY_MEM = 81


def align_section(start: int, size: int, offset_in_region: int, page: int = PAGE):
    """(gpa, size, region offset) of the page-aligned part of a section, or None."""
    aligned = (start + page - 1) & ~(page - 1)
    delta = aligned - start
    if delta > size:
        return None
    size = (size - delta) & ~(page - 1)
    if size == 0:
        return None
    return aligned, size, offset_in_region + delta


class KVMMemoryListener:
    priority = 10

    def __init__(self, vm):
        self.vm = vm
        self.readonly_ok = bool(vm.check_extension(KVM_CAP_READONLY_MEM))
        self.slots: dict[tuple[int, int], int] = {}        # (gpa, size) -> slot id
        self.free: list[int] = []
        self.next_slot = 0
        self.log: list[tuple[str, int, int]] = []           # ("add"/"del", gpa, size)

    def _mappable(self, section):
        mr = section.mr
        if not (mr.is_ram() or mr.is_rom_device()) or mr.is_ram_device():
            return None
        if mr.is_rom_device() and not mr.is_romd():
            return None
        if mr.host_address is None:
            return None
        readonly = bool(section.readonly or mr.is_rom() or mr.is_rom_device())
        if readonly and not self.readonly_ok:
            return None
        aligned = align_section(section.offset_within_address_space, section.size,
                                section.offset_within_region)
        if aligned is None:
            return None
        gpa, size, off = aligned
        return gpa, size, mr.host_address + off, KVM_MEM_READONLY if readonly else 0

    def region_add(self, section):
        m = self._mappable(section)
        if m is None:
            return
        gpa, size, hva, flags = m
        slot = self.free.pop() if self.free else self._new_slot()
        self.vm.set_user_memory_region(slot, gpa, size, hva, flags)
        self.slots[(gpa, size)] = slot
        self.log.append(("add", gpa, size))

    def _new_slot(self) -> int:
        slot = self.next_slot
        self.next_slot += 1
        return slot

    def region_del(self, section):
        m = self._mappable(section)
        if m is None:
            return
        gpa, size, _, _ = m
        slot = self.slots.pop((gpa, size), None)
        if slot is None:
            return
        self.vm.set_user_memory_region(slot, gpa, 0, 0, 0)
        self.free.append(slot)
        self.log.append(("del", gpa, size))


__all__ = ["KVMMemoryListener", "align_section", "abi"]
