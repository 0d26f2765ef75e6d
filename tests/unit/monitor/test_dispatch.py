"""QMP dispatch in process: QEMU 7.2's error texts (spec 3.2, 3.3), ids, negotiation, commands."""

import json

import pytest

from qemu_py.monitor.qapi import output_problem
from qemu_py.monitor.schema import SCHEMA

from .harness import BASE, InProcess


@pytest.fixture
def emu():
    e = InProcess()
    yield e
    e.close()


@pytest.fixture
def qmp(emu):
    return emu.qmp()


def err(cls, desc, **extra):
    return {"error": {"class": cls, "desc": desc}, **extra}


def generic(desc, **extra):
    return err("GenericError", desc, **extra)


# -- negotiation ------------------------------------------------------------------------------------

def test_commands_before_negotiation(emu):
    q = emu.qmp(negotiate=False)
    needed = err("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'")
    assert q.execute("query-status") == needed
    assert q.execute("no-such-command", id=3) == {**needed, "id": 3}
    # errors other than CommandNotFound keep their text
    assert q.messages(b'{"foo": 1}') == [generic("QMP input member 'foo' is unexpected")]
    assert q.execute("qmp_capabilities", {"enable": ["bogus"]}) == \
        generic("Parameter 'null' does not accept value 'bogus'")
    assert q.execute("qmp_capabilities", {"enable": ["oob"]}, id="neg-1") == {"return": {}, "id": "neg-1"}
    assert q.execute("qmp_capabilities") == err(
        "CommandNotFound", "Capabilities negotiation is already complete, command ignored")
    assert q.execute("query-status")["return"]["status"] == "running"


def test_oob_needs_the_capability(emu):
    plain = emu.qmp()
    assert plain.messages(b'{"exec-oob": "query-status"}') == [
        generic("QMP input member 'exec-oob' is unexpected")]
    oob = emu.qmp(negotiate=False)
    assert oob.execute("qmp_capabilities", {"enable": ["oob"]}) == {"return": {}}
    assert oob.messages(b'{"exec-oob": "query-status", "id": 1}') == [
        generic("The command query-status does not support OOB", id=1)]
    assert oob.messages(b'{"exec-oob": "nope"}') == [
        err("CommandNotFound", "The command nope has not been found")]
    # members are checked in QDict order, which visits exec-oob first
    assert oob.messages(b'{"execute": "query-status", "exec-oob": "stop"}') == [
        generic("QMP input member 'execute' clashes with 'exec-oob'")]


# -- request shape (spec 3.3) ---------------------------------------------------------------------------

@pytest.mark.parametrize("request_text, reply", [
    (b'[1, 2]', generic("QMP input must be a JSON object")),
    (b'"hello"', generic("QMP input must be a JSON object")),
    (b'{"foo": 1}', generic("QMP input member 'foo' is unexpected")),
    (b'{"execute": 1}', generic("QMP input member 'execute' must be a string")),
    (b'{"execute": "query-status", "arguments": []}',
     generic("QMP input member 'arguments' must be an object")),
    (b'{"id": 5}', generic("QMP input lacks member 'execute'", id=5)),
    (b'{}', generic("QMP input lacks member 'execute'")),
    (b'{"execute": "no-such-command"}',
     err("CommandNotFound", "The command no-such-command has not been found")),
    (b'{"execute": "exit-preconfig"}',
     err("CommandNotFound", "The command exit-preconfig has not been found")),
    (b'{"execute": "query-status", "arguments": {"x": 1}}', generic("Parameter 'x' is unexpected")),
    (b'{"execute": "human-monitor-command"}', generic("Parameter 'command-line' is missing")),
    (b'{"execute": "human-monitor-command", "arguments": {"command-line": 1}}',
     generic("Invalid parameter type for 'command-line', expected: string")),
    (b'{"execute": "human-monitor-command", "arguments": {"command-line": "", "cpu-index": 1.5}}',
     generic("Invalid parameter type for 'cpu-index', expected: integer")),
    (b'{"execute": "human-monitor-command", "arguments": {"command-line": "", "cpu-index": '
     b'9223372036854775808}}', generic("Invalid parameter type for 'cpu-index', expected: integer")),
    (b'{"execute": "qom-list-types", "arguments": {"abstract": "yes"}}',
     generic("Invalid parameter type for 'abstract', expected: boolean")),
    (b'{"execute": "qmp_capabilities", "arguments": {"enable": "oob"}}',
     generic("Invalid parameter type for 'enable', expected: array")),
    (b'{"execute": "qmp_capabilities", "arguments": {"enable": [1]}}',
     generic("Invalid parameter type for 'enable[0]', expected: string")),
    (b'{"execute": "qom-set", "arguments": {"path": "/machine", "property": "x"}}',
     generic("Parameter 'value' is missing")),
    (b'{"execute": "x-exit-preconfig"}',
     generic("The command is permitted only before machine initialization")),
    (b'{garbage}', generic("JSON parse error, invalid keyword 'garbage'")),
    (b'{"execute": "query-status",}', generic("JSON parse error, expecting value")),
])
def test_error_replies(qmp, request_text, reply):
    assert qmp.messages(request_text) == [reply]
    assert "return" in qmp.execute("query-status")          # still usable


