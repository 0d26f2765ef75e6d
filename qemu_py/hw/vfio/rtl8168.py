"""Simulated Realtek RTL8168 (r8169-family PCIe gigabit NIC) behind vfio-host-sim.

What is modelled is what matters to device assignment: the PCI identity and
capability list of a real RTL8168 (10ec:8168, class 0200, revision 0x0c;
PM @0x40, MSI @0x50 (64-bit, 1 vector), PCI Express @0x70, MSI-X @0xb0 with
4 vectors, table at BAR4+0 and PBA at BAR4+0x800), its BARs (BAR0 256-byte
I/O mirroring the registers, BAR2 4 KiB 64-bit MMIO registers, BAR4 16 KiB
64-bit prefetchable MSI-X BAR), and a register file whose hardware
**accepts only accesses of at most 4 bytes**: any wider access that reaches
it is recorded as a violation (the reason QEMU stopped using memcpy for
ram_device in 2016; spec memory.md §3.5).

Registers (names from the r8169 driver; offsets in BAR2, mirrored in BAR0):

======  =================  ====  ===========================================
offset  name               mode  behaviour
======  =================  ====  ===========================================
0x00    MAC0 (6 bytes)     rw    station address 00:e0:4c:68:00:01
0x08    MAR0 (8 bytes)     rw    multicast filter
0x10    CounterAddrLow     rw    bit 3 CounterDump: DMA the 64-byte tally
                                 block to (High:Low & ~0x3f), then clear
0x14    CounterAddrHigh    rw
0x20    TxDescStartAddr    rw    64-bit, normal-priority Tx ring (256-aligned)
0x37    ChipCmd            rw    bit 4 CmdReset (self-clearing), bit 3 RxEnb,
                                 bit 2 TxEnb
0x38    TxPoll             wo    bit 6 NPQ: transmit, bit 0 FSWInt: SWInt
0x3c    IntrMask           rw    16 bits
0x3e    IntrStatus         w1c   16 bits; TxOK 0x04, SWInt 0x100, ...
0x40    TxConfig           rw    reset 0x2c800000 (the chip's XID bits)
0x44    RxConfig           rw
0x6c    PHYstatus          ro    0x13: link up, 1000 Mb/s, full duplex
0x70    ERIDR (window)     rw    data of the internal-register window
0x74    ERIAR (window)     rw    address: bits 16-30 type (1 = MSI-X table),
                                 bits 0-11 offset, bit 31 write / latched
======  =================  ====  ===========================================

The window (QEMU's RTL8168 quirk comment, spec §4.3): writing ERIAR with
bit 31 set writes ERIDR to the selected internal register and reads back
with bit 31 clear ("complete"); writing it with bit 31 clear latches the
register into ERIDR and reads back with bit 31 set.  Type 1 is the device's
own copy of its MSI-X table, which QEMU's quirk redirects to the emulated
table.

Transmit: with TxEnb set, NPQ walks the Tx ring from its current entry
while OWN (bit 31 of opts1) is set: DMA-read the 16-byte descriptor
(opts1, opts2, 64-bit buffer address) and ``opts1 & 0x3fff`` bytes of
buffer, record the frame, DMA-write opts1 with OWN clear, advance (EOR,
bit 30, wraps), then raise TxOK.  The interrupt output is asserted while
IntrStatus & IntrMask != 0.

The sparse-mmap capability lists the areas without side effects, so the
registers above that act on access (0x10-0x17, 0x30-0x3f) are trapped
(pread/pwrite): BAR2 areas [0x000, 0x010), [0x018, 0x030), [0x040, 0x1000);
BAR4 is one mmap-able area (vfio-pci cuts the MSI-X table page out of it).
With ``sparse-mmap=off`` BAR2 is one area; register writes that arrive
through the mapping then act like posted writes, processed before the
device's next access (or by the next main-loop iteration).

Not modelled: receive, the PHY, EEPROM, flow control, offloads, the
hardware's own MSI-X delivery (interrupts go out through vfio-host-sim's
IRQ routing instead).
"""

from __future__ import annotations

import struct

from qemu_py.hw.misc.registers import Reg

from .host_sim import (
    VFIO_PCI_CONFIG_REGION_INDEX,
    VFIO_PCI_INTX_IRQ_INDEX,
    VFIO_PCI_MSI_IRQ_INDEX,
    VFIO_PCI_MSIX_IRQ_INDEX,
    VFIO_REGION_INFO_FLAG_MMAP,
    VFIO_REGION_INFO_FLAG_READ,
    VFIO_REGION_INFO_FLAG_WRITE,
    Access,
    RegionSpec,
    SimModel,
    sim_model,
)

RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE
MMAP = RW | VFIO_REGION_INFO_FLAG_MMAP

MAX_ACCESS = 4                       # the hardware's widest register access
MAC = bytes((0x00, 0xe0, 0x4c, 0x68, 0x00, 0x01))

REGS = (
    Reg(0x00, "MAC0", width=6, reset=int.from_bytes(MAC, "little")),
    Reg(0x08, "MAR0", width=8),
    Reg(0x10, "CounterAddrLow", width=4),
    Reg(0x14, "CounterAddrHigh", width=4),
    Reg(0x20, "TxDescStartAddrLow", width=4),
    Reg(0x24, "TxDescStartAddrHigh", width=4),
    Reg(0x37, "ChipCmd", width=1),
    Reg(0x38, "TxPoll", width=1, access="wo"),
    Reg(0x3c, "IntrMask", width=2),
    Reg(0x3e, "IntrStatus", width=2, access="w1c"),
    Reg(0x40, "TxConfig", width=4, reset=0x2c800000),
    Reg(0x44, "RxConfig", width=4),
    Reg(0x6c, "PHYstatus", width=1, access="ro", reset=0x13),
    Reg(0x70, "ERIDR", width=4),
    Reg(0x74, "ERIAR", width=4),
)
REG = {r.name: r for r in REGS}

COUNTER_DUMP = 1 << 3
CMD_RESET, CMD_RX_ENB, CMD_TX_ENB = 0x10, 0x08, 0x04
TXPOLL_NPQ, TXPOLL_FSWINT = 0x40, 0x01
INT_TX_OK, INT_TX_ERR, INT_SW = 0x04, 0x08, 0x100
DESC_OWN, DESC_EOR = 1 << 31, 1 << 30
WINDOW_FLAG, WINDOW_TYPE_MSIX = 0x80000000, 0x1
TALLY_SIZE = 64
MSIX_VECTORS = 4

# registers acting on access: trapped (outside the sparse-mmap areas)
TRAPPED = ((0x10, 0x18), (0x30, 0x40))
BAR2_AREAS = ((0x000, 0x010), (0x018, 0x018), (0x040, 0xfc0))


def _config_space() -> tuple[bytearray, bytearray]:
    c = bytearray(256)
    w = bytearray(256)

    def put(off, n, val, wmask=0):
        c[off:off + n] = val.to_bytes(n, "little")
        w[off:off + n] = wmask.to_bytes(n, "little")

    put(0x00, 2, 0x10ec)
    put(0x02, 2, 0x8168)
    put(0x04, 2, 0, 0x0547)              # IO, MEM, MASTER, PARITY, SERR, INTX_DISABLE
    put(0x06, 2, 0x0010)                 # capability list
    put(0x08, 1, 0x0c)                   # revision
    put(0x09, 3, 0x020000)               # Ethernet controller
    put(0x0c, 1, 0, 0xff)
    put(0x0d, 1, 0, 0xff)
    put(0x10, 4, 0x00000001, 0xffffff00)  # BAR0: I/O, 256 bytes
    put(0x18, 4, 0x00000004, 0xfffff000)  # BAR2: 64-bit memory, 4 KiB
    put(0x1c, 4, 0, 0xffffffff)
    put(0x20, 4, 0x0000000c, 0xffffc000)  # BAR4: 64-bit prefetchable, 16 KiB
    put(0x24, 4, 0, 0xffffffff)
    put(0x2c, 2, 0x1458)                 # subsystem vendor (Gigabyte)
    put(0x2e, 2, 0xe000)
    put(0x34, 1, 0x40)
    put(0x3c, 1, 0xff, 0xff)             # interrupt line
    put(0x3d, 1, 0x01)                   # INTA
    # PM: version 3, D1/D2, PME from all states
    put(0x40, 2, 0x5001)
    put(0x42, 2, 0x7fc3)
    put(0x44, 2, 0x0008, 0x8103)
    # MSI: 64-bit, 1 vector
    put(0x50, 2, 0x7005)
    put(0x52, 2, 0x0080, 0x0001)
    put(0x54, 4, 0, 0xfffffffc)
    put(0x58, 4, 0, 0xffffffff)
    put(0x5c, 2, 0, 0xffff)
    # PCI Express v2, endpoint
    put(0x70, 2, 0xb010)
    put(0x72, 2, 0x0002)
    put(0x74, 4, 0x05cd8cc0)             # DevCap
    put(0x78, 2, 0x5010, 0x7cff)         # DevCtl
    put(0x7c, 4, 0x00473c11)             # LnkCap: x1, 2.5 GT/s
    put(0x80, 2, 0x0140, 0x0fff)         # LnkCtl
    put(0x82, 2, 0x1011)                 # LnkSta
    # MSI-X: 4 vectors, table BAR4+0, PBA BAR4+0x800
    put(0xb0, 2, 0x0011)
    put(0xb2, 2, MSIX_VECTORS - 1, 0xc000)
    put(0xb4, 4, 0x00000004)
    put(0xb8, 4, 0x00000804)
    return c, w


