"""The virtio-mmio transport from the guest's side (libqos ``virtio-mmio``).

``QVirtioMMIODevice(qts, base, alloc)`` drives one transport window,
version 1 (legacy: GuestPageSize, QueueAlign, QueuePFN, contiguous rings)
or version 2 (QueueReady and 64-bit ring addresses), whichever it reports.
``find_mmio_devices(qts, base, count)`` lists the windows with a device.
"""

from __future__ import annotations

from .virtio import QVirtioDevice, QVirtQueue

MAGIC, VERSION, DEVICE_ID, VENDOR_ID = 0x000, 0x004, 0x008, 0x00c
DEVICE_FEATURES, DEVICE_FEATURES_SEL = 0x010, 0x014
DRIVER_FEATURES, DRIVER_FEATURES_SEL = 0x020, 0x024
GUEST_PAGE_SIZE, QUEUE_SEL, QUEUE_NUM_MAX, QUEUE_NUM = 0x028, 0x030, 0x034, 0x038
QUEUE_ALIGN, QUEUE_PFN, QUEUE_READY, QUEUE_NOTIFY = 0x03c, 0x040, 0x044, 0x050
INTERRUPT_STATUS, INTERRUPT_ACK, STATUS = 0x060, 0x064, 0x070
QUEUE_DESC, QUEUE_AVAIL, QUEUE_USED = 0x080, 0x090, 0x0a0
CONFIG = 0x100
VIRT_MAGIC = 0x74726976
PAGE_SIZE = 4096


def find_mmio_devices(qts, base: int = 0xfeb00000, count: int = 8,
                      stride: int = 0x200) -> list[tuple[int, int]]:
    """(address, device ID) of every transport that has a device behind it."""
    out = []
    for i in range(count):
        addr = base + i * stride
        if qts.readl(addr + MAGIC) == VIRT_MAGIC and qts.readl(addr + DEVICE_ID):
            out.append((addr, qts.readl(addr + DEVICE_ID)))
    return out


class QVirtioMMIODevice(QVirtioDevice):
    def __init__(self, qts, base: int, alloc) -> None:
        super().__init__(qts, alloc)
        self.base = base
        self.version = qts.readl(base + VERSION)
        self.device_id = qts.readl(base + DEVICE_ID)
        if self.version == 1:
            qts.writel(base + GUEST_PAGE_SIZE, PAGE_SIZE)

    @property
    def modern(self) -> bool:
        return self.version >= 2

    def reg(self, off: int) -> int:
        return self.base + off

    def get_features(self) -> int:
        q = self.qts
        q.writel(self.reg(DEVICE_FEATURES_SEL), 0)
        lo = q.readl(self.reg(DEVICE_FEATURES))
        q.writel(self.reg(DEVICE_FEATURES_SEL), 1)
        hi = q.readl(self.reg(DEVICE_FEATURES))
        return hi << 32 | lo

    def set_features(self, features: int) -> None:
        q = self.qts
        q.writel(self.reg(DRIVER_FEATURES_SEL), 0)
        q.writel(self.reg(DRIVER_FEATURES), features & 0xffffffff)
        if self.modern:
            q.writel(self.reg(DRIVER_FEATURES_SEL), 1)
            q.writel(self.reg(DRIVER_FEATURES), features >> 32)

    def get_status(self) -> int:
        return self.qts.readl(self.reg(STATUS))

    def set_status(self, status: int) -> None:
        self.qts.writel(self.reg(STATUS), status)

    def config_read(self, offset: int, size: int) -> int:
        reader = {1: self.qts.readb, 2: self.qts.readw, 4: self.qts.readl}[size]
        return reader(self.reg(CONFIG + offset))

    def config_write(self, offset: int, value: int, size: int) -> None:
        writer = {1: self.qts.writeb, 2: self.qts.writew, 4: self.qts.writel}[size]
        writer(self.reg(CONFIG + offset), value)

    def queue_select(self, index: int) -> None:
        self.qts.writel(self.reg(QUEUE_SEL), index)

    def queue_size(self) -> int:
        return self.qts.readl(self.reg(QUEUE_NUM_MAX))

    def setup_queue(self, index: int, size: int | None = None) -> QVirtQueue:
        # QueueNumMax is 1024 (QEMU's VIRTQUEUE_MAX_SIZE): pick a modest default
        return super().setup_queue(index, size or 128)

    def set_queue(self, vq: QVirtQueue) -> None:
        q = self.qts
        q.writel(self.reg(QUEUE_NUM), vq.size)
        if not self.modern:
            q.writel(self.reg(QUEUE_ALIGN), PAGE_SIZE)
            q.writel(self.reg(QUEUE_PFN), vq.desc // PAGE_SIZE)
            return
        for reg, addr in ((QUEUE_DESC, vq.desc), (QUEUE_AVAIL, vq.avail),
                          (QUEUE_USED, vq.used)):
            q.writel(self.reg(reg), addr & 0xffffffff)
            q.writel(self.reg(reg + 4), addr >> 32)
        q.writel(self.reg(QUEUE_READY), 1)

    def queue_notify(self, index: int) -> None:
        self.qts.writel(self.reg(QUEUE_NOTIFY), index)

    def isr(self) -> int:
        status = self.qts.readl(self.reg(INTERRUPT_STATUS))
        self.qts.writel(self.reg(INTERRUPT_ACK), status)
        return status
