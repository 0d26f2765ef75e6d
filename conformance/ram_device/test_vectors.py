"""Concrete vectors of spec §6 (item 7: ram_device widths; item 8: ``xp``)
and §4.3 (the RTL8168 window), on the assigned RTL8168's BAR2, both rigs.

BAR2 offsets 0x78..0xfff are mmaps[2] (area at 0x40, so hardware offset =
BAR offset); 0x10..0x17 and 0x30..0x3f are trapped (vfio_region_ops);
0x70/0x74 are the quirks.
"""

import pytest

from .rig import BAR2, BAR4

R, W = "read", "write"


def hw(path, op, off, size, region=2):
    return (path, op, region, off, size)


def accesses(rig):
    return [a[:5] for a in rig.drain()]


@pytest.mark.parametrize("do, expect", [
    (lambda q: q.writeq(BAR2 + 0x100, 0x1122334455667788), [hw("mmap", W, 0x100, 8)]),
    (lambda q: q.readl(BAR2 + 0x101), [hw("mmap", R, 0x101, 4)]),
    (lambda q: q.readw(BAR2 + 0x103), [hw("mmap", R, 0x103, 2)]),
    (lambda q: q.readq(BAR2 + 0x105), [hw("mmap", R, 0x105, 8)]),
    (lambda q: q.memread(BAR2 + 0x100, 16), [hw("mmap", R, 0x100, 8), hw("mmap", R, 0x108, 8)]),
    (lambda q: q.memread(BAR2 + 0x101, 16), [hw("mmap", R, 0x101, 8), hw("mmap", R, 0x109, 8)]),
    (lambda q: q.memread(BAR2 + 0x101, 3), [hw("mmap", R, 0x101, 2), hw("mmap", R, 0x103, 1)]),
    (lambda q: q.writel(BAR2 + 0x201, 0xdeadbeef), [hw("mmap", W, 0x201, 4)]),
    (lambda q: q.memwrite(BAR2 + 0x300, b"\1\2\3"), [hw("mmap", W, 0x300, 2),
                                                     hw("mmap", W, 0x302, 1)]),
    # the last 4 bytes of the BAR, then the unassigned next region
    (lambda q: q.memread(BAR2 + 0xffc, 8), [hw("mmap", R, 0xffc, 4)]),
    # sub-page pieces around the trapped registers
    (lambda q: q.readq(BAR2 + 0x0c), [hw("mmap", R, 0x0c, 4), hw("rw", R, 0x10, 4)]),
    (lambda q: q.readl(BAR2 + 0x0e), [hw("mmap", R, 0x0e, 2), hw("rw", R, 0x10, 2)]),
    (lambda q: q.readl(BAR2 + 0x11), [hw("rw", R, 0x11, 1), hw("rw", R, 0x12, 2),
                                      hw("rw", R, 0x14, 1)]),
    (lambda q: q.readq(BAR2 + 0x3c), [hw("rw", R, 0x3c, 4), hw("mmap", R, 0x40, 4)]),
    (lambda q: q.readq(BAR2 + 0x2c), [hw("mmap", R, 0x2c, 4), hw("rw", R, 0x30, 4)]),
    # the quirks take their accesses; only aligned dwords are valid
    (lambda q: q.readl(BAR2 + 0x70), [hw("rw", R, 0x70, 4)]),
    (lambda q: q.readw(BAR2 + 0x70), []),
    (lambda q: q.readb(BAR2 + 0x77), []),
    (lambda q: q.readl(BAR2 + 0x72), []),
    (lambda q: q.readq(BAR2 + 0x70), [hw("rw", R, 0x70, 4), hw("rw", R, 0x74, 4)]),
    (lambda q: q.readq(BAR2 + 0x6c), [hw("mmap", R, 0x6c, 4), hw("rw", R, 0x70, 4)]),
    (lambda q: q.readq(BAR2 + 0x74), [hw("rw", R, 0x74, 4), hw("mmap", R, 0x78, 4)]),
    # BAR4: the emulated MSI-X table reaches no hardware; the rest of its page is trapped
    (lambda q: q.readq(BAR4 + 0x0), []),
    (lambda q: q.readq(BAR4 + 0x40), [hw("rw", R, 0x40, 8, 4)]),
    (lambda q: q.readq(BAR4 + 0x1001), [hw("mmap", R, 0x1001, 8, 4)]),
    (lambda q: q.memread(BAR4 + 0xffc, 8), [hw("rw", R, 0xffc, 4, 4), hw("mmap", R, 0x1000, 4, 4)]),
    # the I/O BAR is trapped as a whole
    (lambda q: q.inl(0xc000 + 0x6c), [hw("rw", R, 0x6c, 4, 0)]),
    (lambda q: q.inw(0xc000 + 0x41), [hw("rw", R, 0x41, 1, 0), hw("rw", R, 0x42, 1, 0)]),
], ids=lambda v: "" if callable(v) else None)
def test_vector(rig, do, expect):
    do(rig.q)
    assert accesses(rig) == expect


