"""Composition tree, canonical paths, partial path resolution, properties."""

import pytest

from qemu_py.qom import Device, DeviceProp, Object, QOMError, register_type, resolve_path
from qemu_py.hw.core.machine import Container


@register_type("test-widget", "device", desc="a widget for object-model tests")
class Widget(Device):
    PROPS = [DeviceProp("iobase", "uint32", 0x501), DeviceProp("enabled", "bool", True),
             DeviceProp("label", "str", "w")]


def tree():
    root = Container()
    machine = Container()
    root.add_child("machine", machine)
    unattached = Container()
    machine.add_child("unattached", unattached)
    host = Container()
    machine.add_child("i440fx", host)
    a, b = Widget(), Widget()
    unattached.add_child_auto("device", a)
    unattached.add_child_auto("device", b)
    io = Widget()
    host.add_child("ioapic", io)
    return root, a, b, io


def test_canonical_paths_and_auto_names():
    root, a, b, io = tree()
    assert a.canonical_path() == "/machine/unattached/device[0]"
    assert b.canonical_path() == "/machine/unattached/device[1]"
    assert resolve_path(root, "/machine/unattached/device[1]") == (b, False)


def test_partial_paths():
    root, a, b, io = tree()
    assert resolve_path(root, "ioapic") == (io, False)
    assert resolve_path(root, "i440fx/ioapic") == (io, False)
    assert resolve_path(root, "/machine/ioapic") == (None, False)
    assert resolve_path(root, "device[0]") == (a, False)


def test_ambiguous_partial_path():
    root, a, b, io = tree()
    other = Container()
    root.child("machine").add_child("q35", other)
    other.add_child("ioapic", Widget())
    obj, ambiguous = resolve_path(root, "ioapic")
    assert obj is None and ambiguous


def test_typed_properties_and_errors():
    w = Widget()
    assert w.get_property("type") == "test-widget"
    assert w.get_property("iobase") == 0x501
    w.set_property("iobase", "0xf4")
    w.set_property("enabled", "off")
    assert w.prop("iobase") == 0xF4 and w.prop("enabled") is False
    with pytest.raises(QOMError, match="Parameter 'enabled' expects 'on' or 'off'"):
        w.set_property("enabled", "maybe")
    with pytest.raises(QOMError, match="Property 'test-widget.nope' not found"):
        w.get_property("nope")
    with pytest.raises(QOMError, match="maximum: 4294967295"):
        w.set_property("iobase", "0x100000000")


def test_properties_frozen_after_realize():
    w = Widget()
    w.id = "w0"
    w.do_realize()
    with pytest.raises(QOMError, match="after it was realized"):
        w.set_property("iobase", "1")


def test_child_and_link_properties_read_as_paths():
    root, a, b, io = tree()
    machine = root.child("machine")
    machine.add_link("primary", "test-widget", lambda: io)
    assert machine.get_property("unattached") == "/machine/unattached"
    assert machine.get_property("primary") == "/machine/i440fx/ioapic"
    assert resolve_path(root, "/machine/primary") == (io, False)
    assert [p.type for p in machine.properties() if p.name == "i440fx"] == ["child<container>"]


def test_gpio_lines():
    w = Widget()
    got = []
    w.init_gpio_in(lambda n, lvl: got.append((n, lvl)), 2)
    out = w.init_gpio_out(1)[0]
    out.connect(w.get_gpio_in(1))
    out.set(1)
    assert got == [(1, 1)]
    with pytest.raises(QOMError):
        w.get_gpio_in(5)


def test_object_base_type_property():
    assert Object().get_property("type") == "object"
