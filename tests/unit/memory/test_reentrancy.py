"""The re-entrancy guard of §2.6: a dispatch to a device already in a
dispatch fails with ACCESS_ERROR and no callback."""

import logging

import pytest

from qemu_py.memory import AddressSpace, Endian, MemoryRegion, MemoryRegionOps, MemTxResult


class Device:
    """Two MMIO regions of one owner; reading ``a`` does DMA to ``target``."""

    name = "dev0"

    def __init__(self, space: AddressSpace, target: int) -> None:
        self.space = space
        self.target = target
        self.nested = None
        self.calls = []
        le = Endian.LITTLE
        self.a = MemoryRegion.io("a", 4, MemoryRegionOps(read=self.read_a, endianness=le),
                                 owner=self)
        self.b = MemoryRegion.io("b", 4, MemoryRegionOps(read=self.read_b, endianness=le),
                                 owner=self)

    def read_a(self, offset, size):
        self.calls.append("a")
        self.nested = self.space.read_value(self.target, 4)
        return 0x1234

    def read_b(self, offset, size):
        self.calls.append("b")
        return 0x5678


@pytest.fixture
def setup():
    root = MemoryRegion("system", 1 << 32)
    space = AddressSpace(root, "memory")
    dev = Device(space, 0x2000)
    root.add_subregion(0x1000, dev.a)
    root.add_subregion(0x2000, dev.b)
    return root, space, dev


def test_nested_dispatch_to_the_same_owner_is_blocked(setup, caplog):
    _, space, dev = setup
    with caplog.at_level(logging.WARNING, logger="qemu_py.memory"):
        assert space.read_value(0x1000, 4) == (0x1234, MemTxResult.OK)
        space.read_value(0x1000, 4)
    assert dev.nested == (0, MemTxResult.ACCESS_ERROR)
    assert dev.calls == ["a", "a"]
    assert caplog.messages == ["Blocked re-entrant IO on MemoryRegion: b at addr: 0x0"]
    # the guard is released afterwards
    assert space.read_value(0x2000, 4) == (0x5678, MemTxResult.OK)


def test_no_owner_means_no_guard(setup):
    _, space, dev = setup
    dev.a.owner = None
    dev.b.owner = None
    space.read_value(0x1000, 4)
    assert dev.nested == (0x5678, MemTxResult.OK)


def test_guard_can_be_disabled_per_region(setup):
    _, space, dev = setup
    dev.b.disable_reentrancy_guard = True
    space.read_value(0x1000, 4)
    assert dev.nested == (0x5678, MemTxResult.OK)


def test_other_owners_and_ram_like_regions_are_not_guarded(setup):
    root, space, dev = setup
    other = MemoryRegion.io("other", 4, MemoryRegionOps(read=lambda o, s: 0x9999,
                                                        endianness=Endian.LITTLE),
                            owner=object())
    flash = MemoryRegion.rom_device("flash", 0x1000, MemoryRegionOps(
        read=lambda o, s: 0x7777, endianness=Endian.LITTLE), owner=dev)
    flash.set_romd(False)
    root.add_subregion(0x3000, other)
    root.add_subregion(0x4000, flash)
    dev.target = 0x3000
    space.read_value(0x1000, 4)
    assert dev.nested == (0x9999, MemTxResult.OK)
    dev.target = 0x4000
    space.read_value(0x1000, 4)
    assert dev.nested == (0x7777, MemTxResult.OK)


def test_callback_exceptions_propagate_and_release_the_guard(setup):
    _, space, dev = setup

    def broken(offset, size):
        raise RuntimeError("device bug")

    dev.a.ops = MemoryRegionOps(read=broken, endianness=Endian.LITTLE)
    with pytest.raises(RuntimeError, match="device bug"):
        space.read_value(0x1000, 4)
    assert space.read_value(0x2000, 4) == (0x5678, MemTxResult.OK)