def _xp(rig, cmd):
    return rig.q.hmp(cmd).replace("\r\n", "\n")


@pytest.mark.parametrize("fmt, offset, widths", [
    ("/4wx", 0x100, [8, 8]),
    ("/8bx", 0x100, [8]),
    ("/2hx", 0x100, [4]),
    ("/1wx", 0x100, [4]),
    ("/3wx", 0x101, [8, 4]),
    ("/2gx", 0x100, [8, 8]),
    ("/16bx", 0x100, [8, 8]),
])
def test_xp_widths(rig, fmt, offset, widths):
    """§4.4: one address_space_read per line; the memory core picks the widths."""
    _xp(rig, f"xp {fmt} 0x{BAR2 + offset:x}")
    got = accesses(rig)
    assert [a[4] for a in got] == widths
    assert all(a[0] == "mmap" and a[1] == "read" for a in got)


def test_xp_1gx_at_the_last_dword_fails_after_one_dword(rig):
    text = _xp(rig, f"xp /1gx 0x{BAR2 + 0xffc:x}")
    assert text == f"{BAR2 + 0xffc:016x}: Cannot access memory\n"
    assert accesses(rig) == [hw("mmap", R, 0xffc, 4)]


def test_xp_1wx_is_safe_and_4wx_is_the_operator_issue(rig):
    """An RTL8168 takes nothing wider than 4 bytes: xp /1wx respects that,
    xp /4wx does two 8-byte loads (two violations), as QEMU since 2016."""
    before = len(rig.violations())
    text = _xp(rig, f"xp /1wx 0x{BAR2:x}")
    assert text == f"{BAR2:016x}: 0x684ce000\n"          # the MAC's first dword
    assert len(rig.violations()) == before
    _xp(rig, f"xp /4wx 0x{BAR2 + 0x800:x}")
    after = rig.violations()
    assert len(after) == before + 2
    rig.drain()


def _window_session(rig):
    q = rig.q
    q.writel(BAR2 + 0x70, 0xfee00398)
    q.writel(BAR2 + 0x74, 0x8001f004)          # do-write, table offset 4
    assert accesses(rig) == [hw("rw", W, 0x70, 4)]   # the address never reaches hardware
    table = q.readl(BAR4 + 4)                  # guest view of the emulated table
    q.writel(BAR2 + 0x74, 0x0001f004)          # select for reading
    latch = q.readl(BAR2 + 0x74)
    data = q.readl(BAR2 + 0x70)
    assert accesses(rig) == [hw("rw", W, 0x74, 4), hw("rw", R, 0x74, 4), hw("rw", R, 0x70, 4)]
    return table, latch, data


def test_rtl8168_window_with_the_reentrancy_guard_of_7_2_22(rig):
    """§4.3 + §2.6: the quirk and msix-table share their owner, so the
    guard blocks the redirect: the do-write is lost (the table keeps 0) and
    the redirected data read returns 0; the fake latch still answers."""
    table, latch, data = _window_session(rig)
    assert (table, latch, data) == (0, 0x8001f004, 0)


def test_rtl8168_window_reaches_the_emulated_msix_table_without_the_guard(inproc_rig):
    """Before the guard (7.2.0), data @0x70 then address 0x8001xxxx wrote
    QEMU's emulated MSI-X table; selecting it for reading returns it."""
    rig = inproc_rig
    rig.drain()
    table_mr = rig.q.machine.peripheral.child("nic0").msix.table_mmio
    table_mr.disable_reentrancy_guard = True
    try:
        table, latch, data = _window_session(rig)
    finally:
        table_mr.disable_reentrancy_guard = False
        rig.q.writel(BAR4 + 4, 0)
    assert (table, latch, data) == (0xfee00398, 0x8001f004, 0xfee00398)


def test_dma_from_pci_testdev_reaches_the_bar_with_the_same_widths(rig):
    """Peer-to-peer DMA through pci-testdev's bus-master address space."""
    rig.testdev_dma(BAR2 + 0x101, None, 16)
    assert accesses(rig) == [hw("mmap", R, 0x101, 8), hw("mmap", R, 0x109, 8)]
    rig.testdev_dma(BAR2 + 0x10c, b"\xaa" * 7, 7)
    assert accesses(rig) == [hw("mmap", W, 0x10c, 4), hw("mmap", W, 0x110, 2),
                             hw("mmap", W, 0x112, 1)]
    data = rig.testdev_dma(BAR2 + 0x10c, None, 7)
    assert data == b"\xaa" * 7
    rig.drain()
