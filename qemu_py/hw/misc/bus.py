"""Buses in the composition tree (QOM type ``bus``): ISA, PCI and friends.

A bus is a child of the device that provides it (``/machine/i440fx/pci.0``,
``.../device[3]/isa.0``) and knows the devices plugged into it.
"""

from __future__ import annotations

from qemu_py.qom import Object, register_type


@register_type("bus", "object", abstract=True, desc="a bus devices plug into", user_creatable=False)
class Bus(Object):
    def __init__(self, name: str):
        super().__init__()
        self.bus_name = name
        self.devices: list = []
        self.add_property("hotpluggable", "bool", get=lambda: False)
