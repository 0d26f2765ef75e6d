"""Object model: types, the composition tree and properties.

A small re-creation of QEMU's QOM. Python classes are the types; each one that
should be visible to users (``-device help``, ``qom-list-types``) registers a
QOM type name with :func:`register_type`. Objects form a composition tree of
``child<TYPE>`` properties whose canonical paths are what QEMU prints
(``/machine/unattached/device[3]``, ``/machine/peripheral/serial0``).
"""

from .error import QOMError
from .object import Object, Property, resolve_path
from .types import TypeInfo, register_type, type_info, types_implementing, type_registry
from .device import Device, DeviceProp, GPIOList
from .irq import IRQ, OutLine

__all__ = [
    "QOMError", "Object", "Property", "resolve_path", "TypeInfo", "register_type",
    "type_info", "types_implementing", "type_registry", "Device", "DeviceProp", "GPIOList",
    "IRQ", "OutLine",
]
