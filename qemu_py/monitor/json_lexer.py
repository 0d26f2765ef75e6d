"""The JSON lexer of QEMU's QMP (qobject/json-lexer.c, unchanged since 3.1).

A deterministic automaton over bytes, fed incrementally: a token may be split
across any number of writes. Extensions over RFC 8259 that QEMU accepts:
single-quoted strings and ``\\'`` inside strings. Keywords are ``[a-z]+``;
the parser rejects the unknown ones. A byte that no token can continue with
is an error token (the text read so far plus that byte); the lexer then
skips ahead to the next structural character, control character or byte
0xFE/0xFF, which is why garbage is reported only when such a delimiter
arrives. Tokens go to ``emit(kind, text)``.

Speed: from the start state, a complete token that is followed by a byte
which certainly ends it is taken with one regular-expression match; every
other case (errors, a token cut by the end of the input) goes through the
automaton, where runs of bytes that keep it in the same state (string
contents, digits, letters, whitespace, skipped garbage) are consumed with
one match too. Both paths give the same tokens.
"""

from __future__ import annotations

import re

# Token kinds (what the streamer and parser see).
LCURLY, RCURLY, LSQUARE, RSQUARE, COLON, COMMA = range(100, 106)
INTEGER, FLOAT, KEYWORD, STRING, ERROR = range(106, 111)

# Lexer states.
(IN_RECOVERY, IN_DQ_STRING_ESCAPE, IN_DQ_STRING, IN_SQ_STRING_ESCAPE, IN_SQ_STRING,
 IN_ZERO, IN_EXP_DIGITS, IN_EXP_SIGN, IN_EXP_E, IN_MANTISSA, IN_MANTISSA_DIGITS,
 IN_DIGITS, IN_SIGN, IN_KEYWORD, IN_START) = range(1, 16)

LOOKAHEAD = 0x100          # the byte ends a token and is read again from IN_START
MAX_TOKEN_SIZE = 64 << 20


def _table() -> list[list[int]]:
    t = [[ERROR] * 256 for _ in range(16)]

    def terminal(state, kind):
        t[state] = [kind | LOOKAHEAD] * 256

    def span(state, lo, hi, nxt):
        for b in range(lo, hi + 1):
            t[state][b] = nxt

    def chars(state, text, nxt):
        for ch in text:
            t[state][ord(ch)] = nxt

    # error recovery: skip to a structural or control character
    span(IN_RECOVERY, 0x00, 0x1F, IN_START | LOOKAHEAD)
    span(IN_RECOVERY, 0x20, 0xFD, IN_RECOVERY)
    span(IN_RECOVERY, 0xFE, 0xFF, IN_START | LOOKAHEAD)
    chars(IN_RECOVERY, "\t", IN_RECOVERY)
    chars(IN_RECOVERY, "[]{}:,", IN_START | LOOKAHEAD)
    # strings
    for esc, body, quote in ((IN_DQ_STRING_ESCAPE, IN_DQ_STRING, '"'),
                             (IN_SQ_STRING_ESCAPE, IN_SQ_STRING, "'")):
        span(esc, 0x20, 0xFD, body)
        span(body, 0x20, 0xFD, body)
        chars(body, "\\", esc)
        chars(body, quote, STRING)
    # numbers
    terminal(IN_ZERO, INTEGER)
    chars(IN_ZERO, "0123456789", ERROR)
    chars(IN_ZERO, ".", IN_MANTISSA)
    terminal(IN_EXP_DIGITS, FLOAT)
    chars(IN_EXP_DIGITS, "0123456789", IN_EXP_DIGITS)
    chars(IN_EXP_SIGN, "0123456789", IN_EXP_DIGITS)
    chars(IN_EXP_E, "-+", IN_EXP_SIGN)
    chars(IN_EXP_E, "0123456789", IN_EXP_DIGITS)
    terminal(IN_MANTISSA_DIGITS, FLOAT)
    chars(IN_MANTISSA_DIGITS, "0123456789", IN_MANTISSA_DIGITS)
    chars(IN_MANTISSA_DIGITS, "eE", IN_EXP_E)
    chars(IN_MANTISSA, "0123456789", IN_MANTISSA_DIGITS)
    terminal(IN_DIGITS, INTEGER)
    chars(IN_DIGITS, "0123456789", IN_DIGITS)
    chars(IN_DIGITS, "eE", IN_EXP_E)
    chars(IN_DIGITS, ".", IN_MANTISSA)
    chars(IN_SIGN, "0", IN_ZERO)
    chars(IN_SIGN, "123456789", IN_DIGITS)
    # keywords
    terminal(IN_KEYWORD, KEYWORD)
    chars(IN_KEYWORD, "abcdefghijklmnopqrstuvwxyz", IN_KEYWORD)
    # start
    chars(IN_START, '"', IN_DQ_STRING)
    chars(IN_START, "'", IN_SQ_STRING)
    chars(IN_START, "0", IN_ZERO)
    chars(IN_START, "123456789", IN_DIGITS)
    chars(IN_START, "-", IN_SIGN)
    chars(IN_START, "{", LCURLY)
    chars(IN_START, "}", RCURLY)
    chars(IN_START, "[", LSQUARE)
    chars(IN_START, "]", RSQUARE)
    chars(IN_START, ",", COMMA)
    chars(IN_START, ":", COLON)
    chars(IN_START, "abcdefghijklmnopqrstuvwxyz", IN_KEYWORD)
    chars(IN_START, " \t\r\n", IN_START)
    return t


