"""Arm PrimeCell UART PL011 (``pl011``), as QEMU 7.2's ``hw/char/pl011.c``.

Models the ARM DDI 0183 register set that QEMU implements: data register
(transmit goes straight to the chardev, receive through a 16-entry FIFO or a
1-entry holding register when LCR_H.FEN=0), flag register, baud divisors and
line control stored, interrupt mask/raw/masked status and clear, and the
PrimeCell ID bytes. Interrupt 0 is the combined UARTINTR line; outputs 1-5
(RX, TX, RT, MS, E) follow QEMU's irqmask table. Not modelled, as in QEMU:
baud-rate timing, modem lines, DMA (DMACR writes are logged as unimplemented),
break and error injection.
"""

from __future__ import annotations

from qemu_py.hw.misc.registers import Field, Reg
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import Device, DeviceProp, register_type
from qemu_py.system.log import guest_error, unimp

INT_RX, INT_TX, INT_RT = 0x10, 0x20, 0x40
INT_E = 0x780
INT_MS = 0x00F
FR_RXFE, FR_RXFF, FR_TXFE = 0x10, 0x40, 0x80
LCR_FEN = 0x10
FIFO_DEPTH = 16
IRQ_MASKS = (INT_E | INT_MS | INT_RT | INT_TX | INT_RX, INT_RX, INT_TX, INT_RT, INT_MS, INT_E)
ID_ARM = (0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1)

REGS = (
    Reg(0x000, "UARTDR", width=4, fields=(Field("DATA", 0, 8), Field("FE", 8), Field("PE", 9),
                                          Field("BE", 10), Field("OE", 11))),
    Reg(0x004, "UARTRSR", width=4),
    Reg(0x018, "UARTFR", reset=0x90, access="ro", width=4, fields=(
        Field("CTS", 0), Field("DSR", 1), Field("DCD", 2), Field("BUSY", 3), Field("RXFE", 4),
        Field("TXFF", 5), Field("RXFF", 6), Field("TXFE", 7), Field("RI", 8))),
    Reg(0x020, "UARTILPR", width=4),
    Reg(0x024, "UARTIBRD", width=4),
    Reg(0x028, "UARTFBRD", width=4),
    Reg(0x02C, "UARTLCR_H", width=4, fields=(Field("BRK", 0), Field("PEN", 1), Field("EPS", 2),
                                             Field("STP2", 3), Field("FEN", 4),
                                             Field("WLEN", 5, 2), Field("SPS", 7))),
    Reg(0x030, "UARTCR", reset=0x300, width=4, fields=(Field("UARTEN", 0), Field("LBE", 7),
                                                       Field("TXE", 8), Field("RXE", 9))),
    Reg(0x034, "UARTIFLS", reset=0x12, width=4),
    Reg(0x038, "UARTIMSC", width=4),
    Reg(0x03C, "UARTRIS", access="ro", width=4),
    Reg(0x040, "UARTMIS", access="ro", width=4),
    Reg(0x044, "UARTICR", access="wo", width=4),
    Reg(0x048, "UARTDMACR", width=4),
) + tuple(Reg(0xFE0 + 4 * i, f"ID{i}", reset=v, access="ro", width=4) for i, v in enumerate(ID_ARM))
BY_OFFSET = {r.offset: r for r in REGS}


