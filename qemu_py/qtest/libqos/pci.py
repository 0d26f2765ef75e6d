"""PCI from the guest's side over qtest (libqos ``pci``, ``pci-pc``).

``QPCIBus(qts)`` reaches configuration space through the PC's mechanism #1
(ports 0xcf8/0xcfc) and allocates BAR addresses from the PC's windows
(memory from 0xe0000000 up, as libqos's pc bus; I/O from 0xc000).
``bus.devices()`` enumerates functions, ``bus.find(vendor, device)`` finds
one; ``QPCIDevice`` reads/writes its config space, sizes and maps BARs
(``map_bar`` programs the BAR and returns its bus address), enables
decoding and bus mastering, walks the capability list and programs MSI-X.
"""

from __future__ import annotations

PCI_VENDOR_ID, PCI_COMMAND, PCI_STATUS = 0x00, 0x04, 0x06
PCI_HEADER_TYPE, PCI_BASE_ADDRESS_0, PCI_CAPABILITY_LIST = 0x0e, 0x10, 0x34
PCI_INTERRUPT_PIN = 0x3d
PCI_COMMAND_IO, PCI_COMMAND_MEMORY, PCI_COMMAND_MASTER = 0x1, 0x2, 0x4
PCI_COMMAND_INTX_DISABLE = 0x400
PCI_CAP_ID_MSI, PCI_CAP_ID_VNDR, PCI_CAP_ID_MSIX = 0x05, 0x09, 0x11
PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL = 0x8000, 0x4000


def devfn(slot: int, fn: int = 0) -> int:
    return (slot << 3) | fn


class QPCIBus:
    """The pc PCI bus as a guest driver sees it."""

    def __init__(self, qts, mmio_start: int = 0xe0000000, mmio_end: int = 0xfec00000,
                 pio_start: int = 0xc000, pio_end: int = 0x10000) -> None:
        self.qts = qts
        self.mmio_next, self.mmio_end = mmio_start, mmio_end
        self.pio_next, self.pio_end = pio_start, pio_end

    # -- config mechanism #1 ------------------------------------------------------------------
    def _select(self, fn: int, reg: int) -> None:
        self.qts.outl(0xcf8, 0x80000000 | (fn << 8) | (reg & 0xfc))

    def config_readb(self, fn: int, reg: int) -> int:
        self._select(fn, reg)
        return self.qts.inb(0xcfc + (reg & 3))

    def config_readw(self, fn: int, reg: int) -> int:
        self._select(fn, reg)
        return self.qts.inw(0xcfc + (reg & 2))

    def config_readl(self, fn: int, reg: int) -> int:
        self._select(fn, reg)
        return self.qts.inl(0xcfc)

    def config_writeb(self, fn: int, reg: int, val: int) -> None:
        self._select(fn, reg)
        self.qts.outb(0xcfc + (reg & 3), val)

    def config_writew(self, fn: int, reg: int, val: int) -> None:
        self._select(fn, reg)
        self.qts.outw(0xcfc + (reg & 2), val)

    def config_writel(self, fn: int, reg: int, val: int) -> None:
        self._select(fn, reg)
        self.qts.outl(0xcfc, val)

    # -- enumeration ------------------------------------------------------------------------------
    def devices(self) -> list["QPCIDevice"]:
        found = []
        for slot in range(32):
            for fn in range(8):
                d = devfn(slot, fn)
                ids = self.config_readl(d, PCI_VENDOR_ID)
                if ids == 0xffffffff or ids & 0xffff == 0xffff:
                    if fn == 0:
                        break
                    continue
                found.append(QPCIDevice(self, d))
                if fn == 0 and not self.config_readb(d, PCI_HEADER_TYPE) & 0x80:
                    break
        return found

    def find(self, vendor: int, device: int | None = None) -> "QPCIDevice | None":
        for dev in self.devices():
            if dev.vendor_id == vendor and (device is None or dev.device_id == device):
                return dev
        return None

    def device(self, slot: int, fn: int = 0) -> "QPCIDevice":
        return QPCIDevice(self, devfn(slot, fn))

    # -- address allocation -----------------------------------------------------------------------
    def reserve(self, addr: int, size: int, io: bool) -> None:
        """A BAR placed by hand: later allocations start after it."""
        if io:
            if self.pio_next <= addr + size <= self.pio_end or addr < self.pio_next < addr + size:
                self.pio_next = max(self.pio_next, addr + size)
        elif self.mmio_next <= addr + size <= self.mmio_end or \
                addr < self.mmio_next < addr + size:
            self.mmio_next = max(self.mmio_next, addr + size)

    def alloc(self, size: int, io: bool) -> int:
        if io:
            addr = (self.pio_next + size - 1) // size * size
            if addr + size > self.pio_end:
                raise MemoryError("PCI I/O window exhausted")
            self.pio_next = addr + size
        else:
            addr = (self.mmio_next + size - 1) // size * size
            if addr + size > self.mmio_end:
                raise MemoryError("PCI memory window exhausted")
            self.mmio_next = addr + size
        return addr


