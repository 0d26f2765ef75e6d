"""virtio-pci (modern) and virtio-mmio register interfaces, from the guest side."""

import struct

import pytest

from qemu_py.qtest.libqos.inproc import InProcessQTest, reset_logging
from qemu_py.qtest.libqos.malloc import pc_allocator
from qemu_py.qtest.libqos.pci import QPCIBus
from qemu_py.qtest.libqos.virtio_mmio import QVirtioMMIODevice, find_mmio_devices
from qemu_py.qtest.libqos.virtio_pci import QVirtioPCIDevice
from qemu_py.system.log import LOG

SLOT = 3
MMIO = 0xfeb00000


@pytest.fixture
def pci():
    q = InProcessQTest(["-M", "pc", "-device", f"virtio-balloon-pci,addr={SLOT:02x}.0"])
    yield q
    q.close()


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "log"
    LOG.configure(["guest_errors"], str(path))
    yield path
    reset_logging()


def test_pci_identity_and_capabilities(pci):
    dev = QPCIBus(pci).device(SLOT)
    assert (dev.vendor_id, dev.device_id) == (0x1af4, 0x1045)
    assert dev.readb(0x08) == 1 and dev.readl(0x08) >> 16 == 0x00ff     # unclassified [00ff]
    assert dev.readl(0x2c) == 0x11001af4
    assert dev.capabilities() == [(0x84, 9), (0x70, 9), (0x60, 9), (0x50, 9), (0x40, 9)]
    caps = {dev.readb(p + 3): (dev.readb(p + 2), dev.readb(p + 4), dev.readl(p + 8),
                               dev.readl(p + 12)) for p, _ in dev.capabilities()}
    assert caps == {1: (16, 4, 0x0000, 0x1000), 3: (16, 4, 0x1000, 0x1000),
                    4: (16, 4, 0x2000, 0x1000), 2: (20, 4, 0x3000, 0x1000),
                    5: (20, 0, 0, 0)}
    assert dev.readl(0x70 + 16) == 4                            # notify_off_multiplier
    assert dev.bar_info(4) == (0x4000, False, True)
    assert dev.readb(0x3d) == 1


def test_pci_common_configuration(pci):
    v = QVirtioPCIDevice(QPCIBus(pci).device(SLOT), pc_allocator())
    q = pci
    assert v.get_features() == (1 << 32) | (1 << 29) | (1 << 28) | (1 << 4) | (1 << 1)
    assert v.num_queues() == 3
    for n in range(3):
        v.queue_select(n)
        assert v.queue_size() == 128
        assert q.readw(v.common(0x1e)) == n                     # notify offset
    v.queue_select(3)
    assert v.queue_size() == 0
    assert q.readw(v.common(0x10)) == 0xffff                     # no MSI-X vector
    q.writew(v.common(0x10), 0)
    assert q.readw(v.common(0x10)) == 0xffff
    assert q.readb(v.common(0x05)) == 0                          # not a register's first byte
    q.writel(v.common(0x00), 0)
    assert q.readw(v.common(0x04)) == 0x0012                     # low half of the features


def test_pci_feature_negotiation_drops_what_was_not_offered(pci):
    v = QVirtioPCIDevice(QPCIBus(pci).device(SLOT), pc_allocator())
    v.set_features((1 << 32) | (1 << 1) | (1 << 3) | (1 << 40))
    assert pci.machine.balloon.guest_features == (1 << 32) | (1 << 1)
    v.set_status(0xb)                                            # ... FEATURES_OK
    assert v.get_status() == 0xb
    v.set_features(0)                                            # too late: ignored
    assert pci.machine.balloon.guest_features == (1 << 32) | (1 << 1)
    v.set_status(0)
    assert v.get_status() == 0 and pci.machine.balloon.guest_features == 0


def test_pci_device_config_and_all_ones_past_the_end(pci):
    v = QVirtioPCIDevice(QPCIBus(pci).device(SLOT), pc_allocator())
    assert v.config_read(0, 4) == 0                              # num_pages
    v.config_write(4, 0x100, 4)                                  # actual
    assert v.config_read(4, 4) == 0x100
    assert v.config_read(16, 4) == 0xffffffff
    # unaligned: the memory core cuts it into 2 + 2 (impl.unaligned false), the
    # second half is past the 16-byte config
    assert v.config_read(14, 4) == 0xffff0000
    assert pci.readq(v._addr(4, 0)) == 0x0000010000000000        # split in two dwords


