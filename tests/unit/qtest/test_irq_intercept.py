"""IRQ interception and set_irq_in (specs/qtest.md §1.6) on a small test device."""

import pytest

from qemu_py.qom import Device

from .harness import InProcess


class Pins(Device):
    """Two unnamed inputs wired to two unnamed outputs, plus a named input list."""
    TYPE_NAME = "test-pins"

    def __init__(self):
        super().__init__()
        self.seen = []
        self.outs = self.init_gpio_out(2)
        self.init_gpio_in(self._in, 2)
        self.init_gpio_in(lambda n, level: self.seen.append(("named", n, level)), 1, "ctl")

    def _in(self, n, level):
        self.seen.append(("in", n, level))
        self.outs[n].set(level)


@pytest.fixture
def pins_session():
    s = InProcess(["-M", "none", "-m", "16M", "-accel", "qtest"])
    dev = Pins()
    s.emu.vm.machine.attach_device(dev, s.emu.vm.machine, "pins")
    yield s, dev
    s.close()


def test_intercept_in_reports_before_ok_and_forwards(pins_session):
    s, dev = pins_session
    assert s.cmd("irq_intercept_in /machine/pins") == "OK"
    assert s.raw(b"set_irq_in /machine/pins unnamed-gpio-in 1 1\n", 2) == ["IRQ raise 1", "OK"]
    assert dev.seen == [("in", 1, 1)]
    assert s.cmd("set_irq_in /machine/pins unnamed-gpio-in 1 1") == "OK"      # same level: silent
    assert s.raw(b"set_irq_in pins unnamed-gpio-in 1 0\n", 2) == ["IRQ lower 1", "OK"]
    assert s.raw(b"set_irq_in pins unnamed-gpio-in 0 -1\n", 2) == ["IRQ raise 0", "OK"]


def test_named_input_is_not_intercepted_in_7_2(pins_session):
    s, dev = pins_session
    assert s.cmd("irq_intercept_in pins ctl") == "OK"                    # name ignored
    assert s.cmd("set_irq_in pins ctl 0 1") == "OK"
    assert dev.seen == [("named", 0, 1)]


def test_intercept_out_reports_driven_levels(pins_session):
    s, dev = pins_session
    assert s.cmd("irq_intercept_out /machine/pins") == "OK"
    assert s.raw(b"set_irq_in pins unnamed-gpio-in 0 1\n", 2) == ["IRQ raise 0", "OK"]


def test_only_one_device_can_be_intercepted(pins_session):
    s, dev = pins_session
    other = Pins()
    s.emu.vm.machine.attach_device(other, s.emu.vm.machine, "other")
    assert s.cmd("irq_intercept_in pins") == "OK"
    assert s.cmd("irq_intercept_in pins") == "OK"
    assert s.cmd("irq_intercept_out /machine/other") == "FAIL IRQ intercept already enabled"


def test_partial_path_must_be_unambiguous(pins_session):
    s, dev = pins_session
    assert s.cmd("irq_intercept_in unattached") == "FAIL Unknown device"   # a container
    assert s.cmd("set_irq_in pins unnamed-gpio-in 7 1") == (
        "FAIL set_irq_in: gpio-in 'unnamed-gpio-in' line 7 out of range (2 lines)")
