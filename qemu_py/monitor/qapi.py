"""A small QAPI: types, commands and events declared once, as data.

``Schema`` holds the declarations (see ``schema.py``). Type references are
written as in QEMU's ``qapi/*.json``: a type name (``"str"``, ``"int"``,
``"bool"``, ``"number"``, ``"null"``, ``"any"`` or a declared name), a
one-element list for an array (``["CommandInfo"]``), or a dict of members
for an implicit object type; a member name starting with ``*`` is optional.

From these declarations come argument checking (``visit_input``, QEMU's
QObject input visitor with its error texts), ``query-qmp-schema``
(``introspect.py``) and ``query-commands``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .errors import QMPError
from .json_writer import qdict_order

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

BUILTIN_JSON_TYPES = {"str": "string", "int": "int", "bool": "boolean", "number": "number",
                      "null": "null", "any": "value"}
_EXPECTED = {"str": "string", "int": "integer", "bool": "boolean", "number": "number",
             "null": "null"}


class QAPIType:
    """Base of the type classes; each has a ``name`` (None for implicit objects)."""


@dataclass(eq=False)
class Builtin(QAPIType):
    name: str

    @property
    def json_type(self) -> str:
        return BUILTIN_JSON_TYPES[self.name]


@dataclass(eq=False)
class Enum(QAPIType):
    name: str
    values: tuple[str, ...]


@dataclass(eq=False)
class Array(QAPIType):
    element: QAPIType

    @property
    def name(self) -> str:
        return f"{self.element.name}List"


@dataclass(eq=False)
class Member:
    name: str
    type: QAPIType
    optional: bool = False


@dataclass(eq=False)
class Struct(QAPIType):
    name: str | None                      # None: an implicit (anonymous) type
    members: list[Member]
    extra_allowed: bool = False           # 'gen': false commands take any further member

    def member_names(self) -> frozenset[str]:
        names = self.__dict__.get("_names")
        if names is None or len(names) != len(self.members):
            names = self.__dict__["_names"] = frozenset(m.name for m in self.members)
        return names


@dataclass(eq=False)
class Union(Struct):
    """A flat union (output only): base members, a tag, one struct per tag value."""
    tag: str = ""
    variants: dict[str, Struct] = field(default_factory=dict)


@dataclass(eq=False)
class Command:
    name: str
    arg_type: Struct
    ret_type: QAPIType | None
    handler: Callable
    allow_preconfig: bool = False
    allow_oob: bool = False
    features: tuple[str, ...] = ()
    gen: bool = True                      # False: the handler gets the raw arguments


@dataclass(eq=False)
class Event:
    name: str
    arg_type: Struct | None


# -- the input visitor --------------------------------------------------------------------------

def _join(path: str | None, name: str) -> str:
    return name if path is None else f"{path}.{name}"


def visit_input(typ: QAPIType, value, path: str | None, name: str | None):
    """Check VALUE against TYP as QEMU's QObject input visitor does; raise QMPError."""
    if isinstance(typ, Builtin):
        tn = typ.name
        if tn == "any":
            return
        vt = type(value)
        if tn == "str":
            ok = vt is str
        elif tn == "int":
            ok = vt is int and INT64_MIN <= value <= INT64_MAX
        elif tn == "bool":
            ok = vt is bool
        elif tn == "number":
            ok = vt is int or vt is float
        else:
            ok = value is None
        if not ok:
            raise QMPError(f"Invalid parameter type for '{path}', expected: {_EXPECTED[tn]}")
    elif isinstance(typ, Enum):
        if type(value) is not str:
            raise QMPError(f"Invalid parameter type for '{path}', expected: string")
        if value not in typ.values:
            raise QMPError(f"Parameter '{name if name is not None else 'null'}' does not accept "
                           f"value '{value}'")
    elif isinstance(typ, Array):
        if type(value) is not list:
            raise QMPError(f"Invalid parameter type for '{path}', expected: array")
        for i, item in enumerate(value):
            visit_input(typ.element, item, f"{path}[{i}]", None)
    elif isinstance(typ, Struct):
        if type(value) is not dict:
            raise QMPError(f"Invalid parameter type for '{path}', expected: object")
        visit_members(typ, value, path)
    else:
        raise TypeError(f"cannot visit {typ!r}")


