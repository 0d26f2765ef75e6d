"""Region kinds, flags and predicates (§1.1, §1.2, §3.1)."""

import pytest

from qemu_py.memory import (UNASSIGNED_IO_OPS, UNASSIGNED_OPS, Endian, IOMMUAccessFlag,
                            IOMMUTLBEntry, MemoryRegion, MemoryRegionOps, MemTxResult)


def kinds():
    target = MemoryRegion.ram("ram", 0x1000)
    return {
        "container": MemoryRegion("c", 0x1000),
        "io": MemoryRegion.io("io", 0x10, MemoryRegionOps()),
        "reservation": MemoryRegion.reservation("res", 0x10),
        "ram": target,
        "rom": MemoryRegion.rom("rom", 0x1000),
        "rom_device": MemoryRegion.rom_device("romd", 0x1000, MemoryRegionOps()),
        "ram_device": MemoryRegion.ram_device("ramd", 0x10, bytearray(0x10)),
        "alias": MemoryRegion.alias("a", target, 0, 0x10),
        "iommu": MemoryRegion.iommu("iommu", 0x1000, lambda a, w, t: IOMMUTLBEntry(
            None, 0, 0, 0, IOMMUAccessFlag.NONE)),
    }


@pytest.mark.parametrize("kind, ram, rom, romd, ramd, iommu, alias, terminates", [
    ("container", 0, 0, 0, 0, 0, 0, 0),
    ("io", 0, 0, 0, 0, 0, 0, 1),
    ("reservation", 0, 0, 0, 0, 0, 0, 1),
    ("ram", 1, 0, 0, 0, 0, 0, 1),
    ("rom", 1, 1, 0, 0, 0, 0, 1),
    ("rom_device", 0, 0, 1, 0, 0, 0, 1),
    ("ram_device", 1, 0, 0, 1, 0, 0, 1),
    ("alias", 0, 0, 0, 0, 0, 1, 0),
    ("iommu", 0, 0, 0, 0, 1, 0, 1),
])
def test_kind_flags(kind, ram, rom, romd, ramd, iommu, alias, terminates):
    mr = kinds()[kind]
    assert (mr.is_ram(), mr.is_rom(), mr.is_romd(), mr.is_ram_device(), mr.is_iommu(),
            mr.is_alias(), mr.terminates) == tuple(map(bool, (ram, rom, romd, ramd, iommu,
                                                             alias, terminates)))


def test_type_labels():
    k = kinds()
    labels = {name: mr.type_label() for name, mr in k.items()}
    assert labels == {"container": "container", "io": "container", "reservation": "container",
                      "ram": "ram", "rom": "rom", "rom_device": "romd", "ram_device": "ramd",
                      "alias": "ram", "iommu": "container"}
    parent = MemoryRegion("parent", 0x10000)
    parent.add_subregion(0, k["container"])
    assert k["container"].type_label() == "i/o"  # a container with a parent prints as i/o


def test_defaults_and_ops():
    mr = MemoryRegion("c", 0x100)
    assert (mr.addr, mr.priority, mr.container, mr.enabled, mr.readonly, mr.owner,
            mr.subregions, mr.ops) == (0, 0, None, True, False, None, [], UNASSIGNED_OPS)
    assert mr.romd_mode  # romd_mode defaults to true at object init
    ops = MemoryRegionOps()
    assert (ops.valid_min, ops.valid_max, ops.impl_min_eff, ops.impl_max_eff,
            ops.access_size_max, ops.endianness) == (1, 0, 1, 4, 4, Endian.NATIVE)
    with pytest.raises(AttributeError, match="immutable"):
        ops.valid_max = 8
    with pytest.raises(ValueError, match="valid_max must be a non-negative int, not -1"):
        MemoryRegionOps(valid_max=-1)
    with pytest.raises(TypeError, match="endianness must be an Endian"):
        MemoryRegionOps(endianness="little")


def test_unassigned_ops():
    assert not UNASSIGNED_OPS.accepts(0, 1, False, None)
    io = MemoryRegion.io("io", 0x10000, UNASSIGNED_IO_OPS)
    assert io.dispatch_read(0x10, 2) == (0xFFFF, MemTxResult.OK)
    assert io.dispatch_read(0x10, 8) == ((1 << 64) - 1, MemTxResult.OK)


def test_owner_is_kept_by_identity():
    owner = object()
    assert MemoryRegion.ram("r", 16, owner=owner).owner is owner


def test_subregion_list_is_descending_priority_latest_first():
    parent = MemoryRegion("p", 0x100)
    names = [("a", 0), ("b", 1), ("c", 0), ("d", -1), ("e", 1)]
    for name, prio in names:
        parent.add_subregion_overlap(0, MemoryRegion(name, 1), prio)
    assert [r.name for r in parent.subregions] == ["e", "b", "c", "a", "d"]
    parent.del_subregion(parent.subregions[0])
    assert [r.name for r in parent.subregions] == ["b", "c", "a", "d"]
    with pytest.raises(ValueError, match="'x' is not a subregion of 'p'"):
        parent.del_subregion(MemoryRegion("x", 1))


def test_setters_validate():
    ram = MemoryRegion.ram("ram", 0x1000)
    with pytest.raises(ValueError, match="cannot grow 'ram' to 0x2000 bytes"):
        ram.set_size(0x2000)
    ram.set_size(0x800)
    assert ram.size == 0x800
    with pytest.raises(ValueError, match="'ram' is not an alias"):
        ram.set_alias_offset(4)
    with pytest.raises(ValueError, match="'ram' is not a ROM device"):
        ram.set_romd(False)
    with pytest.raises(ValueError, match=r"region size must be an int in \[0, 2\^64\]"):
        MemoryRegion("big", (1 << 64) + 1)
    with pytest.raises(ValueError, match="RAM size must be positive"):
        MemoryRegion.ram("empty", 0)
    with pytest.raises(TypeError, match="ops of 'x' must be a MemoryRegionOps"):
        MemoryRegion.io("x", 4, None)


def test_set_address_of_an_unmapped_region():
    mr = MemoryRegion("free", 16)
    mr.set_address(0x40)
    assert mr.addr == 0x40


def test_is_mapped_follows_alias_chains():
    target = MemoryRegion.ram("pc.ram", 0x1000)
    inner = MemoryRegion.alias("inner", target, 0, 0x100)
    outer = MemoryRegion.alias("outer", inner, 0, 0x100)
    root = MemoryRegion("system", 0x10000)
    assert not target.is_mapped()
    root.add_subregion(0, outer)
    assert target.is_mapped() and inner.is_mapped() and outer.is_mapped()
    root.del_subregion(outer)
    assert not target.is_mapped()
