"""Hypothesis: every access to the assigned RTL8168's BARs reaches the
simulated hardware exactly as the oracle (spec §3.2, §3.4, §4) says.

Dimensions: access size 1/2/4/8 (sized qtest accesses) or any length 1..40
(bulk read/write, DMA), any offset in BAR0 (I/O), BAR2 or BAR4 — aligned or
not, biased toward the boundaries of the sub-page pieces and the quirks —,
direction, and path: qtest ``readX/writeX`` / ``inX/outX``, qtest
``read``/``write``/``b64read``/``b64write``, pci-testdev DMA (peer to
peer), ``xp`` through human-monitor-command.  For ram_device pieces that is
"one host access of the same size at the same offset"; longer transfers
split as §3.4 says; quirk regions take their accesses instead.  A second
property: sized accesses of at most 4 bytes never give the RTL8168 an access
wider than 4 bytes.

The in-process rig runs many examples; the qtest rig (a separate emulator,
accesses seen through ``-trace``) runs fewer by default and a long campaign
under ``-m slow``.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import oracle
from .rig import BAR0_IO, BAR2, BAR2_SIZE, BAR4, BAR4_SIZE

SPARSE = [(0x000, 0x010), (0x018, 0x018), (0x040, 0xfc0)]
LAYOUT2 = oracle.bar_layout(BAR2_SIZE, SPARSE, quirks=True)
LAYOUT4 = oracle.bar_layout(BAR4_SIZE, oracle.msix_fixup(BAR4_SIZE, 0, 4), quirks=False,
                            msix_table=(0, 0x40))
LAYOUT0 = oracle.bar_layout(0x100, [], quirks=False)
BARS = {2: (BAR2, BAR2_SIZE, LAYOUT2), 4: (BAR4, BAR4_SIZE, LAYOUT4)}


def _interesting(layout, size):
    points = set()
    for s in layout:
        for d in range(-9, 10):
            if 0 <= s.start + d < size:
                points.add(s.start + d)
    return sorted(points)


def offsets(bar):
    _, size, layout = BARS[bar]
    return st.one_of(st.integers(0, size - 1), st.sampled_from(_interesting(layout, size)))


@st.composite
def accesses(draw, paths=("sized", "bulk", "dma", "xp", "pio")):
    path = draw(st.sampled_from(paths))
    if path == "pio":
        size = draw(st.sampled_from([1, 2, 4]))
        return path, 0, draw(st.integers(0, 0x100 - size)), size, draw(st.booleans()), None
    bar = draw(st.sampled_from([2, 4]))
    off = draw(offsets(bar))
    if path == "sized":
        size = draw(st.sampled_from([1, 2, 4, 8]))
    elif path == "xp":
        size = draw(st.sampled_from([1, 2, 4, 8]))          # the element size
        count = draw(st.integers(1, 5))
        return path, bar, off, size, False, count
    else:
        size = draw(st.integers(1, 40))
    write = path != "xp" and draw(st.booleans())
    data = draw(st.binary(min_size=size, max_size=size)) if write else None
    return path, bar, off, size, write, data


def run(rig, access):
    """Perform ACCESS; returns (the accesses the oracle expects, bytes written)."""
    path, bar, off, size, write, data = access
    q = rig.q
    if path == "pio":
        port = BAR0_IO + off
        if write:
            value = int.from_bytes(bytes(range(1, size + 1)), "little")
            {1: q.outb, 2: q.outw, 4: q.outl}[size](port, value)
            data = value.to_bytes(size, "little")
        else:
            {1: q.inb, 2: q.inw, 4: q.inl}[size](port)
        plist = oracle.pieces(LAYOUT0, off, size, BAR0_IO, 0x100)
        return expect(plist, write, 0, data)
    base, bar_size, layout = BARS[bar]
    addr = base + off
    if path == "xp":
        count = data
        letter = {1: "b", 2: "h", 4: "w", 8: "g"}[size]
        q.hmp(f"xp /{count}x{letter} 0x{addr:x}")
        total, line = count * size, 8 if size == 1 else 16
        out = []
        while total > 0:
            n = min(total, line)
            plist = oracle.pieces(layout, off, n, base, bar_size)
            out += expect(plist, False, bar, None)
            if not all(valid for _, _, _, valid in plist):
                break                     # "Cannot access memory": the dump stops
            off += n
            total -= n
        return out
    if path == "sized":
        if write:
            value = int.from_bytes(data, "little")
            {1: q.writeb, 2: q.writew, 4: q.writel, 8: q.writeq}[size](addr, value)
        else:
            {1: q.readb, 2: q.readw, 4: q.readl, 8: q.readq}[size](addr)
    elif path == "bulk":
        if write:
            (q.memwrite if size % 2 else q.bufwrite)(addr, data)
        else:
            (q.memread if size % 2 else q.bufread)(addr, size)
    else:
        rig.testdev_dma(addr, data, size)
    return expect(oracle.pieces(layout, off, size, base, bar_size), write, bar, data)


def expect(plist, write, region, data):
    values = None
    if write:
        values, pos = [], 0
        for _, _, n, _ in plist:
            values.append(int.from_bytes(data[pos:pos + n], "little"))
            pos += n
    return oracle.hardware_accesses(plist, "write" if write else "read", region, values)


def check(rig, access):
    rig.drain()
    want = run(rig, access)
    got = [a[:5] for a in rig.drain()]
    assert got == want, access


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(access=accesses())
def test_hardware_sees_what_the_oracle_says_inproc(inproc_rig, access):
    check(inproc_rig, access)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(access=accesses())
def test_hardware_sees_what_the_oracle_says_over_qtest(qtest_rig, access):
    check(qtest_rig, access)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(access=accesses())
def test_hardware_sees_what_the_oracle_says_over_qtest_campaign(qtest_rig, access):
    check(qtest_rig, access)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(bar=st.sampled_from([0, 2, 4]), data=st.data(), write=st.booleans(),
       size=st.sampled_from([1, 2, 4]))
def test_sized_accesses_up_to_4_bytes_never_exceed_4_on_the_rtl8168(inproc_rig, bar, data,
                                                                      write, size):
    rig = inproc_rig
    q = rig.q
    before = len(rig.sim.violations)
    if bar == 0:
        port = BAR0_IO + data.draw(st.integers(0, 0x100 - size))
        if write:
            {1: q.outb, 2: q.outw, 4: q.outl}[size](port, 0x5a5a5a5a & ((1 << 8 * size) - 1))
        else:
            {1: q.inb, 2: q.inw, 4: q.inl}[size](port)
    else:
        addr = BARS[bar][0] + data.draw(offsets(bar))
        if write:
            {1: q.writeb, 2: q.writew, 4: q.writel}[size](addr, 0xa5a5a5a5 & ((1 << 8 * size) - 1))
        else:
            {1: q.readb, 2: q.readw, 4: q.readl}[size](addr)
    got = rig.drain()
    assert len(rig.sim.violations) == before
    assert all(a[4] <= size for a in got), got


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(off=st.integers(0x78, 0xfff), data=st.binary(min_size=1, max_size=24))
def test_ram_device_pieces_have_ram_byte_semantics(inproc_rig, off, data):
    """What is written through the mmap is what the hardware holds and what reads back."""
    rig = inproc_rig
    data = data[:0x1000 - off]
    rig.q.memwrite(BAR2 + off, data)
    hw = bytes(rig.sim.hw.mem[2][off:off + len(data)])
    assert hw == data
    assert rig.q.memread(BAR2 + off, len(data)) == data
    rig.drain()
