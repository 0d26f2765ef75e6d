"""National Semiconductor 16550A UART (``isa-serial``), with 16-byte FIFOs.

Models (after the NS PC16550D datasheet): RBR/THR, IER, IIR/FCR, LCR (DLAB,
word length, stop bits, parity, break), MCR (DTR, RTS, OUT1, OUT2, LOOP), LSR
(DR, OE, BI, THRE, TEMT), MSR with delta bits, SCR, the divisor latch; FIFO
enable/reset, receiver trigger levels 1/4/8/14 and the character-timeout
interrupt (four character times on the virtual clock after the last received
byte); interrupt priorities RLS > RDA/CTI > THRE > MS; the THRE interrupt
cleared by an IIR read; internal loopback (MCR.LOOP: transmitted bytes come
back on the receiver, MSR reflects MCR). Transmission is immediate: a THR
write goes straight to the chardev backend and sets THRE/TEMT (the console
is output-only for the guest's purposes; no baud-rate pacing).

Input from the backend is never dropped: bytes the UART cannot take yet
(FIFO full, or RBR occupied in 16450 mode) wait in a backlog and enter as the
guest reads, which is what QEMU's chardev flow control achieves.

A break from the chardev (a mux's ``C-a b``) sets LSR.BI and LSR.DR with
RBR = 0, as QEMU's serial_event. Not modelled: parity/framing errors (the
backend has no line), modem-line input from a real serial port, the DMA mode bit
(FCR.3 is stored), the 16750 64-byte FIFO.
"""

from __future__ import annotations

from collections import deque

from qemu_py.hw.core.vmstate import Sub, VMState
from qemu_py.hw.isa.isa_bus import ISADevice
from qemu_py.hw.misc.registers import Field, Reg, RegisterBlock
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import DeviceProp, QOMError, register_type
from qemu_py.system.log import guest_error, unimp

UART_FIFO_LENGTH = 16
NS = 1_000_000_000

IER_RDI, IER_THRI, IER_RLSI, IER_MSI = 0x01, 0x02, 0x04, 0x08
IIR_NO_INT, IIR_ID, IIR_MSI, IIR_THRI, IIR_RDI, IIR_RLSI, IIR_CTI = 1, 0x06, 0, 2, 4, 6, 0x0c
IIR_FE = 0xc0
FCR_FE, FCR_RFR, FCR_XFR, FCR_DMS = 0x01, 0x02, 0x04, 0x08
LCR_DLAB, LCR_SBC = 0x80, 0x40
MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2, MCR_LOOP = 0x01, 0x02, 0x04, 0x08, 0x10
LSR_DR, LSR_OE, LSR_PE, LSR_FE, LSR_BI, LSR_THRE, LSR_TEMT = 1, 2, 4, 8, 0x10, 0x20, 0x40
LSR_INT_ANY = 0x1e
MSR_DCTS, MSR_DDSR, MSR_TERI, MSR_DDCD = 1, 2, 4, 8
MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD = 0x10, 0x20, 0x40, 0x80
MSR_ANY_DELTA = 0x0f

REGS = (
    Reg(0, "RBR/THR/DLL", read="_rbr_read", write="_thr_write", desc="receive buffer / transmit holding / divisor low"),
    Reg(1, "IER/DLM", read="_ier_read", write="_ier_write", fields=(
        Field("ERBFI", 0), Field("ETBEI", 1), Field("ELSI", 2), Field("EDSSI", 3))),
    Reg(2, "IIR/FCR", reset=IIR_NO_INT, read="_iir_read", write="_fcr_write", fields=(
        Field("NOINT", 0), Field("ID", 1, 3), Field("FIFOS", 6, 2))),
    Reg(3, "LCR", read="_lcr_read", write="_lcr_write", fields=(Field("WLS", 0, 2), Field("STB", 2), Field("PEN", 3), Field("EPS", 4),
                          Field("STICK", 5), Field("SBC", 6), Field("DLAB", 7))),
    Reg(4, "MCR", reset=MCR_OUT2, read="_mcr_read", write="_mcr_write", fields=(
        Field("DTR", 0), Field("RTS", 1), Field("OUT1", 2), Field("OUT2", 3), Field("LOOP", 4))),
    Reg(5, "LSR", reset=LSR_TEMT | LSR_THRE, access="ro", read="_lsr_read",
        write="_lsr_write", fields=(
        Field("DR", 0), Field("OE", 1), Field("PE", 2), Field("FE", 3), Field("BI", 4),
        Field("THRE", 5), Field("TEMT", 6), Field("RXFE", 7))),
    Reg(6, "MSR", reset=MSR_DCD | MSR_DSR | MSR_CTS, access="ro", read="_msr_read",
        write="_msr_write", fields=(
        Field("DCTS", 0), Field("DDSR", 1), Field("TERI", 2), Field("DDCD", 3), Field("CTS", 4),
        Field("DSR", 5), Field("RI", 6), Field("DCD", 7))),
    Reg(7, "SCR", read="_scr_read", write="_scr_write"),
)


