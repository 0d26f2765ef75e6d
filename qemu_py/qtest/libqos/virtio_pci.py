"""The modern virtio-pci transport from the guest's side (libqos ``virtio-pci-modern``).

``QVirtioPCIDevice(pci_dev, alloc)`` finds the vendor capabilities (common,
notify with its multiplier, ISR, device), maps the BAR they live in, and
implements :class:`~.virtio.QVirtioDevice`'s register accesses with qtest
reads and writes of the common configuration (Virtio 1.1 §4.1.4.3).
"""

from __future__ import annotations

from .pci import PCI_CAP_ID_VNDR, QPCIDevice
from .virtio import QVirtioDevice, QVirtQueue

CAP_COMMON, CAP_NOTIFY, CAP_ISR, CAP_DEVICE, CAP_PCI = 1, 2, 3, 4, 5
DFSELECT, DF, GFSELECT, GF = 0x00, 0x04, 0x08, 0x0c
MSIX_CONFIG, NUM_QUEUES, STATUS, CFG_GENERATION = 0x10, 0x12, 0x14, 0x15
Q_SELECT, Q_SIZE, Q_MSIX, Q_ENABLE, Q_NOTIFY_OFF = 0x16, 0x18, 0x1a, 0x1c, 0x1e
Q_DESC, Q_AVAIL, Q_USED = 0x20, 0x28, 0x30


class QVirtioPCIDevice(QVirtioDevice):
    def __init__(self, pci: QPCIDevice, alloc, intx_disable: bool = False) -> None:
        super().__init__(pci.qts, alloc)
        self.pci = pci
        self.caps: dict[int, tuple[int, int, int, int]] = {}   # type -> (cap, bar, off, len)
        self.notify_mult = 0
        for pos, cap_id in pci.capabilities():
            if cap_id != PCI_CAP_ID_VNDR:
                continue
            cfg_type = pci.readb(pos + 3)
            bar = pci.readb(pos + 4)
            off = pci.readl(pos + 8)
            length = pci.readl(pos + 12)
            self.caps.setdefault(cfg_type, (pos, bar, off, length))
            if cfg_type == CAP_NOTIFY:
                self.notify_mult = pci.readl(pos + 16)
        bars = {bar for t, (_, bar, _, _) in self.caps.items() if t != CAP_PCI}
        self.bar_addr = {bar: pci.map_bar(bar) for bar in sorted(bars)}
        pci.enable(intx_disable=intx_disable)

    def _addr(self, cfg_type: int, off: int = 0) -> int:
        _, bar, base, _ = self.caps[cfg_type]
        return self.bar_addr[bar] + base + off

    def common(self, off: int) -> int:
        return self._addr(CAP_COMMON, off)

    # -- QVirtioDevice ------------------------------------------------------------------------
    def get_features(self) -> int:
        q = self.qts
        q.writel(self.common(DFSELECT), 0)
        lo = q.readl(self.common(DF))
        q.writel(self.common(DFSELECT), 1)
        hi = q.readl(self.common(DF))
        return hi << 32 | lo

    def set_features(self, features: int) -> None:
        q = self.qts
        q.writel(self.common(GFSELECT), 0)
        q.writel(self.common(GF), features & 0xffffffff)
        q.writel(self.common(GFSELECT), 1)
        q.writel(self.common(GF), features >> 32)

    def get_status(self) -> int:
        return self.qts.readb(self.common(STATUS))

    def set_status(self, status: int) -> None:
        self.qts.writeb(self.common(STATUS), status)

    def config_read(self, offset: int, size: int) -> int:
        reader = {1: self.qts.readb, 2: self.qts.readw, 4: self.qts.readl}[size]
        return reader(self._addr(CAP_DEVICE, offset))

    def config_write(self, offset: int, value: int, size: int) -> None:
        writer = {1: self.qts.writeb, 2: self.qts.writew, 4: self.qts.writel}[size]
        writer(self._addr(CAP_DEVICE, offset), value)

    def queue_select(self, index: int) -> None:
        self.qts.writew(self.common(Q_SELECT), index)

    def queue_size(self) -> int:
        return self.qts.readw(self.common(Q_SIZE))

    def set_queue(self, vq: QVirtQueue) -> None:
        q = self.qts
        q.writew(self.common(Q_SIZE), vq.size)
        for reg, addr in ((Q_DESC, vq.desc), (Q_AVAIL, vq.avail), (Q_USED, vq.used)):
            q.writel(self.common(reg), addr & 0xffffffff)
            q.writel(self.common(reg + 4), addr >> 32)
        q.writew(self.common(Q_ENABLE), 1)

    def queue_notify(self, index: int) -> None:
        self.queue_select(index)
        off = self.qts.readw(self.common(Q_NOTIFY_OFF))
        self.qts.writew(self._addr(CAP_NOTIFY, off * self.notify_mult), index)

    def isr(self) -> int:
        return self.qts.readb(self._addr(CAP_ISR))

    def num_queues(self) -> int:
        return self.qts.readw(self.common(NUM_QUEUES))
