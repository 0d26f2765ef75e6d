"""memory_region_dispatch_read/write: validation order (§2.2), dispatch
(§2.3) and the size splitter/widener with its big-endian rule (§2.4)."""

import logging

import pytest

from qemu_py.memory import (MEMTXATTRS_UNSPECIFIED, Endian, MemoryRegion, MemoryRegionOps,
                            MemTxAttrs, MemTxResult)

from .recording import RecordingDevice

LE, BE = Endian.LITTLE, Endian.BIG


# ---------------------------------------------------------------- §2.2 order

def test_accepts_is_asked_first_and_its_refusal_wins(caplog):
    asked = []

    def accepts(offset, size, is_write, attrs):
        asked.append((offset, size, is_write, attrs))
        return False

    dev = RecordingDevice(16, endianness=LE, valid_min=4, valid_max=4, accepts=accepts)
    with caplog.at_level(logging.INFO, logger="qemu_py.memory.guest_errors"):
        # unaligned and too small as well: the reason is still "rejected"
        assert dev.region.dispatch_read(1, 1) == (0, MemTxResult.DECODE_ERROR)
    assert asked == [(1, 1, False, MEMTXATTRS_UNSPECIFIED)]
    assert dev.log == []
    assert caplog.messages == [
        "Invalid read at addr 0x1, size 1, region 'dev', reason: rejected"]


def test_accepts_sees_writes_and_attrs():
    asked = []
    attrs = MemTxAttrs(secure=True, requester_id=7)
    dev = RecordingDevice(16, endianness=LE,
                          accepts=lambda *a: asked.append(a) or True)
    assert dev.region.dispatch_write(4, 0xAB, 1, attrs) == MemTxResult.OK
    assert asked == [(4, 1, True, attrs)]
    assert dev.log == [("write", 4, 1, 0xAB)]


def test_alignment_is_checked_even_when_any_size_is_valid(caplog):
    dev = RecordingDevice(16, endianness=LE)  # valid_max 0: any size
    with caplog.at_level(logging.INFO, logger="qemu_py.memory.guest_errors"):
        assert dev.region.dispatch_read(2, 4) == (0, MemTxResult.DECODE_ERROR)
        assert dev.region.dispatch_write(1, 0x1234, 2) == MemTxResult.DECODE_ERROR
    assert dev.log == []
    assert caplog.messages == [
        "Invalid read at addr 0x2, size 4, region 'dev', reason: unaligned",
        "Invalid write at addr 0x1, size 2, region 'dev', reason: unaligned"]


def test_alignment_is_checked_before_size(caplog):
    dev = RecordingDevice(16, endianness=LE, valid_min=4, valid_max=4)
    with caplog.at_level(logging.INFO, logger="qemu_py.memory.guest_errors"):
        dev.region.dispatch_read(1, 2)  # unaligned and too small
        dev.region.dispatch_read(0, 2)
        dev.region.dispatch_read(0, 8)
    assert [m.rsplit("reason: ", 1)[1] for m in caplog.messages] == [
        "unaligned", "invalid size (min:4 max:4)", "invalid size (min:4 max:4)"]


def test_valid_max_zero_skips_the_size_check():
    dev = RecordingDevice(16, endianness=LE, valid_min=4)
    assert dev.region.dispatch_read(0, 1) == (0, MemTxResult.OK)
    assert dev.region.dispatch_read(8, 8)[1] == MemTxResult.OK


def test_valid_unaligned_lets_unaligned_offsets_through():
    dev = RecordingDevice(16, endianness=LE, valid_unaligned=True)
    dev.mem[:] = bytes(range(16))
    assert dev.region.dispatch_read(3, 2) == (0x0403, MemTxResult.OK)
    assert dev.log == [("read", 3, 2, 0x0403)]


def test_size_must_be_a_memop_size():
    dev = RecordingDevice(16, endianness=LE)
    with pytest.raises(ValueError, match="dispatch size must be 1, 2, 4 or 8, not 3"):
        dev.region.dispatch_read(0, 3)


# ------------------------------------------------------------ §2.3 dispatch

def test_alias_dispatch_forwards_with_alias_offset_along_the_chain():
    dev = RecordingDevice(0x100, endianness=LE)
    inner = MemoryRegion.alias("inner", dev.region, 0x10, 0x80)
    outer = MemoryRegion.alias("outer", inner, 0x20, 0x40)
    outer.dispatch_write(4, 0x55, 1)
    assert dev.log == [("write", 0x34, 1, 0x55)]


def test_plain_ram_cannot_be_driven_through_dispatch():
    ram = MemoryRegion.ram("ram", 0x1000)
    assert ram.dispatch_read(0, 4) == (0, MemTxResult.DECODE_ERROR)
    assert ram.dispatch_write(0, 1, 4) == MemTxResult.DECODE_ERROR


def test_reservation_fails_every_access():
    res = MemoryRegion.reservation("bar", 0x1000)
    assert res.dispatch_read(0, 4) == (0, MemTxResult.DECODE_ERROR)
    assert res.dispatch_write(0, 1, 1) == MemTxResult.DECODE_ERROR


@pytest.mark.parametrize("dev_end, want, expect", [
    (LE, LE, 0x11223344), (LE, BE, 0x44332211),
    (BE, BE, 0x11223344), (BE, LE, 0x44332211)])
