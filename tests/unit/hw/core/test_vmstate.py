"""Device state declared once: save/load per device, refusal of bad records, and a
property test per device (random register program, snapshot, disturb, restore:
identical register reads)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qemu_py.hw.char.serial import ISASerial
from qemu_py.hw.core.vmstate import VMStateError, load_device, save_device
from tests.unit.hw.x86_qtest import build_machine


@pytest.fixture(scope="module")
def pc():
    emu = build_machine("-M", "pc", "-accel", "qtest", "-nodefaults", "-serial", "null")
    yield emu.vm.machine
    emu.loop.close()


def serial_of(m):
    return next(c for _, c in m.unattached.children() if isinstance(c, ISASerial))


def io(m):
    space = m.io_as

    def outb(port, v):
        space.write(port, bytes([v & 0xff]))

    def inb(port):
        return space.read(port, 1)[0][0]
    return outb, inb


# device -> (how to find it, ports a program writes, reads compared after restore)
DEVICES = {
    "pit": (lambda m: m.pit, [0x40, 0x41, 0x42, 0x43], [0x40, 0x41, 0x42]),
    "pic-master": (lambda m: m.pic.master, [0x20, 0x21], [0x20, 0x21]),
    "pic-slave": (lambda m: m.pic.slave, [0xa0, 0xa1], [0xa0, 0xa1]),
    "serial": (serial_of, [0x3f8 + i for i in range(8)], [0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd,
                                                          0x3fe, 0x3ff, 0x3f8]),
    "pci-host": (lambda m: m.i440fx_host, [0xcf8, 0xcf9, 0xcfa, 0xcfb], [0xcf8]),
    "fw_cfg": (lambda m: m.fw_cfg, [0x511], [0x511, 0x511]),
}

program = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 0xff)), max_size=24)


@pytest.mark.parametrize("name", sorted(DEVICES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=program, after=program)
def test_snapshot_restore_gives_identical_reads(pc, name, before, after):
    find, ports, reads = DEVICES[name]
    dev = find(pc)
    outb, inb = io(pc)
    pc.vm.clock.enable()
    try:
        for i, v in before:
            outb(ports[i % len(ports)], v)
        snap = save_device(dev)
        first = [inb(p) for p in reads]
        for i, v in after:
            outb(ports[i % len(ports)], v)
        load_device(dev, snap)
        assert [inb(p) for p in reads] == first
    finally:
        pc.vm.clock.disable()


def test_ioapic_snapshot_restore_gives_identical_reads(pc):
    ioapic = pc.ioapic
    ioapic.regs.write(0, 0x12, 4)
    ioapic.regs.write(0x10, 0xa031, 4)
    snap = save_device(ioapic)
    ioapic.regs.write(0x10, 0x10040, 4)
    load_device(ioapic, snap)
    ioapic.regs.write(0, 0x12, 4)
    assert ioapic.regs.read(0x10, 4) == 0xa031


def test_wrong_version_is_refused_and_device_unchanged(pc):
    pit = pc.pit
    snap = save_device(pit)
    snap["version"] = 9
    before = save_device(pit)
    with pytest.raises(VMStateError, match="^i8254: snapshot version 9, this build has version 1$"):
        load_device(pit, snap)
    assert save_device(pit) == before


def test_record_of_another_device_is_refused(pc):
    with pytest.raises(VMStateError,
                       match="^snapshot record 'i8254' does not match device state 'i8259'$"):
        load_device(pc.pic.master, save_device(pc.pit))


def test_wrong_field_type_is_refused(pc):
    snap = save_device(pc.pic.master)
    snap["fields"]["imr"] = "ff"
    with pytest.raises(VMStateError, match="^i8259: field imr is a str, not a int$"):
        load_device(pc.pic.master, snap)


def test_failed_post_load_check_leaves_device_as_it_was(pc):
    pit = pc.pit
    before = save_device(pit)
    snap = save_device(pit)
    snap["fields"]["channels"][1]["fields"]["mode"] = 7
    with pytest.raises(VMStateError, match="^i8254: channel 1 mode 7 / access .* invalid$"):
        load_device(pit, snap)
    assert save_device(pit) == before
