"""AddressSpace access path details (§1.7, §1.8, §3.3, §3.4)."""

import ctypes

import pytest

from qemu_py.memory import (AddressSpace, Endian, MemoryRegion, MemoryRegionOps, MemTxAttrs,
                            MemTxResult)

from .recording import RecordingDevice

OK, DECODE, ACCESS = MemTxResult.OK, MemTxResult.DECODE_ERROR, MemTxResult.ACCESS_ERROR


@pytest.fixture
def system():
    root = MemoryRegion("system", 1 << 64)
    return root, AddressSpace(root, "memory")


def test_ram_round_trip_and_cross_region_reads(system):
    root, space = system
    root.add_subregion(0x0, MemoryRegion.ram("lo", 0x1000))
    root.add_subregion(0x1000, MemoryRegion.ram("hi", 0x1000))
    assert space.write(0xFFE, b"abcd") == OK
    assert space.read(0xFFE, 4) == (b"abcd", OK)
    assert space.read_value(0xFFE, 4) == (int.from_bytes(b"abcd", "little"), OK)


def test_ram_host_memory_is_an_mmap_with_a_stable_address(system):
    root, space = system
    ram = MemoryRegion.ram("ram", 0x2000)
    root.add_subregion(0x10000, ram)
    assert len(ram.host) == 0x2000
    ctypes.c_uint32.from_address(ram.host_address + 0x100).value = 0xCAFEF00D
    assert space.read_value(0x10100, 4) == (0xCAFEF00D, OK)
    space.write_value(0x10200, 0x55, 1)
    assert ram.host[0x200] == 0x55


def test_big_endian_space_values_are_target_order(system):
    root = MemoryRegion("system", 1 << 32)
    space = AddressSpace(root, "memory", big_endian=True)
    root.add_subregion(0, MemoryRegion.ram("ram", 0x100))
    space.write_value(0x10, 0x11223344, 4)
    assert space.read(0x10, 4)[0] == b"\x11\x22\x33\x44"
    assert space.read_value(0x10, 2) == (0x1122, OK)


@pytest.mark.parametrize("device, seen", [
    (Endian.NATIVE, 0x11223344), (Endian.BIG, 0x11223344), (Endian.LITTLE, 0x44332211)])
def test_big_endian_target_and_device_byte_order(device, seen):
    """endianness-test: an LE device on a BE machine sees swapped values."""
    root = MemoryRegion("system", 1 << 32)
    space = AddressSpace(root, "memory", big_endian=True)
    dev = RecordingDevice(8, "dev", endianness=device, big=device is not Endian.LITTLE)
    root.add_subregion(0x1000, dev.region)
    space.write_value(0x1000, 0x11223344, 4)
    assert dev.log == [("write", 0, 4, seen)]
    assert space.read_value(0x1000, 4) == (0x11223344, OK)
    assert space.read_value(0x1000, 8)[0] == 0x1122334400000000


def test_big_endian_split_through_the_space():
    root = MemoryRegion("system", 1 << 32)
    space = AddressSpace(root, "memory", big_endian=True)
    dev = RecordingDevice(4, "dev", endianness=Endian.BIG, impl_max=1)
    root.add_subregion(0x1000, dev.region)
    space.write_value(0x1000, 0x11223344, 4)
    assert dev.log == [("write", 0, 1, 0x11), ("write", 1, 1, 0x22),
                       ("write", 2, 1, 0x33), ("write", 3, 1, 0x44)]


def test_rom_reads_direct_writes_dropped(system):
    root, space = system
    rom = MemoryRegion.rom("pc.bios", 0x1000)
    rom.host[0:4] = b"\xEA\x5B\xE0\x00"
    root.add_subregion(0xFFFFF000, rom)
    assert space.read(0xFFFFF000, 4) == (b"\xEA\x5B\xE0\x00", OK)
    assert space.write(0xFFFFF000, b"\0\0\0\0\0") == DECODE
    assert bytes(rom.host[0:4]) == b"\xEA\x5B\xE0\x00"


def test_rom_device_romd_mode(system):
    root, space = system
    dev = RecordingDevice(0x100, "flash-regs", endianness=Endian.LITTLE, value=0x98)
    flash = MemoryRegion.rom_device("flash", 0x100, dev.ops)
    flash.host[0:2] = b"\x55\xAA"
    root.add_subregion(0x1000, flash)
    assert flash.is_romd() and not flash.is_ram() and flash.type_label() == "romd"
    assert space.read_value(0x1000, 2) == (0xAA55, OK)
    space.write_value(0x1000, 0x90, 1)  # writes always go to the ops
    assert dev.take() == [("write", 0, 1, 0x90)]
    flash.set_romd(False)
    assert flash.type_label() == "i/o"
    assert space.read_value(0x1000, 1) == (0x98, OK)
    assert dev.take() == [("read", 0, 1, 0x98)]
    assert not space.flatview()[0].romd_mode


