"""Hypothesis: whatever descriptor table and available ring the guest writes,
the emulator never fails; the device either consumes the chains or reports a
guest error (NEEDS_RESET, broken) and stops, and a reset brings it back."""

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qemu_py.qtest.libqos.balloon import QVirtioBalloon
from qemu_py.qtest.libqos.inproc import InProcessQTest, reset_logging
from qemu_py.qtest.libqos.malloc import pc_allocator
from qemu_py.qtest.libqos.pci import QPCIBus
from qemu_py.qtest.libqos.virtio import VIRTIO_CONFIG_S_NEEDS_RESET
from qemu_py.qtest.libqos.virtio_pci import QVirtioPCIDevice

SLOT = 3
ADDRS = [0x200000, 0x200ffc, 0x7fff000, 0x8000000, 0xd0000000, 0xfffff000, 0xfec00000,
         (1 << 64) - 8, 0]


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    log = tmp_path_factory.mktemp("fuzz") / "guest_errors.log"
    q = InProcessQTest(["-M", "pc", "-device", f"virtio-balloon-pci,addr={SLOT:02x}.0",
                        "-d", "guest_errors", "-D", str(log)])
    dev = QVirtioPCIDevice(QPCIBus(q).device(SLOT), pc_allocator())
    yield q, dev, log
    q.close()
    reset_logging()


descriptor = st.tuples(st.one_of(st.sampled_from(ADDRS), st.integers(0, (1 << 64) - 1)),
                       # lengths: small ones, and huge ones that cannot fit in RAM (a
                       # legal multi-megabyte PFN list would only cost time, not correctness)
                       st.one_of(st.sampled_from([0, 1, 4, 15, 16, 32, 4096, (1 << 32) - 1]),
                                 st.integers(0, 1 << 16)),
                       st.integers(0, 7), st.integers(0, 140))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(table=st.lists(descriptor, min_size=1, max_size=8),
       heads=st.lists(st.integers(0, 200), min_size=1, max_size=4),
       queue=st.sampled_from([0, 1, 2]), features=st.sampled_from([0x2, 0x30000002]))
def test_any_ring_is_survived(rig, table, heads, queue, features):
    q, dev, log = rig
    balloon = QVirtioBalloon(dev, wanted=features)
    vq = dev.queues[queue]
    for i, (addr, length, flags, nxt) in enumerate(table):
        q.memwrite(vq.desc + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))
    for h in heads:
        vq.publish(h)
    before = log.stat().st_size if log.exists() else 0
    vq.kick()
    assert q.cmd("endianness").startswith("OK")                  # still serving
    vdev = q.machine.balloon
    if vdev.broken:
        assert dev.get_status() & VIRTIO_CONFIG_S_NEEDS_RESET
        assert log.stat().st_size > before                       # reported
    else:
        assert vq.used_idx() >= 1 or queue == 2                  # consumed (stats keeps one)
    balloon.dev.reset()
    assert not vdev.broken
