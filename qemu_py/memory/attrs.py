"""Transaction results, transaction attributes and byte orders.

These are the small value types every access in the memory API carries:
``MemTxResult`` (what happened), ``MemTxAttrs`` (who asks and how) and
``Endian`` (which byte order a value is in, or a device declares).
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass


class MemTxResult(enum.IntFlag):
    """Outcome of a memory transaction; results of pieces are OR-ed."""

    OK = 0
    ERROR = 1
    DECODE_ERROR = 2
    ACCESS_ERROR = 4


class Endian(enum.Enum):
    """Byte order of a value or of a device's registers.

    ``NATIVE`` is the target's byte order: the ``big_endian`` flag of the
    AddressSpace doing the access (little unless said otherwise).
    """

    NATIVE = "native"
    LITTLE = "little"
    BIG = "big"


# The byte order of the machine running qemu-py: "host endian" in the spec.
HOST_ENDIAN = Endian.BIG if sys.byteorder == "big" else Endian.LITTLE


@dataclass(frozen=True, slots=True)
class MemTxAttrs:
    """Attributes of one memory transaction (QEMU's MemTxAttrs subset).

    ``memory``: the requester wants RAM only; a non-RAM target fails with
    ACCESS_ERROR.  ``debug``: a debugger access (gdbstub, monitor).
    ``unspecified``: set only in ``MEMTXATTRS_UNSPECIFIED``, for bus masters
    that give no attributes.
    """

    debug: bool = False
    memory: bool = False
    requester_id: int = 0
    secure: bool = False
    unspecified: bool = False


MEMTXATTRS_UNSPECIFIED = MemTxAttrs(unspecified=True)
