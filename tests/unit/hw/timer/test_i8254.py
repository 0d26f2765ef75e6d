"""i8254 PIT on ``pc``: modes, latch, read-back, channel-2 gate via port 0x61."""

import pytest

from qemu_py.hw.timer.i8254 import PIT_FREQ, muldiv64

NS = 1_000_000_000


def ticks_to_ns(t):
    return muldiv64(t, NS, PIT_FREQ)


def test_reset_square_wave_reference_sequence(qtest):
    s = qtest()
    s.cmd("irq_intercept_in ioapic")
    assert s.clock_step() == ["IRQ raise 0", "OK 27462700"]
    assert s.clock_step() == ["IRQ lower 0", "OK 27462701"]
    assert s.clock_step() == ["OK 54925401"]
    assert s.clock_step() == ["IRQ raise 0", "OK 54925402"]   # QEMU's 1 ns rounding fix-up


def test_mode0_interrupt_on_terminal_count(qtest):
    s = qtest()
    s.cmd("irq_intercept_in ioapic")
    s.cmd("clock_set 1000")
    s.outb(0x43, 0x30)                 # channel 0, lobyte/hibyte, mode 0
    s.outb(0x40, 100)
    s.outb(0x40, 0)
    due = 1000 + ticks_to_ns(100)                  # 84809: 99.99 ticks, output still low
    assert s.clock_step() == [f"OK {due}"]
    assert s.clock_step() == ["IRQ raise 0", f"OK {due + 1}"]
    assert s.clock_step() == ["OK 1000000000"]     # mode 0 is done; next is the RTC update


def test_counter_latch_and_lsb_msb_reads(qtest):
    s = qtest()
    s.outb(0x43, 0x34)                 # channel 0, lobyte/hibyte, mode 2
    s.outb(0x40, 0xe8)
    s.outb(0x40, 0x03)                 # 1000
    s.clock_step(100_000)
    d = muldiv64(100_000, PIT_FREQ, NS)
    s.outb(0x43, 0x00)                 # latch channel 0
    s.clock_step(50_000)               # the latched value does not move
    lo, hi = s.inb(0x40), s.inb(0x40)
    assert hi << 8 | lo == 1000 - d % 1000


def test_read_back_status_and_count(qtest):
    s = qtest()
    s.outb(0x43, 0xb6)                 # channel 2, lobyte/hibyte, mode 3
    s.outb(0x42, 0x00)
    s.outb(0x42, 0x10)
    s.outb(0x43, 0xe8)                 # read-back: status only, channel 2
    assert s.inb(0x42) == (1 << 7) | (3 << 4) | (3 << 1)
    s.outb(0x43, 0xd8)                 # read-back: count only, channel 2
    lo, hi = s.inb(0x42), s.inb(0x42)
    assert hi << 8 | lo == 0x1000


def test_channel2_gate_and_output_on_port_61(qtest):
    s = qtest()
    s.outb(0x43, 0xb0)                 # channel 2, mode 0
    s.outb(0x42, 0x64)
    s.outb(0x42, 0x00)
    s.outb(0x61, 0x03)                 # gate on, speaker data on
    v1 = s.inb(0x61)
    assert v1 & 0x23 == 0x03           # output still low
    s.clock_step(ticks_to_ns(100) + 1)
    v2 = s.inb(0x61)
    assert v2 & 0x20 == 0x20           # terminal count reached
    assert (v1 ^ v2) & 0x10 == 0x10    # the refresh bit toggles on every read


def test_control_word_read_is_zero_and_mode_6_is_mode_2(qtest):
    s = qtest()
    assert s.inb(0x43) == 0
    s.outb(0x43, 0x1c)                 # channel 0, lobyte only, "mode 6"
    s.outb(0x43, 0xe2)
    assert s.inb(0x40) & 0x0e == 2 << 1


@pytest.mark.parametrize("mode,count,expect_edges", [(2, 10, 2), (3, 10, 2), (4, 10, 1)])
def test_modes_in_process(machine, mode, count, expect_edges):
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults")
    pit, clock = m.pit, m.vm.clock
    levels = []
    pit.irq_out.connect(None)
    from qemu_py.qom import IRQ
    pit.irq_out.connect(IRQ(lambda n, lvl: levels.append(lvl)))
    pit._ioport_write(3, 0x10 | (mode << 1), 1)
    pit._ioport_write(0, count, 1)
    clock.warp(clock.now() + ticks_to_ns(3 * count))
    rises = sum(1 for a, b in zip([0] + levels, levels) if b and not a)
    assert rises >= expect_edges or mode == 4 and rises == 1


def test_outw_0x40_then_big_clock_step_does_not_hang(qtest):
    import time
    s = qtest()
    s.cmd("outw 0x40 4")               # channel 0 count 4: a 3.35 us square wave
    t0 = time.monotonic()
    assert s.cmd("clock_step 10000000000") == "OK 10000000000"
    assert time.monotonic() - t0 < 5
    s.clock_step(ticks_to_ns(1) + 1)   # one tick on: mode 3 counts down by two
    d = muldiv64(10_000_000_000 + ticks_to_ns(1) + 1, PIT_FREQ, NS)
    assert s.inb(0x40) == 4 - (2 * d) % 4 == 2   # unprogrammed access mode: LSB


def test_pit_timer_bookkeeping_does_not_leak(machine):
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults")
    pit, clock = m.pit, m.vm.clock
    pit._ioport_write(3, 0x34, 1)      # channel 0, lobyte/hibyte, mode 2
    for _ in range(5000):              # each load re-arms the channel-0 timer
        pit._ioport_write(0, 0xff, 1)
        pit._ioport_write(0, 0xff, 1)
    assert len(clock._heap) < 200
