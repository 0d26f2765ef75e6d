"""MemoryHPT: big-endian HPTEs at a base address, QEMU's store order, byte R/C stores."""

import pytest

from qemu_py.target.ppc.guest_memory import GuestMemoryError, RamMemory, SparseMemory
from qemu_py.target.ppc.hpt_backend import MemoryHPT


class RecordingMemory(RamMemory):
    def __init__(self, size):
        super().__init__(size)
        self.log = []

    def write(self, addr, data):
        self.log.append((addr, bytes(data)))
        super().write(addr, data)


def test_entries_are_big_endian_at_base():
    mem = RamMemory(0x80000)
    hpt = MemoryHPT(mem, 0x40000, 18)
    hpt.write_hpte(3, 0x0123456789ABCDEF, 0x1122334455667788)
    assert mem.read(0x40030, 16) == bytes.fromhex("0123456789abcdef1122334455667788")
    assert hpt.read_hptes(2, 2) == [(0, 0), (0x0123456789ABCDEF, 0x1122334455667788)]


def test_valid_store_writes_pte1_first_and_invalidation_pte0_first():
    mem = RecordingMemory(1 << 18)
    hpt = MemoryHPT(mem, 0, 18)
    hpt.write_hpte(1, 0x41, 0x5012)
    assert [a for a, _ in mem.log] == [0x18, 0x10]
    mem.log.clear()
    hpt.write_hpte(1, 0x40, 0)
    assert [a for a, _ in mem.log] == [0x10, 0x18]


def test_set_r_and_set_c_are_single_byte_stores():
    mem = RecordingMemory(1 << 18)
    hpt = MemoryHPT(mem, 0, 18)
    hpt.write_hpte(2, 0x41, 0x6013)
    mem.log.clear()
    hpt.set_r(2, 0x41, 0x6013)
    hpt.set_c(2, 0x41, 0x6113)
    assert mem.log == [(0x2E, b"\x61"), (0x2F, b"\x93")]
    assert hpt.read_hptes(2, 1) == [(0x41, 0x6193)]


def test_geometry():
    hpt = MemoryHPT(RamMemory(1 << 22), 0, 22)
    assert (hpt.size, hpt.npte, hpt.hpt_mask) == (1 << 22, 0x40000, 0x7FFF)


def test_n_zero_is_an_error_naming_n():
    hpt = MemoryHPT(RamMemory(1 << 18), 0, 18)
    with pytest.raises(ValueError, match="read_hptes: n=0, must be at least 1"):
        hpt.read_hptes(0, 0)


def test_range_past_the_end_is_an_error():
    hpt = MemoryHPT(RamMemory(1 << 18), 0, 18)
    assert hpt.read_hptes(0x3FFF, 1) == [(0, 0)]
    with pytest.raises(ValueError, match=r"ptex=0x3fff n=2 runs outside the table of 0x4000 HPTEs"):
        hpt.read_hptes(0x3FFF, 2)
    with pytest.raises(ValueError, match=r"write_hpte: ptex=0x4000 n=1"):
        hpt.write_hpte(0x4000, 1, 0)


def test_table_smaller_than_a_pteg_is_refused():
    with pytest.raises(ValueError, match="htab_shift=6"):
        MemoryHPT(RamMemory(64), 0, 6)


def test_memory_errors_name_the_access():
    with pytest.raises(
        GuestMemoryError, match="access of 8 bytes at 0xffc outside memory of size 0x1000"
    ):
        RamMemory(0x1000).read(0xFFC, 8)
    sparse = SparseMemory(0x3000)
    sparse.write(0xFFE, b"abcd")
    assert sparse.read(0xFFC, 8) == b"\0\0abcd\0\0"
    with pytest.raises(GuestMemoryError):
        sparse.write(0x2FFF, b"ab")
