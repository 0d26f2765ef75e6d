"""query-qmp-schema: QEMU's SchemaInfo shape, self-consistent, and in step with query-commands."""

import pytest

from qemu_py.monitor.qapi import output_problem
from qemu_py.monitor.schema import SCHEMA

from .harness import InProcess

BUILTINS = {"str": "string", "int": "int", "bool": "boolean", "number": "number", "null": "null",
            "any": "value"}


@pytest.fixture(scope="module")
def replies():
    e = InProcess()
    q = e.qmp()
    out = {"schema": q.execute("query-qmp-schema")["return"],
           "commands": q.execute("query-commands")["return"]}
    e.close()
    return out


def test_every_entry_is_a_schema_info(replies):
    schema_info = SCHEMA.types["SchemaInfo"]
    assert output_problem(SCHEMA.commands["query-qmp-schema"].ret_type, replies["schema"]) is None
    for entry in replies["schema"]:
        assert output_problem(schema_info, entry) is None, entry


def test_names_are_unique_and_every_reference_resolves(replies):
    entries = replies["schema"]
    by_name = {e["name"]: e for e in entries}
    assert len(by_name) == len(entries)

    def refs(e):
        meta = e["meta-type"]
        if meta in ("command",):
            return [e["arg-type"], e["ret-type"]]
        if meta == "event":
            return [e["arg-type"]]
        if meta == "array":
            return [e["element-type"]]
        if meta == "object":
            return [m["type"] for m in e["members"]] + [v["type"] for v in e.get("variants", [])]
        return []

    for e in entries:
        for ref in refs(e):
            assert ref in by_name, (e["name"], ref)
        if e["meta-type"] == "array":
            assert e["name"] == "[" + e["element-type"] + "]"
        if e["meta-type"] == "builtin":
            assert BUILTINS[e["name"]] == e["json-type"]
        elif e["meta-type"] not in ("command", "event"):
            assert e["name"].isdigit() or e["meta-type"] == "array"     # type names are masked
        if e["meta-type"] == "enum":
            assert [m["name"] for m in e["members"]] == e["values"]
        if e["meta-type"] == "object":
            for m in e["members"]:
                assert set(m) <= {"name", "type", "default", "features"}
                assert m.get("default", None) is None


def test_commands_and_events_come_first_and_types_follow_in_order_of_use(replies):
    entries = replies["schema"]
    metas = [e["meta-type"] for e in entries]
    n_cmd = metas.count("command")
    n_ev = metas.count("event")
    assert metas[:n_cmd] == ["command"] * n_cmd
    assert metas[n_cmd:n_cmd + n_ev] == ["event"] * n_ev
    first = entries[0]
    assert first == {"name": "query-status", "meta-type": "command", "arg-type": "0", "ret-type": "1"}
    by_name = {e["name"]: e for e in entries}
    assert by_name["0"] == {"name": "0", "meta-type": "object", "members": []}
    status = by_name["1"]["members"]
    assert [(m["name"], m["type"]) for m in status][:2] == [("running", "bool"), ("singlestep", "bool")]
    assert by_name[status[2]["type"]]["values"][:4] == ["debug", "inmigrate", "internal-error", "io-error"]


def test_schema_and_query_commands_agree(replies):
    in_schema = {e["name"] for e in replies["schema"] if e["meta-type"] == "command"}
    listed = [c["name"] for c in replies["commands"]]
    assert len(listed) == len(set(listed))
    assert set(listed) == in_schema == set(SCHEMA.commands)


def test_declarations_as_introspected(replies):
    by_name = {e["name"]: e for e in replies["schema"]}
    hmc = by_name["human-monitor-command"]
    assert hmc["features"] == ["savevm-monitor-nodes"] and hmc["ret-type"] == "str"
    assert by_name[hmc["arg-type"]]["members"] == [
        {"name": "command-line", "type": "str"}, {"name": "cpu-index", "type": "int", "default": None}]
    assert by_name["x-exit-preconfig"]["features"] == ["unstable"]
    caps = by_name[by_name["qmp_capabilities"]["arg-type"]]["members"]
    assert caps[0]["name"] == "enable" and caps[0]["type"].startswith("[")
    shutdown = by_name[by_name["SHUTDOWN"]["arg-type"]]["members"]
    assert [m["name"] for m in shutdown] == ["guest", "reason"]
    reasons = by_name[shutdown[1]["type"]]["values"]
    assert "host-qmp-quit" in reasons and "host-signal" in reasons
    union = by_name[by_name["query-qmp-schema"]["ret-type"][1:-1]]
    assert union["tag"] == "meta-type"
    assert {v["case"] for v in union["variants"]} == {
        "builtin", "enum", "array", "object", "alternate", "command", "event"}