TABLE = _table()

# For states with a self-loop: a pattern matching the longest run of bytes
# that keeps the automaton in that state.
_RUNS = {
    IN_RECOVERY: re.compile(rb"[\x09\x20-\x2b\x2d-\x39\x3b-\x5a\x5c\x5e-\x7a\x7c\x7e-\xfd]*"),
    IN_DQ_STRING: re.compile(rb"[\x20\x21\x23-\x5b\x5d-\xfd]*"),
    IN_SQ_STRING: re.compile(rb"[\x20-\x26\x28-\x5b\x5d-\xfd]*"),
    IN_DIGITS: re.compile(rb"[0-9]*"),
    IN_MANTISSA_DIGITS: re.compile(rb"[0-9]*"),
    IN_EXP_DIGITS: re.compile(rb"[0-9]*"),
    IN_KEYWORD: re.compile(rb"[a-z]*"),
    IN_START: re.compile(rb"[ \t\r\n]*"),
}


# Whole tokens from IN_START (after optional whitespace). Numbers and keywords
# only when the byte after them is present and cannot continue them.
_TOKEN = re.compile(rb"""[ \t\r\n]*(?:
    ("(?:[^"\\\x00-\x1f\xfe\xff]|\\[\x20-\xfd])*")
  | ('(?:[^'\\\x00-\x1f\xfe\xff]|\\[\x20-\xfd])*')
  | (-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)(?=[ \t\r\n,:\]}])
  | ([a-z]+)(?=[^a-z])
  | ([{}\[\]:,])
)""", re.X)
_STRUCTURAL = {ord("{"): LCURLY, ord("}"): RCURLY, ord("["): LSQUARE, ord("]"): RSQUARE,
               ord(":"): COLON, ord(","): COMMA}
_SPACE = re.compile(rb"[ \t\r\n]*")


class JSONLexer:
    def __init__(self, emit):
        self.emit = emit                 # emit(kind, text: bytes)
        self.state = IN_START
        self.token = bytearray()
        self.pause = False               # set by emit(): return once back at IN_START

    def reset(self):
        self.state = IN_START
        self.token.clear()

    def feed(self, data: bytes, pos: int = 0) -> int:
        """Lex DATA[POS:]; returns where it stopped (the end, or earlier on ``pause``)."""
        table = TABLE
        runs = _RUNS
        emit = self.emit
        token = self.token
        state = self.state
        end = len(data)
        fast = _TOKEN.match
        while pos < end:
            if state == IN_START:
                m = fast(data, pos)
                group = m.lastindex if m is not None else None
                if group is not None:
                    text = m.group(group)
                    if len(text) <= MAX_TOKEN_SIZE:
                        if group == 5:
                            emit(_STRUCTURAL[text[0]], text)
                        elif group <= 2:
                            emit(STRING, text)
                        elif group == 4:
                            emit(KEYWORD, text)
                        elif b"." in text or b"e" in text or b"E" in text:
                            emit(FLOAT, text)
                        else:
                            emit(INTEGER, text)
                        pos = m.end()
                        if self.pause:
                            self.pause = False
                            self.state = IN_START
                            return pos
                        continue
                pos = _SPACE.match(data, pos).end()
                if pos >= end:
                    break
            run = runs.get(state)
            if run is not None:
                stop = run.match(data, pos).end()
                if stop > pos:
                    if state not in (IN_START, IN_RECOVERY):
                        token += data[pos:stop]
                    pos = stop
                    if len(token) > MAX_TOKEN_SIZE:
                        self._overflow()
                        state = IN_START
                        token = self.token
                    if pos >= end:
                        break
            byte = data[pos]
            nxt = table[state][byte]
            if nxt & LOOKAHEAD:
                nxt &= 0xFF
            else:
                pos += 1
                token.append(byte)
            if nxt >= 100:                  # a token, or an error
                if nxt == ERROR:
                    emit(ERROR, bytes(token))
                    token.clear()
                    state = IN_RECOVERY
                else:
                    emit(nxt, bytes(token))
                    token.clear()
                    state = IN_START
                    if self.pause:
                        self.pause = False
                        self.state = state
                        return pos
            elif nxt == IN_START or nxt == IN_RECOVERY:
                token.clear()
                state = nxt
            else:
                state = nxt
            if len(token) > MAX_TOKEN_SIZE:
                self._overflow()
                state = IN_START
                token = self.token
        self.state = state
        return end

    def _overflow(self):
        """A single token beyond 64 MiB: reported, and lexing starts afresh."""
        self.emit(None, bytes(self.token))
        self.token.clear()
        self.state = IN_START
