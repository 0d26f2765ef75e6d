"""The few AML encodings the DSDT here needs (ACPI 6.4, chapter 20).

Only data objects: ``Name`` of a 4-character name segment bound to an
integer or a package of integers. Control methods are not generated.
"""

from __future__ import annotations

NAME_OP = 0x08
PACKAGE_OP = 0x12
ZERO_OP, ONE_OP, ONES_OP = 0x00, 0x01, 0xFF
BYTE_PREFIX, WORD_PREFIX, DWORD_PREFIX, QWORD_PREFIX = 0x0A, 0x0B, 0x0C, 0x0E


class AMLError(ValueError):
    pass


def name_seg(name: str) -> bytes:
    """A NameSeg: 1-4 characters (A-Z, 0-9, _; not starting with a digit), padded with _."""
    if not 1 <= len(name) <= 4 or name[0].isdigit() or \
            any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_" for c in name):
        raise AMLError(f"AML name '{name}' is not a valid NameSeg")
    return name.ljust(4, "_").encode()


def pkg_length(body_len: int) -> bytes:
    """PkgLength encoding for a body of BODY_LEN bytes (the count includes itself)."""
    for nbytes in (1, 2, 3, 4):
        total = body_len + nbytes
        if nbytes == 1 and total < 0x40:
            return bytes([total])
        if nbytes > 1 and total < 1 << (4 + 8 * (nbytes - 1)):
            out = [((nbytes - 1) << 6) | (total & 0x0F)]
            total >>= 4
            for _ in range(nbytes - 1):
                out.append(total & 0xFF)
                total >>= 8
            return bytes(out)
    raise AMLError(f"AML package body of {body_len} bytes is too long")


def integer(value: int) -> bytes:
    """The shortest ComputationalData for VALUE (Zero, One, Ones or a prefixed constant)."""
    if value == 0:
        return bytes([ZERO_OP])
    if value == 1:
        return bytes([ONE_OP])
    if value < 0 or value >= 1 << 64:
        raise AMLError(f"AML integer {value} is out of range")
    for prefix, size in ((BYTE_PREFIX, 1), (WORD_PREFIX, 2), (DWORD_PREFIX, 4),
                         (QWORD_PREFIX, 8)):
        if value < 1 << (8 * size):
            return bytes([prefix]) + value.to_bytes(size, "little")
    raise AssertionError("unreachable")


def package(values) -> bytes:
    """DefPackage of integers."""
    values = list(values)
    if len(values) > 255:
        raise AMLError(f"AML package of {len(values)} elements (at most 255)")
    body = bytes([len(values)]) + b"".join(integer(v) for v in values)
    return bytes([PACKAGE_OP]) + pkg_length(len(body)) + body


def name(seg: str, data: bytes) -> bytes:
    """DefName: NameOp NameString DataRefObject."""
    return bytes([NAME_OP]) + name_seg(seg) + data