def test_pci_config_access_capability(pci):
    dev = QPCIBus(pci).device(SLOT)
    QVirtioPCIDevice(dev, pc_allocator())
    cap = 0x84
    dev.writeb(cap + 4, 4)                                       # bar
    dev.writel(cap + 8, 0x0012)                                  # num_queues
    dev.writel(cap + 12, 2)
    assert dev.readl(cap + 16) & 0xffff == 3


def test_mmio_transports_of_microvm(tmp_path):
    log = tmp_path / "log"
    q = InProcessQTest(["-M", "microvm", "-device", "virtio-balloon-device",
                        "-d", "guest_errors", "-D", str(log)])
    try:
        assert find_mmio_devices(q) == [(MMIO + 7 * 0x200, 5)]  # the highest address first
        assert q.readl(MMIO + 0) == 0x74726976
        assert q.readl(MMIO + 4) == 1 and q.readl(MMIO + 8) == 0  # empty: device ID 0
        assert q.readl(MMIO + 0xc) == 0x554d4551
        base = MMIO + 7 * 0x200
        assert q.readl(base + 0x34) == 1024                      # QueueNumMax
        assert q.readw(base + 0x70) == 0
        q.readl(base + 0x14)
        q.writel(base + 0x44, 1)                                 # QueueReady: not legacy
        q.writel(base + 0x34, 1)
        q.writel(base + 0x0f0, 1)
        q.writel(base + 0x1f0, 1)                                 # config space: ignored
        text = log.read_text()
        reset_logging()
        assert "virtio_mmio_read: wrong size access to register!" in text
        assert "virtio_mmio_read: read of write-only register (0x14)" in text
        assert "virtio_mmio_write: write to non-legacy register (0x44) in legacy mode" in text
        assert "virtio_mmio_write: write to read-only register (0x34)" in text
        assert "virtio_mmio_write: bad register offset (0xf0)" in text
    finally:
        q.close()


def test_mmio_interrupt_line_and_ack():
    q = InProcessQTest(["-M", "microvm", "-device", "virtio-balloon-device"])
    try:
        base = MMIO + 7 * 0x200
        q.irq_intercept_in("ioapic")
        v = QVirtioMMIODevice(q, base, pc_allocator(ram_size=128 << 20))
        v.start(1 << 1, 3)
        vq = v.queues[0]
        buf = v.alloc.alloc(4096)
        q.memwrite(buf, struct.pack("<I", 0xd0000))
        vq.publish(vq.add_chain([(buf, 4, False)]))
        vq.kick()
        assert q.get_irq(12)                                     # GSI 5 + 7
        assert v.isr() == 1
        assert not q.get_irq(12)
    finally:
        q.close()


def test_mmio_modern_registers():
    q = InProcessQTest(["-M", "microvm", "-device", "virtio-balloon-device",
                        "-global", "virtio-mmio.force-legacy=off"])
    try:
        base = MMIO + 7 * 0x200
        v = QVirtioMMIODevice(q, base, pc_allocator())
        assert v.version == 2
        assert v.get_features() >> 32 == 1
        v.start(1 << 1, 3)
        v.queue_select(0)
        assert q.readl(base + 0x44) == 1                         # QueueReady
        assert q.readl(base + 0xfc) == 0                         # ConfigGeneration
        v.set_status(0)
        assert q.readl(base + 0x44) == 0
    finally:
        q.close()


def test_virtio_device_without_a_transport_bus():
    from qemu_py.launch import StartupError
    with pytest.raises(StartupError, match=r"^-device [^:]*: No 'virtio-bus' bus found for device "
                                           r"'virtio-balloon-device'$"):
        InProcessQTest(["-M", "pc", "-device", "virtio-balloon-device"])
    args = ["-M", "microvm"] + ["-device", "virtio-balloon-device"] * 9
    with pytest.raises(StartupError, match="Only one balloon device is supported"):
        InProcessQTest(args)
