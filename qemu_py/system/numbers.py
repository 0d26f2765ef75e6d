"""Number parsing with the C library's and QEMU's rules.

``strtou`` and ``strtoi`` follow ``strtoul``/``strtoll`` with base 0 as QEMU's
``qemu_strto*`` helpers use them: leading white space skipped, an optional
sign, ``0x`` hex, leading-``0`` octal, the whole text consumed, range errors
reported. Unsigned parsing accepts a leading ``-`` and wraps, as C does.
``parse_size`` follows ``qemu_strtosz`` (suffixes B/K/M/G/T/P/E).
"""

from __future__ import annotations

_C_SPACE = " \t\n\v\f\r"
_SUFFIX = {"b": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}


class NumberError(ValueError):
    pass


def _scan(text: str) -> tuple[int, int]:
    """Parse sign and magnitude of a C integer literal; returns (sign, magnitude)."""
    if text is None:
        raise NumberError("missing number")
    s = text.lstrip(_C_SPACE)
    sign = 1
    if s[:1] in "+-" and s[:1] != "":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s[:2] in ("0x", "0X") and len(s) > 2 and s[2] in "0123456789abcdefABCDEF":
        digits, base = s[2:], 16
    elif s[:1] == "0":
        digits, base = s, 8
    else:
        digits, base = s, 10
    if digits == "":
        raise NumberError(f"invalid number '{text}'")
    try:
        mag = int(digits, base)
    except ValueError:
        raise NumberError(f"invalid number '{text}'") from None
    if not all(c in "0123456789abcdefABCDEF" for c in digits):  # int() accepts '_' and spaces
        raise NumberError(f"invalid number '{text}'")
    return sign, mag


def strtou(text: str, bits: int = 64) -> int:
    """Unsigned parse (``qemu_strtoul``/``qemu_strtou64``): wraps negatives."""
    sign, mag = _scan(text)
    limit = (1 << bits) - 1
    if mag > limit:
        raise NumberError(f"number out of range '{text}'")
    return (sign * mag) & limit


def strtoi(text: str, bits: int = 64) -> int:
    """Signed parse (``qemu_strtoi64``/``qemu_strtoi``)."""
    sign, mag = _scan(text)
    val = sign * mag
    if not -(1 << (bits - 1)) <= val <= (1 << (bits - 1)) - 1:
        raise NumberError(f"number out of range '{text}'")
    return val


def parse_int(text: str) -> int:
    """A property integer: C literal syntax, signed 64-bit range or unsigned 64-bit."""
    sign, mag = _scan(text)
    val = sign * mag
    if not -(1 << 63) <= val < (1 << 64):
        raise NumberError(f"number out of range '{text}'")
    return val


def parse_size(text: str, default_suffix: str = "b") -> int:
    """``qemu_strtosz``: decimal (or 0x hex) number, optional fraction and suffix."""
    s = text.strip()
    if not s:
        raise NumberError(f"invalid size '{text}'")
    if s[:2].lower() == "0x":
        i = 2
        while i < len(s) and s[i] in "0123456789abcdefABCDEF":
            i += 1
        if i == 2:
            raise NumberError(f"invalid size '{text}'")
        num = float(int(s[2:i], 16))
        rest = s[i:]
        if rest and rest.lower() not in _SUFFIX:
            raise NumberError(f"invalid size '{text}'")
    else:
        i = 0
        while i < len(s) and (s[i].isdigit() or s[i] == "."):
            i += 1
        try:
            num = float(s[:i])
        except ValueError:
            raise NumberError(f"invalid size '{text}'") from None
        rest = s[i:]
    suffix = rest.lower() if rest else default_suffix.lower()
    if suffix not in _SUFFIX:
        raise NumberError(f"invalid size '{text}'")
    val = num * (1 << _SUFFIX[suffix])
    if val != int(val) or val < 0 or val >= 2 ** 64:
        raise NumberError(f"invalid size '{text}'")
    return int(val)
