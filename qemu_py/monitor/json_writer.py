"""JSON text exactly as QEMU writes it (qobject/json-writer.c over QDicts).

Key order: a QDict is a 512-bucket hash table (tdb_hash of the key); it is
iterated bucket by bucket, and inside a bucket the most recently inserted
key comes first. Objects built here in QEMU's insertion order therefore come
out in QEMU's order, e.g. ``{"return": ..., "id": ...}`` and
``{"timestamp": ..., "event": ..., "data": ...}``.

Strings: ``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``; other characters below
0x20 and from 0x7F up as ``\\uXXXX`` (upper-case hex, surrogate pairs above
U+FFFF). Floats use ``%.17g``. Compact form separates with ``", "`` and
``": "``; pretty form puts each member on its own line, indented by four
spaces per level.
"""

from __future__ import annotations

import re

from . import mod_utf8

QDICT_BUCKETS = 512
_bucket_cache: dict[str, int] = {}


def tdb_hash(key: bytes) -> int:
    value = (0x238F13AF * len(key)) & 0xFFFFFFFF
    for i, ch in enumerate(key):
        value = (value + (ch << (i * 5 % 24))) & 0xFFFFFFFF
    return (1103515243 * value + 12345) & 0xFFFFFFFF


def bucket(key: str) -> int:
    b = _bucket_cache.get(key)
    if b is None:
        b = tdb_hash(mod_utf8.encode(key)) % QDICT_BUCKETS
        if len(_bucket_cache) < 100_000:
            _bucket_cache[key] = b
    return b


_order_cache: dict[tuple, list] = {}


def qdict_order(d: dict) -> list:
    """The keys of D in the order QEMU's qdict_first/qdict_next visit them."""
    if len(d) < 2:
        return list(d)
    keys = tuple(d)
    order = _order_cache.get(keys)
    if order is None:
        keyed = sorted([(bucket(k), -i, k) for i, k in enumerate(keys)])
        order = [k for _, _, k in keyed]
        if len(_order_cache) < 4096:
            _order_cache[keys] = order
    return order


_PLAIN = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*\Z')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
            "\t": "\\t"}


def quote(text: str) -> str:
    if _PLAIN.match(text):
        return '"' + text + '"'
    out = ['"']
    for ch in text:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
            continue
        cp = ord(ch)
        if 0x20 <= cp < 0x7F:
            out.append(ch)
        elif cp > 0xFFFF:
            cp -= 0x10000
            out.append(f"\\u{0xD800 + (cp >> 10):04X}\\u{0xDC00 + (cp & 0x3FF):04X}")
        else:
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0xFFFD                      # not representable in a C string
            out.append(f"\\u{cp:04X}")
    out.append('"')
    return "".join(out)


def _scalar(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return str(value)
    if type(value) is float:
        return "%.17g" % value
    if type(value) is str:
        return quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return "%.17g" % value
    if isinstance(value, str):
        return quote(str(value))
    raise TypeError(f"cannot write {type(value).__name__} as QMP JSON")


def _compact(value) -> str:
    t = type(value)
    if t is str:
        return quote(value)
    if t is dict or (t is not list and isinstance(value, dict)):
        if not value:
            return "{}"
        return "{" + ", ".join([quote(k) + ": " + _compact(value[k]) for k in qdict_order(value)]) + "}"
    if t is list or t is tuple:
        if not value:
            return "[]"
        return "[" + ", ".join([_compact(v) for v in value]) + "]"
    return _scalar(value)


def to_json(value, pretty: bool = False) -> str:
    """The JSON text of VALUE (no trailing newline)."""
    if not pretty:
        try:
            return _compact(value)
        except RecursionError:
            pass                          # input may nest 1024 deep: write it iteratively
    return _to_json_iterative(value, pretty)


def _to_json_iterative(value, pretty: bool) -> str:
    out: list[str] = []
    stack: list[list] = []            # [items, next index, closer, depth]
    item, depth = value, 0
    while True:
        if isinstance(item, dict):
            items = [(quote(k) + ": ", item[k]) for k in qdict_order(item)]
            opener, closer = "{", "}"
        elif isinstance(item, (list, tuple)):
            items = [("", v) for v in item]
            opener, closer = "[", "]"
        else:
            items = None
            out.append(_scalar(item))
        if items is not None:
            if not items and not pretty:
                out.append(opener + closer)
            else:
                out.append(opener)
                stack.append([items, 0, closer, depth])
        while stack:
            frame = stack[-1]
            items, i, closer, level = frame
            if i < len(items):
                frame[1] = i + 1
                if pretty:
                    out.append(("," if i else "") + "\n" + " " * (4 * (level + 1)))
                elif i:
                    out.append(", ")
                prefix, item = items[i]
                out.append(prefix)
                depth = level + 1
                break
            stack.pop()
            out.append(("\n" + " " * (4 * level) if pretty else "") + closer)
        else:
            return "".join(out)
