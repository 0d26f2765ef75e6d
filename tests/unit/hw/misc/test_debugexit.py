"""isa-debug-exit: a write of V ends the emulator with status (V << 1) | 1."""


def test_exit_code_7(qtest):
    s = qtest("-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
    s.sock.sendall(b"outb 0xf4 3\n")
    assert s.proc.wait(20) == 7


def test_default_port_and_word_write(qtest):
    s = qtest("-device", "isa-debug-exit")
    assert s.inb(0x501) == 0
    s.sock.sendall(b"outw 0x502 0x10\n")
    assert s.proc.wait(20) == 0x21


def test_port80_and_unassigned_ports(qtest):
    s = qtest()
    assert s.cmd("inb 0x80") == "OK 0x00ff"
    assert s.cmd("outb 0x80 0x12") == "OK"
    assert s.cmd("inl 0x1234") == "OK 0xffffffff"
    assert s.cmd("inw 0x1234") == "OK 0xffff"