class SerialState:
    """The UART itself, independent of the bus it sits on."""

    STATE = ("divider", "rbr", "thr", "tsr", "ier", "iir", "lcr", "mcr", "lsr", "msr", "scr",
             "fcr", "thr_ipending", "timeout_ipending", "recv_fifo_itl", "char_transmit_time")
    VMSTATE = VMState("serial", 1, STATE + ("recv_fifo", "xmit_fifo"),
                      timers=("fifo_timeout_timer",), post_load="post_load")

    def post_load(self) -> str | None:
        if len(self.recv_fifo) > UART_FIFO_LENGTH or len(self.xmit_fifo) > UART_FIFO_LENGTH:
            return "FIFO longer than 16 bytes"
        if not 0 <= self.divider <= 0xffff:
            return f"divider 0x{self.divider:x} out of range"
        return None

    def __init__(self, owner, irq, clock, baudbase: int = 115200):
        self.owner = owner
        self.irq = irq
        self.clock = clock
        self.baudbase = baudbase
        self.chr = None
        self.recv_fifo: deque[int] = deque()
        self.xmit_fifo: deque[int] = deque()
        self.backlog = bytearray()
        self.output = bytearray()           # everything transmitted (for tests/monitors)
        self.fifo_timeout_timer = clock.new_timer(self._fifo_timeout, "serial-fifo")
        self.regs = RegisterBlock(self, "serial", REGS, offset_mask=7)
        self.reset()

    # -- chardev front end -------------------------------------------------------------
    def attach(self, chardev):
        self.chr = chardev
        if chardev is not None:
            chardev.attach(self)

    def can_read(self) -> int:
        return max(0, 65536 - len(self.backlog))

    def receive(self, data: bytes):
        self.backlog += data
        self._pump()

    def event(self, kind):
        if kind == "break":               # a mux's C-a b (QEMU's CHR_EVENT_BREAK)
            self.rbr = 0
            self.lsr |= LSR_BI | LSR_DR
            self.update_irq()

    def _room(self) -> int:
        if self.mcr & MCR_LOOP:
            return 0
        if self.fcr & FCR_FE:
            return UART_FIFO_LENGTH - len(self.recv_fifo)
        return 0 if self.lsr & LSR_DR else 1

    def _pump(self):
        n = min(self._room(), len(self.backlog))
        if n > 0:
            chunk = bytes(self.backlog[:n])
            del self.backlog[:n]
            self._receive1(chunk)

    # -- state ------------------------------------------------------------------------------
    def reset(self):
        self.rbr = 0
        self.ier = 0
        self.iir = IIR_NO_INT
        self.lcr = 0
        self.lsr = LSR_TEMT | LSR_THRE
        self.msr = MSR_DCD | MSR_DSR | MSR_CTS
        self.mcr = MCR_OUT2
        self.scr = 0
        self.divider = 0x0c
        self.fcr = 0
        self.thr = 0
        self.tsr = 0
        self.thr_ipending = 0
        self.timeout_ipending = 0
        self.recv_fifo_itl = 1
        self.char_transmit_time = int((NS / 9600) * 10)
        self.recv_fifo.clear()
        self.xmit_fifo.clear()
        self.fifo_timeout_timer.delete()
        self.irq.lower()

    def update_parameters(self):
        frame_size = 1
        if self.lcr & 0x08:
            frame_size += 1
        stop_bits = 2 if self.lcr & 0x04 else 1
        data_bits = (self.lcr & 0x03) + 5
        frame_size += data_bits + stop_bits
        speed = 3500.0 if self.divider == 0 else self.baudbase / self.divider
        self.char_transmit_time = int((NS / speed) * frame_size)

    def update_irq(self):
        tmp = IIR_NO_INT
        if self.ier & IER_RLSI and self.lsr & LSR_INT_ANY:
            tmp = IIR_RLSI
        elif self.ier & IER_RDI and self.timeout_ipending:
            tmp = IIR_CTI
        elif (self.ier & IER_RDI and self.lsr & LSR_DR
              and (not self.fcr & FCR_FE or len(self.recv_fifo) >= self.recv_fifo_itl)):
            tmp = IIR_RDI
        elif self.ier & IER_THRI and self.thr_ipending:
            tmp = IIR_THRI
        elif self.ier & IER_MSI and self.msr & MSR_ANY_DELTA:
            tmp = IIR_MSI
        self.iir = tmp | (self.iir & 0xf0)
        self.irq.set(0 if tmp == IIR_NO_INT else 1)

    def _write_fcr(self, val: int):
        self.fcr = val
        if val & FCR_FE:
            self.iir |= IIR_FE
            self.recv_fifo_itl = {0x00: 1, 0x40: 4, 0x80: 8, 0xc0: 14}[val & 0xc0]
        else:
            self.iir &= ~IIR_FE & 0xff

    # -- data path ---------------------------------------------------------------------------
    def _receive1(self, data: bytes):
        if self.fcr & FCR_FE:
            for b in data:
                if len(self.recv_fifo) >= UART_FIFO_LENGTH:
                    self.lsr |= LSR_OE
                    continue
                self.recv_fifo.append(b)
            self.lsr |= LSR_DR
            self.timeout_ipending = 0
            self.fifo_timeout_timer.mod(self.clock.now() + self.char_transmit_time * 4)
        else:
            if self.lsr & LSR_DR:
                self.lsr |= LSR_OE
            self.rbr = data[-1]
            self.lsr |= LSR_DR
        self.update_irq()

    def _fifo_timeout(self):
        if self.recv_fifo:
            self.timeout_ipending = 1
            self.update_irq()

    def _xmit(self):
        while True:
            if self.fcr & FCR_FE:
                if not self.xmit_fifo:
                    break
                self.tsr = self.xmit_fifo.popleft()
                if not self.xmit_fifo:
                    self.lsr |= LSR_THRE
            else:
                self.tsr = self.thr
                self.lsr |= LSR_THRE
            if self.lsr & LSR_THRE and not self.thr_ipending:
                self.thr_ipending = 1
                self.update_irq()
            if self.mcr & MCR_LOOP:
                self._receive1(bytes([self.tsr]))
            else:
                self.output.append(self.tsr)
                del self.output[:-4096]
                if self.chr is not None:
                    self.chr.write(bytes([self.tsr]))
            if self.lsr & LSR_THRE:
                break
        self.lsr |= LSR_TEMT

    # -- registers ---------------------------------------------------------------------------
    def write(self, addr: int, val: int):
        self.regs.write(addr, val & 0xff, 1)

    def read(self, addr: int) -> int:
        return self.regs.read(addr, 1)

    def _thr_write(self, sub: int, val: int, size: int):
        if self.lcr & LCR_DLAB:
            self.divider = (self.divider & 0xff00) | val
            self.update_parameters()
            return
        self.thr = val
        if self.fcr & FCR_FE:
            if len(self.xmit_fifo) >= UART_FIFO_LENGTH:
                self.xmit_fifo.popleft()
            self.xmit_fifo.append(val)
        self.thr_ipending = 0
        self.lsr &= ~(LSR_THRE | LSR_TEMT) & 0xff
        self.update_irq()
        self._xmit()

    def _ier_write(self, sub: int, val: int, size: int):
        if self.lcr & LCR_DLAB:
            self.divider = (self.divider & 0x00ff) | (val << 8)
            self.update_parameters()
            return
        if val & 0xf0:
            guest_error(f"serial: IER bits 0x{val & 0xf0:02x} are reserved on a 16550A")
        changed = (self.ier ^ val) & 0x0f
        self.ier = val & 0x0f
        if changed & IER_THRI:
            self.thr_ipending = int(bool(self.ier & IER_THRI and self.lsr & LSR_THRE))
        if changed:
            self.update_irq()

    def _fcr_write(self, sub: int, val: int, size: int):
        if (val ^ self.fcr) & FCR_FE:
            val |= FCR_XFR | FCR_RFR
        if val & FCR_RFR:
            self.lsr &= ~(LSR_DR | LSR_BI) & 0xff
            self.fifo_timeout_timer.delete()
            self.timeout_ipending = 0
            self.recv_fifo.clear()
        if val & FCR_XFR:
            self.lsr |= LSR_THRE
            self.thr_ipending = 1
            self.xmit_fifo.clear()
        if val & FCR_DMS:
            unimp("serial: FCR DMA mode select has no effect (no DMA)")
        self._write_fcr(val & 0xc9)
        self.update_irq()
        self._pump()

    def _lcr_write(self, sub: int, val: int, size: int):
        self.lcr = val
        self.update_parameters()
        if val & LCR_SBC:
            unimp("serial: break condition is not sent to the backend")

    def _mcr_write(self, sub: int, val: int, size: int):
        old = self.mcr
        self.mcr = val & 0x1f
        if val & 0xe0:
            guest_error(f"serial: MCR bits 0x{val & 0xe0:02x} are reserved")
        if (old ^ self.mcr) & MCR_LOOP:
            self._pump()

    def _lsr_write(self, sub: int, val: int, size: int):
        guest_error(f"serial: write 0x{val:02x} to read-only LSR")

    def _msr_write(self, sub: int, val: int, size: int):
        guest_error(f"serial: write 0x{val:02x} to read-only MSR")

    def _scr_write(self, sub: int, val: int, size: int):
        self.scr = val

    def _rbr_read(self, sub: int, size: int) -> int:
        if self.lcr & LCR_DLAB:
            return self.divider & 0xff
        if self.fcr & FCR_FE:
            ret = self.recv_fifo.popleft() if self.recv_fifo else 0
            if not self.recv_fifo:
                self.lsr &= ~(LSR_DR | LSR_BI) & 0xff
            else:
                self.fifo_timeout_timer.mod(self.clock.now() + self.char_transmit_time * 4)
            self.timeout_ipending = 0
        else:
            ret = self.rbr
            self.lsr &= ~(LSR_DR | LSR_BI) & 0xff
        self.update_irq()
        if not self.mcr & MCR_LOOP:
            self._pump()
        return ret

    def _ier_read(self, sub: int, size: int) -> int:
        return (self.divider >> 8) & 0xff if self.lcr & LCR_DLAB else self.ier

    def _iir_read(self, sub: int, size: int) -> int:
        ret = self.iir
        if (ret & IIR_ID) == IIR_THRI:
            self.thr_ipending = 0
            self.update_irq()
        return ret

    def _lcr_read(self, sub: int, size: int) -> int:
        return self.lcr

    def _mcr_read(self, sub: int, size: int) -> int:
        return self.mcr

    def _lsr_read(self, sub: int, size: int) -> int:
        ret = self.lsr
        if self.lsr & (LSR_BI | LSR_OE):
            self.lsr &= ~(LSR_BI | LSR_OE) & 0xff
            self.update_irq()
        return ret

    def _msr_read(self, sub: int, size: int) -> int:
        if self.mcr & MCR_LOOP:
            ret = (self.mcr & 0x0c) << 4
            ret |= (self.mcr & 0x02) << 3
            ret |= (self.mcr & 0x01) << 5
            return ret
        ret = self.msr
        if self.msr & MSR_ANY_DELTA:
            self.msr &= 0xf0
            self.update_irq()
        return ret

    def _scr_read(self, sub: int, size: int) -> int:
        return self.scr


