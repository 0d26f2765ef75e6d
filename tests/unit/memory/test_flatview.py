"""FlatView rendering (§1.3, §1.4) and the flattening vectors of §6 item 9,
including the VFIO BAR worked example of §4.3."""

import pytest

from qemu_py.memory import (AddressSpace, Endian, MemoryRegion, MemoryRegionOps,
                            MemTxResult)

from .recording import RecordingDevice, ranges

LE = Endian.LITTLE


def space_of(size=0x10000):
    root = MemoryRegion("root", size)
    return root, AddressSpace(root, "as")


def io(name, size, **kw):
    return RecordingDevice(size, name, endianness=LE, **kw).region


def test_vfio_bar_with_rtl8168_quirks_renders_two_subpage_ram_device_ranges():
    root = MemoryRegion("system", 1 << 64)
    space = AddressSpace(root, "memory")
    bar = MemoryRegion.reservation("0000:01:00.0 base BAR 2", 0x1000)
    vfio_ops = MemoryRegionOps(read=lambda o, s: (1 << 8 * s) - 1, write=lambda o, v, s: None,
                               endianness=LE, valid_min=1, valid_max=8, impl_min=1, impl_max=8)
    mem = MemoryRegion.io("0000:01:00.0 BAR 2", 0x1000, vfio_ops)
    mmap0 = MemoryRegion.ram_device("0000:01:00.0 BAR 2 mmaps[0]", 0x1000, bytearray(0x1000))
    quirk_ops = dict(endianness=LE, valid_min=4, valid_max=4)
    data_quirk = RecordingDevice(4, "vfio-rtl8168-window-data-quirk", **quirk_ops)
    addr_quirk = RecordingDevice(4, "vfio-rtl8168-window-address-quirk", **quirk_ops)
    bar.add_subregion(0, mem)
    mem.add_subregion(0, mmap0)
    mem.add_subregion_overlap(0x74, addr_quirk.region, 1)
    mem.add_subregion_overlap(0x70, data_quirk.region, 1)
    root.add_subregion_overlap(0xFE000000, bar, 1)

    assert ranges(space) == [
        (0xFE000000, 0xFE00006F, "0000:01:00.0 BAR 2 mmaps[0]", 0),
        (0xFE000070, 0xFE000073, "vfio-rtl8168-window-data-quirk", 0),
        (0xFE000074, 0xFE000077, "vfio-rtl8168-window-address-quirk", 0),
        (0xFE000078, 0xFE000FFF, "0000:01:00.0 BAR 2 mmaps[0]", 0x78)]
    assert all(fr.mr.is_ram_device() for fr in space.flatview()[::3])

    seen = []
    mmap0.on_ram_device_access = lambda kind, off, size, value: seen.append((kind, off, size))
    space.write_value(0xFE000074, 0x0001F000, 4)
    space.read_value(0xFE000078, 4)
    assert addr_quirk.log == [("write", 0, 4, 0x0001F000)]
    assert seen == [("read", 0x78, 4)]


def test_msix_table_added_later_wins_over_the_region_at_equal_priority():
    bar = MemoryRegion.reservation("BAR 0", 0x4000)
    space = AddressSpace(bar, "bar")
    mem = io("BAR 0 mem", 0x4000)
    bar.add_subregion(0, mem)
    bar.add_subregion(0x2000, io("msix-table", 0x100))
    assert ranges(space) == [(0, 0x1FFF, "BAR 0 mem", 0), (0x2000, 0x20FF, "msix-table", 0),
                             (0x2100, 0x3FFF, "BAR 0 mem", 0x2100)]


def test_equal_priority_latest_added_wins_and_set_address_moves_to_front():
    root, space = space_of(0x100)
    a, b = io("a", 0x20), io("b", 0x20)
    root.add_subregion(0x0, a)
    root.add_subregion(0x10, b)
    assert ranges(space) == [(0, 0xF, "a", 0), (0x10, 0x2F, "b", 0)]
    assert [r.name for r in root.subregions] == ["b", "a"]
    a.set_address(0x8)  # del + re-add: a is now the latest of priority 0
    assert ranges(space) == [(0x8, 0x27, "a", 0), (0x28, 0x2F, "b", 0x18)]
    assert [r.name for r in root.subregions] == ["a", "b"]


