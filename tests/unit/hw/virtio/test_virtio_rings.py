"""Split virtqueues driven by the test as the guest (virtio-balloon's inflate
queue as the vehicle): well-formed chains, indirect tables, notification
suppression, and every malformed-ring guest error QEMU reports."""

import struct

import pytest

from qemu_py.qtest.libqos.balloon import QVirtioBalloon
from qemu_py.qtest.libqos.inproc import InProcessQTest, reset_logging
from qemu_py.qtest.libqos.malloc import pc_allocator
from qemu_py.qtest.libqos.pci import QPCIBus
from qemu_py.qtest.libqos.virtio import (
    VIRTIO_CONFIG_S_NEEDS_RESET,
    VRING_DESC_F_INDIRECT,
    VRING_DESC_F_NEXT,
    VRING_DESC_F_WRITE,
)
from qemu_py.qtest.libqos.virtio_pci import QVirtioPCIDevice
from qemu_py.system.log import LOG

SLOT = 3


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "guest_errors.log"
    LOG.configure(["guest_errors"], str(path))
    yield path
    reset_logging()


@pytest.fixture
def guest():
    q = InProcessQTest(["-M", "pc", "-device", f"virtio-balloon-pci,addr={SLOT:02x}.0,id=b0"])
    alloc = pc_allocator()
    dev = QVirtioPCIDevice(QPCIBus(q).device(SLOT), alloc)
    balloon = QVirtioBalloon(dev, wanted=(1 << 1) | (1 << 28) | (1 << 29))
    yield q, dev, balloon, alloc
    q.close()


def pfn_buffer(q, alloc, pages):
    buf = alloc.alloc(4096)
    q.memwrite(buf, b"".join(struct.pack("<I", p >> 12) for p in pages))
    return buf


def test_negotiated_features(guest):
    q, dev, balloon, _ = guest
    assert balloon.features == (1 << 32) | (1 << 29) | (1 << 28) | (1 << 1)
    assert q.machine.balloon.guest_features == balloon.features


def test_a_chain_of_two_readable_buffers(guest):
    q, dev, _, alloc = guest
    pages = [alloc.alloc(4096) for _ in range(3)]
    for p in pages:
        q.memwrite(p, b"\xee" * 8)
    a = pfn_buffer(q, alloc, pages[:2])
    b = pfn_buffer(q, alloc, pages[2:])
    vq = dev.queues[0]
    vq.publish(vq.add_chain([(a, 8, False), (b, 4, False)]))
    vq.kick()
    assert vq.wait_used() == (0, 0)
    assert all(q.memread(p, 8) == bytes(8) for p in pages)


def test_an_indirect_table(guest):
    q, dev, _, alloc = guest
    page = alloc.alloc(4096)
    q.memwrite(page, b"\xee" * 8)
    vq = dev.queues[0]
    head = vq.add_chain([(pfn_buffer(q, alloc, [page]), 4, False)], indirect=True,
                        alloc=alloc.alloc)
    vq.publish(head)
    vq.kick()
    assert vq.wait_used()[0] == head
    assert q.memread(page, 8) == bytes(8)


def test_event_idx_suppresses_and_requests_interrupts(guest):
    q, dev, _, alloc = guest
    vdev = q.machine.balloon
    q.irq_intercept_in("ioapic")
    q.outl(0xcf8, 0x80000000 | (8 << 8) | 0x60)
    q.outl(0xcfc, 0x0a0a0a0a)                                   # every PIRQ -> IRQ 10
    vq = dev.queues[0]
    buf = pfn_buffer(q, alloc, [0xd0000000])

    def one():
        vq.publish(vq.add_chain([(buf, 4, False)]))
        vq.kick()
        vq.num_free += 1

    vq.set_used_event(5)
    one()                                                       # the first one always notifies
    assert q.get_irq(10)
    assert dev.isr() == 1 and not q.get_irq(10)                 # reading ISR deasserts
    one()                                                       # used idx 2: before entry 5
    assert not q.get_irq(10)
    assert vq.avail_event() == 2                                # QEMU writes last_avail_idx
    vq.set_used_event(2)
    one()                                                       # crosses entry 2
    assert q.get_irq(10)
    assert vdev.status & 4


def _bad(q, dev, alloc, build):
    vq = dev.queues[0]
    head = build(vq)
    vq.publish(head)
    vq.kick()
    return vq


def check_error(q, dev, log, text):
    assert f"virtio-balloon-device: {text}" in log.read_text()
    assert dev.get_status() & VIRTIO_CONFIG_S_NEEDS_RESET
    assert q.machine.balloon.broken
    assert dev.isr() & 2                                         # config change interrupt
    q.cmd("endianness")                                          # the emulator goes on


def test_descriptor_loop(guest, log):
    q, dev, _, alloc = guest
    buf = pfn_buffer(q, alloc, [0x200000])

    def build(vq):
        vq.write_desc(0, buf, 4, VRING_DESC_F_NEXT, 1)
        vq.write_desc(1, buf, 4, VRING_DESC_F_NEXT, 0)
        return 0
    _bad(q, dev, alloc, build)
    check_error(q, dev, log, "Looped descriptor")


