"""device_add and device_del (QEMU 7.2 softmmu/qdev-monitor.c).

device_add takes any further member as a device property, with JSON types
(``"addr": "06.0"``, ``"multifunction": true``). Only device types that
declare ``HOTPLUGGABLE`` can be added to a built machine; the others fail
on their bus as in QEMU (``Bus 'isa.0' does not support hotplugging``).

device_del removes a device of /machine/peripheral (or at a QOM path). A
machine that models guest-assisted unplug provides ``unplug_request(dev)``
and emits DEVICE_DELETED itself when the guest completes it; otherwise the
device is unplugged at once and DEVICE_DELETED is emitted before the reply.
"""

from __future__ import annotations

from qemu_py.qom import Device, resolve_path
from qemu_py.qom.types import type_is_a

from ..errors import DEVICE_NOT_FOUND, QMPError


def _bus_name(machine, cls) -> str:
    if type_is_a(cls.TYPE_NAME, "isa-device"):
        bus = getattr(machine, "isa_bus", None)
        if bus is not None:
            return bus.bus_name
    return "main-system-bus"


def _chardevs(vm) -> dict:
    container = vm.qom_root.child("chardevs") if vm.qom_root is not None else None
    return dict(container.children()) if container is not None else {}


def device_add(session, args: dict):
    from qemu_py.hw.core.devices import create_device, lookup_device_type
    vm = session.vm
    driver = args.get("driver")
    if type(driver) is not str:
        raise QMPError("Parameter 'driver' is missing")
    ti = lookup_device_type(driver)
    bus = args.pop("bus", None)
    if bus is not None:
        raise QMPError(f"Bus '{bus}' not found", DEVICE_NOT_FOUND)
    if not getattr(ti.cls, "HOTPLUGGABLE", False):
        raise QMPError(f"Bus '{_bus_name(vm.machine, ti.cls)}' does not support hotplugging")
    if "id" in args and type(args["id"]) is not str:
        raise QMPError("Invalid parameter type for 'id', expected: string")
    create_device(vm.machine, args, _chardevs(vm))


def device_del(session, id):
    vm = session.vm
    machine = vm.machine
    if id.startswith("/"):
        dev, _ = resolve_path(vm.qom_root, id)
    else:
        dev = machine.peripheral.child(id)
    if dev is None:
        raise QMPError(f"Device '{id}' not found", DEVICE_NOT_FOUND)
    if not isinstance(dev, Device):
        raise QMPError(f"{id} is not a hotpluggable device")
    if not getattr(dev, "HOTPLUGGABLE", False):
        raise QMPError(f"Device '{dev.TYPE_NAME}' does not support hotplugging")
    request = getattr(machine, "unplug_request", None)
    if request is not None:
        request(dev)
        return
    path = dev.canonical_path()
    unrealize = getattr(dev, "unrealize", None)
    if unrealize is not None:
        unrealize()
    dev.parent_obj.del_child(dev)
    data = {"path": path} if dev.id is None else {"device": dev.id, "path": path}
    vm.emit("DEVICE_DELETED", data)
