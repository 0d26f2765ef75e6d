"""The i8042 keyboard controller: self-test, command byte, output port, reset pulse."""


def test_self_test_and_interface_test(qtest):
    s = qtest()
    assert s.inb(0x64) == 0x18                          # CMD | UNLOCKED, nothing waiting
    s.outb(0x64, 0xAA)
    assert s.inb(0x64) == 0x1D                          # OBF, SYS after the self-test
    assert s.inb(0x60) == 0x55
    s.outb(0x64, 0xAB)
    assert s.inb(0x60) == 0x00
    assert s.inb(0x64) & 1 == 0


def test_command_byte_round_trip(qtest):
    s = qtest()
    s.outb(0x64, 0x20)
    assert s.inb(0x60) == 0x03
    s.outb(0x64, 0x60)
    s.outb(0x60, 0x65)
    s.outb(0x64, 0x20)
    assert s.inb(0x60) == 0x65
    assert s.inb(0x64) & 0x04                           # SYS follows the command byte


def test_output_port_read(qtest):
    s = qtest()
    s.outb(0x64, 0xD0)
    assert s.inb(0x60) == 0xCF


def test_reset_pulse_0xfe_with_no_reboot_exits(qtest):
    s = qtest("-no-reboot")
    s.sock.sendall(b"outb 0x64 0xfe\n")
    assert s.proc.wait(20) == 0


def test_reset_through_output_port_bit0_with_no_reboot_exits(qtest):
    s = qtest("-no-reboot")
    s.outb(0x64, 0xD1)
    s.sock.sendall(b"outb 0x60 0xce\n")
    assert s.proc.wait(20) == 0


def test_reset_pulse_resets_the_machine(qtest):
    s = qtest()
    s.outb(0x64, 0x60)
    s.outb(0x60, 0x45)
    s.outb(0x64, 0xFE)
    s.outb(0x64, 0x20)
    assert s.inb(0x60) == 0x03                          # back to the power-on command byte
