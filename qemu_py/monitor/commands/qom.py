"""QOM commands: qom-list, qom-get, qom-set, qom-list-types, device-list-properties."""

from __future__ import annotations

from qemu_py.qom import Device, resolve_path, type_info, type_registry
from qemu_py.qom.types import type_is_a

from ..errors import DEVICE_NOT_FOUND, QMPError


def resolve(session, path: str):
    obj, ambiguous = resolve_path(session.vm.qom_root, path)
    if obj is None:
        if ambiguous:
            raise QMPError(f"Path '{path}' is ambiguous")
        raise QMPError(f"Device '{path}' not found", DEVICE_NOT_FOUND)
    return obj


def jsonable(value):
    """A property value as a JSON value (QOM visitors only produce these)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    return str(value)


def qom_list(session, path):
    obj = resolve(session, path)
    return [{"name": p.name, "type": p.type} for p in reversed(obj.properties())]


def qom_get(session, path, property):
    return jsonable(resolve(session, path).get_property(property))


def qom_set(session, path, property, value):
    resolve(session, path).set_property(property, value)


def qom_list_types(session, implements=None, abstract=False):
    out = []
    for ti in type_registry().values():
        if ti.abstract and not abstract:
            continue
        if implements is not None and not type_is_a(ti.name, implements):
            continue
        info = {"name": ti.name}
        if ti.abstract:
            info["abstract"] = True
        if ti.parent:
            info["parent"] = ti.parent
        out.append(info)
    return out[::-1]


# QEMU's property type names for qdev property kinds
_PROP_TYPES = {"string": "str", "chardev": "str", "link": "link<object>"}
_SKIPPED = ("type", "realized", "hotpluggable", "hotplugged", "parent_bus")


def device_list_properties(session, typename):
    from qemu_py.hw.core.machine import Machine
    ti = type_info(typename)
    if ti is None:
        raise QMPError(f"Device '{typename}' not found", DEVICE_NOT_FOUND)
    if not issubclass(ti.cls, Device) or issubclass(ti.cls, Machine):
        raise QMPError("Parameter 'typename' expects device type")
    if ti.abstract:
        raise QMPError("Parameter 'typename' expects non-abstract device type")
    out = []
    for p in ti.cls.declared_props():
        if p.name in _SKIPPED or p.name.startswith("legacy-"):
            continue
        info = {"name": p.name, "type": _PROP_TYPES.get(p.type, p.type)}
        if p.description:
            info["description"] = p.description
        if p.default is not None:
            info["default-value"] = jsonable(p.default)
        out.append(info)
    return out[::-1]
