"""SMMUv3 event records (spec §2.6): types, the fault description, encoding.

An :class:`EventInfo` describes what went wrong during a translation or a
configuration fetch; :func:`encode_event` packs it into the 32-byte record
(8 little-endian words) that the event queue receives.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

EVT_NONE = 0x00
F_UUT = 0x01
C_BAD_STREAMID = 0x02
F_STE_FETCH = 0x03
C_BAD_STE = 0x04
F_BAD_ATS_TREQ = 0x05
F_STREAM_DISABLED = 0x06
F_TRANSL_FORBIDDEN = 0x07
C_BAD_SUBSTREAMID = 0x08
F_CD_FETCH = 0x09
C_BAD_CD = 0x0A
F_WALK_EABT = 0x0B
F_TRANSLATION = 0x10
F_ADDR_SIZE = 0x11
F_ACCESS = 0x12
F_PERMISSION = 0x13
F_TLB_CONFLICT = 0x20
F_CFG_CONFLICT = 0x21
E_PAGE_REQUEST = 0x24

EVENT_NAMES = {
    F_UUT: "F_UUT", C_BAD_STREAMID: "C_BAD_STREAMID", F_STE_FETCH: "F_STE_FETCH",
    C_BAD_STE: "C_BAD_STE", F_BAD_ATS_TREQ: "F_BAD_ATS_TREQ",
    F_STREAM_DISABLED: "F_STREAM_DISABLED", F_TRANSL_FORBIDDEN: "F_TRANSL_FORBIDDEN",
    C_BAD_SUBSTREAMID: "C_BAD_SUBSTREAMID", F_CD_FETCH: "F_CD_FETCH", C_BAD_CD: "C_BAD_CD",
    F_WALK_EABT: "F_WALK_EABT", F_TRANSLATION: "F_TRANSLATION", F_ADDR_SIZE: "F_ADDR_SIZE",
    F_ACCESS: "F_ACCESS", F_PERMISSION: "F_PERMISSION", F_TLB_CONFLICT: "F_TLB_CONFLICT",
    F_CFG_CONFLICT: "F_CFG_CONFLICT", E_PAGE_REQUEST: "E_PAGE_REQUEST",
}

# Faults of the translation stage: recorded only when CD.R=1 (except WALK_EABT).
TRANSLATION_FAULTS = (F_WALK_EABT, F_TRANSLATION, F_ADDR_SIZE, F_ACCESS, F_PERMISSION)

CLASS_CD, CLASS_TT, CLASS_IN = 0, 1, 2


@dataclass(slots=True)
class EventInfo:
    type: int = EVT_NONE
    sid: int = 0
    addr: int = 0           # InputAddr (words 4-5)
    addr2: int = 0          # IPA / FetchAddr (words 6-7)
    rnw: int = 0
    cls: int = 0
    s2: int = 0

    @property
    def name(self) -> str:
        return EVENT_NAMES.get(self.type, f"0x{self.type:02x}")


def encode_event(info: EventInfo) -> bytes:
    """The 32-byte record of INFO (no SubstreamID, no stall: QEMU never sets them)."""
    w3 = 0
    if info.type in TRANSLATION_FAULTS:
        w3 = (info.rnw & 1) << 3 | (info.s2 & 1) << 7 | (info.cls & 3) << 8
    return struct.pack("<IIIIQQ", info.type & 0xFF, info.sid & 0xFFFF_FFFF, 0, w3,
                       info.addr & ((1 << 64) - 1), info.addr2 & ((1 << 64) - 1))


@dataclass(frozen=True)
class EventRecord:
    """A decoded 32-byte event record (for tests and the monitor)."""

    type: int
    sid: int
    rnw: int
    cls: int
    s2: int
    input_addr: int
    addr2: int
    words: tuple

    @classmethod
    def decode(cls, data: bytes) -> "EventRecord":
        w = struct.unpack("<8I", data)
        return cls(w[0] & 0xFF, w[1], w[3] >> 3 & 1, w[3] >> 8 & 3, w[3] >> 7 & 1,
                   w[4] | w[5] << 32, w[6] | w[7] << 32, w)

    @property
    def name(self) -> str:
        return EVENT_NAMES.get(self.type, f"0x{self.type:02x}")
