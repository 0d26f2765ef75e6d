"""Guest-written virtio rings: a virtio-balloon-pci on ``pc`` is set up by
the libqos driver, then the input becomes a descriptor table (16 bytes per
entry, at most 16), a list of heads published on the available ring and the
queue to kick. Whatever the guest wrote, the emulator keeps serving, the
device either consumes chains or reports a guest error and is marked
broken (NEEDS_RESET), and a reset brings it back."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

from ..harness import SLOW_SECONDS, Finding, within

SLOT = 3
_STATE: dict = {}


def rig():
    if "q" not in _STATE:
        from qemu_py.qtest.libqos.inproc import InProcessQTest
        from qemu_py.qtest.libqos.malloc import pc_allocator
        from qemu_py.qtest.libqos.pci import QPCIBus
        from qemu_py.qtest.libqos.virtio_pci import QVirtioPCIDevice
        log = Path(tempfile.mkdtemp(prefix="qemu-py-fuzz-virtio-")) / "guest_errors.log"
        q = InProcessQTest(["-M", "pc", "-device", f"virtio-balloon-pci,addr={SLOT:02x}.0",
                            "-d", "guest_errors", "-D", str(log)])
        _STATE.update(q=q, dev=QVirtioPCIDevice(QPCIBus(q).device(SLOT), pc_allocator()),
                      log=log)
    return _STATE["q"], _STATE["dev"], _STATE["log"]


def one(data: bytes) -> None:
    from qemu_py.qtest.libqos.balloon import QVirtioBalloon
    from qemu_py.qtest.libqos.virtio import VIRTIO_CONFIG_S_NEEDS_RESET
    if len(data) < 2:
        return
    q, dev, log = rig()
    features = 0x30000002 if data[0] & 1 else 0x2
    queue = (data[0] >> 1) % 3
    nheads = 1 + (data[1] & 3)
    heads = list(data[2:2 + nheads])
    table = data[2 + nheads:2 + nheads + 16 * 16]
    balloon = QVirtioBalloon(dev, wanted=features)
    vq = dev.queues[queue]
    for i in range(len(table) // 16):
        q.memwrite(vq.desc + 16 * i, table[16 * i:16 * i + 16])
    for h in heads:
        vq.publish(h)
    with within(SLOW_SECONDS, f"kicking queue {queue} with {len(table) // 16} descriptors"):
        vq.kick()
        if not q.cmd("endianness").startswith("OK"):
            raise Finding("the emulator stopped serving after a kick")
    vdev = q.machine.balloon
    if vdev.broken and not dev.get_status() & VIRTIO_CONFIG_S_NEEDS_RESET:
        raise Finding("the device is broken but does not ask for a reset")
    balloon.dev.reset()
    if vdev.broken:
        raise Finding("a reset did not clear the broken state")


def seeds() -> list[bytes]:
    def desc(addr, length, flags, nxt):
        return struct.pack("<QIHH", addr, length, flags, nxt)
    return [bytes([0, 0, 0]) + desc(0x200000, 16, 0, 0),
            bytes([2, 0, 0]) + desc(0x200000, 4096, 0, 0),
            bytes([1, 1, 0, 1]) + desc(0x200000, 4, 1, 1) + desc(0x200ffc, 8, 0, 0),
            bytes([0, 0, 0]) + desc(0x200000, 4, 1, 0),                # a loop
            bytes([0, 0, 0]) + desc((1 << 64) - 8, 16, 0, 0),          # past 2^64
            bytes([0, 0, 0]) + desc(0x200000, (1 << 32) - 1, 0, 0),    # absurd length
            bytes([4, 0, 200]) + desc(0xfec00000, 16, 4, 0)]           # indirect into MMIO
