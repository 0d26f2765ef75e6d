"""The virtual clock through qtest (specs/qtest.md §1.7) with a timer device."""

from qemu_py.qom import Device

from .harness import InProcess


class Ticker(Device):
    """Toggles its output every PERIOD ns of virtual time."""
    TYPE_NAME = "test-ticker"
    PERIOD = 1000

    def __init__(self, clock):
        super().__init__()
        self.out = self.init_gpio_out(1)[0]
        self.level = 0
        self.timer = clock.new_timer(self._tick)
        self.clock = clock

    def _tick(self):
        self.level ^= 1
        self.out.set(self.level)
        self.timer.mod(self.clock.now() + self.PERIOD)


def start(args):
    s = InProcess(["-M", "none", "-m", "16M", "-accel", "qtest", *args])
    dev = Ticker(s.emu.vm.clock)
    s.emu.vm.machine.attach_device(dev, s.emu.vm.machine, "ticker")
    dev.timer.mod(1000)
    assert s.cmd("irq_intercept_out /machine/ticker") == "OK"
    return s


def test_clock_step_without_argument_goes_to_the_next_deadline():
    s = start([])
    assert s.raw(b"clock_step\n", 2) == ["IRQ raise 0", "OK 1000"]
    assert s.raw(b"clock_step\n", 2) == ["IRQ lower 0", "OK 2000"]
    assert s.raw(b"clock_step 2500\n", 3) == ["IRQ raise 0", "IRQ lower 0", "OK 4500"]
    assert s.raw(b"clock_set 5000\n", 2) == ["IRQ raise 0", "OK 5000"]
    s.close()


def test_timers_do_not_run_under_S_but_the_counter_moves():
    s = start(["-S"])
    assert s.cmd("clock_step 2000000") == "OK 2000000"
    assert s.cmd("clock_step") == "OK 2000000"
    assert s.cmd("clock_set 50000000") == "OK 50000000"
    s.emu.vm.start()
    # the timer was due long ago: it fires at the first step after `cont`
    assert s.raw(b"clock_step 1\n", 2) == ["IRQ raise 0", "OK 50000001"]
    s.close()
