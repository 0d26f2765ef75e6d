"""-global DRIVER.PROP=VALUE: a default for every device of the type (and its
subtypes), before the device's own properties; QEMU 7.2's error texts."""

import subprocess
import sys

import pytest

from qemu_py.cli import UsageError, parse_args
from qemu_py.launch import Emulator, StartupError
from qemu_py.qom.globals import GlobalProp, parse_global, set_globals

BASE = ["-M", "pc", "-accel", "qtest", "-nodefaults", "-display", "none"]


@pytest.fixture(autouse=True)
def _clear():
    yield
    set_globals([])


def built(*args):
    emu = Emulator(parse_args([*BASE, *args]))
    emu.build()
    return emu


def debug_exit(emu):
    return next(o for o in emu.vm.machine.walk() if o.TYPE_NAME == "isa-debug-exit")


def test_both_forms_parse():
    assert parse_global("isa-debug-exit.iobase=0x600") == GlobalProp("isa-debug-exit", "iobase",
                                                                     "0x600")
    assert parse_global("driver=a,property=b.c,value=1,,2") == GlobalProp("a", "b.c", "1,2")
    assert parse_global("a.b.c=") == GlobalProp("a", "b.c", "")


@pytest.mark.parametrize("arg, message", [
    ("driver=isa-debug-exit,property=iobase",
     "-global driver=isa-debug-exit,property=iobase: options 'driver', 'property', and 'value' "
     "are required"),
    ("driver=x,property=y,value=1,size=2",
     "-global driver=x,property=y,value=1,size=2: Invalid parameter 'size'"),
])
def test_malformed_globals_are_refused_with_qemus_text(arg, message):
    with pytest.raises(UsageError) as e:
        parse_args(["-global", arg])
    assert str(e.value) == message


def test_global_sets_the_default_and_the_device_option_wins():
    assert debug_exit(built("-global", "isa-debug-exit.iobase=0x600",
                            "-device", "isa-debug-exit")).prop("iobase") == 0x600
    assert debug_exit(built("-global", "driver=isa-debug-exit,property=iobase,value=0x600",
                            "-device", "isa-debug-exit,iobase=0x700")).prop("iobase") == 0x700


@pytest.mark.parametrize("value, message", [
    ("zz", "Parameter 'iobase' expects uint64"),
    ("-1", "Parameter 'iobase' expects uint32_t"),
    ("0x1ffffffff", "Parameter 'iobase' expects uint32_t"),
])
def test_bad_values_are_qemus_errors(value, message):
    with pytest.raises(StartupError) as e:
        built("-global", f"isa-debug-exit.iobase={value}", "-device", "isa-debug-exit")
    assert str(e.value) == (f"-device isa-debug-exit: can't apply global "
                            f"isa-debug-exit.iobase={value}: {message}")


def test_unknown_property_is_an_error_when_a_device_takes_it():
    with pytest.raises(StartupError) as e:
        built("-global", "isa-debug-exit.nosuch=1", "-device", "isa-debug-exit")
    assert str(e.value) == ("-device isa-debug-exit: can't apply global isa-debug-exit.nosuch=1: "
                            "Property 'isa-debug-exit.nosuch' not found")


def test_unknown_driver_is_a_warning_and_the_vm_starts():
    res = subprocess.run([sys.executable, "-m", "qemu_py", *BASE, "-global", "nosuch.prop=1",
                          "-S", "-monitor", "stdio"], input="quit\n", capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0
    assert res.stderr == "qemu-py: warning: global nosuch.prop has invalid class name\n"


def test_board_devices_take_globals_too():
    # the microvm's virtio-mmio transports are board devices: force-legacy=off is their
    # modern (version 2) register layout
    from qemu_py.hw.virtio.virtio_mmio import transports
    emu = Emulator(parse_args(["-M", "microvm", "-accel", "qtest", "-nodefaults",
                               "-global", "virtio-mmio.force-legacy=off"]))
    emu.build()
    assert all(not t.legacy for t in transports(emu.vm.machine))
    set_globals([])
    emu = Emulator(parse_args(["-M", "microvm", "-accel", "qtest", "-nodefaults"]))
    emu.build()
    assert all(t.legacy for t in transports(emu.vm.machine))
