"""QEMU's JSON dialect: stream parsing, error texts and the writer's exact bytes."""

import json

import pytest

from qemu_py.monitor.json_lexer import LCURLY, RCURLY, STRING
from qemu_py.monitor.json_parser import JSONParseError, parse_tokens
from qemu_py.monitor.json_stream import JSONStream
from qemu_py.monitor.json_writer import qdict_order, tdb_hash, to_json


def stream_all(*chunks: bytes) -> list:
    out = []
    s = JSONStream(lambda value, err: out.append(("err", err) if err else ("ok", value)))
    for chunk in chunks:
        s.feed(chunk)
    return out


# -- framing ---------------------------------------------------------------------------------------

def test_two_objects_in_one_write_give_two_messages():
    assert stream_all(b'{"a": 1}{"b": [2]}') == [("ok", {"a": 1}), ("ok", {"b": [2]})]


def test_an_object_split_at_every_byte_is_one_message():
    doc = b'{"execute": "qom-get", "arguments": {"path": "/machine", "property": "type"}, "id": 7}'
    for cut in range(1, len(doc)):
        assert stream_all(doc[:cut], doc[cut:]) == [("ok", json.loads(doc))], cut
    assert stream_all(*(bytes([b]) for b in doc)) == [("ok", json.loads(doc))]


def test_whitespace_and_crlf_between_messages_are_ignored():
    assert stream_all(b' \r\n\t{"a": 1}\r\n\r\n  {"b": 2}\n') == [("ok", {"a": 1}), ("ok", {"b": 2})]


def test_top_level_scalars_are_messages_once_delimited():
    assert stream_all(b'"hello" 12 true null [] ') == [
        ("ok", "hello"), ("ok", 12), ("ok", True), ("ok", None), ("ok", [])]
    assert stream_all(b"12") == []          # the number may go on


def test_single_quoted_strings_and_escaped_apostrophes():
    assert stream_all(b"{'execute': 'qmp_capabilities'}") == [("ok", {"execute": "qmp_capabilities"})]
    assert stream_all(b"""['it\\'s', "say \\"hi\\"", 'a "b"', "\\'"]""") == [
        ("ok", ["it's", 'say "hi"', 'a "b"', "'"])]


# -- values ------------------------------------------------------------------------------------------

def test_integers_int64_uint64_then_double():
    got = stream_all(b"[9223372036854775807, -9223372036854775808, 18446744073709551615, "
                     b"18446744073709551616, -9223372036854775809, -0, 1.5, 1e400]")
    assert got == [("ok", [9223372036854775807, -9223372036854775808, 18446744073709551615,
                           18446744073709551616.0, -9223372036854775809.0, 0, 1.5, float("inf")])]
    assert type(got[0][1][3]) is float and type(got[0][1][2]) is int


def test_string_escapes_and_unicode():
    assert stream_all(rb'["\u00e9\u0000\ud83d\ude00", "\/\b\f\n\r\t", "caf' + "é".encode() + b'"]') == [
        ("ok", ["é\x00😀", "/\b\f\n\r\t", "café"])]


@pytest.mark.parametrize("doc, error", [
    (b"garbage ", "invalid keyword 'garbage'"),
    (b"] ", "expecting value"),
    (b": ", "expecting value"),
    (b'{"a": 1, "a": 2}', "duplicate key"),
    (b"{1: 2}", "key is not a string in object"),
    (b'{"a" 1}', "missing : in object pair"),
    (b'{"a": 1 "b": 2}', "expected separator in dict"),
    (b"[1 2]", "expected separator in list"),
    (b'{"a": }', "expecting value"),
    (b"[1, ]", "expecting value"),
    (b'"\\x"', "invalid escape sequence in string"),
    (b'"\\u12G4"', "\\u12G4 is not a valid Unicode character"),
    (b'"\\u12"', '\\u12" is not a valid Unicode character'),
    (b'"\\ud800"', "\\ud800 is not a valid Unicode character"),
    (b'"\\ud800\\u0041"', "\\ud800 is not a valid Unicode character"),
    (b'"\\udc00"', "\\udc00 is not a valid Unicode character"),
    (b'"\\uffff"', "\\uffff is not a valid Unicode character"),
    (b'"\xc3\x28"', "invalid UTF-8 sequence in string"),
    (b'"\xc0\xaf"', "invalid UTF-8 sequence in string"),
    (b'"\xed\xa0\x80"', "invalid UTF-8 sequence in string"),
    (b"01 ", "stray '01'"),
    (b"-x", "stray '-x'"),
    (b'"a\x01', "stray '\"a\x01'"),
    (b"@", "stray '@'"),
    (b"\xff", "stray '\ufffd'"),
    (b"\x00", "stray ''"),
])
def test_error_texts(doc, error):
    assert stream_all(doc) == [("err", "JSON parse error, " + error)]


