"""qtest-side driver helpers (qemu_py.qtest.libqos)."""

import pytest

from qemu_py.qtest.client import QTest
from qemu_py.qtest.libqos.inproc import InProcessQTest
from qemu_py.qtest.libqos.malloc import GuestAllocator, pc_allocator
from qemu_py.qtest.libqos.pci import QPCIBus
from qemu_py.qtest.libqos.virtio import QVirtQueue

ARGS = ["-M", "pc", "-device", "pci-testdev,addr=04.0", "-device",
        "virtio-balloon-pci,addr=05.0"]


def test_allocator_first_fit_alignment_and_free():
    a = GuestAllocator(0x1000, 0x10000)
    x = a.alloc(10)
    y = a.alloc(0x100, 0x100)
    assert (x, y) == (0x1000, 0x1100)
    assert a.alloc(1, 16) == 0x1010                  # the gap left before y
    a.free_(y)
    assert a.alloc(0x100, 0x100) == 0x1100
    with pytest.raises(MemoryError):
        a.alloc(0x100000)
    assert pc_allocator().start == 0x100000


def test_virtqueue_layout_is_the_legacy_one():
    assert QVirtQueue.layout(128) == (0x800, 0x1000, 0x1000 + 4 + 8 * 128 + 2)
    assert QVirtQueue.layout(256)[1] == 0x2000


@pytest.fixture
def q():
    q = InProcessQTest(ARGS)
    yield q
    q.close()


def test_enumeration_and_bar_mapping(q):
    bus = QPCIBus(q)
    ids = [(d.devfn, d.vendor_id, d.device_id) for d in bus.devices()]
    assert ids == [(0x00, 0x8086, 0x1237), (0x08, 0x8086, 0x7000),
                   (0x20, 0x1b36, 0x0005), (0x28, 0x1af4, 0x1045)]
    td = bus.find(0x1b36, 0x0005)
    assert td.bar_info(0) == (0x1000, False, False)
    assert td.bar_info(1) == (0x100, True, False)
    addr = td.map_bar(0)
    port = td.map_bar(1)
    td.enable()
    assert (addr, port) == (0xe0000000, 0xc000)
    assert q.readl(addr) == 0x54534554 and q.inl(port) == 0x54534554
    assert td.map_bar(4) == 0xe0001000                          # the next free address
    assert [c for _, c in td.capabilities()] == [0x11, 0x05]


def test_hand_placed_bar_moves_the_allocator(q):
    bus = QPCIBus(q)
    bus.device(4).map_bar(0, 0xe0000000)
    assert bus.device(4).map_bar(4) == 0xe0001000


def test_in_process_and_socket_sessions_agree(tmp_path):
    script = [("outl", 0xcf8, 0x80002010), ("outl", 0xcfc, 0xe0000000),
              ("outl", 0xcf8, 0x80002004), ("outw", 0xcfc, 0x7)]
    replies = []
    for session in (InProcessQTest(ARGS), QTest(ARGS, log_dir=str(tmp_path)).launch()):
        try:
            for name, *args in script:
                getattr(session, name)(*args)
            replies.append((session.readl(0xe0000000), session.cmd("readw 0xe0000000"),
                            session.memread(0xe0000100, 4), session.inl(0xcf8),
                            session.hmp("xp /1wx 0xe0000000").replace("\r", "")))
        finally:
            if isinstance(session, QTest):
                session.quit()
            else:
                session.close()
    assert replies[0] == replies[1]