def test_next_beyond_the_table(guest, log):
    q, dev, _, alloc = guest
    buf = pfn_buffer(q, alloc, [0x200000])
    _bad(q, dev, alloc, lambda vq: (vq.write_desc(0, buf, 4, VRING_DESC_F_NEXT, 200), 0)[1])
    check_error(q, dev, log, "Desc next is 200")


def test_head_beyond_the_table(guest, log):
    q, dev, _, alloc = guest
    _bad(q, dev, alloc, lambda vq: 500)
    check_error(q, dev, log, "Guest says index 500 is available")


@pytest.mark.parametrize("addr, length, flags, text", [
    (0xd0000000, 4, 0, "virtio: bogus descriptor or out of resources"),        # PCI hole
    (0xfffff000, 4, VRING_DESC_F_WRITE, "virtio: bogus descriptor or out of resources"),  # ROM
    ((1 << 64) - 2, 4, 0, "virtio: bogus descriptor or out of resources"),
    (0x200000, 0, 0, "virtio: zero sized buffers are not allowed"),
    (0x200000, 10, VRING_DESC_F_INDIRECT, "Invalid size for indirect buffer table"),
    (0x200000, 0, VRING_DESC_F_INDIRECT, "Invalid size for indirect buffer table"),
])
def test_bad_single_descriptor(guest, log, addr, length, flags, text):
    q, dev, _, alloc = guest
    _bad(q, dev, alloc, lambda vq: (vq.write_desc(0, addr, length, flags, 0), 0)[1])
    check_error(q, dev, log, text)


def test_nested_indirect_and_writable_before_readable(guest, log):
    q, dev, _, alloc = guest
    table = alloc.alloc(64, 16)
    vq = dev.queues[0]
    vq.write_desc(0, table, 16, VRING_DESC_F_INDIRECT, 0, table)   # points at itself
    _bad(q, dev, alloc, lambda vq: (vq.write_desc(0, table, 16, VRING_DESC_F_INDIRECT, 0), 0)[1])
    check_error(q, dev, log, "Nested indirect descriptor")


def test_incorrect_order(guest, log):
    q, dev, _, alloc = guest
    buf = pfn_buffer(q, alloc, [0x200000])

    def build(vq):
        vq.write_desc(0, buf, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1)
        vq.write_desc(1, buf, 4, 0, 0)
        return 0
    _bad(q, dev, alloc, build)
    check_error(q, dev, log, "Incorrect order for descriptors")


def test_descriptor_table_outside_ram(guest, log):
    q, dev, _, alloc = guest
    vq = dev.queues[0]
    vq.desc = 0xd0000000
    dev.set_status(0)
    dev.start((1 << 1), 0)                                       # renegotiate, no queues
    dev.queue_select(0)
    dev.set_queue(vq)
    q.writeb(dev.common(0x14), 0xf)
    vq.publish(0)
    vq.kick()
    check_error(q, dev, log, "Cannot map descriptor ring")


def test_wrong_queue_enable_value(guest, log):
    q, dev, _, _ = guest
    dev.queue_select(1)
    q.writew(dev.common(0x1c), 2)
    check_error(q, dev, log, "wrong value for queue_enable 2")


def test_a_broken_device_works_again_after_reset(guest, log):
    q, dev, _, alloc = guest
    _bad(q, dev, alloc, lambda vq: 500)
    assert q.machine.balloon.broken
    balloon = QVirtioBalloon(dev)                                # the driver resets and restarts
    assert not q.machine.balloon.broken
    page = alloc.alloc(4096)
    q.memwrite(page, b"\x11" * 4)
    balloon.inflate([page])
    assert q.memread(page, 4) == bytes(4)


def test_guest_errors_reach_the_d_log_of_a_real_emulator(tmp_path):
    """Out of process: -d guest_errors -D file has QEMU's text; the process survives."""
    from qemu_py.qtest.client import QTest
    log_file = tmp_path / "qemu.log"
    q = QTest(["-M", "pc", "-device", f"virtio-balloon-pci,addr={SLOT:02x}.0",
               "-d", "guest_errors", "-D", str(log_file)], log_dir=str(tmp_path)).launch()
    try:
        alloc = pc_allocator()
        dev = QVirtioPCIDevice(QPCIBus(q).device(SLOT), alloc)
        QVirtioBalloon(dev)
        vq = dev.queues[0]
        vq.write_desc(0, 0x200000, 4, VRING_DESC_F_NEXT, 0)
        vq.publish(0)
        vq.kick()
        assert dev.get_status() & VIRTIO_CONFIG_S_NEEDS_RESET
        assert q.qmp("query-status")["status"] == "running"
    finally:
        q.quit()
    assert "virtio-balloon-device: Looped descriptor" in log_file.read_text()