def test_higher_priority_wins_regardless_of_order():
    root, space = space_of(0x100)
    high, low = io("high", 0x20), io("low", 0x40)
    root.add_subregion_overlap(0x10, high, 2)
    root.add_subregion_overlap(0x0, low, -1)
    assert [r.name for r in root.subregions] == ["high", "low"]
    assert ranges(space) == [(0, 0xF, "low", 0), (0x10, 0x2F, "high", 0),
                             (0x30, 0x3F, "low", 0x30)]


def test_priorities_are_local_to_siblings():
    """docs/devel/memory.rst: B (prio 2) holds D and E; C (prio 1) fills B's holes."""
    a, space = space_of(0x8000)
    b = MemoryRegion("B", 0x4000)
    c, d, e = io("C", 0x6000), io("D", 0x1000), io("E", 0x1000)
    b.add_subregion_overlap(0x0, d, 1)
    b.add_subregion_overlap(0x2000, e, 2)
    a.add_subregion_overlap(0x2000, b, 2)
    a.add_subregion_overlap(0x0, c, 1)
    assert ranges(space) == [(0x0, 0x1FFF, "C", 0), (0x2000, 0x2FFF, "D", 0),
                             (0x3000, 0x3FFF, "C", 0x3000), (0x4000, 0x4FFF, "E", 0),
                             (0x5000, 0x5FFF, "C", 0x5000)]


def test_terminating_parent_fills_only_the_holes_its_children_leave():
    root, space = space_of(0x100)
    parent = io("parent", 0x80)
    parent.add_subregion(0x10, io("child", 0x10))
    root.add_subregion(0x20, parent)
    assert ranges(space) == [(0x20, 0x2F, "parent", 0), (0x30, 0x3F, "child", 0),
                             (0x40, 0x9F, "parent", 0x20)]


def test_ram_with_subregions_is_a_terminating_parent_too():
    root, space = space_of(0x100)
    vga = MemoryRegion.ram("vga", 0x40)
    vga.add_subregion(0x10, io("mmio", 0x8))
    root.add_subregion(0, vga)
    assert ranges(space) == [(0, 0xF, "vga", 0), (0x10, 0x17, "mmio", 0),
                             (0x18, 0x3F, "vga", 0x18)]


def test_alias_window_offset_and_clip():
    root, space = space_of(0x10000)
    ram = MemoryRegion.ram("ram", 0x1000)
    root.add_subregion(0x1000, MemoryRegion.alias("win", ram, 0x100, 0x200))
    # larger than what remains of the target: the tail stays a hole
    root.add_subregion(0x4000, MemoryRegion.alias("tail", ram, 0xF00, 0x400))
    assert ranges(space) == [(0x1000, 0x11FF, "ram", 0x100), (0x4000, 0x40FF, "ram", 0xF00)]


def test_alias_to_a_mapped_target_ignores_the_targets_own_address():
    root, space = space_of(0x10000)
    ram = MemoryRegion.ram("ram", 0x1000)
    root.add_subregion(0x8000, ram)
    root.add_subregion(0x0, MemoryRegion.alias("low", ram, 0x800, 0x100))
    assert ranges(space) == [(0x0, 0xFF, "ram", 0x800), (0x8000, 0x8FFF, "ram", 0)]


def test_alias_of_container_and_alias_of_alias():
    root, space = space_of(0x10000)
    pci = MemoryRegion("pci", 0x10000)
    pci.add_subregion(0x100, io("dev", 0x10))
    inner = MemoryRegion.alias("inner", pci, 0x80, 0x200)
    root.add_subregion(0x2000, MemoryRegion.alias("outer", inner, 0x40, 0x100))
    assert ranges(space) == [(0x2040, 0x204F, "dev", 0)]  # 0x100 - 0x80 - 0x40


def test_alias_subregions_are_refused():
    alias = MemoryRegion.alias("a", MemoryRegion("t", 0x10), 0, 0x10)
    with pytest.raises(ValueError, match="cannot add subregion 'x' to alias 'a'"):
        alias.add_subregion(0, MemoryRegion("x", 1))


def test_region_can_have_only_one_container():
    r1, r2, sub = MemoryRegion("r1", 16), MemoryRegion("r2", 16), MemoryRegion("sub", 4)
    r1.add_subregion(0, sub)
    with pytest.raises(ValueError, match="'sub' is already a subregion of 'r1'"):
        r2.add_subregion(0, sub)
    with pytest.raises(ValueError, match="makes a loop"):
        sub.add_subregion(0, r1)


