"""``-global DRIVER.PROP=VALUE``: property defaults for every device of a type.

As QEMU's ``object_apply_global_props``: a device takes, when it is created,
every global whose driver is its type or one of its parent types, before its
own ``-device`` properties; a property the device lacks or a value its type
refuses is an error "can't apply global D.P=V: ...". A global naming no
device type is a warning at the end of start-up ("global D.P has invalid
class name"), as QEMU's ``qdev_prop_check_globals``.

The list is process-wide like QEMU's (``set_globals`` at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass

from .error import QOMError


@dataclass
class GlobalProp:
    driver: str
    property: str
    value: str
    used: bool = False

    def __str__(self) -> str:
        return f"{self.driver}.{self.property}={self.value}"


class GlobalError(ValueError):
    """A -global argument QEMU refuses while parsing the command line."""


def parse_global(text: str) -> GlobalProp:
    """``D.P=V`` or ``driver=D,property=P,value=V`` (QEMU's qemu_global_option)."""
    head, eq, value = text.partition("=")
    driver, dot, prop = head.partition(".")
    if eq and dot and driver and prop:                # sscanf("%[^.=].%[^=]")
        return GlobalProp(driver, prop, value)
    from qemu_py.system.opts import parse_opts
    opts = parse_opts(text)
    for key in opts:
        if key not in ("driver", "property", "value"):
            raise GlobalError(f"Invalid parameter '{key}'")
    if not all(opts.get(k) is not None for k in ("driver", "property", "value")):
        raise GlobalError("options 'driver', 'property', and 'value' are required")
    return GlobalProp(opts["driver"], opts["property"], opts["value"])


_GLOBALS: list[GlobalProp] = []


def set_globals(props: list[GlobalProp]) -> None:
    _GLOBALS[:] = props


def apply_globals(dev) -> None:
    """Set DEV's properties from the globals of its type and its parent types."""
    if not _GLOBALS:
        return
    names = {k.__dict__.get("TYPE_NAME") for k in type(dev).__mro__}
    for g in _GLOBALS:
        if g.driver not in names:
            continue
        g.used = True
        try:
            if dev.find_property(g.property) is None:
                raise QOMError(f"Property '{dev.TYPE_NAME}.{g.property}' not found")
            dev.set_property(g.property, _parse_value(dev, g.property, g.value))
        except QOMError as e:
            raise QOMError(f"can't apply global {g}: {e}") from None


_UINT_BITS = {"uint8": 8, "uint16": 16, "uint32": 32}
_INT_BITS = {"int32": 32}


def _parse_value(dev, name: str, text: str):
    """VALUE as QEMU's string input visitor reads it for object_property_parse:
    integers in C syntax (unsigned ones wrap a minus sign), with its texts
    ("expects uint64" for no number, "expects uint32_t" out of range)."""
    from qemu_py.system.numbers import NumberError, strtoi, strtou
    kind = next((p.type for p in type(dev).declared_props() if p.name == name), None)
    if kind in _UINT_BITS or kind == "uint64":
        try:
            val = strtou(text)
        except NumberError:
            raise QOMError(f"Parameter '{name}' expects uint64") from None
        bits = _UINT_BITS.get(kind)
        if bits is not None and val >> bits:
            raise QOMError(f"Parameter '{name}' expects {kind}_t")
        return val
    if kind in _INT_BITS or kind in ("int64", "int"):
        try:
            val = strtoi(text)
        except NumberError:
            raise QOMError(f"Parameter '{name}' expects int64") from None
        bits = _INT_BITS.get(kind)
        if bits is not None and not -(1 << (bits - 1)) <= val < 1 << (bits - 1):
            raise QOMError(f"Parameter '{name}' expects {kind}_t")
        return val
    return text                 # bool, str, size...: the property's own parser and texts


def registered_globals() -> list:
    """The -global properties set for this run, in command-line order."""
    return list(_GLOBALS)
