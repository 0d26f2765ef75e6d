"""ram_device (spec §3, vector 7 of §6, `xp` widths of §4.4): every access is
one host load/store of exactly its size at its exact offset."""

import mmap
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qemu_py.memory import AddressSpace, MemoryRegion, MemTxResult

OK = MemTxResult.OK
BASE = 0xFED45000  # tpm-ppi on q35


@pytest.fixture
def ppi():
    """A 0x400-byte ram_device (TPM PPI) recording every host access."""
    root = MemoryRegion("system", 1 << 64)
    space = AddressSpace(root, "memory")
    host = mmap.mmap(-1, 0x1000)
    mr = MemoryRegion.ram_device("tpm-ppi", 0x400, host)
    accesses = []
    mr.on_ram_device_access = lambda kind, off, size, value: accesses.append(
        (kind, off, size))
    root.add_subregion(BASE, mr)
    return space, mr, host, accesses


def test_kind_and_ops(ppi):
    _, mr, host, _ = ppi
    assert mr.is_ram() and mr.is_ram_device() and not mr.is_rom()
    assert mr.type_label() == "ramd"
    ops = mr.ops
    assert (ops.valid_min, ops.valid_max, ops.valid_unaligned) == (1, 8, True)
    assert (ops.impl_min, ops.impl_max, ops.impl_unaligned) == (1, 8, True)
    assert ops.endianness.value == sys.byteorder
    assert mr.host is host


def test_writeq_is_one_eight_byte_store(ppi):
    space, _, host, accesses = ppi
    space.write_value(BASE, 0x1122334455667788, 8)
    assert accesses == [("write", 0, 8)]
    assert host[0:8] == (0x1122334455667788).to_bytes(8, "little")


def test_unaligned_loads_are_single_loads(ppi):
    space, _, host, accesses = ppi
    host[0x100:0x110] = bytes(range(0x10, 0x20))
    assert space.read_value(BASE + 0x101, 4) == (0x14131211, OK)
    assert space.read_value(BASE + 0x103, 2) == (0x1413, OK)
    assert accesses == [("read", 0x101, 4), ("read", 0x103, 2)]


@pytest.mark.parametrize("offset, length, pieces", [
    (0x100, 16, [(0x100, 8), (0x108, 8)]),
    (0x101, 16, [(0x101, 8), (0x109, 8)]),
    (0x101, 3, [(0x101, 2), (0x103, 1)]),
])
def test_longer_reads_take_the_largest_power_of_two(ppi, offset, length, pieces):
    space, _, host, accesses = ppi
    host[0:0x400] = bytes(i & 0xFF for i in range(0x400))
    data, result = space.read(BASE + offset, length)
    assert result == OK and data == bytes(host[offset:offset + length])
    assert accesses == [("read", off, size) for off, size in pieces]


def test_unaligned_writel_is_one_store_and_odd_writes_split(ppi):
    space, _, host, accesses = ppi
    space.write_value(BASE + 0x201, 0xDEADBEEF, 4)
    assert space.write(BASE + 0x300, b"\x01\x02\x03") == OK
    assert accesses == [("write", 0x201, 4), ("write", 0x300, 2), ("write", 0x302, 1)]
    assert host[0x201:0x205] == (0xDEADBEEF).to_bytes(4, "little")
    assert host[0x300:0x303] == b"\x01\x02\x03"


def test_read_past_the_end_does_a_dword_then_the_next_region(ppi):
    space, _, host, accesses = ppi
    host[0x3FC:0x400] = b"\xAA\xBB\xCC\xDD"
    data, result = space.read(BASE + 0x3FC, 8)
    assert accesses == [("read", 0x3FC, 4)]
    assert data == b"\xAA\xBB\xCC\xDD\0\0\0\0"
    assert result == MemTxResult.DECODE_ERROR  # the rest is unassigned MMIO


