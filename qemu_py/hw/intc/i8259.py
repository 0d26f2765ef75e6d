"""Intel 8259A programmable interrupt controller (``isa-i8259``), master/slave pair.

Models (after the Intel 8259A datasheet, 231468): ICW1-ICW4 initialisation
sequence, OCW1 mask, OCW2 non-specific / specific / rotating EOI and set
priority, OCW3 IRR/ISR read select, poll command and special mask mode, auto
EOI and rotate-on-auto-EOI, special fully nested mode (master), the PIIX
edge/level control registers (ELCR at 0x4d0/0x4d1, which a PC uses instead of
ICW1.LTIM), and cascading through master input 2. Edge inputs latch on a
rising edge; level inputs follow the line.

Not modelled: 8080/8085 call-address mode (ICW4.uPM = 0 is accepted and
logged as unimplemented), buffered mode and ICW1.LTIM (the ELCR decides the
trigger mode; LTIM is logged), the 8259's own IRQ7 spurious-interrupt timing.

Gpio: 8 unnamed inputs (IR0-7), 1 unnamed output (INT). The pair
(:func:`i8259_init`) returns the 16 ISA inputs.
"""

from __future__ import annotations

from qemu_py.hw.core.vmstate import VMState
from qemu_py.hw.isa.isa_bus import ISADevice
from qemu_py.hw.misc.registers import Field, Reg, RegisterBlock
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import DeviceProp, register_type
from qemu_py.system.log import guest_error, unimp

REGS = (
    Reg(0, "ICW1/OCW2/OCW3", read="_command_read", write="_command_write",
        desc="command port; reads IRR, ISR or poll word",
        fields=(Field("IC4", 0), Field("SNGL", 1), Field("LTIM", 3), Field("ICW1", 4))),
    Reg(1, "ICW2-4/OCW1(IMR)", read="_data_read", write="_data_write",
        desc="data port; IMR after initialisation"),
)
ELCR_REGS = (Reg(0, "ELCR", read="_elcr_read", write="_elcr_write",
                 desc="edge (0) / level (1) per input; PIIX extension"),)


