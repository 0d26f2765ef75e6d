"""16550A ``isa-serial`` on ``pc``: a socket chardev both ways, with interrupts."""

import socket
import time

import pytest

COM1 = 0x3f8
RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR = range(8)


@pytest.fixture
def serial(qtest, tmp_path):
    path = str(tmp_path / "ser.sock")
    s = qtest("-chardev", f"socket,id=ser0,path={path},server=on,wait=off",
              "-serial", "chardev:ser0")
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    peer.connect(path)
    peer.settimeout(10)
    s.cmd("irq_intercept_in ioapic")
    s.outb(COM1 + LCR, 0x03)                  # 8N1
    yield s, peer
    peer.close()


def recv_exactly(peer, n):
    data = b""
    while len(data) < n:
        data += peer.recv(n - len(data))
    return data


def wait_lsr(s, bit, collected):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = s.lines(f"inb 0x{COM1 + LSR:x}")
        collected.extend(lines[:-1])
        if int(lines[-1].split()[1], 0) & bit:
            return
    raise AssertionError("LSR bit never set")


def test_register_reset_values(qtest):
    s = qtest()
    assert [s.inb(COM1 + r) for r in (IER, IIR, LCR, MCR, LSR, MSR)] == \
        [0x00, 0x01, 0x00, 0x08, 0x60, 0xb0]
    s.outb(COM1 + LCR, 0x80)                  # DLAB: divisor latch reads 12
    assert (s.inb(COM1 + 1) << 8) | s.inb(COM1) == 12
    s.outb(COM1 + SCR, 0x5a)
    assert s.inb(COM1 + SCR) == 0x5a


def test_transmit_with_thre_interrupt(serial):
    s, peer = serial
    assert s.lines(f"outb 0x{COM1 + IER:x} 0x2") == ["IRQ raise 4", "OK"]
    assert s.lines(f"inb 0x{COM1 + IIR:x}") == ["IRQ lower 4", "OK 0x0002"]
    assert s.lines(f"outb 0x{COM1:x} 0x41") == ["IRQ raise 4", "OK"]
    for ch in b"BC\n":
        s.outb(COM1, ch)
    assert recv_exactly(peer, 4) == b"ABC\n"
    assert s.inb(COM1 + LSR) == 0x60


def test_receive_with_rda_interrupt_16450_mode(serial):
    s, peer = serial
    s.outb(COM1 + IER, 0x01)
    peer.sendall(b"hi!")
    irqs = []
    wait_lsr(s, 0x01, irqs)
    assert irqs == ["IRQ raise 4"]
    assert s.inb(COM1 + IIR) == 0x04
    got = bytes([s.inb(COM1)])
    while s.inb(COM1 + LSR) & 1:
        got += bytes([s.inb(COM1)])
    assert got == b"hi!"
    assert s.lines(f"inb 0x{COM1 + IIR:x}")[-1] == "OK 0x0001"


def test_fifo_trigger_level_and_character_timeout(serial):
    s, peer = serial
    s.outb(COM1 + 2, 0xc7)                     # FIFO on, reset, trigger level 14
    assert s.inb(COM1 + IIR) == 0xc1
    s.outb(COM1 + IER, 0x01)
    peer.sendall(b"abc")
    irqs = []
    wait_lsr(s, 0x01, irqs)
    assert irqs == []                          # below the trigger level
    # 8N1 at 9600 baud: 1041666 ns per character; timeout after four
    now = int(s.cmd("clock_step 0").split()[1])
    deadline = now + 4 * 1041666
    steps = s.clock_step(4 * 1041666 - 1)
    assert steps[-1] == f"OK {deadline - 1}" and "IRQ raise 4" not in steps
    assert s.clock_step(1) == ["IRQ raise 4", f"OK {deadline}"]
    assert s.inb(COM1 + IIR) == 0xcc
    assert s.lines(f"inb 0x{COM1:x}") == ["IRQ lower 4", "OK 0x0061"]   # "a", timer re-armed
    assert s.inb(COM1 + IIR) == 0xc1
    assert bytes([s.inb(COM1), s.inb(COM1)]) == b"bc"
    peer.sendall(bytes(range(32, 32 + 14)))    # reaching the trigger level raises at once
    irqs = []
    wait_lsr(s, 0x01, irqs)
    deadline = time.monotonic() + 10
    while "IRQ raise 4" not in irqs and time.monotonic() < deadline:
        irqs += s.lines(f"inb 0x{COM1 + LCR:x}")[:-1]
    assert "IRQ raise 4" in irqs
    assert s.inb(COM1 + IIR) == 0xc4


def test_internal_loopback_stays_inside(serial):
    s, peer = serial
    s.outb(COM1 + MCR, 0x1f)
    assert s.inb(COM1 + MSR) == 0xf0
    s.outb(COM1, 0x55)
    assert s.inb(COM1 + LSR) & 0x61 == 0x61
    assert s.inb(COM1) == 0x55
    s.outb(COM1 + MCR, 0x0b)
    s.outb(COM1, 0x56)
    assert recv_exactly(peer, 1) == b"\x56"


def test_serial_file_backend_gets_console_output(qtest, tmp_path):
    out = tmp_path / "console.txt"
    s = qtest("-serial", f"file:{out}")
    for ch in b"AB\nC":
        s.outb(COM1, ch)
    s.close()
    assert out.read_bytes() == b"AB\nC"


def test_second_port_and_device_option(qtest, tmp_path):
    out = tmp_path / "com2.txt"
    s = qtest("-chardev", f"file,id=c2,path={out}", "-device", "isa-serial,chardev=c2,index=1")
    assert s.inb(0x2f8 + LSR) == 0x60
    s.outb(0x2f8, ord("Z"))
    s.close()
    assert out.read_bytes() == b"Z"


# -- in-process checks -------------------------------------------------------------------------

def test_overrun_and_nonsense_writes(machine):
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults", "-serial", "null")
    ser = next(d for d in m.isa_bus.devices if d.TYPE_NAME == "isa-serial").serial
    ser.write(2, 0x01)                         # FIFO on
    ser._receive1(bytes(20))                   # more than 16 bytes straight in
    assert ser.read(LSR) & 0x02                # overrun
    assert not ser.read(LSR) & 0x02            # cleared by the read
    for reg in range(8):
        for v in (0x00, 0xff, 0x80, 0x7f):
            ser.write(reg, v)
            ser.read(reg)


def test_mux_ctrl_a_b_sends_a_break(qtest, tmp_path):
    path = str(tmp_path / "mux.sock")
    s = qtest("-chardev", f"socket,id=ser0,path={path},server=on,wait=off,mux=on",
              "-serial", "chardev:ser0")
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    peer.connect(path)
    try:
        peer.sendall(b"\x01b")
        wait_lsr(s, 0x10, [])                 # LSR.BI (cleared by that read)...
        assert s.inb(COM1 + LSR) & 0x11 == 0x01   # ...with DR, and RBR = 0
        assert s.inb(COM1) == 0
    finally:
        peer.close()
