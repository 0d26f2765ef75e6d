"""``-object TYPE,id=ID,prop=value``: user-creatable objects (QEMU's ``object_add``).

A user-creatable type subclasses :class:`UserObject`, declares its
properties once as ``PROPS`` (:class:`~qemu_py.qom.DeviceProp`, the same
declarations devices use) and does its set-up in ``complete()``, which may
raise QOMError with a user-facing message.  Objects live under
``/objects/ID`` in the composition tree.

``create_objects(vm, options)`` is called by the launcher after the machine
is built and before ``-device`` options are processed (QEMU creates
"late" objects there too), so devices can refer to objects by id.

Error texts follow QEMU 7.2 (``qom/object_interfaces.c``):
``Parameter 'qom-type' is missing``, ``Parameter 'id' is missing``,
``invalid object type: NAME``, ``Parameter 'id' expects an identifier``,
``attempt to add duplicate property 'ID' to object (type 'container')``,
``Property 'TYPE.KEY' not found``; the launcher prefixes ``-object OPTS:``.
"""

from __future__ import annotations

from typing import Any

from qemu_py.qom import DeviceProp, Object, QOMError, register_type, type_info
from qemu_py.qom.device import parse_prop_value


@register_type("user-creatable", "object", abstract=True, user_creatable=False,
               desc="objects made with -object")
class UserObject(Object):
    """Base of ``-object`` types: declared properties and ``complete()``."""

    PROPS: list[DeviceProp] = []

    def __init__(self) -> None:
        super().__init__()
        self.id: str | None = None
        self.vm = None
        self.completed = False
        self.prop_values: dict[str, Any] = {}
        for cls in reversed(type(self).__mro__):
            for p in cls.__dict__.get("PROPS", []):
                self.prop_values[p.name] = p.default
                self._declare(p)

    def _declare(self, p: DeviceProp) -> None:
        if self.find_property(p.name):
            return

        def setter(value, p=p):
            if self.completed:
                raise QOMError(f"Property '{p.name}' can not be set after the object "
                               f"'{self.id}' was created")
            self.prop_values[p.name] = parse_prop_value(p.type, p.name, value)

        self.add_property(p.name, p.type, get=lambda p=p: self.prop_values[p.name],
                          set=setter, description=p.description, default=p.default)

    def prop(self, name: str):
        return self.prop_values[name]

    def complete(self) -> None:
        """Finish creation once every property is set (user_creatable_complete)."""


def _is_identifier(text: str) -> bool:
    return bool(text) and text[0].isalpha() and all(c.isalnum() or c in "-._" for c in text)


def object_opts_text(opts: dict) -> str:
    """The option string a parsed ``-object`` came from (for error messages)."""
    parts = [str(opts["qom-type"])] if "qom-type" in opts else []
    parts += [f"{k}={v}" for k, v in opts.items() if k != "qom-type"]
    return ",".join(parts)


def lookup_object_type(name: str | None):
    if name is None:
        raise QOMError("Parameter 'qom-type' is missing")
    ti = type_info(name)
    if ti is None or ti.abstract or not ti.user_creatable or not issubclass(ti.cls, UserObject):
        raise QOMError(f"invalid object type: {name}")
    return ti


def objects_container(vm):
    root = vm.qom_root
    container = root.child("objects")
    if container is None:
        raise QOMError("no /objects container")
    return container


def create_object(vm, opts: dict) -> UserObject:
    """user_creatable_add_type: create, set properties, add to /objects, complete."""
    opts = dict(opts)
    ti = lookup_object_type(opts.pop("qom-type", None))
    obj_id = opts.pop("id", None)
    if obj_id is None:
        raise QOMError("Parameter 'id' is missing")
    if not _is_identifier(obj_id):
        raise QOMError("Parameter 'id' expects an identifier")
    obj = ti.cls()
    obj.id = obj_id
    obj.vm = vm
    for key, value in opts.items():
        if obj.find_property(key) is None:
            raise QOMError(f"Property '{ti.name}.{key}' not found")
        obj.set_property(key, value)
    container = objects_container(vm)
    if container.find_property(obj_id) is not None:
        raise QOMError(f"attempt to add duplicate property '{obj_id}' to object "
                       "(type 'container')")
    container.add_child(obj_id, obj)
    try:
        obj.complete()
    except Exception:
        container.del_child(obj)
        raise
    obj.completed = True
    return obj


def create_objects(vm, options) -> list[UserObject]:
    """Create every ``-object``; QOMError texts carry the ``-object OPTS:`` prefix."""
    made = []
    for opts in options:
        try:
            made.append(create_object(vm, opts))
        except QOMError as e:
            raise QOMError(f"-object {object_opts_text(opts)}: {e}") from None
    return made


def find_object(vm, obj_id: str, type_name: str | None = None):
    """The object ``/objects/ID`` (optionally checking its type), or None."""
    if vm is None or vm.qom_root is None:
        return None
    container = vm.qom_root.child("objects")
    obj = container.child(obj_id) if container is not None else None
    if obj is not None and type_name is not None and not obj.is_a(type_name):
        return None
    return obj
