"""The trace-event table: every event qemu-py can emit, declared once.

Each event has QEMU's name, its argument names (in order) and QEMU's format
string rewritten for ``str.format``.  The ``log`` backend prints
``NAME FORMATTED`` per line (spec: QEMU's "simple text form").  Events of
QEMU's ``softmmu/trace-events``, ``hw/vfio/trace-events`` and
``hw/virtio/trace-events`` keep QEMU's texts; ``vfio_sim_*`` are qemu-py's
own (the simulated host device stands in for hardware QEMU cannot trace).

Pointer arguments (``%p`` in QEMU) are printed as ``0x`` + hex of a stable
identity (``id()`` of the Python object).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TraceEvent:
    name: str
    args: tuple[str, ...]
    fmt: str                    # str.format template over the argument names
    group: str = ""             # where QEMU declares it (for -trace help)


def _ev(group: str, name: str, args: str, fmt: str) -> TraceEvent:
    return TraceEvent(name, tuple(a for a in args.split() if a), fmt, group)


EVENTS: tuple[TraceEvent, ...] = (
    # -- qemu-py's own: every access decoded by a register table (hw/misc/registers.py) ----
    _ev("registers", "register_read", "device reg offset value size",
        "{device} {reg} @0x{offset:x} -> 0x{value:x} size {size}"),
    _ev("registers", "register_write", "device reg offset value size",
        "{device} {reg} @0x{offset:x} <- 0x{value:x} size {size}"),
    # -- softmmu/trace-events (memory.c) ---------------------------------------------------
    _ev("memory", "memory_region_ram_device_read", "cpu_index mr addr value size",
        "cpu {cpu_index} mr 0x{mr:x} addr 0x{addr:x} value 0x{value:x} size {size}"),
    _ev("memory", "memory_region_ram_device_write", "cpu_index mr addr value size",
        "cpu {cpu_index} mr 0x{mr:x} addr 0x{addr:x} value 0x{value:x} size {size}"),
    # -- hw/vfio/trace-events ------------------------------------------------------------------
    _ev("vfio", "vfio_region_read", "name index addr size data",
        " ({name}:region{index}+0x{addr:x}, {size}) = 0x{data:x}"),
    _ev("vfio", "vfio_region_write", "name index addr data size",
        " ({name}:region{index}+0x{addr:x}, 0x{data:x}, {size})"),
    _ev("vfio", "vfio_region_mmap", "name offset end",
        "Region {name} [0x{offset:x} - 0x{end:x}]"),
    _ev("vfio", "vfio_region_sparse_mmap_header", "name index nr_areas",
        "Device {name} region {index}: {nr_areas} sparse mmap entries"),
    _ev("vfio", "vfio_region_sparse_mmap_entry", "i start end",
        "sparse entry {i} [0x{start:x} - 0x{end:x}]"),
    _ev("vfio", "vfio_pci_read_config", "name addr len val",
        " ({name}, @0x{addr:x}, len=0x{len:x}) 0x{val:x}"),
    _ev("vfio", "vfio_pci_write_config", "name addr val len",
        " ({name}, @0x{addr:x}, 0x{val:x}, len=0x{len:x})"),
    _ev("vfio", "vfio_intx_interrupt", "name line", " ({name}) Pin {line}"),
    _ev("vfio", "vfio_intx_eoi", "name", " ({name}) EOI"),
    _ev("vfio", "vfio_intx_enable", "name", " ({name})"),
    _ev("vfio", "vfio_intx_disable", "name", " ({name})"),
    _ev("vfio", "vfio_msi_interrupt", "name index addr data",
        " ({name}) vector {index} 0x{addr:x}/0x{data:x}"),
    _ev("vfio", "vfio_msix_enable", "name", " ({name})"),
    _ev("vfio", "vfio_msix_disable", "name", " ({name})"),
    _ev("vfio", "vfio_msi_enable", "name nr_vectors", " ({name}) Enabled {nr_vectors} MSI vectors"),
    _ev("vfio", "vfio_msi_disable", "name", " ({name})"),
    _ev("vfio", "vfio_quirk_rtl8168_fake_latch", "name val", "{name} 0x{val:x}"),
    _ev("vfio", "vfio_quirk_rtl8168_msix_write", "name offset val",
        "{name} MSI-X table write[0x{offset:x}]: 0x{val:x}"),
    _ev("vfio", "vfio_quirk_rtl8168_msix_read", "name offset val",
        "{name} MSI-X table read[0x{offset:x}]: 0x{val:x}"),
    _ev("vfio", "vfio_quirk_rtl8168_probe", "name", "{name}"),
    _ev("vfio", "vfio_listener_region_add_skip", "start end",
        "SKIPPING region_add 0x{start:x} - 0x{end:x}"),
    _ev("vfio", "vfio_listener_region_add_ram", "iova_start iova_end vaddr",
        "region_add [ram] 0x{iova_start:x} - 0x{iova_end:x} [0x{vaddr:x}]"),
    _ev("vfio", "vfio_listener_region_add_no_dma_map", "name iova size page_size",
        "Region \"{name}\" 0x{iova:x} size=0x{size:x} is not aligned to 0x{page_size:x} "
        "and cannot be mapped for DMA"),
    _ev("vfio", "vfio_listener_region_del", "start end", "region_del 0x{start:x} - 0x{end:x}"),
    _ev("vfio", "vfio_dma_map", "iova size readonly",
        "iova 0x{iova:x} size 0x{size:x} readonly {readonly}"),
    _ev("vfio", "vfio_dma_unmap", "iova size", "iova 0x{iova:x} size 0x{size:x}"),
    _ev("vfio", "vfio_put_group", "fd", "close group->fd={fd}"),
    _ev("vfio", "vfio_disconnect_container", "fd", "close container->fd={fd}"),
    _ev("vfio", "vfio_realize", "name group_id", " ({name}) group {group_id}"),
    # -- qemu-py's simulated host device ----------------------------------------------------
    _ev("vfio_sim", "vfio_sim_access", "device path op region offset size value",
        "{device} path {path} {op} region {region} offset 0x{offset:x} size {size} "
        "value 0x{value:x}"),
    _ev("vfio_sim", "vfio_sim_violation", "device path op region offset size",
        "{device} path {path} {op} region {region} offset 0x{offset:x} size {size}: "
        "wider than the device's 4-byte registers"),
    _ev("vfio_sim", "vfio_sim_dma", "device op iova size result",
        "{device} {op} iova 0x{iova:x} size 0x{size:x} -> {result}"),
    _ev("vfio_sim", "vfio_sim_irq", "device kind vector level",
        "{device} {kind} vector {vector} level {level}"),
    # -- hw/virtio/trace-events ----------------------------------------------------------------
    _ev("virtio", "virtqueue_pop", "vq elem in_num out_num",
        "vq 0x{vq:x} elem 0x{elem:x} in_num {in_num} out_num {out_num}"),
    _ev("virtio", "virtqueue_fill", "vq elem len idx",
        "vq 0x{vq:x} elem 0x{elem:x} len {len} idx {idx}"),
    _ev("virtio", "virtqueue_flush", "vq count", "vq 0x{vq:x} count {count}"),
    _ev("virtio", "virtio_queue_notify", "vdev n vq", "vdev 0x{vdev:x} n {n} vq 0x{vq:x}"),
    _ev("virtio", "virtio_notify", "vdev vq", "vdev 0x{vdev:x} vq 0x{vq:x}"),
    _ev("virtio", "virtio_set_status", "vdev val", "vdev 0x{vdev:x} val {val}"),
    _ev("virtio", "virtio_error", "name msg", "{name}: {msg}"),
    _ev("virtio", "virtio_balloon_bad_addr", "gpa", "0x{gpa:x}"),
    _ev("virtio", "virtio_balloon_handle_output", "name gpa",
        "section name: {name} gpa: 0x{gpa:x}"),
    _ev("virtio", "virtio_balloon_get_config", "num_pages actual",
        "num_pages: {num_pages} actual: {actual}"),
    _ev("virtio", "virtio_balloon_set_config", "actual oldactual",
        "actual: {actual} oldactual: {oldactual}"),
    _ev("virtio", "virtio_balloon_to_target", "target num_pages",
        "balloon target: 0x{target:x} num_pages: {num_pages}"),
    _ev("virtio", "virtio_balloon_discard", "gpa size result",
        "gpa 0x{gpa:x} size 0x{size:x} {result}"),
    _ev("virtio", "virtio_mmio_read", "offset", "virtio_mmio_read offset 0x{offset:x}"),
    _ev("virtio", "virtio_mmio_write_offset", "offset value",
        "virtio_mmio_write offset 0x{offset:x} value 0x{value:x}"),
    _ev("virtio", "virtio_mmio_queue_write", "value max_size",
        "mmio_queue write {value} max {max_size}"),
)

BY_NAME: dict[str, TraceEvent] = {e.name: e for e in EVENTS}
