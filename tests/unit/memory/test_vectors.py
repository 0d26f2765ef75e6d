"""Conformance vectors 1-6 of spec §6 (pc-testdev, PM timer, MSI-X table,
unassigned space), driven through AddressSpace like qtest does."""

import pytest

from qemu_py.memory import (UNASSIGNED_IO_OPS, AddressSpace, Endian, MemoryRegion,
                            MemTxResult)

from .recording import RecordingDevice, ranges

LE = Endian.LITTLE
OK, DECODE = MemTxResult.OK, MemTxResult.DECODE_ERROR


@pytest.fixture
def system():
    root = MemoryRegion("system", (1 << 64) - 1)
    return root, AddressSpace(root, "memory")


@pytest.fixture
def ioport():
    root = MemoryRegion.io("io", 0x10000, UNASSIGNED_IO_OPS)
    return root, AddressSpace(root, "I/O")


def test_vector1_default_ops_mmio_splits_into_aligned_pieces(system):
    root, space = system
    iomem = RecordingDevice(0x10000, "pc-testdev-iomem", endianness=LE)
    root.add_subregion(0xFF000000, iomem.region)

    assert space.write_value(0xFF000001, 0xAABBCCDD, 4) == OK
    assert iomem.take() == [("write", 1, 1, 0xDD), ("write", 2, 2, 0xBBCC),
                            ("write", 4, 1, 0xAA)]
    space.read(0xFF000000, 8)
    assert iomem.pieces() == [(0, 4), (4, 4)]
    iomem.log.clear()
    space.read(0xFF000001, 7)
    assert iomem.pieces() == [(1, 1), (2, 2), (4, 4)]
    assert space.read_value(0xFF000000, 8) == (0x000000AABBCCDD00, OK)


def test_vector2_impl_byte_region_gets_byte_writes(ioport):
    root, space = ioport
    dev = RecordingDevice(4, "pc-testdev-ioport-byte", endianness=LE,
                          valid_min=1, valid_max=4, impl_min=1, impl_max=1)
    root.add_subregion(0xE0, dev.region)
    space.write_value(0xE0, 0x11223344, 4)
    assert dev.take() == [("write", 0, 1, 0x44), ("write", 1, 1, 0x33),
                          ("write", 2, 1, 0x22), ("write", 3, 1, 0x11)]
    space.write_value(0xE1, 0xBEEF, 2)
    assert dev.take() == [("write", 1, 1, 0xEF), ("write", 2, 1, 0xBE)]
    # "combine": write narrow, read back wide
    assert space.read_value(0xE0, 4) == (0x11BEEF44, OK)


def test_vector3_valid_max_one_splits_and_valid_4_rejects_bytes(ioport):
    root, space = ioport
    irq_line = RecordingDevice(1, "irq-line", endianness=LE, valid_min=1, valid_max=1)
    flush = RecordingDevice(4, "flush-page", endianness=LE, valid_min=4, valid_max=4)
    root.add_subregion(0x2000, irq_line.region)
    root.add_subregion(0xE4, flush.region)

    space.write_value(0x2000, 0x0201, 2)  # outw: the second byte is a hole
    assert irq_line.take() == [("write", 0, 1, 0x01)]
    irq_line.region.set_size(2)
    space.write_value(0x2000, 0x0201, 2)
    assert irq_line.take() == [("write", 0, 1, 0x01), ("write", 1, 1, 0x02)]

    assert space.read_value(0xE4, 1) == (0, DECODE)
    assert flush.log == []
    assert space.read_value(0xE4, 4) == (0, OK)
    assert flush.pieces() == [(0, 4)]


def test_vector4_impl_min_4_widens_byte_and_word_reads(ioport):
    root, space = ioport
    pmtmr = RecordingDevice(4, "acpi-tmr", endianness=LE, valid_min=1, valid_max=4,
                            impl_min=4, value=0x9BF62F)
    root.add_subregion(0x608, pmtmr.region)
    assert space.read_value(0x609, 1) == (0x2F, OK)
    assert pmtmr.take() == [("read", 1, 4, 0x9BF62F)]
    assert space.read_value(0x60A, 2) == (0xF62F, OK)
    assert pmtmr.take() == [("read", 2, 4, 0x9BF62F)]


