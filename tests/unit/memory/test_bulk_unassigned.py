"""Bulk accesses over holes and reservations take a shortcut that must be
indistinguishable from QEMU's piece-by-piece loop (bytes, result, neighbours)."""

import logging

from qemu_py.memory import AddressSpace, MemoryRegion, MemTxResult
from qemu_py.memory.access import guest_errors


def build():
    root = MemoryRegion("system", 1 << 64)
    root.add_subregion(0, MemoryRegion.ram("low", 0x1000))
    root.add_subregion(0x3000, MemoryRegion.ram("high", 0x1000))
    root.add_subregion(0x2000, MemoryRegion.reservation("res", 0x100))
    space = AddressSpace(root, "memory")
    space.write(0, bytes(range(256)) * 16)
    space.write(0x3000, bytes(reversed(range(256))) * 16)
    return space


def outcome(space):
    data, r = space.read(0xF00, 0x2200)
    w = space.write(0xFF0, bytes([0x77]) * 0x2020)
    return data, r, w, space.read(0, 0x1000)[0], space.read(0x3000, 0x1000)[0]


def test_shortcut_equals_piecewise():
    fast = outcome(build())
    old = guest_errors.level
    guest_errors.setLevel(logging.INFO)           # forces the piece-by-piece path
    guest_errors.addHandler(logging.NullHandler())
    try:
        slow = outcome(build())
    finally:
        guest_errors.setLevel(old)
    assert fast == slow
    data, r = fast[0], fast[1]
    assert r == MemTxResult.DECODE_ERROR
    assert data[:0x100] == bytes(range(256)) and data[0x100:0x2100] == bytes(0x2000)
    assert data[0x2100:] == bytes(reversed(range(256)))
    assert fast[3][-0x10:] == b"\x77" * 0x10 and fast[4][:0x10] == b"\x77" * 0x10


def test_large_unassigned_bulk_access():
    old = guest_errors.level
    guest_errors.setLevel(logging.WARNING)        # nobody logs pieces: the shortcut applies
    try:
        _large_bulk_access()
    finally:
        guest_errors.setLevel(old)


def _large_bulk_access():
    space = build()
    assert space.write(1 << 40, bytes(64 << 20)) == MemTxResult.DECODE_ERROR
    assert space.read(1 << 40, 64 << 20) == (bytes(64 << 20), MemTxResult.DECODE_ERROR)
