"""Fuzzing the QMP server in process: every document gets one proper reply, never an exception.

Hypothesis draws JSON values, command/argument shapes and seeds; a fast loop
expands each example into a batch of documents (requests built from the
declarations, arbitrary values, QEMU's single-quoted spelling, random chunk
boundaries) and feeds the batch to a QMP monitor attached to a capture
chardev. Over 100,000 documents in total; each reply is checked for shape,
``id`` echo and, for a successful command, conformance of the return value
to its declared type. A differential test holds the C-decoder fast path to
the exact lexer/parser path: one chunk and one byte at a time must answer
alike.
"""

from __future__ import annotations

import json
import random
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qemu_py.monitor.qapi import Array, Builtin, Enum, Struct, output_problem
from qemu_py.monitor.schema import SCHEMA

from .harness import InProcess

SETTINGS = dict(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

COMMANDS = sorted(n for n in SCHEMA.commands if n != "quit")
ERROR_CLASSES = {"GenericError", "CommandNotFound", "DeviceNotFound", "DeviceNotActive",
                 "KVMMissingCap"}   # every ErrorClass of QEMU 7.2
HMP_LINES = ["info status", "info version", "info name", "info registers", "info irq",
             "info qom-tree", "info qtree", "info kvm", "help", "help xp", "info", "stop", "cont",
             "system_reset", "system_powerdown", "xp /4xb 0", "xp /3dg 8", "xp /2c 0x10", "xp",
             "xp /z 0", "xp /1xw 0x2000000", "x /x 0", "xp /2og (1+2)*4", "nosuchcmd", "info mtree"]
QUIT_LINE = re.compile(r"[ \t\n\v\f\r]*(q|quit)([ \t\n\v\f\r/]|$)")
NONCHAR = re.compile("[\ufdd0-\ufdef\ufffe\uffff]|[\U0001fffe-\U0001ffff]|[\U0010fffe-\U0010ffff]")

scalars = (st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(st.characters(blacklist_categories=("Cs",)), max_size=12))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=8)


# -- building documents ------------------------------------------------------------------------------

def qemu_text(value, rng: random.Random) -> str:
    """VALUE in QEMU's dialect: strings randomly single- or double-quoted, random spacing."""
    sp = rng.choice(["", " ", "\n", "\r\n\t"])
    if isinstance(value, str):
        if rng.random() < 0.3:
            body = json.dumps(value)[1:-1].replace('\\"', '"').replace("'", "\\'")
            return "'" + body + "'"
        return json.dumps(value, ensure_ascii=rng.random() < 0.5)
    if isinstance(value, dict):
        return "{" + sp + ("," + sp).join(qemu_text(k, rng) + ":" + sp + qemu_text(v, rng)
                                          for k, v in value.items()) + sp + "}"
    if isinstance(value, list):
        return "[" + sp + ("," + sp).join(qemu_text(v, rng) for v in value) + sp + "]"
    return json.dumps(value)


def value_for(typ, pool: list, rng: random.Random):
    """Mostly a value of TYP, sometimes anything from POOL."""
    if rng.random() < 0.25:
        return rng.choice(pool)
    if isinstance(typ, Builtin):
        return {"str": lambda: rng.choice(["/machine", "type", "", "info status", "x" * 3]),
                "int": lambda: rng.choice([0, 1, -1, 2 ** 63 - 1]),
                "bool": lambda: rng.random() < 0.5, "number": lambda: 1.5, "null": lambda: None,
                "any": lambda: rng.choice(pool)}[typ.name]()
    if isinstance(typ, Enum):
        return rng.choice(list(typ.values) + ["bogus"])
    if isinstance(typ, Array):
        return [value_for(typ.element, pool, rng) for _ in range(rng.randrange(3))]
    if isinstance(typ, Struct):
        return arguments_for(typ, pool, rng)
    return None


def arguments_for(struct: Struct, pool: list, rng: random.Random) -> dict:
    args = {}
    for m in struct.members:
        if rng.random() < (0.5 if m.optional else 0.9):
            args[m.name] = value_for(m.type, pool, rng)
    if rng.random() < 0.1:
        args[rng.choice(["x", "extra", "id"])] = rng.choice(pool)
    return args


