"""i8259 pair on ``pc``: initialisation, edge/level, EOI kinds, poll, special mask."""

from qemu_py.qom import IRQ

MASTER = "/machine/unattached/device[4]"
SLAVE = "/machine/unattached/device[5]"


def init_pics(s):
    for port, icw in ((0x20, (0x11, 0x08, 0x04, 0x01)), (0xa0, (0x11, 0x70, 0x02, 0x01))):
        s.outb(port, icw[0])
        for v in icw[1:]:
            s.outb(port + 1, v)
    s.outb(0x21, 0x00)
    s.outb(0xa1, 0x00)


def test_int_output_poll_and_eoi(qtest):
    s = qtest()
    init_pics(s)
    assert s.cmd(f"irq_intercept_out {MASTER}") == "OK"
    assert s.lines(f"set_irq_in {MASTER} unnamed-gpio-in 3 1") == ["IRQ raise 0", "OK"]
    s.outb(0x20, 0x0a)                                 # read IRR
    assert s.inb(0x20) == 0x08
    s.outb(0x20, 0x0c)                                 # poll
    assert s.lines("inb 0x20") == ["IRQ lower 0", "OK 0x0083"]
    s.outb(0x20, 0x0b)                                 # read ISR
    assert s.inb(0x20) == 0x08
    s.outb(0x20, 0x20)                                 # non-specific EOI
    assert s.inb(0x20) == 0x00


def test_cascade_priority_and_specific_eoi(qtest):
    s = qtest()
    init_pics(s)
    s.cmd(f"irq_intercept_out {MASTER}")
    assert s.lines(f"set_irq_in {SLAVE} unnamed-gpio-in 0 1") == ["IRQ raise 0", "OK"]  # IRQ8
    s.cmd(f"set_irq_in {MASTER} unnamed-gpio-in 5 1")
    s.outb(0x20, 0x0c)
    assert s.lines("inb 0x20") == ["IRQ lower 0", "OK 0x0082"]  # IR2 (cascade) beats IR5
    s.outb(0xa0, 0x0c)
    assert s.inb(0xa0) == 0x80                          # the slave's IR0
    s.outb(0x20, 0x62)                                   # specific EOI IR2
    s.outb(0x20, 0x0c)
    assert s.inb(0x20) == 0x85


def test_mask_and_elcr_level_mode(qtest):
    s = qtest()
    init_pics(s)
    s.cmd(f"irq_intercept_out {MASTER}")
    s.outb(0x21, 0x10)                                   # mask IR4
    assert s.lines(f"set_irq_in {MASTER} unnamed-gpio-in 4 1") == ["OK"]
    assert s.lines("outb 0x21 0x00") == ["IRQ raise 0", "OK"]
    assert s.lines(f"set_irq_in {MASTER} unnamed-gpio-in 4 0") == ["OK"]  # edge: stays latched
    s.outb(0x4d0, 0x10)                                  # IR4 level triggered
    assert s.inb(0x4d0) == 0x10
    s.outb(0x4d0, 0x07)                                  # IR0-2 cannot be level: reserved
    assert s.inb(0x4d0) == 0x00


def test_isa_irq_reaches_pic_and_ioapic(qtest):
    s = qtest()
    init_pics(s)
    s.cmd("irq_intercept_in ioapic")
    assert s.lines("set_irq_in ioapic unnamed-gpio-in 9 1") == ["IRQ raise 9", "OK"]
    assert s.clock_step() == ["IRQ raise 0", "OK 27462700"]     # PIT: GSI 0
    s.outb(0x20, 0x0a)
    assert s.inb(0x20) & 0x01 == 0x01                          # ... also in the PIC's IRR


# -- device-level checks, in process ----------------------------------------------------------

def pics(machine):
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults")
    master, slave = m.pic.master, m.pic.slave
    out = []
    master.int_out.connect(IRQ(lambda n, lvl: out.append(lvl)))
    for dev, icw in ((master, (0x11, 0x08, 0x04, 0x01)), (slave, (0x11, 0x70, 0x02, 0x01))):
        dev._ioport_write(0, icw[0], 1)
        for v in icw[1:]:
            dev._ioport_write(1, v, 1)
        dev._ioport_write(1, 0, 1)
    return m, master, slave, out


def test_auto_eoi_and_rotation(machine):
    m, master, slave, out = pics(machine)
    master._ioport_write(0, 0x11, 1)
    for v in (0x08, 0x04, 0x03):                        # ICW4: AEOI, 8086
        master._ioport_write(1, v, 1)
    master.inputs[1].set(1)
    assert m.pic.read_irq() == 0x09
    assert master.isr == 0                              # auto EOI
    master._ioport_write(0, 0x80, 1)                    # rotate on auto EOI
    master.inputs[3].set(1)
    m.pic.read_irq()
    assert master.priority_add == 4


def test_special_mask_mode_allows_lower_priority(machine):
    m, master, slave, out = pics(machine)
    master.inputs[1].set(1)
    assert m.pic.read_irq() == 0x09                     # IR1 in service
    master.inputs[5].set(1)
    assert master.get_irq() == -1                       # blocked by IR1 in service
    master._ioport_write(1, 0x02, 1)                    # mask IR1
    master._ioport_write(0, 0x68, 1)                    # OCW3: set special mask
    assert master.get_irq() == 5


def test_level_input_stays_requested(machine):
    m, master, slave, out = pics(machine)
    master._elcr_write(0, 0x08, 1)
    master.inputs[3].set(1)
    assert m.pic.read_irq() == 0x0b
    master._ioport_write(0, 0x20, 1)
    assert master.get_irq() == 3                        # still asserted
    master.inputs[3].set(0)
    assert master.get_irq() == -1


def test_spurious_and_nonsense_never_raise(machine):
    m, master, slave, out = pics(machine)
    assert m.pic.read_irq() == 0x0f                     # spurious IRQ7
    for v in range(256):
        master._ioport_write(0, v, 1)
        master._ioport_write(1, v, 1)
        master._ioport_read(0, 1)
        master._ioport_read(1, 1)
