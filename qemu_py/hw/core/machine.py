"""Machine base class and the machine registry.

A machine type is a :class:`Machine` subclass decorated with
:func:`machine_type`. Its QOM type is ``NAME-machine``; ``init`` builds the
board under ``/machine``: address spaces, RAM, devices, IRQ wiring.

Address spaces every machine has:

* ``system_memory`` / ``system_as``: the physical address space;
* ``io_memory`` / ``io_as``: the x86 port space (an empty all-ones space on
  other targets, so qtest ``in*``/``out*`` still answer as QEMU's do);
* ``qtest_as``: what qtest memory commands use (QEMU uses the first CPU's
  address space; a machine without a CPU uses the system address space).
"""

from __future__ import annotations

from qemu_py.memory import UNASSIGNED_IO_OPS, AddressSpace, MemoryRegion
from qemu_py.qom import Device, Object, QOMError, register_type

_MACHINES: dict[str, type] = {}
# the generic machine properties QEMU types as bool (-M pc,usb=maybe is refused)
BOOL_MACHINE_PROPS = ("usb", "dump-guest-core", "mem-merge", "graphics")
BOOL_TEXTS = ("on", "off", "yes", "no", "true", "false", "y", "n")


def machine_type(name: str, *, targets=("x86_64", "aarch64", "ppc64"), default_for=(),
                 alias: str | None = None, desc: str = ""):
    def deco(cls):
        cls.MACHINE_NAME = name
        cls.TARGETS = tuple(targets)
        cls.DEFAULT_FOR = tuple(default_for)
        cls.ALIAS = alias
        cls.DESC = desc
        register_type(f"{name}-machine", "machine", desc=desc, user_creatable=False)(cls)
        _MACHINES[name] = cls
        return cls
    return deco


def machines_for(target: str) -> list[type]:
    return [m for m in _MACHINES.values() if target in m.TARGETS]


def find_machine(target: str, name: str | None) -> type | None:
    for cls in machines_for(target):
        if name is None and target in cls.DEFAULT_FOR:
            return cls
        if name is not None and (cls.MACHINE_NAME == name or cls.ALIAS == name):
            return cls
    return None


class Container(Object):
    TYPE_NAME = "container"


register_type("container", "object", desc="a QOM container", user_creatable=False)(Container)


@register_type("machine", "device", abstract=True, user_creatable=False)
class Machine(Device):
    DEFAULT_RAM_SIZE = 128 * 1024 * 1024
    BIG_ENDIAN = False
    MACHINE_PROPS: dict[str, str] = {}          # -machine NAME,prop=... -> description

    def __init__(self, vm, config):
        super().__init__()
        self.vm = vm
        self.config = config
        self.ram_size = config.ram_size if config.ram_size is not None else self.DEFAULT_RAM_SIZE
        self.big_endian = self.BIG_ENDIAN
        self.unattached = Container()
        self.peripheral = Container()
        self.peripheral_anon = Container()
        self.add_child("unattached", self.unattached)
        self.add_child("peripheral", self.peripheral)
        self.add_child("peripheral-anon", self.peripheral_anon)
        self.system_memory = MemoryRegion("system", 1 << 64)
        self.system_as = AddressSpace(self.system_memory, "memory", big_endian=self.big_endian)
        self.io_memory = MemoryRegion.io("io", 0x10000, UNASSIGNED_IO_OPS)
        self.io_as = AddressSpace(self.io_memory, "I/O", big_endian=self.big_endian)
        self.qtest_as = self.system_as
        self.address_spaces = [self.system_as, self.io_as]
        self.ram: MemoryRegion | None = None
        self.add_property("ram-size", "uint64", get=lambda: self.ram_size)
        self.props_from_cmdline = dict(config.machine_props)

    def init(self):
        """Build the board. Subclasses create RAM and devices here."""

    def machine_prop(self, name: str, default=None):
        return self.props_from_cmdline.get(name, default)

    def check_props(self):
        allowed = set(self.MACHINE_PROPS) | {"accel", "usb", "dump-guest-core", "mem-merge",
                                              "memory-backend", "graphics", "kernel-irqchip"}
        for key in self.props_from_cmdline:
            if key not in allowed:
                raise QOMError(f"Property '{self.TYPE_NAME}.{key}' not found")
            if key in BOOL_MACHINE_PROPS and self.props_from_cmdline[key] not in BOOL_TEXTS:
                raise QOMError(f"Parameter '{key}' expects 'on' or 'off'")

    # -- device placement ----------------------------------------------------------
    def attach_device(self, dev: Device, parent: Object | None = None, name: str | None = None):
        """Place DEV in the composition tree, QEMU style, and realize it."""
        if parent is not None and name is not None:
            parent.add_child(name, dev)
        elif dev.id is not None:
            if self.peripheral.find_property(dev.id):
                raise QOMError(f"Duplicate device ID '{dev.id}'")
            self.peripheral.add_child(dev.id, dev)
        elif parent is not None:
            parent.add_child_auto("device", dev)
        else:
            self.unattached.add_child_auto("device", dev)
        dev.do_realize()
        return dev

    def attach_user_device(self, dev: Device):
        """A -device without id= goes to /machine/peripheral-anon/device[N]."""
        if dev.id is None:
            self.peripheral_anon.add_child_auto("device", dev)
            dev.do_realize()
            return dev
        return self.attach_device(dev)

    def add_ram(self, size: int, base: int = 0, name: str = "ram") -> MemoryRegion:
        ram = MemoryRegion.ram(name, size, owner=self)
        self.system_memory.add_subregion(base, ram)
        self.ram = ram
        return ram
