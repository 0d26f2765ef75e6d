"""I/O APIC on ``pc``: registers, redirection, edge and level delivery, remote IRR."""

BASE = 0xfec00000


def ioapic_read(s, reg):
    s.writel(BASE, reg)
    return s.readl(BASE + 0x10)


def ioapic_write(s, reg, val):
    s.writel(BASE, reg)
    s.writel(BASE + 0x10, val)


def test_id_version_and_reset_table(qtest):
    s = qtest()
    assert ioapic_read(s, 0x01) == 0x00170020
    assert ioapic_read(s, 0x10) == 0x00010000            # masked
    ioapic_write(s, 0x00, 0x0a000000)
    assert ioapic_read(s, 0x00) == 0x0a000000
    ioapic_write(s, 0x12, 0x0000a030)                    # pin 1: vector 0x30, level
    assert ioapic_read(s, 0x12) == 0x0000a030
    ioapic_write(s, 0x13, 0x01000000)
    assert ioapic_read(s, 0x13) == 0x01000000


def test_partial_path_resolves_to_the_i440fx_child(machine):
    from qemu_py.qom import resolve_path
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults")
    obj, ambiguous = resolve_path(m.vm.qom_root, "ioapic")
    assert obj.canonical_path() == "/machine/i440fx/ioapic" and not ambiguous
    assert resolve_path(m.vm.qom_root, "/machine/ioapic")[0] is None


def delivered(ioapic):
    out = list(ioapic.deliveries)
    ioapic.deliveries.clear()
    return out


def test_edge_delivery_and_isa_irq0_on_pin2(machine):
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults")
    io = m.ioapic
    io.regs.write(0, 0x14, 4)
    io.regs.write(0x10, 0x31, 4)                         # pin 2: vector 0x31, edge
    io.regs.write(0, 0x15, 4)
    io.regs.write(0x10, 0x03000000, 4)                   # dest 3
    io.get_gpio_in(0).set(1)                             # ISA IRQ 0 -> pin 2
    assert delivered(io) == [(0xfee03000, 0x31)]
    io.get_gpio_in(0).set(1)
    assert delivered(io) == [(0xfee03000, 0x31)]         # edge: each assertion


def test_level_remote_irr_and_eoi(machine):
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults")
    io = m.ioapic
    io.regs.write(0, 0x20, 4)
    io.regs.write(0x10, 0x8040, 4)                       # pin 8: vector 0x40, level
    io.get_gpio_in(8).set(1)
    assert delivered(io) == [(0xfee00000, 0x8040)]
    io.regs.write(0, 0x20, 4)
    assert io.regs.read(0x10, 4) & (1 << 14)             # remote IRR
    io.regs.write(0x40, 0x40, 4)                         # EOI: still asserted -> again
    assert delivered(io) == [(0xfee00000, 0x8040)]
    io.get_gpio_in(8).set(0)
    io.eoi_broadcast(0x40)
    assert delivered(io) == []
    assert not io.ioredtbl[8] & (1 << 14)


def test_masked_edge_is_ignored_and_nonsense_logged(machine):
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults")
    io = m.ioapic
    io.get_gpio_in(5).set(1)
    assert delivered(io) == []
    for reg in (0x02, 0x01, 0x7f, 0xff):
        io.regs.write(0, reg, 4)
        io.regs.write(0x10, 0xffffffff, 4)
        io.regs.read(0x10, 4)
    io.regs.write(0x20, 1, 4)
    io.regs.read(0x30, 4)
