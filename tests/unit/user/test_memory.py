"""The guest address space: mmap/munmap/mprotect/mremap/brk as the kernel answers them."""

import errno

import pytest

from qemu_py.user.memory import (MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE,
                                 MMAP_BASE, MREMAP_MAYMOVE, PROT_READ, PROT_WRITE, GuestMemory,
                                 SegFault)

ANON = MAP_PRIVATE | MAP_ANONYMOUS
RW = PROT_READ | PROT_WRITE


@pytest.fixture
def mem():
    return GuestMemory()


def test_mmap_top_down_zero_filled_and_lazily_allocated(mem):
    a = mem.mmap(0, 10000, RW, ANON)
    b = mem.mmap(0, 4096, RW, ANON)
    assert a == MMAP_BASE - 12288 and b == a - 4096
    assert mem.read_bytes(a, 16) == bytes(16)
    assert len(mem.find(a).pages) == 1                 # only the page read was allocated


def test_fixed_replaces_and_noreplace_refuses(mem):
    a = mem.mmap(0x10000000, 8192, RW, ANON | MAP_FIXED)
    mem.write_bytes(a, b"old")
    assert mem.mmap(a, 4096, RW, ANON | MAP_FIXED_NOREPLACE) == -errno.EEXIST
    assert mem.mmap(a, 4096, RW, ANON | MAP_FIXED) == a
    assert mem.read_bytes(a, 3) == bytes(3)


@pytest.mark.parametrize("args, err", [((0, 0, RW, ANON), errno.EINVAL),
                                       ((0, 4096, RW, MAP_ANONYMOUS), errno.EINVAL),
                                       ((0x1001, 4096, RW, ANON | MAP_FIXED), errno.EINVAL),
                                       ((0, 4096, RW, MAP_PRIVATE, -1), errno.EBADF),
                                       ((0, 1 << 60, RW, ANON), errno.ENOMEM)])
def test_mmap_errors(mem, args, err):
    assert mem.mmap(*args) == -err


def test_mprotect_splits_and_faults(mem):
    a = mem.mmap(0x20000000, 3 * 4096, RW, ANON | MAP_FIXED)
    assert mem.mprotect(a + 4096, 4096, PROT_READ) == 0
    assert [(m.start - a, m.prot) for m in mem.maps] == [(0, RW), (4096, PROT_READ),
                                                          (8192, RW)]
    with pytest.raises(SegFault) as e:
        mem.write_bytes(a + 4096 + 8, b"x")
    assert e.value.addr == a + 4096 + 8 and e.value.mapped
    assert mem.mprotect(a + 3 * 4096, 4096, PROT_READ) == -errno.ENOMEM


def test_munmap_hole_and_unmapped_fault(mem):
    a = mem.mmap(0x20000000, 3 * 4096, RW, ANON | MAP_FIXED)
    assert mem.munmap(a + 4096, 4096) == 0
    with pytest.raises(SegFault) as e:
        mem.read_bytes(a + 4096, 1)
    assert not e.value.mapped
    assert mem.munmap(a + 1, 4096) == -errno.EINVAL


def test_mremap_grows_in_place_or_moves_with_contents(mem):
    a = mem.mmap(0x20000000, 4096, RW, ANON | MAP_FIXED)
    mem.write_bytes(a, b"keep")
    assert mem.mremap(a, 4096, 8192, 0) == a
    mem.mmap(a + 8192, 4096, RW, ANON | MAP_FIXED)
    assert mem.mremap(a, 8192, 16384, 0) == -errno.ENOMEM
    b = mem.mremap(a, 8192, 16384, MREMAP_MAYMOVE)
    assert b != a and mem.read_bytes(b, 4) == b"keep"
    assert mem.find(a) is None


def test_brk_grows_shrinks_and_refuses_below_start(mem):
    mem.set_brk_start(0x600123)
    assert mem.brk(0) == 0x600123
    assert mem.brk(0x700000) == 0x700000
    mem.write_bytes(0x6ffff0, b"heap")
    assert mem.brk(0x500000) == 0x700000                 # below the start: unchanged
    assert mem.brk(0x601000) == 0x601000
    with pytest.raises(SegFault):
        mem.read_bytes(0x602000, 1)


def test_listeners_hear_every_change(mem):
    seen = []

    class L:
        def commit(self):
            seen.append("commit")
    mem.add_listener(L())
    unmapped = []
    mem.on_unmap = lambda s, n: unmapped.append((s, n))
    a = mem.mmap(0x20000000, 4096, RW, ANON | MAP_FIXED)
    mem.munmap(a, 4096)
    assert seen == ["commit", "commit"] and unmapped == [(a, 4096), (a, 4096)]


def test_maps_text_is_proc_self_maps_format(mem):
    mem.mmap(0x400000, 4096, PROT_READ, ANON | MAP_FIXED)
    assert mem.maps_text() == "00400000-00401000 r--p 00000000 00:00 0\n"
