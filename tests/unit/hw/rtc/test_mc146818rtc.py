"""MC146818 RTC on ``pc``: registers, the reference IRQ sequence, date and time."""

RTC_BASE = "base=2020-02-28T23:59:58"


def rtc_read(s, reg):
    s.outb(0x70, reg)
    return s.inb(0x71)


def rtc_write(s, reg, val):
    s.outb(0x70, reg)
    s.outb(0x71, val)


def test_reference_rtc_then_pit_sequence(qtest):
    s = qtest("-rtc", "clock=vm")
    assert s.cmd("irq_intercept_in ioapic") == "OK"
    rtc_write(s, 0x0a, 0x26)
    rtc_write(s, 0x0b, 0x42)
    assert s.clock_step(2000000) == ["IRQ raise 8", "OK 2000000"]
    s.outb(0x70, 0x0c)
    assert s.lines("inb 0x71") == ["IRQ lower 8", "OK 0x00c0"]
    rtc_write(s, 0x0b, 0x02)                      # PIE off: only the PIT is left
    assert s.clock_step() == ["IRQ raise 0", "OK 27462700"]
    assert s.clock_step() == ["IRQ lower 0", "OK 27462701"]
    assert s.clock_step() == ["OK 54925401"]


def test_periodic_interrupt_lands_on_the_32khz_grid(qtest):
    s = qtest()
    s.cmd("irq_intercept_in ioapic")
    rtc_write(s, 0x0b, 0x42)
    assert s.clock_step() == ["IRQ raise 8", "OK 976563"]   # 32 ticks of 32768 Hz, +1 ns
    assert rtc_read(s, 0x0c) == 0xc0
    assert s.clock_step() == ["IRQ raise 8", "OK 1953126"]


def test_intercept_out_on_the_rtc_reports_its_own_line_0(qtest):
    s = qtest()
    assert s.cmd("irq_intercept_out /machine/unattached/device[9]") == "OK"
    rtc_write(s, 0x0b, 0x42)
    assert s.clock_step(2000000) == ["IRQ raise 0", "OK 2000000"]


def test_register_reset_values_and_index_port(qtest):
    s = qtest()
    assert s.cmd("outb 0x70 0x0a") == "OK"
    assert s.cmd("inb 0x71") == "OK 0x0026"
    assert rtc_read(s, 0x0b) == 0x02
    assert rtc_read(s, 0x0c) == 0x00
    assert rtc_read(s, 0x0d) == 0x80
    assert s.cmd("inb 0x70") == "OK 0x00ff"


def test_date_from_rtc_base_in_bcd_and_leap_day_rollover(qtest):
    s = qtest("-rtc", RTC_BASE)
    assert [rtc_read(s, r) for r in (0, 2, 4, 7, 8, 9, 0x32)] == [0x58, 0x59, 0x23, 0x28, 0x02,
                                                                 0x20, 0x20]
    assert rtc_read(s, 6) == 6                     # Friday
    s.clock_step(2_000_000_000)
    assert [rtc_read(s, r) for r in (0, 2, 4, 7, 8)] == [0x00, 0x00, 0x00, 0x29, 0x02]
    assert rtc_read(s, 0x37) == 0x20               # PS/2 century alias


def test_binary_mode_and_12_hour_clock(qtest):
    s = qtest("-rtc", "base=2021-06-15T15:04:05")
    rtc_write(s, 0x0b, 0x82)                       # SET while switching formats
    rtc_write(s, 0x0b, 0x84)                       # binary, 12-hour
    rtc_write(s, 0x04, 0x80 | 3)                   # 3 PM
    rtc_write(s, 0x02, 4)
    rtc_write(s, 0x00, 5)
    rtc_write(s, 0x0b, 0x04)                       # run
    assert rtc_read(s, 4) == 0x83
    assert rtc_read(s, 2) == 4
    s.clock_step(1_000_000_000)
    assert rtc_read(s, 0) == 6


def test_update_ended_interrupt_and_uip_window(qtest):
    s = qtest("-rtc", RTC_BASE)
    s.cmd("irq_intercept_in ioapic")
    s.cmd("clock_set 999700000")
    assert rtc_read(s, 0x0a) == 0x26
    s.cmd("clock_set 999800000")                   # last 244 us before the update
    assert rtc_read(s, 0x0a) == 0xa6
    rtc_write(s, 0x0b, 0x12)                       # UIE
    assert s.clock_step() == ["IRQ raise 8", "OK 1000000000"]
    assert rtc_read(s, 0x0c) == 0x90
    assert rtc_read(s, 0x0a) == 0x26


def test_alarm_interrupt(qtest):
    s = qtest("-rtc", "base=2020-01-01T10:00:00")
    s.cmd("irq_intercept_in ioapic")
    rtc_write(s, 0x01, 0x03)                       # alarm at 10:00:03
    rtc_write(s, 0x03, 0x00)
    rtc_write(s, 0x05, 0x10)
    rtc_write(s, 0x0b, 0x22)                       # AIE
    assert s.clock_step(2_999_999_999)[-1] == "OK 2999999999"
    assert s.clock_step(1) == ["IRQ raise 8", "OK 3000000000"]
    assert rtc_read(s, 0x0c) & 0xa0 == 0xa0


def test_divider_reset_holds_time(qtest):
    s = qtest("-rtc", RTC_BASE)
    rtc_write(s, 0x0a, 0x70)                       # hold the divider chain in reset
    s.clock_step(5_000_000_000)
    assert rtc_read(s, 0) == 0x58
    rtc_write(s, 0x0a, 0x26)                       # first update half a second later
    s.clock_step(499_000_000)
    assert rtc_read(s, 0) == 0x58
    s.clock_step(2_000_000)
    assert rtc_read(s, 0) == 0x59


def test_machine_rtc_time_property(machine):
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults", "-rtc", "base=2006-06-17T16:01:21")
    assert m.get_property("rtc-time") == {"tm_year": 106, "tm_mon": 5, "tm_mday": 17,
                                          "tm_hour": 16, "tm_min": 1, "tm_sec": 21}