@pytest.mark.parametrize("ident", [
    "neg-1", "", 0, -1, 18446744073709551615, 1.5, 0.1, True, False, None, [], {},
    [1, "two", [3.25]], {"nested": {"id": [None, False]}}, "é\x00😀", "__qmp#00006",
])
def test_id_is_echoed_verbatim(qmp, ident):
    text = json.dumps({"execute": "query-name", "id": ident}).encode()
    line, = qmp.feed(text)
    assert json.loads(line) == {"return": {}, "id": ident}
    line, = qmp.feed(json.dumps({"execute": "nope", "id": ident}).encode())
    assert json.loads(line)["id"] == ident
    assert line.startswith(b'{"id": ')                      # QEMU's QDict puts "id" first here


def test_id_echo_keeps_qemus_number_spelling(qmp):
    assert qmp.feed(b'{"execute": "query-name", "id": 18446744073709551616}') == [
        b'{"return": {}, "id": 1.8446744073709552e+19}\r\n']
    assert qmp.feed(b'{"execute": "query-name", "id": 0.1}') == [
        b'{"return": {}, "id": 0.10000000000000001}\r\n']


def test_pretty_output_uses_crlf_on_every_line(emu):
    q = emu.qmp(pretty=True)
    assert q.raw(b'{"execute": "query-name", "id": 1}') == (
        b'{\r\n    "return": {\r\n    },\r\n    "id": 1\r\n}\r\n')


# -- commands ---------------------------------------------------------------------------------------

def test_query_replies_match_qemu_7_2(qmp):
    assert qmp.execute("query-version") == {"return": {
        "qemu": {"major": 7, "minor": 2, "micro": 22}, "package": "qemu-py 0.1.0"}}
    assert qmp.feed(b'{"execute": "query-status"}') == [
        b'{"return": {"status": "running", "singlestep": false, "running": true}}\r\n']
    assert qmp.execute("query-name") == {"return": {}}
    assert qmp.execute("query-uuid") == {"return": {"UUID": "00000000-0000-0000-0000-000000000000"}}
    assert qmp.execute("query-kvm") == {"return": {"enabled": False, "present": True}}
    assert qmp.execute("query-target") == {"return": {"arch": "x86_64"}}
    assert qmp.execute("query-cpus-fast") == {"return": []}
    assert qmp.execute("query-accelerators") == {"return": {"enabled": "qtest",
                                                             "present": ["kvm", "qtest", "tcg"]}}
    assert qmp.execute("query-hotpluggable-cpus") == generic(
        "The feature 'query-hotpluggable-cpus' is not enabled")
    machines = qmp.execute("query-machines")["return"]
    none = next(m for m in machines if m["name"] == "none")
    assert none == {"name": "none", "cpu-max": 1, "hotpluggable-cpus": False,
                    "numa-mem-supported": False, "deprecated": False}


