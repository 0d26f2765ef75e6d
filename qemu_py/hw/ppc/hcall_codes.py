"""PAPR hypercall numbers, flags and return codes for the HPT calls (spec section 4).

Flags are ``1 << (63 - IBM bit)``.  Return codes are signed; a register holds
them as 64-bit two's complement (:func:`u64`).  H_BULK_REMOVE's translation
specifier high word is declared as a :class:`BitLayout`.
"""

from __future__ import annotations

import enum

from qemu_py.target.ppc.bitfield import BitLayout, Field

MASK64 = (1 << 64) - 1


class Hcall(enum.IntEnum):
    H_REMOVE = 0x04
    H_ENTER = 0x08
    H_READ = 0x0C
    H_CLEAR_MOD = 0x10
    H_CLEAR_REF = 0x14
    H_PROTECT = 0x18
    H_BULK_REMOVE = 0x124
    KVMPPC_H_RTAS = 0xF000


class HStatus(enum.IntEnum):
    H_SUCCESS = 0
    H_BUSY = 1
    H_CLOSED = 2
    H_HARDWARE = -1
    H_FUNCTION = -2
    H_PRIVILEGE = -3
    H_PARAMETER = -4
    H_BAD_MODE = -5
    H_PTEG_FULL = -6
    H_NOT_FOUND = -7
    H_RESERVED_DABR = -8
    H_NO_MEM = -9
    H_LONG_BUSY_ORDER_100_MSEC = 9902


H_SUCCESS = HStatus.H_SUCCESS
H_HARDWARE = HStatus.H_HARDWARE
H_FUNCTION = HStatus.H_FUNCTION
H_PRIVILEGE = HStatus.H_PRIVILEGE
H_PARAMETER = HStatus.H_PARAMETER
H_PTEG_FULL = HStatus.H_PTEG_FULL
H_NOT_FOUND = HStatus.H_NOT_FOUND

H_EXACT = 0x8000000000
H_R_XLATE = 0x4000000000
H_READ_4 = 0x2000000000
H_AVPN = 0x80000000
H_ANDCOND = 0x40000000
H_N = 0x4
H_PP1 = 0x2
H_PP2 = 0x1
H_LARGE_PAGE = 0x800000000000
H_ZERO_PAGE = 0x8000
H_ICACHE_INVALIDATE = 0x800000
H_ICACHE_SYNCHRONIZE = 0x400000

BULK_TSH = BitLayout(
    "bulk_tsh",
    [
        Field("TYPE", 0xC000000000000000, "01 request, 10 response, 11 end of list"),
        Field("CODE", 0x3000000000000000, "0 success, 1 not found, 2 parameter, 3 hardware"),
        Field("RC", 0x0C00000000000000, "returned R, C"),
        Field("FLAGS", 0x0300000000000000, "00 absolute, 01 ANDCOND, 10 AVPN"),
        Field("PTEX", 0x00FFFFFFFFFFFFFF, "HPTE index"),
    ],
)
H_BULK_REMOVE_TYPE = BULK_TSH["TYPE"].mask
H_BULK_REMOVE_REQUEST = 0x4000000000000000
H_BULK_REMOVE_RESPONSE = 0x8000000000000000
H_BULK_REMOVE_END = 0xC000000000000000
H_BULK_REMOVE_CODE = BULK_TSH["CODE"].mask
H_BULK_REMOVE_PARM = 0x2000000000000000
H_BULK_REMOVE_RC = BULK_TSH["RC"].mask
H_BULK_REMOVE_FLAGS = BULK_TSH["FLAGS"].mask
H_BULK_REMOVE_ANDCOND = 0x0100000000000000
H_BULK_REMOVE_AVPN = 0x0200000000000000
H_BULK_REMOVE_PTEX = BULK_TSH["PTEX"].mask
H_BULK_REMOVE_MAX_BATCH = 4

#: ``ibm,hypertas-functions`` strings QEMU advertises for these calls.
HYPERTAS_HPT_FUNCTIONS = ("hcall-pft", "hcall-bulk")


def u64(value: int) -> int:
    """A (possibly negative) status as the 64-bit register value."""
    return value & MASK64


def s64(value: int) -> int:
    """A 64-bit register value as a signed status."""
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value
