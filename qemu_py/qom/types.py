"""QOM type registry: type names, parents, abstractness and descriptions."""

from __future__ import annotations

from dataclasses import dataclass, field

from .error import QOMError


@dataclass
class TypeInfo:
    name: str
    cls: type
    parent: str | None
    abstract: bool = False
    desc: str = ""
    user_creatable: bool = True
    interfaces: tuple[str, ...] = field(default_factory=tuple)


_registry: dict[str, TypeInfo] = {}


def register_type(name: str, parent: str | None = None, *, abstract: bool = False,
                  desc: str = "", user_creatable: bool = True, interfaces=()):
    """Class decorator: give a Python class a QOM type name."""

    def deco(cls):
        if name in _registry and _registry[name].cls is not cls:
            raise QOMError(f"type '{name}' registered twice")
        par = parent
        if par is None:
            for base in cls.__mro__[1:]:
                tn = base.__dict__.get("TYPE_NAME")
                if tn:
                    par = tn
                    break
        cls.TYPE_NAME = name
        _registry[name] = TypeInfo(name, cls, par, abstract, desc or (cls.__doc__ or "").strip().split("\n")[0],
                                   user_creatable, tuple(interfaces))
        return cls

    return deco


def type_registry() -> dict[str, TypeInfo]:
    return dict(_registry)


def type_info(name: str) -> TypeInfo | None:
    return _registry.get(name)


def type_ancestors(name: str) -> list[str]:
    """The type itself, then its parents up to the root."""
    out = []
    while name:
        out.append(name)
        ti = _registry.get(name)
        if ti is None:
            break
        out.extend(ti.interfaces)
        name = ti.parent
    return out


def type_is_a(name: str, ancestor: str) -> bool:
    return ancestor in type_ancestors(name)


def types_implementing(ancestor: str, include_abstract: bool = False) -> list[TypeInfo]:
    return [ti for ti in _registry.values()
            if type_is_a(ti.name, ancestor) and (include_abstract or not ti.abstract)]