class QPCIDevice:
    def __init__(self, bus: QPCIBus, fn: int) -> None:
        self.bus = bus
        self.qts = bus.qts
        self.devfn = fn
        self.bars: dict[int, tuple[int, int, bool]] = {}    # n -> (addr, size, io)

    # -- config space -------------------------------------------------------------------------------
    def readb(self, reg): return self.bus.config_readb(self.devfn, reg)
    def readw(self, reg): return self.bus.config_readw(self.devfn, reg)
    def readl(self, reg): return self.bus.config_readl(self.devfn, reg)
    def writeb(self, reg, v): self.bus.config_writeb(self.devfn, reg, v)
    def writew(self, reg, v): self.bus.config_writew(self.devfn, reg, v)
    def writel(self, reg, v): self.bus.config_writel(self.devfn, reg, v)

    @property
    def vendor_id(self) -> int:
        return self.readw(0)

    @property
    def device_id(self) -> int:
        return self.readw(2)

    def enable(self, intx_disable: bool = False) -> None:
        """Memory and I/O decoding plus bus mastering (qpci_device_enable)."""
        cmd = self.readw(PCI_COMMAND) | PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER
        if intx_disable:
            cmd |= PCI_COMMAND_INTX_DISABLE
        self.writew(PCI_COMMAND, cmd)

    def capabilities(self) -> list[tuple[int, int]]:
        """(offset, id) of every capability, in list order."""
        out, seen = [], set()
        pos = self.readb(PCI_CAPABILITY_LIST) & ~3
        while pos and pos not in seen:
            seen.add(pos)
            out.append((pos, self.readb(pos)))
            pos = self.readb(pos + 1) & ~3
        return out

    def find_capability(self, cap_id: int, start: int = 0) -> int:
        for pos, cid in self.capabilities():
            if cid == cap_id and pos > start:
                return pos
        return 0

    # -- BARs ---------------------------------------------------------------------------------------
    def bar_info(self, n: int) -> tuple[int, bool, bool]:
        """(size, is_io, is_64bit) by writing all-ones (0 size: no BAR)."""
        reg = PCI_BASE_ADDRESS_0 + 4 * n
        old = self.readl(reg)
        self.writel(reg, 0xffffffff)
        val = self.readl(reg)
        self.writel(reg, old)
        if not val:
            return 0, False, False
        io = bool(val & 1)
        if io:
            return (~(val & ~3) + 1) & 0xffff, True, False
        mem64 = bool(val & 4)
        size_lo = val & ~0xf
        if mem64:
            old_hi = self.readl(reg + 4)
            self.writel(reg + 4, 0xffffffff)
            hi = self.readl(reg + 4)
            self.writel(reg + 4, old_hi)
            mask = (hi << 32) | size_lo
            return ((~mask) & ((1 << 64) - 1)) + 1, False, True
        return ((~size_lo) & 0xffffffff) + 1, False, False

    def map_bar(self, n: int, addr: int | None = None) -> int:
        """Program BAR N (at ADDR or the next free address); returns the address."""
        size, io, mem64 = self.bar_info(n)
        if not size:
            raise ValueError(f"device {self.devfn:#x} has no BAR {n}")
        if addr is None:
            addr = self.bus.alloc(size, io)
        else:
            self.bus.reserve(addr, size, io)
        reg = PCI_BASE_ADDRESS_0 + 4 * n
        self.writel(reg, addr & 0xffffffff)
        if mem64:
            self.writel(reg + 4, addr >> 32)
        self.bars[n] = (addr, size, io)
        return addr

    def unmap_bar(self, n: int) -> None:
        reg = PCI_BASE_ADDRESS_0 + 4 * n
        self.writel(reg, 0)
        self.bars.pop(n, None)

    # -- MSI-X ----------------------------------------------------------------------------------------
    def msix_info(self) -> tuple[int, int, int, int, int, int]:
        """(cap, entries, table_bar, table_offset, pba_bar, pba_offset)."""
        cap = self.find_capability(PCI_CAP_ID_MSIX)
        if not cap:
            raise ValueError("no MSI-X capability")
        ctrl = self.readw(cap + 2)
        table = self.readl(cap + 4)
        pba = self.readl(cap + 8)
        return cap, (ctrl & 0x7ff) + 1, table & 7, table & ~7, pba & 7, pba & ~7

    def msix_enable(self, mask_all: bool = False) -> None:
        cap = self.msix_info()[0]
        ctrl = self.readw(cap + 2) | PCI_MSIX_FLAGS_ENABLE
        ctrl = ctrl | PCI_MSIX_FLAGS_MASKALL if mask_all else ctrl & ~PCI_MSIX_FLAGS_MASKALL
        self.writew(cap + 2, ctrl)

    def msix_disable(self) -> None:
        cap = self.msix_info()[0]
        self.writew(cap + 2, self.readw(cap + 2) & ~PCI_MSIX_FLAGS_ENABLE)