def request(rng: random.Random, pool: list) -> object:
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(pool)                                 # anything at all
    name = rng.choice(COMMANDS) if roll < 0.85 else rng.choice(["nope", "", "Query-Status", 7, None])
    doc = {"execute": name}
    cmd = SCHEMA.commands.get(name) if isinstance(name, str) else None
    if cmd is not None and (cmd.arg_type.members or rng.random() < 0.2):
        doc["arguments"] = arguments_for(cmd.arg_type, pool, rng)
        if name == "human-monitor-command" and rng.random() < 0.7:
            doc["arguments"]["command-line"] = rng.choice(HMP_LINES)
    elif rng.random() < 0.1:
        doc["arguments"] = rng.choice(pool)
    if rng.random() < 0.6:
        doc["id"] = rng.choice(pool)
    if rng.random() < 0.05:
        doc[rng.choice(["exec-oob", "foo", "arguments"])] = rng.choice(pool)
    line = doc.get("arguments", {}).get("command-line") if isinstance(doc.get("arguments"), dict) else None
    if name == "human-monitor-command" and isinstance(line, str) and QUIT_LINE.match(line):
        doc["arguments"]["command-line"] = "info status"         # a quit would end the machine
    return doc


# -- checking replies ------------------------------------------------------------------------------------

