"""Data encodings of the qtest protocol, reproducing GLib's and QEMU's quirks.

* ``decode_write_hex``: the ``write`` command's data token: the first two
  characters are skipped unchecked, byte *i* comes from characters 2+2i and
  3+2i when both exist (else 0), and a non-hex digit counts as nibble -1
  (so it produces 0xf0 | low, or 0xff), as in QEMU's ``hex2nib`` loop.
* ``glib_b64_decode_inplace``: GLib's lenient base64 decoder (characters
  outside the alphabet are skipped, ``=`` counts as a zero digit that
  suppresses output bytes, an incomplete last group is dropped), returning the
  decoded bytes *and* the buffer as it looks after an in-place decode, which
  ``b64write`` writes from.
"""

from __future__ import annotations

import base64

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_RANK = [0xFF] * 256
for _i, _c in enumerate(_ALPHABET):
    _RANK[_c] = _i
_RANK[ord("=")] = 0

_NIB = {c: int(chr(c), 16) for c in b"0123456789abcdefABCDEF"}


def hex2nib(c: int) -> int:
    return _NIB.get(c, -1)


def decode_write_hex(token: bytes, size: int) -> bytes:
    n = len(token)
    out = bytearray(size)
    for i in range(min(size, max(0, (n - 2) // 2))):
        hi = hex2nib(token[2 + 2 * i])
        lo = hex2nib(token[3 + 2 * i])
        out[i] = ((hi << 4) | lo) & 0xFF
    return bytes(out)


def glib_b64_decode_inplace(text: bytes) -> tuple[bytes, bytes]:
    out = bytearray()
    v = 0
    i = 0
    last = [0, 0]
    for c in text:
        rank = _RANK[c]
        if rank == 0xFF:
            continue
        last[1], last[0] = last[0], c
        v = ((v << 6) | rank) & 0xFFFFFFFF
        i += 1
        if i == 4:
            out.append((v >> 16) & 0xFF)
            if last[1] != ord("="):
                out.append((v >> 8) & 0xFF)
            if last[0] != ord("="):
                out.append(v & 0xFF)
            i = 0
    decoded = bytes(out)
    return decoded, decoded + text[len(decoded):]


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def printable(token: str) -> str:
    """TOKEN as a FAIL reply quotes it: backslash doubled, bytes outside
    printable ASCII as ``\\xNN``."""
    out = []
    for ch in token:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\x{o:02x}")
    return "".join(out)
