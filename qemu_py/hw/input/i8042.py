"""``i8042``: the PC keyboard controller, its command set and the reset line.

Models the controller side of an 8042 (IBM PC/AT Technical Reference, the
keyboard controller chapter; QEMU's ``hw/input/pckbd.c`` register layout):
port 0x60 data, port 0x64 status (read) and command (write). The status
register has OBF (bit 0), SYS (bit 2: set by the self-test, then the command
byte's SYS bit), CMD/DATA
(bit 3, whether the last write went to 0x64) and the keyboard-unlocked bit 4.
The output buffer holds one byte; with the command byte's KBD interrupt bit
set, a byte waiting in it raises ISA IRQ 1.

Commands: 0x20 read / 0x60 write the command byte, 0xA7/0xA8 disable /
enable the aux port, 0xAA self-test (0x55), 0xAB keyboard interface test
(0x00), 0xAD/0xAE disable / enable the keyboard, 0xC0 read the input port,
0xD0 read / 0xD1 write the output port (bit 0 clear resets the system),
0xF0-0xFF pulse output lines: an even value pulses the reset line (0xFE is
the usual "reset the PC"). A reset is a guest reset, so ``-no-reboot`` makes
it a shutdown.

Not modelled: the PS/2 keyboard and mouse themselves (bytes written to the
devices behind ports 0x60/0xD4 are logged as unimplemented and get no
answer, as when no device is plugged in), the A20 gate through the output
port (bit 1 is stored only), the controller's RAM beyond the command byte.
"""

from __future__ import annotations

from qemu_py.hw.isa.isa_bus import ISADevice
from qemu_py.hw.misc.registers import Field, Reg
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import register_type
from qemu_py.system.log import guest_error, unimp

DATA_PORT, STATUS_PORT = 0x60, 0x64
KBD_IRQ = 1

STAT_OBF, STAT_SYS, STAT_CMD, STAT_UNLOCKED = 0x01, 0x04, 0x08, 0x10
CCB_KBD_INT, CCB_AUX_INT, CCB_SYS = 0x01, 0x02, 0x04
CCB_KBD_DISABLE, CCB_AUX_DISABLE = 0x10, 0x20
OUTPORT_RESET_HIGH, OUTPORT_A20, OUTPORT_ONES = 0x01, 0x02, 0xCC
# power-on values (as QEMU's pckbd): both interrupts enabled, SYS clear until
# the self-test passes or the command byte sets it
CCB_RESET = CCB_KBD_INT | CCB_AUX_INT
STATUS_RESET = STAT_CMD | STAT_UNLOCKED
OUTPORT_RESET = OUTPORT_RESET_HIGH | OUTPORT_A20 | OUTPORT_ONES

CMD_READ_CCB, CMD_WRITE_CCB = 0x20, 0x60
CMD_AUX_DISABLE, CMD_AUX_ENABLE = 0xA7, 0xA8
CMD_SELF_TEST, CMD_KBD_TEST = 0xAA, 0xAB
CMD_KBD_DISABLE, CMD_KBD_ENABLE = 0xAD, 0xAE
CMD_READ_INPORT, CMD_READ_OUTPORT, CMD_WRITE_OUTPORT = 0xC0, 0xD0, 0xD1
CMD_WRITE_AUX = 0xD4
SELF_TEST_OK, INTERFACE_OK = 0x55, 0x00
INPORT_VALUE = 0x80                         # keyboard not inhibited

REGS = (
    Reg(DATA_PORT, "DATA", desc="output buffer (read), keyboard data / command argument (write)"),
    Reg(STATUS_PORT, "STATUS", reset=STATUS_RESET, fields=(
        Field("OBF", 0), Field("SYS", 2), Field("CMD", 3), Field("UNLOCKED", 4)),
        desc="status (read), controller command (write)"),
)