def test_query_name_with_name_option():
    e = InProcess([*BASE, "-name", "guest0"])
    try:
        q = e.qmp()
        assert q.execute("query-name") == {"return": {"name": "guest0"}}
        assert q.hmp("info name") == "guest0\r\n"
    finally:
        e.close()


def test_every_query_reply_conforms_to_its_declared_type(qmp):
    for name, cmd in SCHEMA.commands.items():
        if not name.startswith("query-"):
            continue
        reply = qmp.execute(name)
        if "error" in reply:
            continue
        assert output_problem(cmd.ret_type, reply["return"]) is None, name


def test_qom_commands(qmp):
    assert qmp.execute("qom-get", {"path": "/machine", "property": "type"}) == {"return": "none-machine"}
    names = {p["name"]: p["type"] for p in qmp.execute("qom-list", {"path": "/machine"})["return"]}
    assert names["peripheral"] == "child<container>" and names["type"] == "string"
    assert qmp.execute("qom-get", {"path": "/machine", "property": "nope"}) == generic(
        "Property 'none-machine.nope' not found")
    assert qmp.execute("qom-list", {"path": "/nowhere"}) == err("DeviceNotFound",
                                                                "Device '/nowhere' not found")
    assert qmp.execute("qom-get", {"path": "unattached", "property": "type"}) == {"return": "container"}
    assert qmp.execute("qom-set", {"path": "/machine", "property": "type", "value": "x"}) == generic(
        "Property 'none-machine.type' is not writable")
    assert qmp.execute("qom-list", {"path": ""}) == generic("Path '' is ambiguous")


def test_qom_list_types_filters(qmp):
    all_types = qmp.execute("qom-list-types")["return"]
    assert all("abstract" not in t for t in all_types)
    with_abstract = qmp.execute("qom-list-types", {"abstract": True})["return"]
    assert {"name": "device", "abstract": True, "parent": "object"} in with_abstract
    machines = qmp.execute("qom-list-types", {"implements": "machine"})["return"]
    assert {"name": "none-machine", "parent": "machine"} in machines
    assert all(t["name"].endswith("-machine") for t in machines)
    assert qmp.execute("qom-list-types", {"implements": "no-such-type"}) == {"return": []}


def test_device_commands(qmp):
    assert qmp.execute("device_add", {"driver": "no-such-device"}) == generic(
        "'no-such-device' is not a valid device model name")
    assert qmp.execute("device_add", {}) == generic("Parameter 'driver' is missing")
    assert qmp.execute("device_add", {"driver": "isa-debug-exit"}) == generic(
        "No 'ISA' bus found for device 'isa-debug-exit'")
    assert qmp.execute("device_del", {"id": "nope"}) == err("DeviceNotFound", "Device 'nope' not found")
    assert qmp.execute("device-list-properties", {"typename": "nope"}) == err(
        "DeviceNotFound", "Device 'nope' not found")
    assert qmp.execute("device-list-properties", {"typename": "container"}) == generic(
        "Parameter 'typename' expects device type")
    assert qmp.execute("device-list-properties", {"typename": "device"}) == generic(
        "Parameter 'typename' expects non-abstract device type")
    props = qmp.execute("device-list-properties", {"typename": "isa-debug-exit"})["return"]
    assert {p["name"] for p in props} >= {"iobase", "iosize"}


