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


def _no_hotplug_error(machine, cls) -> QMPError:
    """What QEMU says when a device cannot be added to a running machine."""
    if type_is_a(cls.TYPE_NAME, "isa-device"):
        bus = getattr(machine, "isa_bus", None)
        if bus is None:
            return QMPError(f"No 'ISA' bus found for device '{cls.TYPE_NAME}'")
        return QMPError(f"Bus '{bus.bus_name}' does not support hotplugging")
    return QMPError("Bus 'main-system-bus' does not support hotplugging")


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
        raise _no_hotplug_error(vm.machine, ti.cls)
    if "id" in args and type(args["id"]) is not str:
        raise QMPError("Invalid parameter type for 'id', expected: string")
    machine = vm.machine
    before = {c: set(c.children()) for c in (machine.peripheral, machine.peripheral_anon)}
    try:
        create_device(machine, args, _chardevs(vm))
    except Exception:
        # a device that failed to plug leaves no trace, as in QEMU
        for container, kids in before.items():
            for _, child in set(container.children()) - kids:
                container.del_child(child)
        raise


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
