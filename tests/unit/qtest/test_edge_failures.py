"""Regressions from a fuzz run: data kept where QEMU keeps it, texts naming the bad value."""


def test_write_wrapping_past_2_64_keeps_the_wrapped_bytes(session):
    assert session.cmd("write 0xfffffffffffffff8 16 0x1122334455667788aabbccddeeff0011") == "OK"
    assert session.cmd("read 0 8") == "OK 0xaabbccddeeff0011"


def test_set_irq_in_unknown_gpio_names_it():
    from .harness import InProcess
    s = InProcess(["-M", "pc", "-accel", "qtest"])
    try:
        assert s.cmd("set_irq_in ioapic nosuch 0 1") == "FAIL set_irq_in: device has no gpio-in 'nosuch'"
        assert s.cmd("set_irq_in ioapic unnamed-gpio-in 99 1").startswith("FAIL set_irq_in: gpio-in")
    finally:
        s.close()


def test_clock_step_int64_max_answers_without_passing_int64(session):
    assert session.cmd("clock_step 1000000000") == "OK 1000000000"
    # 1e9 + INT64_MAX wraps negative in QEMU's int64 arithmetic: the clock stays
    assert session.cmd("clock_step 9223372036854775807") == "OK 1000000000"

