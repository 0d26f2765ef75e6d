"""The ``KVM_PPC_GET_HTAB_FD`` ABI: ioctl numbers, argument struct, record header.

Spec sections 1.1 to 1.3.  The ioctl number depends on the host's ``_IOC``
encoding: PowerPC has 3 direction bits, 13 size bits and ``_IOC_WRITE = 4``;
the generic (x86, arm64) encoding has 2, 14 and 1.

The record header ``{u32 index; u16 n_valid; u16 n_invalid}`` is a plain
native struct, so its byte order is the *host's* (little-endian on ppc64le);
the HPTE words that follow are always big-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

ByteOrder = Literal["little", "big"]

KVMIO = 0xAE
KVM_CAP_PPC_ALLOC_HTAB = 80
KVM_CAP_PPC_HTAB_FD = 84

KVM_GET_HTAB_BOLTED_ONLY = 0x1
KVM_GET_HTAB_WRITE = 0x2
KVM_GET_HTAB_FLAGS = KVM_GET_HTAB_BOLTED_ONLY | KVM_GET_HTAB_WRITE

HTAB_HEADER_SIZE = 8
HTAB_HPTE_SIZE = 16
HTAB_MAX_RUN = 0xFFFF

PPC_MIN_HPT_ORDER = 18
PPC_MAX_HPT_ORDER = 46


@dataclass(frozen=True)
class IocEncoding:
    """How a host packs ``_IOC(dir, type, nr, size)``."""

    name: str
    size_bits: int
    dir_bits: int
    write: int
    read: int

    def ioc(self, direction: int, type_: int, nr: int, size: int) -> int:
        if size >= 1 << self.size_bits:
            raise ValueError(f"ioctl size {size} does not fit {self.size_bits} bits")
        size_shift = 16
        dir_shift = size_shift + self.size_bits
        return (direction << dir_shift) | (size << size_shift) | (type_ << 8) | nr


IOC_PPC = IocEncoding("powerpc", size_bits=13, dir_bits=3, write=4, read=2)
IOC_GENERIC = IocEncoding("generic", size_bits=14, dir_bits=2, write=1, read=2)

KVM_GET_HTAB_FD_STRUCT = struct.Struct("=QQ2Q")  # flags, start_index, reserved[2]


def kvm_ppc_get_htab_fd_number(enc: IocEncoding = IOC_PPC) -> int:
    """``_IOW(KVMIO, 0xAA, struct kvm_get_htab_fd)``: 0x8020AEAA on a ppc host."""
    return enc.ioc(enc.write, KVMIO, 0xAA, KVM_GET_HTAB_FD_STRUCT.size)


def kvm_ppc_allocate_htab_number(enc: IocEncoding = IOC_PPC) -> int:
    """``_IOWR(KVMIO, 0xA7, __u32)``."""
    return enc.ioc(enc.write | enc.read, KVMIO, 0xA7, 4)


def pack_get_htab_fd(flags: int, start_index: int, byteorder: ByteOrder = "little") -> bytes:
    """The 32-byte ``struct kvm_get_htab_fd`` in host byte order."""
    fmt = "<QQ2Q" if byteorder == "little" else ">QQ2Q"
    return struct.pack(fmt, flags, start_index, 0, 0)


def unpack_get_htab_fd(raw: bytes, byteorder: ByteOrder = "little") -> tuple[int, int]:
    """``(flags, start_index)`` from the struct; the reserved words are not checked."""
    if len(raw) != KVM_GET_HTAB_FD_STRUCT.size:
        raise ValueError(f"struct kvm_get_htab_fd is 32 bytes, got {len(raw)}")
    fmt = "<QQ2Q" if byteorder == "little" else ">QQ2Q"
    flags, start, _r0, _r1 = struct.unpack(fmt, raw)
    return flags, start


def _hdr_struct(byteorder: ByteOrder) -> struct.Struct:
    if byteorder == "little":
        return _HDR_LE
    if byteorder == "big":
        return _HDR_BE
    raise ValueError(f"byteorder={byteorder!r}: expected 'little' or 'big'")


_HDR_LE = struct.Struct("<IHH")
_HDR_BE = struct.Struct(">IHH")


@dataclass(frozen=True)
class HtabHeader:
    """``struct kvm_get_htab_header``."""

    index: int
    n_valid: int
    n_invalid: int

    def pack(self, byteorder: ByteOrder) -> bytes:
        return _hdr_struct(byteorder).pack(self.index, self.n_valid, self.n_invalid)

    @classmethod
    def unpack_from(cls, buf: bytes, offset: int, byteorder: ByteOrder) -> HtabHeader:
        return cls(*_hdr_struct(byteorder).unpack_from(buf, offset))


def pack_hpte(pte0: int, pte1: int) -> bytes:
    """One HPTE as it appears in the stream: two big-endian doublewords."""
    return pte0.to_bytes(8, "big") + pte1.to_bytes(8, "big")


def unpack_hpte(buf: bytes, offset: int) -> tuple[int, int]:
    return (
        int.from_bytes(buf[offset : offset + 8], "big"),
        int.from_bytes(buf[offset + 8 : offset + 16], "big"),
    )
