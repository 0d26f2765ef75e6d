"""Dispatch of one access to a region's ops (spec §2.2-2.6, §3.4).

``dispatch_read``/``dispatch_write`` are memory_region_dispatch_read/write:
follow aliases, validate (``access_valid``), split or widen to the
implemented sizes (``access_with_adjusted_size``), then byte-swap when the
caller's byte order differs from the region's.  ``memory_access_size`` is
physmem's piece-size rule for the AddressSpace loop.

Regions are duck-typed here (see ``region.MemoryRegion``): ``_alias``,
``_alias_offset``, ``ops``, ``owner``, ``name``, ``_ram``, ``_ram_device``,
``_rom_device``, ``_readonly``, ``disable_reentrancy_guard``.
"""

from __future__ import annotations

import logging

from .attrs import Endian, MemTxResult

guest_errors = logging.getLogger("qemu_py.memory.guest_errors")
warnings_log = logging.getLogger("qemu_py.memory")

OK = MemTxResult.OK
DECODE_ERROR = MemTxResult.DECODE_ERROR
ACCESS_ERROR = MemTxResult.ACCESS_ERROR
_RESULTS = tuple(MemTxResult(i) for i in range(8))
_DECODE = int(DECODE_ERROR)
_ACCESS = int(ACCESS_ERROR)

ACCESS_SIZES = (1, 2, 4, 8)
MASK64 = (1 << 64) - 1
_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFF_FFFF, 8: MASK64}

# Owners (by identity) with a dispatch in progress: the re-entrancy guard.
_engaged_owners: set[int] = set()


def as_result(r: int) -> MemTxResult:
    """An OR of MemTxResult bits as a MemTxResult (cheap for the usual ones)."""
    return _RESULTS[r] if 0 <= r < 8 else MemTxResult(r)


def is_big_endian(endian: Endian, target_big_endian: bool) -> bool:
    """Resolve NATIVE to the target's order; True for big-endian."""
    if endian is Endian.NATIVE:
        return target_big_endian
    return endian is Endian.BIG


def bswap(value: int, size: int) -> int:
    """bswap16/32/64 of the low ``size`` bytes (sizes 1 and others: unchanged)."""
    if size == 1:
        return value
    return int.from_bytes((value & _MASKS[size]).to_bytes(size, "little"), "big")


def memory_access_size(ops, length: int, offset: int) -> int:
    """physmem's piece size for an access of ``length`` at region ``offset``."""
    limit = ops.access_size_max
    if not ops.impl_unaligned:
        align = offset & -offset
        if align and align < limit:
            limit = align
    if length > limit:
        length = limit
    return 1 << (length.bit_length() - 1)  # pow2floor


def access_valid(mr, offset: int, size: int, is_write: bool, attrs) -> bool:
    """memory_region_access_valid: accepts, then alignment, then size."""
    ops = mr.ops
    reason = None
    if ops.accepts is not None and not ops.accepts(offset, size, is_write, attrs):
        reason = "rejected"
    elif not ops.valid_unaligned and offset & (size - 1):
        reason = "unaligned"
    elif ops.valid_max and not ops.valid_min <= size <= ops.valid_max:
        reason = f"invalid size (min:{ops.valid_min} max:{ops.valid_max})"
    if reason is None:
        return True
    if guest_errors.isEnabledFor(logging.INFO):
        guest_errors.info(
            "Invalid %s at addr 0x%X, size %u, region '%s', reason: %s",
            "write" if is_write else "read", offset, size, mr.name, reason)
    return False


def _guard_applies(mr) -> bool:
    return (mr.owner is not None and not mr.disable_reentrancy_guard
            and not mr._ram_device and not mr._ram and not mr._rom_device
            and not mr._readonly)


def _blocked(mr, offset: int) -> bool:
    """True (and warn once per region) when the owner is already in a dispatch."""
    if id(mr.owner) not in _engaged_owners:
        return False
    if not mr._reentrancy_warned:
        mr._reentrancy_warned = True
        warnings_log.warning("Blocked re-entrant IO on MemoryRegion: %s at addr: 0x%X",
                             mr.name, offset)
    return True


def _read_pieces(ops, offset: int, size: int, attrs, region_be: bool):
    """The splitter/widener loop for a read: (value, result bits)."""
    a = size
    if a > ops.impl_max_eff:
        a = ops.impl_max_eff
    if a < ops.impl_min_eff:
        a = ops.impl_min_eff
    mask = _MASKS.get(a) or (1 << (8 * a)) - 1
    read = ops.read
    if a == size and read is not None:  # the common single-call case
        return read(offset, a) & mask, 0
    value = 0
    r = 0
    for i in range(0, size, a):
        if read is not None:
            tmp = read(offset + i, a)
        elif ops.read_with_attrs is not None:
            tmp, rr = ops.read_with_attrs(offset + i, a, attrs)
            r |= int(rr)
        else:
            tmp = 0  # no read callback: reads as 0 (QEMU would crash)
        shift = 8 * (size - a - i) if region_be else 8 * i
        tmp &= mask
        value |= tmp << shift if shift >= 0 else tmp >> -shift
    return value, r


