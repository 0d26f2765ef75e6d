"""The ACPI PM block at 0x600: PM timer rate, status/enable, SCI, S5 soft-off."""

from qemu_py.hw.acpi.pm import PM_TIMER_FREQUENCY, ns_to_pm_ticks, pm_ticks_to_ns


def test_pm_timer_counts_at_3_579545_mhz(qtest):
    s = qtest()
    t0 = s.inl(0x608)
    s.clock_step(1_000_000_000)
    t1 = s.inl(0x608)
    assert (t1 - t0) & 0xFFFFFF == PM_TIMER_FREQUENCY & 0xFFFFFF
    assert t1 < 1 << 24


def test_pm_timer_ticks_rounding():
    assert ns_to_pm_ticks(1_000_000_000) == 3579545
    assert ns_to_pm_ticks(pm_ticks_to_ns(1 << 23)) == 1 << 23
    assert ns_to_pm_ticks(pm_ticks_to_ns(1 << 23) - 1) == (1 << 23) - 1


def test_timer_overflow_sets_tmr_sts_and_raises_sci_when_enabled(qtest):
    s = qtest()
    s.cmd("irq_intercept_in ioapic")
    s.outw(0x602, 0x0001)                               # TMR_EN
    assert s.inw(0x600) & 1 == 0
    assert "IRQ raise 9" in s.clock_step(pm_ticks_to_ns(1 << 23) + 1)
    assert s.inw(0x600) & 1 == 1
    assert s.lines("outw 0x600 0x1") == ["IRQ lower 9", "OK"]   # write one to clear
    assert s.inw(0x600) & 1 == 0


def test_sci_en_set_at_reset_and_enable_bits(qtest):
    s = qtest()
    assert s.inw(0x604) == 0x0001                       # SCI_EN: no SMI port
    s.outw(0x602, 0xffff)
    assert s.inw(0x602) == 0x0101                       # TMR_EN, PWRBTN_EN


def test_s5_soft_off_shuts_down(qtest):
    s = qtest()
    s.sock.sendall(b"outw 0x604 0x2001\n")              # SLP_TYP 0 | SLP_EN
    assert s.proc.wait(20) == 0


def test_acpi_off_removes_pm_block(qtest):
    s = qtest("-M", "pc,acpi=off")
    assert s.inl(0x608) == 0xffffffff


def test_microvm_has_pm_block(qtest):
    s = qtest(machine="microvm")
    t0 = s.inl(0x608)
    s.clock_step(1_000_000)
    assert (s.inl(0x608) - t0) & 0xFFFFFF == 3579