def test_callbacks_see_the_device_order_and_callers_get_theirs(dev_end, want, expect):
    dev = RecordingDevice(8, endianness=dev_end, value=0x11223344)
    assert dev.region.dispatch_read(0, 4, endian=want) == (expect, MemTxResult.OK)
    dev.region.dispatch_write(0, 0x11223344, 4, endian=want)
    assert dev.log[-1] == ("write", 0, 4, expect)


def test_native_follows_the_target_order():
    dev = RecordingDevice(8, endianness=Endian.NATIVE, value=0xAABB)
    assert dev.region.dispatch_read(0, 2, endian=LE)[0] == 0xAABB
    assert dev.region.dispatch_read(0, 2, endian=LE, target_big_endian=True)[0] == 0xBBAA
    assert dev.region.dispatch_read(0, 2, endian=Endian.NATIVE,
                                    target_big_endian=True)[0] == 0xAABB


def test_one_byte_accesses_are_never_swapped():
    dev = RecordingDevice(8, endianness=BE, value=0x5A)
    assert dev.region.dispatch_read(0, 1, endian=LE)[0] == 0x5A


def test_with_attrs_callbacks_get_attrs_and_results_are_ored():
    calls = []

    def read_with_attrs(offset, size, attrs):
        calls.append((offset, size, attrs))
        return 0xAA, (MemTxResult.ERROR if offset == 0 else MemTxResult.OK)

    def write_with_attrs(offset, value, size, attrs):
        calls.append((offset, value, size, attrs))
        return MemTxResult.DECODE_ERROR if offset == 1 else MemTxResult.OK

    ops = MemoryRegionOps(read_with_attrs=read_with_attrs, write_with_attrs=write_with_attrs,
                          endianness=LE, impl_max=1)
    mr = MemoryRegion.io("attrs", 4, ops)
    attrs = MemTxAttrs(requester_id=3)
    assert mr.dispatch_read(0, 2, attrs) == (0xAAAA, MemTxResult.ERROR)
    assert mr.dispatch_write(0, 0x1234, 2, attrs) == MemTxResult.DECODE_ERROR
    assert calls == [(0, 1, attrs), (1, 1, attrs), (0, 0x34, 1, attrs), (1, 0x12, 1, attrs)]


def test_read_wins_over_read_with_attrs():
    ops = MemoryRegionOps(read=lambda o, s: 1, read_with_attrs=lambda o, s, a: (2, 0),
                          endianness=LE)
    assert MemoryRegion.io("both", 4, ops).dispatch_read(0, 4)[0] == 1


# ----------------------------------------------- §2.4 access_with_adjusted_size

def test_le_split_puts_the_low_bits_first():
    dev = RecordingDevice(8, endianness=LE, impl_max=1)
    dev.region.dispatch_write(0, 0x11223344, 4)
    assert dev.log == [("write", 0, 1, 0x44), ("write", 1, 1, 0x33),
                       ("write", 2, 1, 0x22), ("write", 3, 1, 0x11)]


def test_be_split_puts_the_most_significant_piece_first():
    dev = RecordingDevice(8, endianness=BE, impl_max=1)
    dev.region.dispatch_write(0, 0x11223344, 4, endian=BE)
    assert dev.log == [("write", 0, 1, 0x11), ("write", 1, 1, 0x22),
                       ("write", 2, 1, 0x33), ("write", 3, 1, 0x44)]
    dev.log.clear()
    assert dev.region.dispatch_read(0, 4, endian=BE) == (0x11223344, MemTxResult.OK)
    assert dev.pieces() == [(0, 1), (1, 1), (2, 1), (3, 1)]


def test_be_split_of_eight_bytes_into_dwords():
    dev = RecordingDevice(8, endianness=BE, valid_max=8, impl_max=4)
    dev.region.dispatch_write(0, 0x1122334455667788, 8, endian=BE)
    assert dev.log == [("write", 0, 4, 0x11223344), ("write", 4, 4, 0x55667788)]


def test_le_widening_read_calls_at_the_unaligned_offset_and_keeps_upper_bits():
    dev = RecordingDevice(8, endianness=LE, valid_max=4, impl_min=4, value=0x9BF62F)
    # memory_region_dispatch_read does not mask: the caller truncates.
    assert dev.region.dispatch_read(1, 1) == (0x9BF62F, MemTxResult.OK)
    assert dev.log == [("read", 1, 4, 0x9BF62F)]


def test_le_widening_write_zero_fills_the_high_bytes():
    dev = RecordingDevice(8, endianness=LE, impl_min=4)
    dev.region.dispatch_write(2, 0xAB, 1)
    assert dev.log == [("write", 2, 4, 0xAB)]


def test_be_widening_uses_a_negative_shift():
    dev = RecordingDevice(8, endianness=BE, impl_min=4, value=0xAABBCCDD)
    # shift = 8 * (1 - 4) = -24: the most significant byte comes back
    assert dev.region.dispatch_read(1, 1, endian=BE) == (0xAA, MemTxResult.OK)
    dev.region.dispatch_write(1, 0x5A, 1, endian=BE)
    # the low bytes are the zero-filled part for a big-endian device
    assert dev.log[-1] == ("write", 1, 4, 0x5A000000)


def test_be_widening_of_two_bytes_to_four():
    dev = RecordingDevice(8, endianness=BE, impl_min=4, value=0xAABBCCDD)
    assert dev.region.dispatch_read(0, 2, endian=BE) == (0xAABB, MemTxResult.OK)