def test_disabled_subtree_is_invisible_and_reappears():
    root, space = space_of(0x100)
    box = MemoryRegion("box", 0x40)
    box.add_subregion(0, io("inside", 0x10))
    root.add_subregion(0x10, box)
    root.add_subregion_overlap(0x0, io("below", 0x80), -1)
    box.set_enabled(False)
    assert ranges(space) == [(0, 0x7F, "below", 0)]
    box.set_enabled(True)
    assert ranges(space)[1] == (0x10, 0x1F, "inside", 0)


def test_disabled_alias_target_hides_the_alias():
    root, space = space_of(0x100)
    ram = MemoryRegion.ram("ram", 0x10)
    root.add_subregion(0, MemoryRegion.alias("a", ram, 0, 0x10))
    ram.set_enabled(False)
    assert ranges(space) == []


def test_subregions_are_clipped_to_the_parent():
    root, space = space_of(0x100)
    box = MemoryRegion("box", 0x20)
    box.add_subregion(0x10, io("big", 0x100))
    root.add_subregion(0x40, box)
    assert ranges(space) == [(0x50, 0x5F, "big", 0)]


def test_contiguous_pieces_of_one_region_merge():
    root, space = space_of(0x100)
    ram = MemoryRegion.ram("ram", 0x100)
    root.add_subregion(0x0, MemoryRegion.alias("lo", ram, 0x0, 0x10))
    root.add_subregion(0x10, MemoryRegion.alias("hi", ram, 0x10, 0x10))
    root.add_subregion(0x20, MemoryRegion.alias("gap", ram, 0x40, 0x10))
    assert ranges(space) == [(0x0, 0x1F, "ram", 0), (0x20, 0x2F, "ram", 0x40)]


def test_pieces_with_different_flags_do_not_merge():
    root, space = space_of(0x100)
    ram = MemoryRegion.ram("ram", 0x100)
    root.add_subregion(0x0, MemoryRegion.alias("lo", ram, 0x0, 0x10))
    ro = MemoryRegion.alias("hi", ram, 0x10, 0x10)
    ro.set_readonly(True)
    root.add_subregion(0x10, ro)
    assert [(fr.start, fr.readonly) for fr in space.flatview()] == [(0, False), (0x10, True)]


def test_size_uint64_max_means_two_to_the_64():
    assert MemoryRegion("all", (1 << 64) - 1).size == 1 << 64
    root = MemoryRegion.io("all", (1 << 64) - 1, MemoryRegionOps())
    space = AddressSpace(root, "all")
    assert [(fr.start, fr.size) for fr in space.flatview()] == [(0, 1 << 64)]


def test_readonly_alias_is_advisory_for_address_space_writes():
    """§1.8: pam-rom over pc.ram shows as rom, yet writes go through; the
    write to the real ROM (pc.bios) is dropped."""
    root = MemoryRegion("system", 1 << 64)
    space = AddressSpace(root, "memory")
    ram = MemoryRegion.ram("pc.ram", 0x100000)
    bios = MemoryRegion.rom("pc.bios", 0x40000)
    pam = MemoryRegion.alias("pam-rom", ram, 0xF0000, 0x10000)
    pam.set_readonly(True)
    root.add_subregion(0, ram)
    root.add_subregion_overlap(0xF0000, pam, 1)
    root.add_subregion(0xFFFC0000, bios)
    assert space.find(0xF0000, 1).readonly
    assert ("00000000000f0000-00000000000fffff (prio 0, rom): pc.ram @00000000000f0000"
            in space.mtree_text(flat=True))

    assert space.write_value(0xFFFF0, 0xDEADBEEF, 4) == MemTxResult.OK
    assert space.read_value(0xFFFF0, 4) == (0xDEADBEEF, MemTxResult.OK)
    assert space.write_value(0xFFFFFFF0, 0xDEADBEEF, 4) == MemTxResult.DECODE_ERROR
    assert space.read_value(0xFFFFFFF0, 4) == (0, MemTxResult.OK)


def test_nonvolatile_is_inherited_and_printed():
    root, space = space_of(0x100)
    nv = MemoryRegion.ram("nvdimm", 0x10)
    nv.set_nonvolatile(True)
    root.add_subregion(0, nv)
    assert space.flatview()[0].nonvolatile
    assert "(prio 0, nv-ram): nvdimm" in space.mtree_text(flat=True)