@sim_model("rtl8168")
class RTL8168(SimModel):
    """The simulated RTL8168 hardware (see the module docstring)."""

    REGIONS = {
        0: RegionSpec(0x100, RW),                                   # I/O BAR
        2: RegionSpec(0x1000, MMAP, sparse=BAR2_AREAS),
        4: RegionSpec(0x4000, MMAP),
        VFIO_PCI_CONFIG_REGION_INDEX: RegionSpec(0x100, RW),
    }
    IRQS = {VFIO_PCI_INTX_IRQ_INDEX: 1, VFIO_PCI_MSI_IRQ_INDEX: 1,
            VFIO_PCI_MSIX_IRQ_INDEX: MSIX_VECTORS}

    def __init__(self, sim) -> None:
        super().__init__(sim)
        self.tx_frames: list[bytes] = []
        self.tx_index = 0
        self.window: dict[tuple[int, int], int] = {}
        self.msix_table = bytearray(MSIX_VECTORS * 16)
        self.line = 0
        self.reset()

    # -- register file (lives in BAR2's memory, which the mapping shares) -------------------
    @property
    def regs(self):
        return self.mem[2]

    def get(self, name: str) -> int:
        r = REG[name]
        return int.from_bytes(self.regs[r.offset:r.offset + r.width], "little")

    def set(self, name: str, value: int) -> None:
        r = REG[name]
        self.regs[r.offset:r.offset + r.width] = (value & ((1 << (8 * r.width)) - 1)).to_bytes(
            r.width, "little")

    def reset(self) -> None:
        super().reset()
        self.config, self.config_wmask = _config_space()
        for r in REGS:
            self.set(r.name, r.reset)
        self.tx_index = 0
        self.window.clear()
        self.msix_table[:] = bytes(len(self.msix_table))
        self._update_irq()

    def is_violation(self, access: Access) -> bool:
        return access.region != VFIO_PCI_CONFIG_REGION_INDEX and access.size > MAX_ACCESS

    # -- accesses ---------------------------------------------------------------------------
    def _reg_index(self, index: int) -> bool:
        return index in (0, 2)

    def reg_read(self, index: int, offset: int, size: int) -> int:
        if index == 4 or not self._reg_index(index):
            return super().reg_read(index, offset, size)
        value = int.from_bytes(self.regs[offset:offset + size], "little")
        if offset < REG["TxPoll"].offset + 1 and offset + size > REG["TxPoll"].offset:
            shift = 8 * (REG["TxPoll"].offset - offset)
            value &= ~(0xff << shift)                       # write-only: reads 0
        return value

    def reg_write(self, index: int, offset: int, value: int, size: int) -> None:
        if index == 4 or not self._reg_index(index):
            super().reg_write(index, offset, value, size)
            return
        old = bytes(self.regs[offset:offset + size])
        self.regs[offset:offset + size] = value.to_bytes(size, "little")
        self._after_write(offset, size, value, old)

    def mmap_access(self, index: int, offset: int, size: int, op: str, value: int) -> None:
        # Only reachable with sparse-mmap=off for the registers that act on writes:
        # the store lands after this hook, so act as a posted write.
        if op == "write" and index == 2 and self._acts(offset, size):
            old = bytes(self.regs[offset:offset + size])
            self.sim.defer(lambda: self._after_write(offset, size, value, old))

    @staticmethod
    def _acts(offset: int, size: int) -> bool:
        end = offset + size
        return any(offset < hi and lo < end for lo, hi in TRAPPED) or (
            offset < 0x78 and 0x70 < end)

    def _touches(self, name: str, offset: int, size: int) -> bool:
        r = REG[name]
        return offset < r.offset + r.width and r.offset < offset + size

    def _written(self, name: str, offset: int, size: int, value: int) -> int:
        """The bytes of VALUE that fell on register NAME, as its value."""
        r = REG[name]
        out = 0
        for i in range(r.width):
            a = r.offset + i
            if offset <= a < offset + size:
                out |= ((value >> (8 * (a - offset))) & 0xff) << (8 * i)
        return out

    def _after_write(self, offset: int, size: int, value: int, old: bytes) -> None:
        """Side effects of a write that has already updated the register bytes."""
        def restore(name):
            r = REG[name]
            for i in range(r.width):
                a = r.offset + i
                if offset <= a < offset + size:
                    self.regs[a] = old[a - offset]

        if self._touches("PHYstatus", offset, size):
            restore("PHYstatus")
        if self._touches("IntrStatus", offset, size):
            w1c = self._written("IntrStatus", offset, size, value)
            restore("IntrStatus")
            self.set("IntrStatus", self.get("IntrStatus") & ~w1c)
        if self._touches("ChipCmd", offset, size) and self.get("ChipCmd") & CMD_RESET:
            self._soft_reset()
        if self._touches("TxPoll", offset, size):
            poll = self._written("TxPoll", offset, size, value)
            self.set("TxPoll", 0)
            if poll & TXPOLL_FSWINT:
                self.set("IntrStatus", self.get("IntrStatus") | INT_SW)
            if poll & TXPOLL_NPQ:
                self._transmit()
        if self._touches("CounterAddrLow", offset, size) and \
                self.get("CounterAddrLow") & COUNTER_DUMP:
            self._dump_tally()
        if self._touches("ERIAR", offset, size):
            self._window_access()
        self._update_irq()

    def _soft_reset(self) -> None:
        keep_mac = bytes(self.regs[0:6])
        for r in REGS:
            if r.name not in ("MAC0",):
                self.set(r.name, r.reset)
        self.regs[0:6] = keep_mac
        self.tx_index = 0

    # -- the internal-register window (ERIAR/ERIDR) -------------------------------------------
    def _window_access(self) -> None:
        addr = self.get("ERIAR")
        kind = (addr >> 16) & 0x7fff
        off = addr & 0xfff
        if addr & WINDOW_FLAG:
            data = self.get("ERIDR")
            if kind == WINDOW_TYPE_MSIX:
                if off + 4 <= len(self.msix_table):
                    self.msix_table[off:off + 4] = data.to_bytes(4, "little")
            else:
                self.window[(kind, off)] = data
            self.set("ERIAR", addr & ~WINDOW_FLAG)           # complete
        else:
            if kind == WINDOW_TYPE_MSIX:
                data = int.from_bytes(self.msix_table[off:off + 4], "little") \
                    if off + 4 <= len(self.msix_table) else 0
            else:
                data = self.window.get((kind, off), 0)
            self.set("ERIDR", data)
            self.set("ERIAR", addr | WINDOW_FLAG)            # latched

    # -- DMA engines ------------------------------------------------------------------------------
    def _dump_tally(self) -> None:
        base = (self.get("CounterAddrHigh") << 32) | (self.get("CounterAddrLow") & ~0x3f)
        tally = struct.pack("<QQQIHHIIQQIHH", len(self.tx_frames), 0, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 0, 0)
        self.sim.dma_write(base, tally.ljust(TALLY_SIZE, b"\0"))
        self.set("CounterAddrLow", self.get("CounterAddrLow") & ~COUNTER_DUMP)

    def _transmit(self) -> None:
        if not self.get("ChipCmd") & CMD_TX_ENB:
            return
        ring = (self.get("TxDescStartAddrHigh") << 32) | (self.get("TxDescStartAddrLow") & ~0xff)
        for _ in range(1024):                         # a ring longer than this is nonsense
            desc_addr = ring + 16 * self.tx_index
            desc = self.sim.dma_read(desc_addr, 16)
            if desc is None:
                self.set("IntrStatus", self.get("IntrStatus") | INT_TX_ERR)
                return
            opts1, _opts2, buf = struct.unpack("<IIQ", desc)
            if not opts1 & DESC_OWN:
                break
            frame = self.sim.dma_read(buf, opts1 & 0x3fff)
            if frame is None:
                self.set("IntrStatus", self.get("IntrStatus") | INT_TX_ERR)
                return
            self.tx_frames.append(frame)
            self.sim.dma_write(desc_addr, struct.pack("<I", opts1 & ~DESC_OWN))
            self.tx_index = 0 if opts1 & DESC_EOR else self.tx_index + 1
            self.set("IntrStatus", self.get("IntrStatus") | INT_TX_OK)

    # -- interrupt output -----------------------------------------------------------------------
    def _update_irq(self) -> None:
        level = 1 if self.get("IntrStatus") & self.get("IntrMask") else 0
        if level != self.line or level:
            self.line = level
            self.sim.hw_irq(level)
