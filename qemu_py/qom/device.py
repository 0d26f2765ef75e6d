"""Devices: typed user properties, realize/reset life cycle, named GPIO lists.

Subclasses declare their ``-device`` properties once as ``PROPS`` (a list of
:class:`DeviceProp`), implement ``realize`` for work that may fail with a
user-visible :class:`QOMError`, and ``reset`` to put guest-visible state back
to power-on values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .error import QOMError
from .globals import apply_globals, registered_globals
from .irq import IRQ, OutLine
from .object import Object
from .types import register_type, type_info

_BOOL_WORDS = {"on": True, "yes": True, "true": True, "y": True,
               "off": False, "no": False, "false": False, "n": False}

_INT_RANGES = {
    "uint8": (0, 0xff), "uint16": (0, 0xffff), "uint32": (0, 0xffffffff),
    "uint64": (0, 0xffffffffffffffff), "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1), "int": (-(1 << 63), (1 << 63) - 1),
    "size": (0, 0xffffffffffffffff),
}


def parse_prop_value(type_: str, name: str, text: Any) -> Any:
    """Convert a command-line string to a property value, with QEMU's texts."""
    if not isinstance(text, str):
        if type_ == "bool" and isinstance(text, bool):
            return text
        if type_ in _INT_RANGES and isinstance(text, int) and not isinstance(text, bool):
            lo, hi = _INT_RANGES[type_]
            if not lo <= text <= hi:
                raise QOMError(f"Parameter '{name}' expects {type_}")
            return text
        if type_ in ("str", "string", "chardev", "link") and isinstance(text, str):
            return text
        raise QOMError(f"Invalid parameter type for '{name}', expected: "
                       f"{'boolean' if type_ == 'bool' else 'integer' if type_ in _INT_RANGES else 'string'}")
    if type_ == "bool":
        val = _BOOL_WORDS.get(text)
        if val is None:
            raise QOMError(f"Parameter '{name}' expects 'on' or 'off'")
        return val
    if type_ in _INT_RANGES:
        from qemu_py.system.numbers import parse_size, parse_int
        try:
            val = parse_size(text) if type_ == "size" else parse_int(text)
        except ValueError:
            raise QOMError(f"Parameter '{name}' expects {'a non-negative integer below 2^64' if type_ == 'size' else 'an int64 value or range' if type_.startswith('int') else 'uint' + type_[4:]}") from None
        lo, hi = _INT_RANGES[type_]
        if not lo <= val <= hi:
            raise QOMError(f"Property {name} doesn't take value {val} (minimum: {lo}, maximum: {hi})")
        return val
    return text


@dataclass
class DeviceProp:
    name: str
    type: str            # bool, uint8..uint64, int32, int64, size, str, chardev, link
    default: Any = None
    description: str = ""
    fmt: Callable[[Any], str] | None = None   # how `-device X,help` shows the default


class GPIOList(list):
    """The IRQ inputs (or OutLine outputs) of one named list."""


@register_type("device", "object", abstract=True, desc="device base type")
class Device(Object):
    PROPS: list[DeviceProp] = []
    CATEGORY = "Misc devices"          # section in `-device help`
    HOTPLUGGABLE = False

    def __init__(self):
        super().__init__()
        self.realized = False
        self.id: str | None = None
        self.gpio_in: dict[str | None, GPIOList] = {}
        self.gpio_out: dict[str | None, GPIOList] = {}
        self.prop_values: dict[str, Any] = {}
        for cls in reversed(type(self).__mro__):
            for p in cls.__dict__.get("PROPS", []):
                self.prop_values[p.name] = p.default
                self._declare(p)
        self.add_property("realized", "bool", get=lambda: self.realized)
        apply_globals(self)                # -global defaults, as QEMU's device_post_init

    def _declare(self, p: DeviceProp):
        if self.find_property(p.name):
            return

        def setter(value, p=p):
            if self.realized:
                raise QOMError(f"Attempt to set property '{p.name}' on device "
                               f"'{self.id or 'anonymous'}' (type '{self.TYPE_NAME}') after it was realized")
            self.prop_values[p.name] = parse_prop_value(p.type, p.name, value)

        self.add_property(p.name, p.type, get=lambda p=p: self.prop_values[p.name], set=setter,
                          description=p.description, default=p.default)

    @classmethod
    def declared_props(cls) -> list[DeviceProp]:
        out: dict[str, DeviceProp] = {}
        for klass in reversed(cls.__mro__):
            for p in klass.__dict__.get("PROPS", []):
                out[p.name] = p
        return list(out.values())

    def prop(self, name):
        return self.prop_values[name]

    # -- life cycle ---------------------------------------------------------
    def realize(self):
        """Create regions, lines and timers; may raise QOMError."""

    def reset(self):
        """Put guest-visible state back to power-on values."""

    def do_realize(self):
        if not self.realized:
            self.realize()
            self.realized = True

    def reset_tree(self):
        """Reset this device and every device below it in the composition tree."""
        for obj in self.walk():
            if isinstance(obj, Device) and obj.realized:
                obj.reset()

    # -- GPIO -----------------------------------------------------------------
    def init_gpio_in(self, handler: Callable[[int, int], None], n: int, name: str | None = None):
        lst = self.gpio_in.setdefault(name, GPIOList())
        base = len(lst)
        for i in range(n):
            lst.append(IRQ(handler, base + i))
        return lst[base:]

    def init_gpio_out(self, n: int, name: str | None = None) -> list[OutLine]:
        lst = self.gpio_out.setdefault(name, GPIOList())
        new = [OutLine() for _ in range(n)]
        lst.extend(new)
        return new

    def get_gpio_in(self, n: int, name: str | None = None) -> IRQ:
        lst = self.gpio_in.get(name)
        if lst is None or not 0 <= n < len(lst):
            raise QOMError(f"no gpio-in {name or 'unnamed-gpio-in'}[{n}] on {self.canonical_path()}")
        return lst[n]

    def connect_gpio_out(self, n: int, irq: IRQ | None, name: str | None = None):
        lst = self.gpio_out.get(name)
        if lst is None or not 0 <= n < len(lst):
            raise QOMError(f"no gpio-out {name or 'unnamed-gpio-out'}[{n}] on {self.canonical_path()}")
        lst[n].connect(irq)

    # sysbus-style helpers: interrupts live in the named list "sysbus-irq"
    def init_irq(self) -> OutLine:
        return self.init_gpio_out(1, "sysbus-irq")[0]

    def connect_irq(self, n: int, irq: IRQ | None):
        self.connect_gpio_out(n, irq, "sysbus-irq")


def invalid_class_warnings() -> list[str]:
    """The warnings for globals whose driver is not a device type."""
    out = []
    for g in registered_globals():
        ti = type_info(g.driver)
        if ti is None or not issubclass(ti.cls, Device):
            out.append(f"global {g.driver}.{g.property} has invalid class name")
    return out
