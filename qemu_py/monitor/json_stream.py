"""QEMU's JSON message streamer (qobject/json-streamer.c).

Collects tokens from the lexer until the braces and brackets balance (or a
closer goes below zero), then parses the collected list and reports one
message: ``emit(value, None)`` or ``emit(None, error_text)``. A top-level
scalar is a message by itself. A lexical error drops what was collected and
is reported at once. Limits as QEMU's: 64 MiB of token text, 2M tokens and
nesting depth 1024 per message.

Speed: an ASCII object or array that starts where a message may start is
first offered to Python's C JSON decoder. Its result is used only when it is
certainly QEMU's: no single quotes or ``\\'`` (the decoder rejects those),
no NaN/Infinity, no duplicate key, no ``\\u`` escape of a surrogate or a
noncharacter, integers mapped to int64/uint64/double as QEMU does, and far
below the size and nesting limits. Anything else, including every error,
goes through the lexer, streamer and parser above.
"""

from __future__ import annotations

import json
import re

from . import mod_utf8
from .json_lexer import ERROR, IN_START, LCURLY, LSQUARE, RCURLY, RSQUARE, JSONLexer
from .json_parser import INT64_MIN, UINT64_MAX, JSONParseError, parse_tokens

MAX_TOKEN_SIZE = 64 << 20
MAX_TOKEN_COUNT = 2 << 20
MAX_NESTING = 1 << 10


class JSONStream:
    def __init__(self, emit):
        self.emit = emit                 # emit(value, error_text_or_None)
        self.lexer = JSONLexer(self._token)
        self._pause_after_message = False
        self._reset_message()

    def _reset_message(self):
        self.tokens: list[tuple[int, bytes]] = []
        self.braces = 0
        self.brackets = 0
        self.size = 0

    def reset(self):
        """Forget partial input (the monitor's chardev closed)."""
        self.lexer.reset()
        self._reset_message()

    def feed(self, data: bytes):
        lexer = self.lexer
        pos, end = 0, len(data)
        text = data.decode("ascii") if data.isascii() else None
        while pos < end:
            if text is not None and lexer.state == IN_START and not self.tokens:
                pos = self._decode_plain(text, pos)
                if pos >= end:
                    break
            self._pause_after_message = text is not None
            pos = lexer.feed(data, pos)
        self._pause_after_message = False

    def _decode_plain(self, text: str, pos: int) -> int:
        """Messages the C decoder can take exactly, from POS; where to go on from."""
        end = len(text)
        while True:
            pos = _SPACES.match(text, pos).end()
            if pos >= end or text[pos] not in "{[":
                return pos
            try:
                value, stop = _DECODER.raw_decode(text, pos)
            except (ValueError, RecursionError):
                return pos
            span = text[pos:stop]
            if (stop - pos > _PLAIN_MAX or _SUSPECT_ESCAPE.search(span)
                    or span.count("{") + span.count("[") > MAX_NESTING):
                return pos
            pos = stop
            self.emit(value, None)

    def _fail(self, text: str):
        self._reset_message()
        self.emit(None, text)

    def _message_done(self):
        if self._pause_after_message:
            self.lexer.pause = True

    def _token(self, kind, text: bytes):
        depth = _DEPTH.get(kind)
        if depth is not None:
            if depth[0]:
                self.braces += depth[0]
            else:
                self.brackets += depth[1]
        elif kind == ERROR:
            self._fail(f"JSON parse error, stray '{mod_utf8.decode_lenient(text)}'")
            return
        tokens = self.tokens
        size = self.size + len(text)
        if kind is None or size + 1 > MAX_TOKEN_SIZE:
            self._fail("JSON token size limit exceeded")
            return
        if len(tokens) >= MAX_TOKEN_COUNT:
            self._fail("JSON token count limit exceeded")
            return
        braces, brackets = self.braces, self.brackets
        if braces + brackets > MAX_NESTING:
            self._fail("JSON nesting depth limit exceeded")
            return
        tokens.append((kind, text))
        self.size = size
        if (braces > 0 or brackets > 0) and braces >= 0 and brackets >= 0:
            return
        self._reset_message()
        self._message_done()
        try:
            value = parse_tokens(tokens)
        except JSONParseError as e:
            self.emit(None, str(e))
            return
        self.emit(value, None)


_DEPTH = {LCURLY: (1, 0), RCURLY: (-1, 0), LSQUARE: (0, 1), RSQUARE: (0, -1)}


class _NotQEMUs(ValueError):
    """The C decoder's value might differ from QEMU's parser: use the exact path."""


def _pairs(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _NotQEMUs("duplicate key")
    return obj


def _integer(text: str):
    if len(text) <= 21:
        value = int(text)
        if INT64_MIN <= value <= UINT64_MAX:
            return value
    return float(text)


def _constant(name: str):
    raise _NotQEMUs(name)


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_int=_integer, parse_constant=_constant)
_SPACES = re.compile(r"[ \t\r\n]*")
_SUSPECT_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|[fF][dD][dDeE]|[fF][fF][fF][eEfF])")
_PLAIN_MAX = 1 << 20