def visit_members(struct: Struct, value: dict, path: str | None):
    for m in struct.members:
        if m.name not in value:
            if m.optional:
                continue
            raise QMPError(f"Parameter '{_join(path, m.name)}' is missing")
        visit_input(m.type, value[m.name], _join(path, m.name), m.name)
    if not struct.extra_allowed:
        known = struct.member_names()
        if any(key not in known for key in value):
            for key in qdict_order(value):
                if key not in known:
                    raise QMPError(f"Parameter '{_join(path, key)}' is unexpected")


# -- output checking (used by tests to hold handlers to their declarations) ----------------------

def output_problem(typ: QAPIType | None, value, where: str = "return") -> str | None:
    """Why VALUE is not a valid output of TYP, or None when it is."""
    if typ is None:
        return None if value == {} else f"{where}: expected {{}}"
    if isinstance(typ, Builtin):
        try:
            visit_input(typ, value, where, where)
        except QMPError as e:
            return e.desc
        return None
    if isinstance(typ, Enum):
        return None if value in typ.values else f"{where}: {value!r} not in {typ.name}"
    if isinstance(typ, Array):
        if type(value) is not list:
            return f"{where}: expected a list"
        for i, item in enumerate(value):
            problem = output_problem(typ.element, item, f"{where}[{i}]")
            if problem:
                return problem
        return None
    if type(value) is not dict:
        return f"{where}: expected an object"
    members = list(typ.members)
    if isinstance(typ, Union):
        variant = typ.variants.get(value.get(typ.tag))
        if variant is None:
            return f"{where}: tag {typ.tag}={value.get(typ.tag)!r} has no variant"
        members += variant.members
    known = {m.name: m for m in members}
    for key in value:
        if key not in known:
            return f"{where}: unexpected member {key!r}"
    for m in members:
        if m.name not in value:
            if not m.optional:
                return f"{where}: missing member {m.name!r}"
            continue
        problem = output_problem(m.type, value[m.name], f"{where}.{m.name}")
        if problem:
            return problem
    return None


# -- declarations ----------------------------------------------------------------------------------

class Schema:
    """Named types, commands and events, in declaration (= QEMU schema) order."""

    def __init__(self):
        self.types: dict[str, QAPIType] = {b: Builtin(b) for b in BUILTIN_JSON_TYPES}
        self._pending: list[tuple[Struct, dict]] = []
        self.commands: dict[str, Command] = {}
        self.events: dict[str, Event] = {}
        self.empty = Struct("q_empty", [])

    # declaring
    def enum(self, name: str, values):
        self.types[name] = Enum(name, tuple(values))

    def struct(self, name: str, members: dict):
        st = Struct(name, [])
        self.types[name] = st
        self._pending.append((st, members))

    def union(self, name: str, base: dict, tag: str, variants: dict[str, str]):
        un = Union(name, [], tag=tag)
        self.types[name] = un
        self._pending.append((un, base))
        un.variants = variants                 # type names; resolved in finish()

    def command(self, name: str, handler, data: dict | None = None, returns=None, *,
                allow_preconfig: bool = False, allow_oob: bool = False, features=(),
                gen: bool = True):
        arg = self._implicit(data, extra_allowed=not gen)
        self.commands[name] = Command(name, arg, returns, handler, allow_preconfig, allow_oob,
                                      tuple(features), gen)

    def event(self, name: str, data: dict | None = None):
        self.events[name] = Event(name, self._implicit(data) if data else None)

    def _implicit(self, members: dict | None, extra_allowed: bool = False) -> Struct:
        if members is None and not extra_allowed:
            return self.empty
        st = Struct(None, [], extra_allowed)
        self._pending.append((st, members or {}))
        return st

    # resolving references
    def ref(self, spec) -> QAPIType:
        if isinstance(spec, QAPIType):
            return spec
        if isinstance(spec, list):
            return Array(self.ref(spec[0]))
        if isinstance(spec, dict):
            st = Struct(None, [])
            self._fill(st, spec)
            return st
        typ = self.types.get(spec)
        if typ is None:
            raise KeyError(f"QAPI type {spec!r} is not declared")
        return typ

    def _fill(self, st: Struct, members: dict):
        for key, spec in members.items():
            optional = key.startswith("*")
            st.members.append(Member(key.lstrip("*"), self.ref(spec), optional))

    def finish(self) -> "Schema":
        for st, members in self._pending:
            self._fill(st, members)
            if isinstance(st, Union):
                st.variants = {case: self.ref(tn) for case, tn in st.variants.items()}
        self._pending.clear()
        for cmd in self.commands.values():
            if cmd.ret_type is not None:
                cmd.ret_type = self.ref(cmd.ret_type)
        return self