def test_attrs_memory_refuses_non_ram_pieces(system):
    root, space = system
    root.add_subregion(0, MemoryRegion.ram("ram", 0x10))
    dev = RecordingDevice(0x10, "dev", endianness=Endian.LITTLE)
    root.add_subregion(0x10, dev.region)
    attrs = MemTxAttrs(memory=True)
    assert space.write(0xE, b"\x07\x08", attrs) == OK
    # the RAM piece is read; the MMIO piece fails (and is not clamped)
    assert space.read(0xE, 4, attrs) == (b"\x07\x08\0\0", ACCESS)
    assert space.write_value(0x10, 1, 4, attrs) == ACCESS
    assert dev.log == []


def test_translate_clamps_ram_but_not_mmio(system):
    root, space = system
    root.add_subregion(0x1000, MemoryRegion.ram("ram", 0x100))
    root.add_subregion(0x2000, RecordingDevice(4, "mmio", endianness=Endian.LITTLE).region)
    mr, xlat, length = space.translate(0x1010, False, length=0x1000)
    assert (mr.name, xlat, length) == ("ram", 0x10, 0xF0)
    mr, xlat, length = space.translate(0x2002, True, length=0x1000)
    assert (mr.name, xlat, length) == ("mmio", 2, 0x1000)
    assert space.translate(0x5000, False)[:2] == (space.translate(0x5000, True)[0], 0x5000)


def test_find_returns_the_first_intersecting_section(system):
    root, space = system
    ram = MemoryRegion.ram("ram", 0x1000)
    root.add_subregion(0x10000, ram)
    section = space.find(0xF000, 0x2000)
    assert (section.mr, section.offset_within_region, section.size,
            section.offset_within_address_space) == (ram, 0, 0x1000, 0x10000)
    section = space.find(0x10800, 0x1000)
    assert (section.offset_within_region, section.size) == (0x800, 0x800)
    assert space.find(0x0, 0x1000) is None
    assert space.find(0x10004, 0).size == 0


def test_ram_ptr_gives_views_only_for_direct_memory(system):
    root, space = system
    root.add_subregion(0x0, MemoryRegion.ram("ram", 0x1000))
    root.add_subregion(0x1000, MemoryRegion.rom("rom", 0x1000))
    root.add_subregion(0x2000, RecordingDevice(4, "mmio", endianness=Endian.LITTLE).region)
    view = space.ram_ptr(0x10, 4, is_write=True)
    view[:] = b"wxyz"
    assert space.read(0x10, 4)[0] == b"wxyz"
    assert space.ram_ptr(0x1000, 4).readonly
    assert space.ram_ptr(0x1000, 4, is_write=True) is None
    assert space.ram_ptr(0x2000, 4) is None
    assert space.ram_ptr(0xFFE, 4) is None  # crosses into the ROM


def test_reservation_hides_lower_priority_siblings(system):
    root, space = system
    below = MemoryRegion.ram("below", 0x1000)
    root.add_subregion(0, below)
    root.add_subregion_overlap(0x800, MemoryRegion.reservation("hole", 0x100), 1)
    assert space.read_value(0x800, 4) == (0, DECODE)
    assert space.write_value(0x800, 1, 4) == DECODE
    assert space.read_value(0x900, 1) == (0, OK)


def test_missing_callbacks_read_zero_and_ignore_writes(system):
    root, space = system
    root.add_subregion(0, MemoryRegion.io("wo", 4, MemoryRegionOps(endianness=Endian.LITTLE)))
    assert space.read_value(0, 4) == (0, OK)
    assert space.write_value(0, 1, 4) == OK


def test_addresses_wrap_at_2_to_the_64(system):
    root, space = system
    root.add_subregion(0, MemoryRegion.ram("ram", 0x10))
    root.add_subregion((1 << 64) - 2, MemoryRegion.ram("top", 2))
    space.write(0, b"\x03\x04")
    space.write((1 << 64) - 2, b"\x01\x02")
    assert space.read((1 << 64) - 2, 4) == (b"\x01\x02\x03\x04", OK)


def test_negative_length_is_refused(system):
    _, space = system
    with pytest.raises(ValueError, match="read length must not be negative, not -1"):
        space.read(0, -1)
