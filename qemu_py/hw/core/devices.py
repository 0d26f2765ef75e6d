"""``-device DRIVER,id=ID,prop=value`` and QMP ``device_add``: create, place, realize."""

from __future__ import annotations

from qemu_py.qom import Device, QOMError, type_info


def lookup_device_type(driver: str | None):
    if driver is None:
        raise QOMError("Parameter 'driver' is missing")
    ti = type_info(driver)
    if ti is None or ti.abstract or not issubclass(ti.cls, Device) or not ti.user_creatable:
        raise QOMError(f"'{driver}' is not a valid device model name")
    return ti


def create_device(machine, opts: dict[str, str], chardevs: dict | None = None) -> Device:
    driver = opts.pop("driver", None)
    ti = lookup_device_type(driver)
    dev = ti.cls()
    dev_id = opts.pop("id", None)
    if dev_id is not None:
        if not dev_id or not (dev_id[0].isalpha()) or not all(c.isalnum() or c in "-._" for c in dev_id):
            raise QOMError("Parameter 'id' expects an identifier")
        if machine.peripheral.find_property(dev_id):
            raise QOMError(f"Duplicate device ID '{dev_id}'")
        dev.id = dev_id
    dev.machine = machine
    dev.chardevs = chardevs or {}
    for key, value in opts.items():
        if dev.find_property(key) is None:
            raise QOMError(f"Property '{driver}.{key}' not found")
        dev.set_property(key, value)
    plug = getattr(machine, "plug_user_device", None)
    if plug is not None:
        plug(dev)
    else:
        machine.attach_user_device(dev)
    return dev