def _write_pieces(ops, offset: int, value: int, size: int, attrs, region_be: bool) -> int:
    """The splitter/widener loop for a write: the OR of result bits."""
    a = size
    if a > ops.impl_max_eff:
        a = ops.impl_max_eff
    if a < ops.impl_min_eff:
        a = ops.impl_min_eff
    mask = _MASKS.get(a) or (1 << (8 * a)) - 1
    write = ops.write
    if a == size and write is not None:
        write(offset, value & mask, a)
        return 0
    r = 0
    for i in range(0, size, a):
        shift = 8 * (size - a - i) if region_be else 8 * i
        piece = (value >> shift if shift >= 0 else value << -shift) & mask
        if write is not None:
            write(offset + i, piece, a)
        elif ops.write_with_attrs is not None:
            rr = ops.write_with_attrs(offset + i, piece, a, attrs)
            if rr:
                r |= int(rr)
        # no write callback: the write is ignored (QEMU would crash)
    return r


def access_read(mr, offset: int, size: int, attrs, region_be: bool):
    """access_with_adjusted_size for a read, behind the re-entrancy guard."""
    if mr.owner is None or not _guard_applies(mr):
        return _read_pieces(mr.ops, offset, size, attrs, region_be)
    if _blocked(mr, offset):
        return 0, ACCESS_ERROR
    key = id(mr.owner)
    _engaged_owners.add(key)
    try:
        return _read_pieces(mr.ops, offset, size, attrs, region_be)
    finally:
        _engaged_owners.discard(key)


def access_write(mr, offset: int, value: int, size: int, attrs, region_be: bool) -> int:
    """access_with_adjusted_size for a write, behind the re-entrancy guard."""
    if mr.owner is None or not _guard_applies(mr):
        return _write_pieces(mr.ops, offset, value, size, attrs, region_be)
    if _blocked(mr, offset):
        return ACCESS_ERROR
    key = id(mr.owner)
    _engaged_owners.add(key)
    try:
        return _write_pieces(mr.ops, offset, value, size, attrs, region_be)
    finally:
        _engaged_owners.discard(key)


def _valid(ops, offset: int, size: int) -> bool:
    """The cheap part of access_valid: no accepts hook, aligned or allowed, size ok."""
    return (ops.accepts is None
            and (ops.valid_unaligned or not offset & (size - 1))
            and (not ops.valid_max or ops.valid_min <= size <= ops.valid_max))


def dispatch_read_raw(mr, offset: int, size: int, attrs, endian: Endian,
                      target_big_endian: bool = False):
    """memory_region_dispatch_read returning (value, result bits as an int).

    Bits above ``size`` are not masked when no byte swap happens (as in
    QEMU: a widened little-endian read returns the whole implemented width).
    """
    while mr._alias is not None:
        offset += mr._alias_offset
        mr = mr._alias
    ops = mr.ops
    if not _valid(ops, offset, size) and not access_valid(mr, offset, size, False, attrs):
        return 0, _DECODE
    region_be = target_big_endian if ops.big is None else ops.big
    value, r = access_read(mr, offset, size, attrs, region_be)
    if size > 1 and region_be != is_big_endian(endian, target_big_endian):
        value = bswap(value, size)
    return value, r


def dispatch_write_raw(mr, offset: int, value: int, size: int, attrs, endian: Endian,
                       target_big_endian: bool = False) -> int:
    """memory_region_dispatch_write returning the result bits as an int."""
    while mr._alias is not None:
        offset += mr._alias_offset
        mr = mr._alias
    ops = mr.ops
    if not _valid(ops, offset, size) and not access_valid(mr, offset, size, True, attrs):
        return _DECODE
    value &= MASK64
    region_be = target_big_endian if ops.big is None else ops.big
    if size > 1 and region_be != is_big_endian(endian, target_big_endian):
        value = bswap(value, size)
    return access_write(mr, offset, value, size, attrs, region_be)


def dispatch_read(mr, offset: int, size: int, attrs, endian: Endian,
                  target_big_endian: bool = False):
    """memory_region_dispatch_read: returns (value, MemTxResult)."""
    value, r = dispatch_read_raw(mr, offset, size, attrs, endian, target_big_endian)
    return value, as_result(r)


def dispatch_write(mr, offset: int, value: int, size: int, attrs, endian: Endian,
                   target_big_endian: bool = False) -> MemTxResult:
    """memory_region_dispatch_write: returns the MemTxResult."""
    return as_result(dispatch_write_raw(mr, offset, value, size, attrs, endian,
                                        target_big_endian))
