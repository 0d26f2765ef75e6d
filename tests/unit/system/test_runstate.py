"""Run-state transitions of the VM (QEMU's vm_stop/vm_start/reset rules)."""

from qemu_py.system.clock import VirtualClock
from qemu_py.system.mainloop import MainLoop
from qemu_py.system.runstate import VM


def make():
    clock = VirtualClock("manual")
    vm = VM(clock, MainLoop(clock))
    events = []
    vm.add_event_listener(lambda name, data, ts: events.append((name, data)))
    return vm, events


def test_stop_only_acts_on_a_running_vm():
    vm, events = make()
    vm.stop()
    assert vm.runstate == "prelaunch" and events == []
    vm.start()
    vm.stop()
    vm.stop()
    assert vm.runstate == "paused" and events == [("RESUME", None), ("STOP", None)]
    assert not vm.clock.enabled


def test_reset_of_a_stopped_vm_goes_back_to_prelaunch():
    vm, events = make()
    vm.start()
    vm.stop()
    vm.system_reset()
    assert vm.runstate == "prelaunch"
    assert events[-1] == ("RESET", {"guest": False, "reason": "host-qmp-system-reset"})
    vm.start()
    vm.system_reset()
    assert vm.runstate == "running"


def test_guest_shutdown_with_no_shutdown_pauses_instead_of_quitting():
    vm, events = make()
    vm.no_shutdown = True
    vm.start()
    vm.request_shutdown("guest-shutdown", guest=True)
    assert vm.runstate == "shutdown" and not vm.loop.quit_requested
    assert ("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"}) in events


def test_guest_reset_with_no_reboot_shuts_down():
    vm, events = make()
    vm.no_reboot = True
    vm.start()
    vm.system_reset("guest-reset", guest=True)
    assert vm.loop.quit_requested and vm.runstate == "shutdown"
    assert events[-1] == ("SHUTDOWN", {"guest": True, "reason": "guest-reset"})
