"""QEMU's "modified UTF-8" (util/unicode.c): how QMP strings become text.

QEMU keeps strings as C strings in modified UTF-8: U+0000 is the two bytes
``C0 80`` so that it never ends a string early. ``codepoint`` is
mod_utf8_codepoint(): it rejects overlong forms (except ``C0 80``), surrogate
code points, noncharacters and anything above U+10FFFF. ``decode_lenient``
is what the JSON writer does with a C string that is not valid: every bad
sequence becomes U+FFFD and a NUL byte ends the string.
"""

from __future__ import annotations

import re

_MIN_CP = (0x80, 0x800, 0x10000, 0x200000, 0x4000000)

# Noncharacters: U+FDD0..U+FDEF and U+xFFFE/U+xFFFF of every plane.
_NONCHAR = re.compile("[\ufdd0-\ufdef\ufffe\uffff\U0001fffe\U0001ffff\U0002fffe\U0002ffff"
                      "\U0003fffe\U0003ffff\U0004fffe\U0004ffff\U0005fffe\U0005ffff"
                      "\U0006fffe\U0006ffff\U0007fffe\U0007ffff\U0008fffe\U0008ffff"
                      "\U0009fffe\U0009ffff\U000afffe\U000affff\U000bfffe\U000bffff"
                      "\U000cfffe\U000cffff\U000dfffe\U000dffff\U000efffe\U000effff"
                      "\U000ffffe\U000fffff\U0010fffe\U0010ffff]")


def is_valid_codepoint(cp: int) -> bool:
    if cp > 0x10FFFF or cp < 0:
        return False
    if 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE:
        return False
    return not 0xD800 <= cp <= 0xDFFF


def codepoint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """mod_utf8_codepoint at BUF[POS:END]: (code point or -1, next position)."""
    if pos >= end or buf[pos] == 0:
        return -1, pos
    byte = buf[pos]
    pos += 1
    if byte < 0x80:
        return byte, pos
    if byte >= 0xFE or not byte & 0x40:
        return -1, pos                    # impossible byte or stray continuation
    length = 0
    mask = 0x80
    while byte & mask:
        length += 1
        mask >>= 1
    cp = byte & (mask - 1)
    for _ in range(1, length):
        nxt = buf[pos] if pos < end else 0
        if nxt & 0xC0 != 0x80:
            return -1, pos                # continuation byte missing
        pos += 1
        cp = (cp << 6) | (nxt & 0x3F)
    if not is_valid_codepoint(cp):
        return -1, pos
    if cp < _MIN_CP[length - 2] and not (cp == 0 and length == 2):
        return -1, pos                    # overlong, other than C0 80
    return cp, pos


def decode(buf: bytes) -> str | None:
    """Strict decode of a whole byte string; None if any sequence is invalid."""
    try:
        text = buf.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if "\0" in text or _NONCHAR.search(text):
            return None
        return text
    out = []
    pos, end = 0, len(buf)
    while pos < end:
        cp, pos = codepoint(buf, pos, end)
        if cp < 0:
            return None
        out.append(chr(cp))
    return "".join(out)


def decode_lenient(buf: bytes) -> str:
    """Text of a C string as QEMU's JSON writer sees it (bad bytes -> U+FFFD)."""
    nul = buf.find(b"\0")
    if nul >= 0:
        buf = buf[:nul]
    text = decode(buf)
    if text is not None:
        return text
    out = []
    pos, end = 0, len(buf)
    while pos < end:
        cp, nxt = codepoint(buf, pos, end)
        out.append("\ufffd" if cp < 0 else chr(cp))
        pos = nxt if nxt > pos else pos + 1
    return "".join(out)


def encode(text: str) -> bytes:
    """The C-string bytes of TEXT (U+0000 as C0 80)."""
    data = text.encode("utf-8", "surrogatepass")
    return data.replace(b"\0", b"\xc0\x80") if b"\0" in data else data