ISA_SERIAL_IO = (0x3f8, 0x2f8, 0x3e8, 0x2e8)
ISA_SERIAL_IRQ = (4, 3, 4, 3)


@register_type("isa-serial", "isa-device", desc="ISA 16550A UART")
class ISASerial(ISADevice):
    VMSTATE = VMState("isa-serial", 1, (Sub("serial", SerialState.VMSTATE),))
    CATEGORY = "Input devices"
    PROPS = [
        DeviceProp("index", "uint32", 0xffffffff),
        DeviceProp("iobase", "uint32", 0xffffffff),
        DeviceProp("irq", "uint32", 0xffffffff),
        DeviceProp("chardev", "chardev", None, "ID of a chardev to use as a backend"),
        DeviceProp("baudbase", "uint32", 115200),
    ]

    def __init__(self):
        super().__init__()
        self.irq_out = self.init_gpio_out(1)[0]
        self.serial: SerialState | None = None
        self.backend = None              # a chardev given by the board

    def realize(self):
        bus = self.bus()
        used = getattr(bus, "serial_indexes", set())
        index = self.prop("index")
        if index == 0xffffffff:
            index = 0
            while index in used:
                index += 1
        if index >= len(ISA_SERIAL_IO):
            raise QOMError(f"Max. supported number of ISA serial ports is {len(ISA_SERIAL_IO)}.")
        used.add(index)
        bus.serial_indexes = used
        self.index = index
        iobase = self.prop("iobase")
        if iobase == 0xffffffff:
            iobase = ISA_SERIAL_IO[index]
        irq = self.prop("irq")
        if irq == 0xffffffff:
            irq = ISA_SERIAL_IRQ[index]
        if irq >= 16:
            raise QOMError(f"isa-serial: irq {irq} out of range (max 15)")
        chardev = self.backend
        cid = self.prop("chardev")
        if cid is not None:
            chardev = (getattr(self, "chardevs", None) or {}).get(cid)
            if chardev is None:
                raise QOMError(f"Property 'isa-serial.chardev' can't find value '{cid}'")
        self.serial = SerialState(self, self.irq_out, self.clock, self.prop("baudbase"))
        self.serial.attach(chardev)
        self.irq_out.connect(self.isa_get_irq(irq))
        self.io = MemoryRegion.io("serial", 8, MemoryRegionOps(
            read=lambda off, size: self.serial.read(off),
            write=lambda off, val, size: self.serial.write(off, val),
            endianness=Endian.LITTLE, impl_min=1, impl_max=1, valid_unaligned=True),
            owner=self)
        self.isa_register_ioport(self.io, iobase)

    def reset(self):
        if self.serial is not None:
            self.serial.reset()
