"""`info mtree` / `info mtree -f` text."""

from qemu_py.memory import (UNASSIGNED_IO_OPS, AddressSpace, Endian, MemoryRegion,
                            MemoryRegionOps, mtree_info)


def pc_like():
    system = MemoryRegion("system", (1 << 64) - 1)
    ram = MemoryRegion.ram("pc.ram", 0x8000000)
    system.add_subregion(0, MemoryRegion.alias("ram-below-4g", ram, 0, 0x8000000))
    pci = MemoryRegion("pci", 1 << 64)
    system.add_subregion_overlap(0, pci, -1)
    pci.add_subregion(0xFEB00000, MemoryRegion.io("e1000-mmio", 0x20000,
                                                  MemoryRegionOps(endianness=Endian.LITTLE)))
    pam = MemoryRegion.alias("pam-rom", ram, 0xF0000, 0x10000)
    pam.set_readonly(True)
    system.add_subregion_overlap(0xF0000, pam, 1)
    off = MemoryRegion.ram("vga.vram", 0x1000)
    off.set_enabled(False)
    pci.add_subregion(0xA0000, off)
    system.add_subregion(0xFFFC0000, MemoryRegion.rom("pc.bios", 0x40000))
    return system, AddressSpace(system, "memory")


def test_tree_text():
    _, space = pc_like()
    alias_line = ("    {}-{} (prio {}, ram): alias {} @pc.ram {}-{}").format
    assert space.mtree_text().splitlines() == [
        "address-space: memory",
        "  0000000000000000-ffffffffffffffff (prio 0, container): system",
        alias_line("0000000000000000", "0000000007ffffff", 0, "ram-below-4g",
                   "0000000000000000", "0000000007ffffff"),
        "    0000000000000000-ffffffffffffffff (prio -1, i/o): pci",
        "      00000000feb00000-00000000feb1ffff (prio 0, i/o): e1000-mmio",
        alias_line("00000000000f0000", "00000000000fffff", 1, "pam-rom",
                   "00000000000f0000", "00000000000fffff"),
        "    00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios",
        "",
        "memory-region: pc.ram",
        "  0000000000000000-0000000007ffffff (prio 0, ram): pc.ram",
        ""]
    assert space.mtree_text().endswith("pc.ram\n\n")


def test_tree_text_with_disabled_regions_and_owners():
    _, space = pc_like()

    class Owner:
        name = "e1000"

    text = space.mtree_text(disabled=True, owner=True)
    assert ("      00000000000a0000-00000000000a0fff (prio 0, ram): vga.vram [disabled] orphan"
            in text.splitlines())
    system = MemoryRegion("sys", 0x1000)
    system.add_subregion(0, MemoryRegion.io("dev", 4, UNASSIGNED_IO_OPS, owner=Owner()))
    assert "(prio 0, i/o): dev owner:{dev id=e1000}" in AddressSpace(
        system, "x").mtree_text(owner=True)


def test_flat_text():
    _, space = pc_like()
    assert space.mtree_text(flat=True) == """\
FlatView #0
 AS "memory", root: system
 Root memory region: system
  0000000000000000-00000000000effff (prio 0, ram): pc.ram
  00000000000f0000-00000000000fffff (prio 0, rom): pc.ram @00000000000f0000
  0000000000100000-0000000007ffffff (prio 0, ram): pc.ram @0000000000100000
  00000000feb00000-00000000feb1ffff (prio 0, i/o): e1000-mmio
  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios

"""


def test_spaces_sharing_a_root_print_together_and_flat_views_group():
    system, space = pc_like()
    cpu = AddressSpace(system, "cpu-memory-0")
    io_root = MemoryRegion.io("io", 0x10000, UNASSIGNED_IO_OPS)
    io_space = AddressSpace(io_root, "I/O")
    text = mtree_info([space, io_space, cpu])
    assert text.startswith("address-space: cpu-memory-0\naddress-space: memory\n  ")
    assert "\naddress-space: I/O\n  0000000000000000-000000000000ffff (prio 0, container): io\n" \
        in text
    flat = mtree_info([space, cpu, io_space], flat=True)
    assert flat.startswith('FlatView #0\n AS "memory", root: system\n'
                           ' AS "cpu-memory-0", root: system\n')
    assert 'FlatView #1\n AS "I/O", root: io\n Root memory region: io\n' in flat


def test_root_alias_and_empty_flat_view():
    ram = MemoryRegion.ram("ram", 0x1000)
    root = MemoryRegion.alias("bus master memory", ram, 0, 0x1000)
    assert AddressSpace(root, "dma").mtree_text(flat=True).startswith(
        'FlatView #0\n AS "dma", root: bus master memory, alias ram\n Root memory region: ram\n')
    empty = MemoryRegion("empty", 0x1000)
    assert AddressSpace(empty, "none").mtree_text(flat=True) == (
        'FlatView #0\n AS "none", root: empty\n Root memory region: (none)\n'
        '  No rendered FlatView\n\n')


def test_zero_sized_and_overflowing_regions():
    root = MemoryRegion("root", 1 << 64)
    root.add_subregion(0x10, MemoryRegion("empty", 0))
    root.add_subregion((1 << 64) - 0x10, MemoryRegion("wraps", 0x20))
    lines = AddressSpace(root, "x").mtree_text().splitlines()
    assert lines[2] == "    0000000000000010-0000000000000010 (prio 0, i/o): empty"
    assert lines[3] == ("[DETECTED OVERFLOW!]     fffffffffffffff0-000000000000000f "
                        "(prio 0, i/o): wraps")
