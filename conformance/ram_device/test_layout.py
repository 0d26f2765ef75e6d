"""The assigned RTL8168's BARs render as the oracle's layout (spec §4.1-4.3)."""

import pytest

from qemu_py.qtest.libqos.inproc import InProcessQTest
from qemu_py.system import trace

from . import oracle
from .rig import BAR2, BAR4, BAR2_SIZE, BAR4_SIZE, Rig

SPARSE = [(0x000, 0x010), (0x018, 0x018), (0x040, 0xfc0)]


def flat_segments(rig, base, size):
    """(start, end, region name, offset in region) of the FlatView over the BAR."""
    out = []
    for fr in rig.q.machine.system_as.flatview():
        if fr.end <= base or fr.start >= base + size:
            continue
        out.append((fr.start - base, fr.end - base, fr.mr.name, fr.offset_in_region))
    return out


def expected(layout, region_names):
    out = []
    for s in layout:
        out.append((s.start, s.end, region_names[(s.kind, s.hw_offset)], s.region_offset))
    return out


@pytest.fixture
def sparse_rig():
    rig = Rig("inproc")
    yield rig
    rig.close()


def test_bar2_sparse_mmap_layout(sparse_rig):
    names = {("ramd", 0x00): "0000:01:00.0 BAR 2 mmaps[0]",
             ("ramd", 0x18): "0000:01:00.0 BAR 2 mmaps[1]",
             ("ramd", 0x40): "0000:01:00.0 BAR 2 mmaps[2]",
             ("io", 0): "0000:01:00.0 BAR 2",
             ("quirk-data", 0): "vfio-rtl8168-window-data-quirk",
             ("quirk-addr", 0): "vfio-rtl8168-window-address-quirk"}
    layout = oracle.bar_layout(BAR2_SIZE, SPARSE, quirks=True)
    assert flat_segments(sparse_rig, BAR2, BAR2_SIZE) == expected(layout, names)


def test_bar2_whole_mmap_is_the_specs_worked_example():
    """§4.3: a fully mmap'd 4 KiB BAR2 plus the two quirks renders as
    [0,0x70) mmaps[0]@0, data-quirk, address-quirk, [0x78,0x1000) mmaps[0]@0x78."""
    rig = Rig("inproc", sparse=False)
    try:
        assert flat_segments(rig, BAR2, BAR2_SIZE) == [
            (0x000, 0x070, "0000:01:00.0 BAR 2 mmaps[0]", 0x00),
            (0x070, 0x074, "vfio-rtl8168-window-data-quirk", 0),
            (0x074, 0x078, "vfio-rtl8168-window-address-quirk", 0),
            (0x078, 0x1000, "0000:01:00.0 BAR 2 mmaps[0]", 0x78),
        ]
    finally:
        rig.close()


def test_bar4_msix_table_page_cut_out_of_the_mmap(sparse_rig):
    areas = oracle.msix_fixup(BAR4_SIZE, 0, 4)
    assert areas == [(0x1000, 0x3000)]
    layout = oracle.bar_layout(BAR4_SIZE, areas, quirks=False, msix_table=(0, 0x40))
    names = {("msix-table", 0): "msix-table", ("io", 0): "0000:01:00.0 BAR 4",
             ("ramd", 0x1000): "0000:01:00.0 BAR 4 mmaps[0]"}
    assert flat_segments(sparse_rig, BAR4, BAR4_SIZE) == expected(layout, names)


def test_region_tree_priorities(sparse_rig):
    dev = sparse_rig.q.machine.peripheral.child("nic0")
    bar = dev.bars[2]
    assert bar.mr.ops.read is None and bar.mr.ops.write is None   # reservation: NULL ops
    assert bar.mr.priority == 1 and bar.mr.container is sparse_rig.q.machine.pci_memory
    mem = bar.region.mem
    assert mem.container is bar.mr and mem.priority == 0
    ops = mem.ops
    assert (ops.valid_min, ops.valid_max, ops.valid_unaligned) == (1, 8, False)
    assert (ops.impl_min, ops.impl_max) == (1, 8)
    kids = {mr.name: mr.priority for mr in mem.subregions}
    assert kids["vfio-rtl8168-window-data-quirk"] == 1
    assert kids["vfio-rtl8168-window-address-quirk"] == 1
    assert all(p == 0 for n, p in kids.items() if "mmaps" in n)
    quirk = next(mr for mr in mem.subregions if "data-quirk" in mr.name)
    assert (quirk.ops.valid_min, quirk.ops.valid_max, quirk.ops.valid_unaligned) == (4, 4, False)
    # equal priority 0: added later, so listed (and rendered) first
    assert [mr.name for mr in dev.bars[4].mr.subregions] == [
        "msix-pba", "msix-table", "0000:01:00.0 BAR 4"]
    assert not dev.msix.pba_mmio.enabled          # disabled until a masked vector fires


def test_mtree_shows_ramd_pieces(sparse_rig):
    text = sparse_rig.q.hmp("info mtree -f")
    assert "(ramd): 0000:01:00.0 BAR 2 mmaps[2] @0000000000000038" in text.replace("\r", "") \
        or "0000:01:00.0 BAR 2 mmaps[2] @0000000000000038" in text


@pytest.mark.parametrize("sparse", [True, False])
def test_sub_page_pieces_are_not_dma_mapped_and_page_pieces_are(sparse, capfd):
    """§3.5: the container's listener maps the page-aligned BAR4 mmap for
    peer-to-peer DMA but no sub-page BAR2 piece: a piece whose address and
    region offset agree within the page is trimmed to nothing
    (vfio_listener_region_add_no_dma_map), one whose offsets disagree (a
    sparse area not starting on a page) is refused as unaligned."""
    seen = []
    entry = trace.subscribe(lambda name, args: seen.append((args["name"], args["iova"])),
                            "vfio_listener_region_add_no_dma_map")
    try:
        rig = Rig("inproc", sparse=sparse)
        try:
            dev = rig.q.machine.peripheral.child("nic0")
            maps = dev.group.container.mappings()
            assert (BAR4 + 0x1000, 0x3000, "0000:01:00.0 BAR 4 mmaps[0]") in maps
            assert not any(name.startswith("0000:01:00.0 BAR 2") for _, _, name in maps)
        finally:
            rig.close()
    finally:
        trace.unsubscribe(entry)
    bar2 = sorted(iova - BAR2 for name, iova in set(seen) if "BAR 2" in name)
    unaligned = capfd.readouterr().err.count("vfio_listener_region_add received unaligned region")
    if sparse:
        assert bar2 == [0x00]                 # mmaps[0]@0; the other areas are unaligned
        assert unaligned == 3                 # mmaps[1], mmaps[2]@0, mmaps[2]@0x38
    else:
        assert bar2 == [0x00, 0x78]           # both pieces of the worked example
        assert unaligned == 0


def test_x_no_mmap_leaves_only_the_slow_path():
    q = InProcessQTest(["-M", "pc", "-object", "vfio-host-sim,id=h,model=rtl8168",
                        "-device", "vfio-pci,host-sim=h,id=n,x-no-mmap=on"])
    try:
        dev = q.machine.peripheral.child("n")
        assert all(not b.region.mmaps for b in dev.bars if b.region is not None)
    finally:
        q.close()
