"""QEMU's JSON message streamer (qobject/json-streamer.c).

Collects tokens from the lexer until the braces and brackets balance (or a
closer goes below zero), then parses the collected list and reports one
message: ``emit(value, None)`` or ``emit(None, error_text)``. A top-level
scalar is a message by itself. A lexical error drops what was collected and
is reported at once. Limits as QEMU's: 64 MiB of token text, 2M tokens and
nesting depth 1024 per message.
"""

from __future__ import annotations

from . import mod_utf8
from .json_lexer import ERROR, LCURLY, LSQUARE, RCURLY, RSQUARE, JSONLexer
from .json_parser import JSONParseError, parse_tokens

MAX_TOKEN_SIZE = 64 << 20
MAX_TOKEN_COUNT = 2 << 20
MAX_NESTING = 1 << 10


class JSONStream:
    def __init__(self, emit):
        self.emit = emit                 # emit(value, error_text_or_None)
        self.lexer = JSONLexer(self._token)
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
        self.lexer.feed(data)

    def _fail(self, text: str):
        self._reset_message()
        self.emit(None, text)

    def _token(self, kind, text: bytes):
        if kind == LCURLY:
            self.braces += 1
        elif kind == RCURLY:
            self.braces -= 1
        elif kind == LSQUARE:
            self.brackets += 1
        elif kind == RSQUARE:
            self.brackets -= 1
        elif kind == ERROR:
            self._fail(f"JSON parse error, stray '{mod_utf8.decode_lenient(text)}'")
            return
        if kind is None or self.size + len(text) + 1 > MAX_TOKEN_SIZE:
            self._fail("JSON token size limit exceeded")
            return
        if len(self.tokens) + 1 > MAX_TOKEN_COUNT:
            self._fail("JSON token count limit exceeded")
            return
        if self.braces + self.brackets > MAX_NESTING:
            self._fail("JSON nesting depth limit exceeded")
            return
        self.tokens.append((kind, text))
        self.size += len(text)
        if (self.braces > 0 or self.brackets > 0) and self.braces >= 0 and self.brackets >= 0:
            return
        tokens = self.tokens
        self._reset_message()
        try:
            value = parse_tokens(tokens)
        except JSONParseError as e:
            self.emit(None, str(e))
            return
        self.emit(value, None)
