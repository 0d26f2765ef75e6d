"""QEMU's JSON parser (qobject/json-parser.c): one token list -> one value.

Values are Python objects: dict (in input order), list, str, int, float,
bool, None. Integers that fit int64, or else uint64, stay ``int``; larger
ones become ``float`` as with strtod(). The first error wins and its text is
QEMU's, prefixed by ``JSON parse error, ``. The grammar is walked with an
explicit stack, so the streamer's nesting limit of 1024 needs no recursion.
"""

from __future__ import annotations

from . import mod_utf8
from .json_lexer import (COLON, COMMA, FLOAT, INTEGER, KEYWORD, LCURLY, LSQUARE, RCURLY,
                         RSQUARE, STRING)

INT64_MIN, INT64_MAX, UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1

_SIMPLE_ESCAPES = {
    ord('"'): '"', ord("'"): "'", ord("\\"): "\\", ord("/"): "/",
    ord("b"): "\b", ord("f"): "\f", ord("n"): "\n", ord("r"): "\r", ord("t"): "\t",
}
_HEX = b"0123456789abcdefABCDEF"


class JSONParseError(Exception):
    def __init__(self, msg: str):
        super().__init__("JSON parse error, " + msg)


def _hex4(buf: bytes, pos: int) -> int:
    """cvt4hex: the code of four hex digits at POS, or -1."""
    cp = 0
    for i in range(4):
        ch = buf[pos + i] if pos + i < len(buf) else 0
        if ch == 0 or ch not in _HEX:
            return -1
        cp = (cp << 4) | int(chr(ch), 16)
    return cp


def parse_string(tok: bytes) -> str:
    """The text of a string token (with its quotes)."""
    body = tok[1:-1]
    if b"\\" not in body:
        text = mod_utf8.decode(body)
        if text is None:
            raise JSONParseError("invalid UTF-8 sequence in string")
        return text
    out: list[str] = []
    pos, end = 0, len(body)
    while pos < end:
        bs = body.find(b"\\", pos)
        chunk_end = end if bs < 0 else bs
        if chunk_end > pos:
            text = mod_utf8.decode(body[pos:chunk_end])
            if text is None:
                raise JSONParseError("invalid UTF-8 sequence in string")
            out.append(text)
            pos = chunk_end
            continue
        beg = pos
        esc = body[pos + 1]
        pos += 2
        simple = _SIMPLE_ESCAPES.get(esc)
        if simple is not None:
            out.append(simple)
            continue
        if esc != ord("u"):
            raise JSONParseError("invalid escape sequence in string")
        cp = _hex4(body, pos)
        pos += 4
        if 0xD800 <= cp <= 0xDBFF and body[pos:pos + 2] == b"\\u":
            trailing = _hex4(body, pos + 2)
            if 0xDC00 <= trailing <= 0xDFFF:
                cp = 0x10000 + ((cp & 0x3FF) << 10) | (trailing & 0x3FF)
                pos += 6
            else:
                cp = -1
        if not mod_utf8.is_valid_codepoint(cp):
            shown = (tok[1:] + b"\0")[beg:pos]       # %.*s stops at the terminating NUL
            shown = shown.split(b"\0", 1)[0]
            raise JSONParseError(f"{mod_utf8.decode_lenient(shown)} is not a valid Unicode character")
        out.append(chr(cp))
    return "".join(out)


def parse_number(kind: int, tok: bytes):
    text = tok.decode("ascii")
    if kind == INTEGER and len(text) <= 21:          # longer ones cannot fit 64 bits
        value = int(text)
        if INT64_MIN <= value <= UINT64_MAX:
            return value
    return float(text)


def _scalar(tok):
    kind, text = tok
    if kind == STRING:
        return parse_string(text)
    if kind == INTEGER or kind == FLOAT:
        return parse_number(kind, text)
    if kind == KEYWORD:
        if text == b"true":
            return True
        if text == b"false":
            return False
        if text == b"null":
            return None
        raise JSONParseError(f"invalid keyword '{text.decode('ascii')}'")
    raise JSONParseError("expecting value")


_KEY, _VALUE = 0, 1


def parse_tokens(tokens: list) -> object:
    """json_parser_parse over one complete token list."""
    n = len(tokens)
    pos = 0
    stack: list[list] = []        # [container, state, pending key]
    while True:
        # -- parse_value ------------------------------------------------------------
        if pos >= n:
            raise JSONParseError("premature EOI")
        kind = tokens[pos][0]
        if kind == LCURLY or kind == LSQUARE:
            pos += 1
            if pos >= n:
                raise JSONParseError("premature EOI")
            closer = RCURLY if kind == LCURLY else RSQUARE
            if tokens[pos][0] == closer:
                pos += 1
                value = {} if kind == LCURLY else []
            else:
                stack.append([{}, _KEY, None] if kind == LCURLY else [[], _VALUE, None])
                continue
        else:
            value = _scalar(tokens[pos])
            pos += 1
        # -- hand the value to the enclosing containers --------------------------------
        while True:
            if not stack:
                return value
            frame = stack[-1]
            container = frame[0]
            if type(container) is dict:
                if frame[1] == _KEY:
                    if type(value) is not str:
                        raise JSONParseError("key is not a string in object")
                    if pos >= n:
                        raise JSONParseError("premature EOI")
                    if tokens[pos][0] != COLON:
                        raise JSONParseError("missing : in object pair")
                    pos += 1
                    frame[1], frame[2] = _VALUE, value
                    break
                if frame[2] in container:
                    raise JSONParseError("duplicate key")
                container[frame[2]] = value
                if pos >= n:
                    raise JSONParseError("premature EOI")
                sep = tokens[pos][0]
                pos += 1
                if sep == RCURLY:
                    stack.pop()
                    value = container
                    continue
                if sep != COMMA:
                    raise JSONParseError("expected separator in dict")
                if pos >= n:
                    raise JSONParseError("premature EOI")
                frame[1] = _KEY
                break
            container.append(value)
            if pos >= n:
                raise JSONParseError("premature EOI")
            sep = tokens[pos][0]
            pos += 1
            if sep == RSQUARE:
                stack.pop()
                value = container
                continue
            if sep != COMMA:
                raise JSONParseError("expected separator in list")
            break
