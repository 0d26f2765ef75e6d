"""Objects, properties and the composition tree.

Every object has a ``type`` property and may own children (``child<TYPE>``
properties) and links (``link<TYPE>``). Paths resolve like QEMU's
``object_resolve_path``: absolute paths walk from the root; a partial path
matches wherever it resolves below some object, and is ambiguous (no result)
when it matches in more than one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .error import QOMError


@dataclass
class Property:
    name: str
    type: str
    get: Callable[[], Any] | None = None
    set: Callable[[Any], None] | None = None
    description: str = ""
    default: Any = None
    child: "Object | None" = None
    link: Callable[[], "Object | None"] | None = None


class Object:
    TYPE_NAME = "object"

    def __init__(self):
        self.parent_obj: Object | None = None
        self.name_in_parent: str | None = None
        self._props: dict[str, Property] = {}
        self.add_property("type", "string", get=lambda: self.TYPE_NAME)

    # -- properties --------------------------------------------------------
    def add_property(self, name, type_, get=None, set=None, description="", default=None):
        if name in self._props:
            raise QOMError(f"attempt to add duplicate property '{name}' to object (type '{self.TYPE_NAME}')")
        self._props[name] = Property(name, type_, get, set, description, default)
        return self._props[name]

    def del_property(self, name):
        self._props.pop(name, None)

    def properties(self) -> list[Property]:
        return list(self._props.values())

    def find_property(self, name) -> Property | None:
        return self._props.get(name)

    def get_property(self, name):
        prop = self._props.get(name)
        if prop is None:
            raise QOMError(f"Property '{self.TYPE_NAME}.{name}' not found")
        if prop.child is not None:
            return prop.child.canonical_path()
        if prop.link is not None:
            target = prop.link()
            return target.canonical_path() if target is not None else ""
        if prop.get is None:
            raise QOMError(f"Property '{self.TYPE_NAME}.{name}' is not readable")
        return prop.get()

    def set_property(self, name, value):
        prop = self._props.get(name)
        if prop is None:
            raise QOMError(f"Property '{self.TYPE_NAME}.{name}' not found")
        if prop.set is None:
            raise QOMError(f"Property '{self.TYPE_NAME}.{name}' is not writable")
        prop.set(value)

    # -- composition tree ----------------------------------------------------
    def add_child(self, name: str, child: "Object") -> "Object":
        if child.parent_obj is not None:
            raise QOMError(f"object '{name}' already has a parent")
        if name in self._props:
            raise QOMError(f"attempt to add duplicate property '{name}' to object (type '{self.TYPE_NAME}')")
        prop = Property(name, f"child<{child.TYPE_NAME}>", child=child)
        self._props[name] = prop
        child.parent_obj = self
        child.name_in_parent = name
        return child

    def add_child_auto(self, prefix: str, child: "Object") -> "Object":
        """Add as ``prefix[N]`` with the first free N (QEMU's ``device[N]``)."""
        n = 0
        while f"{prefix}[{n}]" in self._props:
            n += 1
        return self.add_child(f"{prefix}[{n}]", child)

    def del_child(self, child: "Object"):
        if child.name_in_parent is not None:
            self._props.pop(child.name_in_parent, None)
        child.parent_obj = None
        child.name_in_parent = None

    def add_link(self, name: str, type_name: str, target: Callable[[], "Object | None"]):
        self._props[name] = Property(name, f"link<{type_name}>", link=target)

    def children(self) -> list[tuple[str, "Object"]]:
        return [(p.name, p.child) for p in self._props.values() if p.child is not None]

    def child(self, name) -> "Object | None":
        prop = self._props.get(name)
        if prop is None:
            return None
        if prop.child is not None:
            return prop.child
        if prop.link is not None:
            return prop.link()
        return None

    def root(self) -> "Object":
        obj = self
        while obj.parent_obj is not None:
            obj = obj.parent_obj
        return obj

    def canonical_path(self) -> str:
        parts = []
        obj = self
        while obj.parent_obj is not None:
            parts.append(obj.name_in_parent)
            obj = obj.parent_obj
        return "/" + "/".join(reversed(parts))

    def walk(self):
        """This object and all its descendants (children only, depth first)."""
        yield self
        for _, c in self.children():
            yield from c.walk()

    def is_a(self, type_name: str) -> bool:
        from .types import type_is_a
        return type_is_a(self.TYPE_NAME, type_name)

    def __repr__(self):
        return f"<{self.TYPE_NAME} {self.canonical_path()}>"


def _resolve_abs(obj: Object, parts: list[str]) -> Object | None:
    for part in parts:
        if part == "":
            continue
        if part == "..":
            obj = obj.parent_obj
        else:
            obj = obj.child(part)
        if obj is None:
            return None
    return obj


def _resolve_partial(obj: Object, parts: list[str], found: list[Object]):
    for _, child in obj.children():
        hit = _resolve_abs(child, parts)
        if hit is not None and hit not in found:
            found.append(hit)
        _resolve_partial(child, parts, found)


def resolve_path(root: Object, path: str, type_name: str | None = None) -> tuple[Object | None, bool]:
    """Resolve PATH from ROOT. Returns (object, ambiguous)."""
    if path.startswith("/"):
        obj = _resolve_abs(root, path.split("/")[1:])
        if obj is not None and type_name and not obj.is_a(type_name):
            return None, False
        return obj, False
    parts = path.split("/")
    found: list[Object] = []
    _resolve_partial(root, parts, found)
    if type_name:
        found = [f for f in found if f.is_a(type_name)]
    if len(found) == 1:
        return found[0], False
    return None, len(found) > 1
