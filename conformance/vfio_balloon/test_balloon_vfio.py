"""§5.4 with §5.3: inflating the balloon with and without an assigned device.

With a vfio-pci device attached, discards are disabled: the inflate is
acknowledged (used length 0) but the pages keep their contents, for the CPU
(qtest reads) and for the device (its DMA through the IOMMU reads the same
host pages).  After hot-unplug, or without the device, the same inflate
discards them: they read back zero.
"""

import pytest

from .rig import PATTERN, start, stop

KINDS = ["inproc", "qtest"]


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


def device_view(guest, page, length=256):
    """The RTL8168's DMA view of [page, page+length) (one Tx descriptor)."""
    guest.transmit(page, length)
    reads = [e for e in guest.dma_reads() if e["iova"] == page and e["size"] == length]
    assert reads, guest.dma_reads()
    return reads[-1]


def test_inflate_with_vfio_keeps_the_pattern_for_cpu_and_device(kind, tmp_path):
    g = start(kind, vfio=1, log_dir=str(tmp_path))
    try:
        assert g.discard_state()["uncoordinated-disabled"] == 1
        pages = [g.page_with_pattern() for _ in range(3)]
        assert g.balloon.inflate(pages)[1] == 0               # acknowledged, length 0
        for page in pages:
            assert g.q.memread(page, 4096) == PATTERN          # CPU view
        seen = device_view(g, pages[1])
        assert seen["result"] == "ok" and seen["data"] == PATTERN[:64].hex()
        # hot-unplug: the group goes, the count goes, the same inflate frees the pages
        g.q.qmp("device_del", id="nic0")
        assert g.discard_state()["is-disabled"] is False
        assert g.balloon.inflate(pages)[1] == 0
        for page in pages:
            assert g.q.memread(page, 4096) == bytes(4096)
    finally:
        stop(g)


def test_inflate_without_vfio_discards(kind, tmp_path):
    g = start(kind, vfio=0, log_dir=str(tmp_path))
    try:
        assert g.discard_state()["is-disabled"] is False
        page = g.page_with_pattern()
        g.balloon.inflate([page])
        assert g.q.memread(page, 4096) == bytes(4096)
        g.q.memwrite(page, b"\x5a" * 16)                      # the guest may use it again
        g.balloon.deflate([page])                              # WILLNEED: nothing changes
        assert g.q.memread(page, 16) == b"\x5a" * 16
    finally:
        stop(g)


def test_device_dma_after_unplug_faults(tmp_path):
    g = start("inproc", vfio=1)
    try:
        page = g.page_with_pattern()
        sim = g.q.machine.peripheral.child("nic0").sim
        assert sim.dma_read(page, 16) == PATTERN[:16]
        g.q.qmp("device_del", id="nic0")
        assert sim.dma_read(page, 16) is None                  # no container, no mapping
        assert sim.dma_log[-1][3] == "fault"
    finally:
        stop(g)


def test_inflate_while_two_groups_then_one_unplugged(tmp_path):
    g = start("inproc", vfio=2, groups=[7, 8])
    try:
        page = g.page_with_pattern()
        assert g.discard_state()["uncoordinated-disabled"] == 2
        g.q.qmp("device_del", id="nic0")
        g.balloon.inflate([page])
        assert g.q.memread(page, 4096) == PATTERN              # group 8 still disables
        g.q.qmp("device_del", id="nic1")
        g.balloon.inflate([page])
        assert g.q.memread(page, 4096) == bytes(4096)
    finally:
        stop(g)


def test_hotplugged_vfio_device_stops_discards():
    g = start("inproc", vfio=0)
    try:
        from qemu_py.system.objects import create_object
        create_object(g.q.vm, {"qom-type": "vfio-host-sim", "id": "hs9", "model": "rtl8168"})
        g.q.qmp("device_add", driver="vfio-pci", id="hot", **{"host-sim": "hs9"})
        page = g.page_with_pattern()
        g.balloon.inflate([page])
        assert g.q.memread(page, 4096) == PATTERN
    finally:
        stop(g)


def test_pages_that_are_not_ram_are_skipped_but_acknowledged():
    g = start("inproc", vfio=1)
    try:
        bios, hole, bar = 0xfffff000, 0xd0000000, 0xe0000000 + 0x0
        used = g.balloon.inflate([bios, hole, bar])
        assert used[1] == 0
        dev = g.q.machine.balloon
        assert dev.skipped_pages == 2                          # ROM and the hole
        assert dev.discarded_pages == 0                        # the BAR page: discards off
        assert g.q.readl(0xfffffff0) != 0                      # the ROM is intact
    finally:
        stop(g)


def test_microvm_virtio_mmio_balloon_discards():
    g = start("inproc", vfio=0, balloon="mmio")
    try:
        assert g.balloon.dev.version == 1                      # force-legacy=on by default
        page = g.page_with_pattern()
        g.balloon.inflate([page])
        assert g.q.memread(page, 4096) == bytes(4096)
    finally:
        stop(g)


def test_microvm_modern_virtio_mmio():
    g = start("inproc", vfio=0, balloon="mmio",
              extra=["-global", "virtio-mmio.force-legacy=off"])
    try:
        assert g.balloon.dev.version == 2
        assert g.balloon.features >> 32 & 1                    # VERSION_1
        page = g.page_with_pattern()
        g.balloon.inflate([page])
        assert g.q.memread(page, 4096) == bytes(4096)
    finally:
        stop(g)