@register_type("i8042", "isa-device", desc="i8042 PC keyboard controller", user_creatable=False)
class I8042(ISADevice):
    def __init__(self):
        super().__init__()
        self.irq = None
        self._clear()

    def _clear(self):
        self.ccb = CCB_RESET
        self.outport = OUTPORT_RESET
        self.status = STATUS_RESET
        self.obuf = None
        self.pending = None           # the command whose argument the next 0x60 write is

    def realize(self):
        self.irq = self.isa_get_irq(KBD_IRQ)
        ops = dict(endianness=Endian.LITTLE, valid_min=1, valid_max=1)
        self.data_io = MemoryRegion.io("i8042-data", 1, MemoryRegionOps(
            read=lambda off, size: self._read_data(), write=lambda off, v, s: self._write_data(v),
            **ops), owner=self)
        self.cmd_io = MemoryRegion.io("i8042-cmd", 1, MemoryRegionOps(
            read=lambda off, size: self._read_status(),
            write=lambda off, v, s: self._write_command(v), **ops), owner=self)
        self.isa_register_ioport(self.data_io, DATA_PORT)
        self.isa_register_ioport(self.cmd_io, STATUS_PORT)

    def reset(self):
        self._clear()
        self._update_irq()

    # -- output buffer -------------------------------------------------------------------
    def _queue(self, byte: int):
        self.obuf = byte & 0xFF
        self._update_irq()

    def _update_irq(self):
        if self.irq is not None:
            self.irq.set(1 if self.obuf is not None and self.ccb & CCB_KBD_INT else 0)

    def _read_status(self) -> int:
        return self.status | (STAT_OBF if self.obuf is not None else 0)

    def _read_data(self) -> int:
        if self.obuf is None:
            return 0
        val, self.obuf = self.obuf, None
        self._update_irq()
        return val

    # -- writes ----------------------------------------------------------------------------
    def _write_command(self, val: int):
        self.status |= STAT_CMD
        self.pending = None
        if val == CMD_READ_CCB:
            self._queue(self.ccb)
        elif val in (CMD_WRITE_CCB, CMD_WRITE_OUTPORT, CMD_WRITE_AUX):
            self.pending = val
        elif val == CMD_AUX_DISABLE:
            self.ccb |= CCB_AUX_DISABLE
        elif val == CMD_AUX_ENABLE:
            self.ccb &= ~CCB_AUX_DISABLE
        elif val == CMD_SELF_TEST:
            self.status |= STAT_SYS
            self._queue(SELF_TEST_OK)
        elif val == CMD_KBD_TEST:
            self._queue(INTERFACE_OK)
        elif val == CMD_KBD_DISABLE:
            self.ccb |= CCB_KBD_DISABLE
        elif val == CMD_KBD_ENABLE:
            self.ccb &= ~CCB_KBD_DISABLE
        elif val == CMD_READ_INPORT:
            self._queue(INPORT_VALUE)
        elif val == CMD_READ_OUTPORT:
            self._queue(self.outport)
        elif val >= 0xF0:
            if not val & OUTPORT_RESET_HIGH:
                self._request_reset()
        else:
            unimp(f"i8042: controller command 0x{val:02x} is not modelled")

    def _write_data(self, val: int):
        self.status &= ~STAT_CMD
        cmd, self.pending = self.pending, None
        if cmd == CMD_WRITE_CCB:
            self.ccb = val
            self.status = (self.status & ~STAT_SYS) | (val & CCB_SYS)
            self._update_irq()
        elif cmd == CMD_WRITE_OUTPORT:
            self.outport = val
            if not val & OUTPORT_RESET_HIGH:
                self._request_reset()
        elif cmd == CMD_WRITE_AUX:
            unimp(f"i8042: byte 0x{val:02x} for the PS/2 mouse: no mouse is modelled")
        elif cmd is None:
            unimp(f"i8042: byte 0x{val:02x} for the PS/2 keyboard: no keyboard is modelled")
        else:
            guest_error(f"i8042: data 0x{val:02x} after command 0x{cmd:02x}")

    def _request_reset(self):
        vm = self.vm
        vm.loop.call_soon(lambda: vm.system_reset("guest-reset", guest=True))
