"""``query-qmp-schema``: the declarations as QEMU's SchemaInfo list (qapi/introspect.py).

Commands and events come first, in declaration order; then every type they
use, in order of first use (a type's members are visited when the type is).
Type names are hidden behind numbers ("0", "1", ...) given on first use,
except the built-ins (``str``, ``int``, ``bool``, ``number``, ``null``,
``any``); an array is named ``[ELEMENT]``. Optional members carry
``"default": null``.
"""

from __future__ import annotations

from functools import lru_cache

from .qapi import Array, Builtin, Enum, Schema, Struct, Union


class _Introspector:
    def __init__(self, schema: Schema):
        self.schema = schema
        self.names: dict[int, str] = {}
        self.used: list = []
        self.used_ids: set = set()
        self.out: list[dict] = []

    def use(self, typ) -> str:
        if isinstance(typ, Builtin):
            name = typ.name
        elif isinstance(typ, Array):
            name = "[" + self.use(typ.element) + "]"   # one array type per element type
        else:
            name = self._name(typ)
        key = name if isinstance(typ, (Builtin, Array)) else id(typ)
        if key not in self.used_ids:
            self.used_ids.add(key)
            self.used.append(typ)
        return name

    def _name(self, typ) -> str:
        name = self.names.get(id(typ))
        if name is None:
            name = self.names[id(typ)] = str(len(self.names))
        return name

    def entry(self, name: str, meta: str, fields: dict, features=()):
        fields["name"] = name
        fields["meta-type"] = meta
        if features:
            fields["features"] = list(features)
        self.out.append(fields)

    def run(self) -> list[dict]:
        schema = self.schema
        for cmd in schema.commands.values():
            fields = {"arg-type": self.use(cmd.arg_type),
                      "ret-type": self.use(cmd.ret_type or schema.empty)}
            if cmd.allow_oob:
                fields["allow-oob"] = True
            self.entry(cmd.name, "command", fields, cmd.features)
        for ev in schema.events.values():
            self.entry(ev.name, "event", {"arg-type": self.use(ev.arg_type or schema.empty)})
        i = 0
        while i < len(self.used):           # visiting a type may use more types
            self.visit(self.used[i])
            i += 1
        return self.out

    def visit(self, typ):
        if isinstance(typ, Builtin):
            self.entry(typ.name, "builtin", {"json-type": typ.json_type})
        elif isinstance(typ, Array):
            element = self.use(typ.element)
            self.entry("[" + element + "]", "array", {"element-type": element})
        elif isinstance(typ, Enum):
            self.entry(self._name(typ), "enum", {"members": [{"name": v} for v in typ.values],
                                                 "values": list(typ.values)})
        elif isinstance(typ, Struct):
            fields = {"members": [self._member(m) for m in typ.members]}
            if isinstance(typ, Union):
                fields["tag"] = typ.tag
                fields["variants"] = [{"case": case, "type": self.use(st)}
                                      for case, st in typ.variants.items()]
            self.entry(self._name(typ), "object", fields)

    def _member(self, m) -> dict:
        out = {"name": m.name, "type": self.use(m.type)}
        if m.optional:
            out["default"] = None
        return out


@lru_cache(maxsize=4)
def _cached(schema: Schema) -> tuple:
    return tuple(_Introspector(schema).run())


def schema_info(schema: Schema) -> list[dict]:
    """The SchemaInfo list (computed once per schema; callers get a fresh list)."""
    return list(_cached(schema))
