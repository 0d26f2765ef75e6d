"""The ``pc`` and ``microvm`` machines: RAM layout, ROM, QOM paths, port space."""

import pytest

from qemu_py.qom import resolve_path

GiB = 1 << 30


def test_pc_reference_replies(qtest):
    s = qtest()
    assert s.cmd("endianness") == "OK little"
    assert s.cmd("outl 0xcf8 0x80000000") == "OK"
    assert s.cmd("inl 0xcfc") == "OK 0x12378086"
    assert s.cmd("inb 0x80") == "OK 0x00ff"
    assert s.cmd("inl 0x1234") == "OK 0xffffffff"
    assert s.cmd("readl 0xe0000000") == "OK 0x0000000000000000"
    rom = s.cmd("readl 0xfffffff0")
    assert s.cmd("writel 0xfffffff0 0xdeadbeef") == "OK"
    assert s.cmd("readl 0xfffffff0") == rom            # ROM writes are dropped
    assert s.cmd("writel 0x1000 0xdeadbeef") == "OK"
    assert s.cmd("read 0x1000 4") == "OK 0xefbeadde"
    assert s.cmd("readb 0x1000") == "OK 0x00000000000000ef"


def test_bios_reset_vector_and_isa_bios_alias_through_pam(qtest):
    s = qtest()
    assert s.readl(0xfffffff0) == 0xfdebf4fa           # cli; hlt; jmp .-1
    assert s.readl(0xffff0) == 0xfdebf4fa              # isa-bios through PAM (PCI)
    assert s.readl(0xfff00) == 0xffffffff
    s.outl(0xcf8, 0x80000058)
    s.outb(0xcfd, 0x30)                                # PAM0 hi: 0xf0000 -> RAM
    assert s.readl(0xffff0) == 0
    s.writel(0xffff0, 0x12345678)
    assert s.readl(0xffff0) == 0x12345678
    s.outb(0xcfd, 0x00)                                # back to PCI: the ROM again
    assert s.readl(0xffff0) == 0xfdebf4fa


@pytest.mark.parametrize("ram,below,above", [
    ("128M", 128 << 20, 0),
    ("3G", 3 * GiB, 0),
    ("3584M", 3 * GiB, 512 << 20),                    # >= 3.5G: split moves to 3G
    ("4G", 3 * GiB, GiB),
])
def test_pc_ram_split(machine, ram, below, above):
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults", "-m", ram)
    assert (m.below_4g, m.above_4g) == (below, above)


def test_max_ram_below_4g(machine):
    m = machine("-M", "pc,max-ram-below-4g=2G", "-accel", "qtest", "-nodefaults", "-m", "3G")
    assert (m.below_4g, m.above_4g) == (2 * GiB, GiB)


def test_ram_above_4g_is_reachable(qtest):
    s = qtest("-m", "4G")
    s.writel(0x100000000, 0x11223344)
    assert s.readl(0x100000000) == 0x11223344
    s.writel(0xbffffffc, 0x55667788)
    assert s.readl(0xbffffffc) == 0x55667788
    assert s.readl(0xc0000000) == 0


def test_cmos_memory_bytes(qtest):
    s = qtest("-m", "256M")
    def cmos(reg):
        s.outb(0x70, reg)
        return s.inb(0x71)
    assert cmos(0x15) | cmos(0x16) << 8 == 640
    assert cmos(0x34) | cmos(0x35) << 8 == (256 - 16) * 16   # 64 KiB units above 16M


def test_pc_qom_paths(machine):
    m = machine("-M", "pc", "-accel", "qtest", "-serial", "null")
    root = m.vm.qom_root
    def at(path):
        obj, _ = resolve_path(root, path)
        return obj.TYPE_NAME if obj is not None else None
    assert m.TYPE_NAME == "pc-i440fx-7.2-machine"
    assert at("/machine/i440fx") == "i440FX-pcihost"
    assert at("/machine/i440fx/pci.0") == "PCI"
    assert at("/machine/i440fx/ioapic") == "ioapic"
    assert at("/machine/unattached/device[2]") == "i440FX"
    assert at("/machine/unattached/device[3]") == "PIIX3"
    assert at("/machine/unattached/device[3]/isa.0") == "ISA"
    assert at("/machine/unattached/device[4]") == "isa-i8259"
    assert at("/machine/unattached/device[5]") == "isa-i8259"
    assert at("/machine/unattached/device[9]") == "mc146818rtc"
    assert at("/machine/unattached/device[10]") == "isa-pit"
    assert at("/machine/unattached/device[12]") == "isa-serial"
    assert at("/machine/fw_cfg") == "fw_cfg_io"
    assert at("ioapic") == "ioapic"


def test_system_reset_via_port_cf9(qtest):
    s = qtest()
    s.outb(0x70, 0x0b)
    s.outb(0x71, 0x42)
    s.outb(0xcf9, 0x02)
    assert s.inb(0xcf9) == 0x02
    s.outb(0xcf9, 0x06)                                # hard reset
    s.cmd("endianness")                                # let the reset run
    assert s.inb(0xcf9) == 0x00
    s.outb(0x70, 0x0b)
    assert s.inb(0x71) == 0x02                         # PIE cleared by the reset


# -- microvm -------------------------------------------------------------------------------

def test_microvm_devices_and_no_pci(qtest):
    s = qtest(machine="microvm")
    assert s.cmd("endianness") == "OK little"
    s.outb(0x70, 0x0a)
    assert s.inb(0x71) == 0x26
    assert s.cmd("outl 0xcf8 0x80000000") == "OK"
    assert s.cmd("inl 0xcfc") == "OK 0xffffffff"
    assert s.inb(0x3f8 + 5) == 0x60                     # COM1
    s.cmd("irq_intercept_in /machine/ioapic")
    assert s.clock_step() == ["IRQ raise 0", "OK 27462700"]


def test_microvm_switches(machine):
    m = machine("-M", "microvm,pit=off,rtc=off,isa-serial=off,pic=off,acpi=off", "-accel", "qtest")
    names = {d.TYPE_NAME for d in m.isa_bus.devices}
    assert names == set()
    m = machine("-M", "microvm,pit=off,rtc=off,isa-serial=off,pic=off", "-accel", "qtest")
    assert {d.TYPE_NAME for d in m.isa_bus.devices} == {"acpi-pm-block"}
    from tests.unit.hw.launch_errors import run_and_capture
    assert "pcie=on is not supported" in run_and_capture(machine="microvm,pcie=on")
    assert "No 'PCI' bus found for device 'pci-testdev'" in \
        run_and_capture("-device", "pci-testdev", machine="microvm")


def test_microvm_ram_split(machine):
    m = machine("-M", "microvm", "-accel", "qtest", "-m", "4G")
    assert (m.below_4g, m.above_4g) == (3 * GiB, GiB)