def test_device_add_and_del_on_pc():
    e = InProcess(["-M", "pc", "-accel", "qtest", "-display", "none"])
    try:
        q = e.qmp()
        assert q.execute("device_add", {"driver": "isa-debug-exit"}) == generic(
            "Bus 'isa.0' does not support hotplugging")
        assert q.execute("device_add", {"driver": "pci-testdev", "id": "td0"}) == {"return": {}}
        assert q.execute("device_add", {"driver": "pci-testdev", "id": "td0"}) == generic(
            "Duplicate device ID 'td0'")
        assert q.execute("qom-get", {"path": "/machine/peripheral/td0", "property": "type"}) == {
            "return": "pci-testdev"}
        msgs = q.messages(b'{"execute": "device_del", "arguments": {"id": "td0"}}')
        assert [m.get("event") for m in msgs] == ["DEVICE_DELETED", None]
        assert msgs[0]["data"] == {"device": "td0", "path": "/machine/peripheral/td0"}
        assert msgs[1] == {"return": {}}
    finally:
        e.close()


def test_failed_device_add_leaves_nothing_behind(qmp):
    for _ in range(2):
        reply = qmp.execute("device_add", {"driver": "pci-testdev", "id": "td0"})
        assert reply == generic("No 'PCI' bus found for device 'pci-testdev'")


def test_query_commands_lists_exactly_the_declared_commands(qmp):
    names = [c["name"] for c in qmp.execute("query-commands")["return"]]
    assert sorted(names) == sorted(SCHEMA.commands)
    assert names[0] == "device_add"          # registered last in QEMU, listed first


def test_internal_errors_are_reported_not_raised(qmp, monkeypatch, capsys):
    from qemu_py.monitor.commands import runstate
    monkeypatch.setattr(SCHEMA.commands["query-status"], "handler",
                        lambda session: runstate.no_such_function())
    assert qmp.execute("query-status") == generic(
        "internal error in 'query-status': AttributeError: module "
        "'qemu_py.monitor.commands.runstate' has no attribute 'no_such_function'")
    assert "Traceback" in capsys.readouterr().err


# -- preconfig (spec 3.6), in process -----------------------------------------------------------

def test_preconfig_allows_only_allow_preconfig_commands():
    e = InProcess([*BASE, "--preconfig"])
    try:
        q = e.qmp()
        assert q.execute("query-status")["return"] == {"status": "prelaunch", "singlestep": False,
                                                       "running": False}
        for name in ("cont", "stop", "query-cpus-fast", "system_reset", "device_add"):
            assert q.execute(name) == generic(
                f"The command '{name}' is permitted only after machine initialization has completed")
        allowed = {n for n, c in SCHEMA.commands.items() if c.allow_preconfig}
        assert {"qmp_capabilities", "query-status", "query-commands", "query-qmp-schema",
                "query-hotpluggable-cpus", "x-exit-preconfig", "human-monitor-command",
                "qom-list", "qom-get", "quit"} <= allowed
        assert q.hmp("xp /x 0") == ("Command 'xp' not available until machine initialization "
                                    "has completed.\r\n")
        assert q.hmp("info status") == "VM status: paused (prelaunch)\r\n"
        msgs = q.messages(b'{"execute": "x-exit-preconfig"}')
        assert [m.get("event") for m in msgs] == ["RESUME", None] and msgs[1] == {"return": {}}
        assert q.execute("x-exit-preconfig") == generic(
            "The command is permitted only before machine initialization")
        assert q.execute("query-status")["return"]["status"] == "running"
    finally:
        e.close()


def test_startup_error_in_x_exit_preconfig_is_a_generic_error():
    e = InProcess([*BASE, "--preconfig", "-device", "no-such-device"])
    try:
        q = e.qmp()
        # the message alone: the "-device ARG:" location belongs to the start-up print
        assert q.execute("x-exit-preconfig") == generic(
            "'no-such-device' is not a valid device model name")
        assert q.execute("query-status")["return"]["status"] == "prelaunch"
    finally:
        e.close()


def test_a_return_value_that_is_not_json_is_an_error_reply(qmp, monkeypatch, capsys):
    monkeypatch.setattr(SCHEMA.commands["query-name"], "handler", lambda session: {"name": object()})
    assert qmp.execute("query-name", id=9) == generic(
        "internal error: cannot write object as QMP JSON", id=9)
    assert "TypeError" in capsys.readouterr().err