@register_type("isa-i8259", "isa-device", desc="ISA i8259 PIC", user_creatable=False)
class I8259(ISADevice):
    PROPS = [
        DeviceProp("iobase", "uint32", 0x20),
        DeviceProp("elcr_addr", "uint32", 0x4d0),
        DeviceProp("elcr_mask", "uint8", 0xff),
        DeviceProp("master", "bool", False),
    ]
    STATE = ("last_irr", "irr", "imr", "isr", "priority_add", "irq_base", "read_reg_select",
             "poll", "special_mask", "init_state", "auto_eoi", "rotate_on_auto_eoi",
             "special_fully_nested_mode", "init4", "single_mode", "ltim", "elcr")
    VMSTATE = VMState("i8259", 1, STATE, post_load="post_load")

    def post_load(self) -> str | None:
        if not 0 <= self.init_state <= 3:
            return f"init_state {self.init_state} invalid"
        for name in ("irr", "imr", "isr", "elcr", "last_irr"):
            if not 0 <= getattr(self, name) <= 0xff:
                return f"{name} 0x{getattr(self, name):x} is not 8 bits"
        return None

    def __init__(self):
        super().__init__()
        for name in self.STATE:
            setattr(self, name, 0)
        self.inputs = self.init_gpio_in(self._set_irq, 8)
        self.int_out = self.init_gpio_out(1)[0]

    def realize(self):
        name = "pic"
        self.regs = RegisterBlock(self, name, REGS)
        self.elcr_regs = RegisterBlock(self, "elcr", ELCR_REGS)
        self.iomem = MemoryRegion.io(name, 2, MemoryRegionOps(
            read=self.regs.read, write=self.regs.write, endianness=Endian.LITTLE,
            impl_min=1, impl_max=1), owner=self)
        self.elcr_io = MemoryRegion.io("elcr", 1, MemoryRegionOps(
            read=self.elcr_regs.read, write=self.elcr_regs.write, endianness=Endian.LITTLE,
            impl_min=1, impl_max=1), owner=self)
        self.isa_register_ioport(self.iomem, self.prop("iobase"))
        if self.prop("elcr_addr") != 0xffffffff:
            self.isa_register_ioport(self.elcr_io, self.prop("elcr_addr"))

    @property
    def is_master(self) -> bool:
        return bool(self.prop("master"))

    # -- reset ---------------------------------------------------------------------------
    def _init_reset(self):
        """ICW1 (and device reset): everything but the ELCR back to defaults."""
        self.last_irr = 0
        self.irr &= self.elcr
        for name in ("imr", "isr", "priority_add", "irq_base", "read_reg_select", "poll",
                     "special_mask", "init_state", "auto_eoi", "rotate_on_auto_eoi",
                     "special_fully_nested_mode", "init4", "single_mode", "ltim"):
            setattr(self, name, 0)
        self.update_irq()

    def reset(self):
        self.elcr = 0
        self.irr = 0
        self._init_reset()

    # -- priority logic --------------------------------------------------------------------
    def _get_priority(self, mask: int) -> int:
        if mask == 0:
            return 8
        priority = 0
        while not mask & (1 << ((priority + self.priority_add) & 7)):
            priority += 1
        return priority

    def get_irq(self) -> int:
        """The input to be serviced next, or -1."""
        mask = self.irr & ~self.imr
        priority = self._get_priority(mask)
        if priority == 8:
            return -1
        mask = self.isr
        if self.special_mask:
            mask &= ~self.imr
        if self.special_fully_nested_mode and self.is_master:
            mask &= ~(1 << 2)
        cur_priority = self._get_priority(mask)
        if priority < cur_priority:
            return (priority + self.priority_add) & 7
        return -1

    def update_irq(self):
        self.int_out.set(1 if self.get_irq() >= 0 else 0)

    def _set_irq(self, irq: int, level: int):
        mask = 1 << irq
        if self.elcr & mask:            # level triggered
            if level:
                self.irr |= mask
                self.last_irr |= mask
            else:
                self.irr &= ~mask
                self.last_irr &= ~mask
        else:                           # edge triggered
            if level:
                if not self.last_irr & mask:
                    self.irr |= mask
                self.last_irr |= mask
            else:
                self.last_irr &= ~mask
        self.update_irq()

    def intack(self, irq: int):
        if self.auto_eoi:
            if self.rotate_on_auto_eoi:
                self.priority_add = (irq + 1) & 7
        else:
            self.isr |= 1 << irq
        if not self.elcr & (1 << irq):  # a level input stays requested
            self.irr &= ~(1 << irq)
        self.update_irq()

    # -- port I/O ------------------------------------------------------------------------------
    def _ioport_write(self, addr: int, val: int, size: int):
        self.regs.write(addr, val, size)

    def _ioport_read(self, addr: int, size: int) -> int:
        return self.regs.read(addr, size)

    def _command_write(self, sub: int, val: int, size: int):
        val &= 0xff
        if val & 0x10:                              # ICW1
            self._init_reset()
            self.init_state = 1
            self.init4 = val & 1
            self.single_mode = (val >> 1) & 1
            self.ltim = (val >> 3) & 1
            if val & 0x08:
                unimp("i8259: level sensitive irq (ICW1.LTIM) not supported; use the ELCR")
            if val & 0x04:
                unimp("i8259: ICW1.ADI call address interval not modelled")
        elif val & 0x08:                            # OCW3
            if val & 0x04:
                self.poll = 1
            if val & 0x02:
                self.read_reg_select = val & 1
            if val & 0x40:
                self.special_mask = (val >> 5) & 1
        else:                                       # OCW2
            cmd = val >> 5
            if cmd in (0, 4):
                self.rotate_on_auto_eoi = cmd >> 2
            elif cmd in (1, 5):                     # (rotating) non-specific EOI
                priority = self._get_priority(self.isr)
                if priority != 8:
                    irq = (priority + self.priority_add) & 7
                    self.isr &= ~(1 << irq)
                    if cmd == 5:
                        self.priority_add = (irq + 1) & 7
                    self.update_irq()
                else:
                    guest_error(f"i8259 {self._which()}: EOI with no interrupt in service")
            elif cmd == 3:                          # specific EOI
                irq = val & 7
                if not self.isr & (1 << irq):
                    guest_error(f"i8259 {self._which()}: specific EOI for IR{irq} "
                                "which is not in service")
                self.isr &= ~(1 << irq)
                self.update_irq()
            elif cmd == 6:                          # set priority
                self.priority_add = (val + 1) & 7
                self.update_irq()
            elif cmd == 7:                          # rotate on specific EOI
                irq = val & 7
                self.isr &= ~(1 << irq)
                self.priority_add = (irq + 1) & 7
                self.update_irq()
            else:                                   # cmd 2: no operation
                pass

    def _data_write(self, sub: int, val: int, size: int):
        val &= 0xff
        state = self.init_state
        if state == 0:                              # OCW1: mask
            self.imr = val
            self.update_irq()
        elif state == 1:                            # ICW2
            self.irq_base = val & 0xf8
            self.init_state = (3 if self.init4 else 0) if self.single_mode else 2
        elif state == 2:                            # ICW3
            self.init_state = 3 if self.init4 else 0
        elif state == 3:                            # ICW4
            self.special_fully_nested_mode = (val >> 4) & 1
            self.auto_eoi = (val >> 1) & 1
            if not val & 1:
                unimp(f"i8259 {self._which()}: 8080/8085 mode (ICW4.uPM=0) not supported")
            if val & 0x08:
                unimp(f"i8259 {self._which()}: buffered mode not modelled")
            self.init_state = 0

    def _poll_read(self) -> int | None:
        if self.poll:
            ret = self.get_irq()
            if ret >= 0:
                self.intack(ret)
                ret |= 0x80
            else:
                ret = 0
            self.poll = 0
            return ret
        return None

    def _command_read(self, sub: int, size: int) -> int:
        ret = self._poll_read()
        if ret is not None:
            return ret
        return self.isr if self.read_reg_select else self.irr

    def _data_read(self, sub: int, size: int) -> int:
        ret = self._poll_read()
        return self.imr if ret is None else ret

    def _elcr_read(self, sub: int, size: int) -> int:
        return self.elcr

    def _elcr_write(self, sub: int, val: int, size: int):
        mask = self.prop("elcr_mask")
        if val & ~mask & 0xff:
            guest_error(f"i8259 {self._which()}: ELCR bits 0x{val & ~mask & 0xff:02x} "
                        "are reserved and read as 0")
        self.elcr = val & mask

    def _which(self) -> str:
        return "master" if self.is_master else "slave"