@pytest.mark.parametrize("xp, offset, length, pieces", [
    ("xp /4wx", 0, 16, [8, 8]),
    ("xp /8bx", 0, 8, [8]),
    ("xp /2hx", 0, 4, [4]),
    ("xp /1wx", 0, 4, [4]),
    ("xp /3wx at +1", 1, 12, [8, 4]),
])
def test_xp_line_reads_use_the_largest_width(ppi, xp, offset, length, pieces):
    space, _, _, accesses = ppi
    space.read(BASE + offset, length)
    assert [size for _, _, size in accesses] == pieces


def test_ram_device_is_never_direct(ppi):
    space, _, _, accesses = ppi
    assert space.ram_ptr(BASE, 4) is None
    assert space.translate(BASE, False, length=16)[2] == 16


def test_direct_dispatch_on_the_region(ppi):
    _, mr, host, accesses = ppi
    host[0x10:0x20] = bytes(range(16))
    assert mr.dispatch_read(0x11, 8) == (0x0807060504030201, OK)
    mr.dispatch_write(0x13, 0xAABB, 2)
    assert host[0x13:0x15] == b"\xBB\xAA"
    assert accesses == [("read", 0x11, 8), ("write", 0x13, 2)]


def test_ram_device_accesses_are_clamped_to_dispatch_sections():
    """A range not starting on a page is registered as a leading partial page
    plus whole pages (§1.6), and RAM lengths are clamped per section (§1.7)."""
    root = MemoryRegion("system", 1 << 64)
    space = AddressSpace(root, "memory")
    bar = MemoryRegion.ram_device("bar mmaps[0]", 0x3000, bytearray(0x3000))
    accesses = []
    bar.on_ram_device_access = lambda kind, off, size, value: accesses.append((off, size))
    window = MemoryRegion.alias("window", bar, 0x78, 0x2F88)
    root.add_subregion(0x10078, window)
    space.read(0x10FFC, 16)
    assert accesses == [(0xFFC, 4), (0x1000, 8), (0x1008, 4)]


def test_host_buffer_must_be_writable_and_large_enough():
    with pytest.raises(TypeError, match="writable buffer"):
        MemoryRegion.ram_device("ro", 16, bytes(16))
    with pytest.raises(ValueError, match="less than the region size"):
        MemoryRegion.ram_device("small", 0x100, bytearray(0x10))


def test_host_accesses_stay_inside_the_buffer():
    mr = MemoryRegion.ram_device("edge", 8, bytearray(8))
    with pytest.raises(IndexError, match="outside the 0x8-byte host buffer"):
        mr.dispatch_read(6, 4)


@settings(max_examples=100, deadline=None)
@given(ops=st.lists(st.tuples(st.booleans(), st.integers(0, 0xEC), st.binary(min_size=1,
                                                                           max_size=20)),
                    max_size=10),
       big_endian=st.booleans())
def test_ram_device_has_ram_byte_semantics(ops, big_endian):
    root = MemoryRegion("system", 1 << 32)
    space = AddressSpace(root, "memory", big_endian=big_endian)
    host = bytearray(0x100)
    mr = MemoryRegion.ram_device("ramd", 0x100, host)
    sizes = []
    mr.on_ram_device_access = lambda kind, off, size, value: sizes.append(size)
    root.add_subregion(0x1000, mr)
    model = bytearray(0x100)
    for is_write, offset, data in ops:
        sizes.clear()
        if is_write:
            assert space.write(0x1000 + offset, data) == OK
            model[offset:offset + len(data)] = data
        else:
            assert space.read(0x1000 + offset, len(data)) == (
                bytes(model[offset:offset + len(data)]), OK)
        # largest power of two <= remaining, capped at 8, whatever the alignment
        expect, left = [], len(data)
        while left:
            expect.append(min(8, 1 << (left.bit_length() - 1)))
            left -= expect[-1]
        assert sizes == expect
    assert host == model