def test_vector5_msix_table_split_and_partial_failure(system):
    root, space = system
    table = RecordingDevice(0x100, "msix-table", endianness=LE, valid_min=4, valid_max=8,
                            impl_max=4)
    table.mem[:16] = bytes(range(1, 17))
    root.add_subregion(0xFEB00000, table.region)

    data, result = space.read(0xFEB00000, 16)
    assert (data, result) == (bytes(range(1, 17)), OK)
    assert table.take() == [("read", 0, 4, 0x04030201), ("read", 4, 4, 0x08070605),
                            ("read", 8, 4, 0x0C0B0A09), ("read", 12, 4, 0x100F0E0D)]

    data, result = space.read(0xFEB00002, 8)
    assert result == DECODE
    assert data == bytes([0, 0, 5, 6, 7, 8, 0, 0])
    assert table.pieces() == [(4, 4)]


def test_vector6_unassigned_mmio_reads_zero_with_decode_error(system):
    _, space = system
    assert space.read_value(0xF0000000, 4) == (0, DECODE)
    assert space.write_value(0xF0000000, 0x1234, 4) == DECODE
    assert space.read(0xF0000000, 3) == (b"\0\0\0", DECODE)


def test_vector6_unassigned_port_io_reads_all_ones_ok(ioport):
    _, space = ioport
    assert space.read_value(0x1234, 1) == (0xFF, OK)
    assert space.read_value(0x1234, 2) == (0xFFFF, OK)
    assert space.read_value(0x1234, 4) == (0xFFFFFFFF, OK)
    assert space.write_value(0x1234, 0x55, 1) == OK


def test_unaligned_port_write_continues_into_the_neighbour(ioport):
    root, space = ioport
    low = RecordingDevice(4, "low", endianness=LE)
    high = RecordingDevice(4, "high", endianness=LE)
    root.add_subregion(0xE4, low.region)
    root.add_subregion(0xE8, high.region)
    space.write_value(0xE5, 0x44332211, 4)  # outl 0xe5
    assert low.take() == [("write", 1, 1, 0x11), ("write", 2, 2, 0x3322)]
    assert high.take() == [("write", 0, 1, 0x44)]


def test_overlapping_port_registers_like_cf8_cf9(ioport):
    root, space = ioport
    conf = RecordingDevice(4, "pci-conf-idx", endianness=LE)
    reset = RecordingDevice(1, "piix3-reset-control", endianness=LE)
    root.add_subregion(0xCF8, conf.region)
    root.add_subregion_overlap(0xCF9, reset.region, 1)
    assert ranges(space)[1:4] == [
        (0xCF8, 0xCF8, "pci-conf-idx", 0),
        (0xCF9, 0xCF9, "piix3-reset-control", 0),
        (0xCFA, 0xCFB, "pci-conf-idx", 2)]
    # MMIO lengths are not clamped to the FlatRange: outl 0xcf8 is one dword
    space.write_value(0xCF8, 0x80000000, 4)
    assert conf.take() == [("write", 0, 4, 0x80000000)]
    assert reset.log == []
    space.write_value(0xCF9, 0x06, 1)
    assert reset.take() == [("write", 0, 1, 0x06)]


def test_io_root_fills_the_holes_between_devices(ioport):
    root, space = ioport
    root.add_subregion(0x0, RecordingDevice(0x10, "dma-chan", endianness=LE).region)
    root.add_subregion(0x20, RecordingDevice(0x2, "pic", endianness=LE).region)
    assert ranges(space) == [(0x0, 0xF, "dma-chan", 0), (0x10, 0x1F, "io", 0x10),
                             (0x20, 0x21, "pic", 0), (0x22, 0xFFFF, "io", 0x22)]
    assert "0000000000000010-000000000000001f (prio 0, container): io @0000000000000010" \
        in space.mtree_text(flat=True)