class PICPair:
    """Master and slave 8259 cascaded through master IR2 (what a PC has)."""

    def __init__(self, master: I8259, slave: I8259):
        self.master, self.slave = master, slave

    def read_irq(self) -> int:
        """Interrupt acknowledge cycle: returns the vector (used by a CPU)."""
        m = self.master
        irq = m.get_irq()
        if irq < 0:
            return m.irq_base + 7              # spurious IRQ on the master
        if irq == 2:
            irq2 = self.slave.get_irq()
            if irq2 >= 0:
                self.slave.intack(irq2)
            else:
                irq2 = 7                       # spurious IRQ on the slave
            vector = self.slave.irq_base + irq2
        else:
            vector = m.irq_base + irq
        m.intack(irq)
        return vector


def i8259_init(machine, parent, cpu_irq=None, unattached_names=(None, None)):
    """Create the master/slave pair on the machine's ISA bus; return (pair, 16 inputs)."""
    master = I8259()
    master.machine = machine
    master.set_property("iobase", 0x20)
    master.set_property("elcr_addr", 0x4d0)
    master.set_property("elcr_mask", 0xf8)
    master.set_property("master", True)
    machine.attach_device(master, parent, unattached_names[0])
    if cpu_irq is not None:
        master.connect_gpio_out(0, cpu_irq)
    slave = I8259()
    slave.machine = machine
    slave.set_property("iobase", 0xa0)
    slave.set_property("elcr_addr", 0x4d1)
    slave.set_property("elcr_mask", 0xde)
    machine.attach_device(slave, parent, unattached_names[1])
    slave.connect_gpio_out(0, master.inputs[2])
    return PICPair(master, slave), list(master.inputs) + list(slave.inputs)