def qemu_number(value):
    """How QEMU's parser stores VALUE (big integers become doubles)."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int):
        return value if -(2 ** 63) <= value < 2 ** 64 else float(value)
    if isinstance(value, list):
        return [qemu_number(v) for v in value]
    return {k: qemu_number(v) for k, v in value.items()}


def contains_nonchar(value) -> bool:
    if isinstance(value, str):
        return bool(NONCHAR.search(value))
    if isinstance(value, list):
        return any(contains_nonchar(v) for v in value)
    if isinstance(value, dict):
        return any(contains_nonchar(k) or contains_nonchar(v) for k, v in value.items())
    return False


def check_replies(out: bytes, docs: list):
    assert out.endswith(b"\r\n") or not docs
    replies = []
    for line in out.split(b"\r\n")[:-1]:
        msg = json.loads(line)
        assert type(msg) is dict
        if "event" in msg:
            assert set(msg) <= {"event", "timestamp", "data"}
            continue
        replies.append(msg)
    assert len(replies) == len(docs)
    for doc, reply in zip(docs, replies):
        assert set(reply) <= {"return", "error", "id"} and ("return" in reply) != ("error" in reply)
        parsed = not contains_nonchar(doc)
        if "error" in reply:
            error = reply["error"]
            assert set(error) == {"class", "desc"} and error["class"] in ERROR_CLASSES
            assert isinstance(error["desc"], str) and error["desc"]
            assert not error["desc"].startswith("internal error"), (doc, error)
            if not parsed:
                assert error["desc"].startswith("JSON parse error, ")
        else:
            assert parsed and isinstance(doc, dict)
            cmd = SCHEMA.commands[doc.get("execute") or doc.get("exec-oob")]
            assert output_problem(cmd.ret_type, reply["return"]) is None, (doc, reply)
        if parsed and isinstance(doc, dict) and "id" in doc:
            assert reply["id"] == qemu_number(doc["id"])
        else:
            assert "id" not in reply


class Target:
    """A negotiated in-process monitor, rebuilt if something ended the machine."""

    def __init__(self):
        self.emu = InProcess()
        self.qmp = self.emu.qmp()

    def feed(self, data: bytes, rng: random.Random) -> bytes:
        out = bytearray()
        pos = 0
        while pos < len(data):
            step = rng.choice([1, 7, 64, 4096, 1 << 20])
            out += self.qmp.raw(data[pos:pos + step])
            pos += step
        assert not self.emu.vm.loop.quit_requested
        return bytes(out)

    def close(self):
        self.emu.close()


def run_batch(docs: list, rng: random.Random):
    target = Target()
    try:
        data = "\n".join(qemu_text(d, rng) for d in docs).encode("utf-8", "surrogatepass") + b"\n"
        check_replies(target.feed(data, rng), docs)
    finally:
        target.close()


# -- the tests -------------------------------------------------------------------------------------------

@settings(max_examples=150, **SETTINGS)
@given(st.lists(values, min_size=1, max_size=12), st.integers(0, 2 ** 32))
def test_random_json_documents(pool, seed):
    """500 documents per example: arbitrary values and arbitrary request-shaped objects."""
    rng = random.Random(seed)
    docs = [rng.choice(pool) if rng.random() < 0.3 else
            {**{rng.choice(["execute", "arguments", "id", "exec-oob", "x"]): rng.choice(pool)
                for _ in range(rng.randrange(4))}}
            for _ in range(500)]
    run_batch(docs, rng)


@settings(max_examples=100, **SETTINGS)
@given(st.lists(values, min_size=1, max_size=12), st.integers(0, 2 ** 32))
def test_random_commands_and_arguments(pool, seed):
    """300 requests per example, shaped by the command declarations."""
    rng = random.Random(seed)
    run_batch([request(rng, pool) for _ in range(300)], rng)


@settings(max_examples=100, **SETTINGS)
@given(st.lists(values, min_size=1, max_size=6), st.integers(0, 2 ** 32))
def test_fast_path_answers_like_the_exact_path(pool, seed):
    rng = random.Random(seed)
    docs = [request(rng, pool) for _ in range(20)]
    data = "\n".join(qemu_text(d, rng) for d in docs).encode("utf-8", "surrogatepass") + b"\n"
    whole, bytewise = Target(), Target()
    try:
        strip = re.compile(rb'"timestamp": \{[^}]*\}')
        one = whole.qmp.raw(data)
        many = b"".join(bytewise.qmp.raw(data[i:i + 1]) for i in range(len(data)))
        assert strip.sub(b"", one) == strip.sub(b"", many)
    finally:
        whole.close()
        bytewise.close()


@settings(max_examples=200, **SETTINGS)
@given(st.binary(max_size=200), st.sampled_from([b"", b"{", b'{"a": "', b"[[", b"'"]))
def test_garbage_then_0xff_resynchronises(garbage, prefix):
    target = Target()
    try:
        out = target.qmp.raw(prefix + garbage + b'\xff{"execute": "query-name", "id": "sync"}')
        lines = out.split(b"\r\n")
        assert lines[-1] == b""
        for line in lines[:-1]:
            msg = json.loads(line)
            assert "return" in msg or "error" in msg or "event" in msg
        assert json.loads(lines[-2]) == {"return": {}, "id": "sync"}
    finally:
        target.close()


PIECES = [b'{"execute": "query-name", "id": 1}', b"{'execute': 'query-status'}", b"[1, 2]", b"\xff",
          b"}", b"]", b'"str"', b"12 ", b"nul", b"l\n", b'{"a": "\xc3\xa9"}', b'{"a": 1, "a": 2}',
          b'{"execute": "stop"}', b'{"execute": "cont", "arguments": {}}', b'{"id": [1, {"k": null}]',
          b"}", b'"\\ud83d\\ude00"', b'{"execute": 1e400}', b" \r\n\t", b"{", b"[", b"'", b'"']


@settings(max_examples=150, **SETTINGS)
@given(st.lists(st.one_of(st.binary(max_size=8), st.sampled_from(PIECES)), max_size=25))
def test_any_bytes_get_the_same_answers_in_one_chunk_or_byte_by_byte(parts):
    data = b"".join(parts)
    whole, bytewise = Target(), Target()
    try:
        strip = re.compile(rb'"timestamp": \{[^}]*\}')
        one = whole.qmp.raw(data)
        many = b"".join(bytewise.qmp.raw(data[i:i + 1]) for i in range(len(data)))
        assert strip.sub(b"", one) == strip.sub(b"", many)
    finally:
        whole.close()
        bytewise.close()