@register_type("pl011", "device", desc="Arm PrimeCell PL011 UART", user_creatable=False)
class PL011(Device):
    PROPS = [DeviceProp("chardev", "chardev", None, "ID of a chardev to use as a backend")]

    def __init__(self):
        super().__init__()
        self.irqs = [self.init_irq() for _ in range(6)]
        self.backend = None
        ops = MemoryRegionOps(read=self._read, write=self._write, endianness=Endian.LITTLE)
        self.mmio = MemoryRegion.io("pl011", 0x1000, ops, owner=self)
        self.reset()

    def realize(self):
        chardev = self.backend
        cid = self.prop("chardev")
        if cid is not None:
            chardev = (getattr(self, "chardevs", None) or {}).get(cid, chardev)
        self.chr = chardev
        if chardev is not None:
            chardev.attach(self)

    def reset(self):
        self.values = {r.name: r.reset for r in REGS}
        self.flags = 0x90
        self.int_level = 0
        self.int_enabled = 0
        self.fifo: list[int] = []
        self.read_trigger = 1
        self.backlog = bytearray()

    # chardev front end: input waits in a backlog until the FIFO has room
    def can_read(self) -> int:
        return max(0, 65536 - len(self.backlog))

    def receive(self, data: bytes):
        self.backlog += data
        self._pump()

    def _pump(self):
        depth = FIFO_DEPTH if self.values["UARTLCR_H"] & LCR_FEN else 1
        while self.backlog and len(self.fifo) < depth:
            self._put_fifo(self.backlog.pop(0))

    def event(self, kind):
        pass

    def _put_fifo(self, value: int):
        self.fifo.append(value)
        self.flags &= ~FR_RXFE
        if not self.values["UARTLCR_H"] & LCR_FEN or len(self.fifo) == FIFO_DEPTH:
            self.flags |= FR_RXFF
        if len(self.fifo) == self.read_trigger:
            self.int_level |= INT_RX
            self._update()

    def _update(self):
        flags = self.int_level & self.int_enabled
        for line, mask in zip(self.irqs, IRQ_MASKS):
            line.set(1 if flags & mask else 0)

    def _set_read_trigger(self):
        self.read_trigger = 1              # QEMU ignores IFLS and always triggers at 1

    def _read(self, offset: int, size: int) -> int:
        reg = BY_OFFSET.get(offset & ~3) if not offset & 3 else None
        if reg is None:
            guest_error(f"pl011_read: Bad offset 0x{offset:x}")
            return 0
        name = reg.name
        if name == "UARTDR":
            self.flags &= ~FR_RXFF
            c = self.fifo.pop(0) if self.fifo else 0
            if not self.fifo:
                self.flags |= FR_RXFE
            if len(self.fifo) == self.read_trigger - 1:
                self.int_level &= ~INT_RX
            self.values["UARTRSR"] = c >> 8
            self._update()
            self._pump()
            return c
        if name == "UARTFR":
            return self.flags
        if name == "UARTIMSC":
            return self.int_enabled
        if name == "UARTRIS":
            return self.int_level
        if name == "UARTMIS":
            return self.int_level & self.int_enabled
        if name == "UARTICR":
            guest_error("pl011_read: read of write-only UARTICR")
            return 0
        return self.values[name]

    def _write(self, offset: int, value: int, size: int):
        reg = BY_OFFSET.get(offset & ~3) if not offset & 3 else None
        if reg is None or reg.access == "ro":
            guest_error(f"pl011_write: Bad offset 0x{offset:x}")
            return
        name = reg.name
        if name == "UARTDR":
            if self.chr is not None:
                self.chr.write(bytes([value & 0xFF]))
            self.int_level |= INT_TX
            self._update()
        elif name == "UARTRSR":
            self.values["UARTRSR"] = 0
        elif name == "UARTLCR_H":
            if (value ^ self.values["UARTLCR_H"]) & LCR_FEN:
                self.fifo.clear()
                self.flags = (self.flags & ~FR_RXFF) | FR_RXFE
            self.values["UARTLCR_H"] = value & 0xFF
            self._set_read_trigger()
        elif name == "UARTIFLS":
            self.values["UARTIFLS"] = value & 0x3F
            self._set_read_trigger()
        elif name == "UARTIMSC":
            self.int_enabled = value & 0x7FF
            self._update()
        elif name == "UARTICR":
            self.int_level &= ~value
            self._update()
        elif name == "UARTDMACR":
            self.values["UARTDMACR"] = value
            if value & 3:
                unimp("pl011: DMA not implemented")
        else:
            self.values[name] = value & 0xFFFF_FFFF