def test_garbage_is_reported_at_the_next_delimiter_and_parsing_resumes():
    s_out = []
    s = JSONStream(lambda v, e: s_out.append(e or v))
    s.feed(b'{"execute": "stop"} garbage')
    assert s_out == [{"execute": "stop"}]
    s.feed(b' {"execute": "cont"}')
    assert s_out == [{"execute": "stop"}, "JSON parse error, invalid keyword 'garbage'",
                     {"execute": "cont"}]


def test_lexical_error_inside_an_object_drops_it_then_recovers():
    assert stream_all(b'{"execute": x!}{"execute": "cont"}') == [
        ("err", "JSON parse error, stray '!'"),
        ("err", "JSON parse error, expecting value"),       # the '}' after recovery
        ("ok", {"execute": "cont"})]


def test_0xff_resynchronises_from_inside_a_string():
    assert stream_all(b'{"execute": "sto', b'\xff', b'{"execute": "cont"}') == [
        ("err", "JSON parse error, stray '\"sto\ufffd'"), ("ok", {"execute": "cont"})]


def test_nesting_limit_is_1024():
    (kind, value), = stream_all(b"[" * 1024 + b"]" * 1024)
    depth = 0
    while value:
        value, = value
        depth += 1
    assert (kind, depth) == ("ok", 1023)
    got = stream_all(b"[" * 1025 + b"]" * 1025)
    assert got[0] == ("err", "JSON nesting depth limit exceeded")


def test_parser_reports_premature_end_of_tokens():
    with pytest.raises(JSONParseError, match="premature EOI"):
        parse_tokens([(LCURLY, b"{"), (STRING, b'"a"')])
    assert parse_tokens([(LCURLY, b"{"), (RCURLY, b"}")]) == {}


def test_a_very_long_integer_becomes_a_double():
    assert stream_all(b"1" * 5000 + b" ") == [("ok", float("inf"))]


# -- writer ----------------------------------------------------------------------------------------

def test_tdb_hash_orders_keys_like_qemu_qdict():
    assert qdict_order({"major": 7, "minor": 2, "micro": 22}) == ["micro", "minor", "major"]
    assert qdict_order({"running": 1, "singlestep": 1, "status": 1}) == ["status", "singlestep", "running"]
    assert qdict_order({"event": 1, "timestamp": 1, "data": 1}) == ["timestamp", "event", "data"]
    assert qdict_order({"error": 1, "id": 1}) == ["id", "error"]
    assert qdict_order({"return": 1, "id": 1}) == ["return", "id"]
    assert tdb_hash(b"") == 12345


def test_writer_matches_qemu_bytes():
    greeting = {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 22},
                                    "package": "qemu-py 0.1.0"}, "capabilities": ["oob"]}}
    assert to_json(greeting) == ('{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, '
                                 '"package": "qemu-py 0.1.0"}, "capabilities": ["oob"]}}')
    assert to_json({"error": {"class": "GenericError", "desc": "x"}, "id": 1}) == \
        '{"id": 1, "error": {"class": "GenericError", "desc": "x"}}'
    assert to_json(["é\x00\x7f😀\"\\/\n", 0.1, -0.0, 1e300, 2 ** 64 - 1, None, True]) == \
        r'["\u00E9\u0000\u007F\uD83D\uDE00\"\\/\n", 0.10000000000000001, -0, 1.0000000000000001e+300, ' \
        '18446744073709551615, null, true]'


def test_pretty_writer_layout():
    assert to_json({"return": {}, "id": [1, {}]}, pretty=True) == (
        '{\n    "return": {\n    },\n    "id": [\n        1,\n        {\n        }\n    ]\n}')
    assert to_json([], pretty=True) == "[\n]"


def test_round_trip_through_python_json():
    value = {"a": [1, 2.5, "x\u2028y", {"b": None}], "c": False, "d": "\x1f"}
    assert json.loads(to_json(value)) == value
    assert stream_all(to_json(value).encode()) == [("ok", value)]


def test_deeply_nested_values_are_written_without_recursion_limits():
    value = []
    for _ in range(1500):
        value = [value]
    assert to_json(value) == "[" * 1501 + "]" * 1501
    assert to_json({"a": value}, pretty=True).count("\n") == 2 * 1501 + 1
