"""Hypothesis: no sequence of guest config-space writes, BAR accesses and
clock steps makes vfio-pci or the simulated RTL8168 fail (every qtest
request is answered OK), and the device keeps answering afterwards."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qemu_py.qtest.libqos.inproc import InProcessQTest

CFG = 0x80000000 | (4 << 11)
BARS = {"io": (0xc000, 0x100), "bar2": (0xe0000000, 0x1000), "bar4": (0xe0004000, 0x4000)}


@pytest.fixture(scope="module")
def q():
    q = InProcessQTest(["-M", "pc", "-object", "vfio-host-sim,id=hs0,model=rtl8168",
                        "-device", "vfio-pci,host-sim=hs0,addr=04.0,id=nic0"])
    yield q
    q.close()


op = st.one_of(
    st.tuples(st.just("cfg"), st.integers(0, 0xff), st.sampled_from([1, 2, 4]),
              st.integers(0, 0xffffffff)),
    st.tuples(st.sampled_from(sorted(BARS)), st.integers(0, 0x3fff), st.sampled_from([1, 2, 4, 8]),
              st.integers(0, (1 << 64) - 1), st.booleans()),
    st.tuples(st.just("step"), st.integers(0, 2_000_000_000)),
)


def setup_bars(q):
    for reg, val in ((0x10, 0xc000), (0x18, 0xe0000000), (0x1c, 0), (0x20, 0xe0004000),
                     (0x24, 0), (0x04, 0x7)):
        q.outl(0xcf8, CFG | reg)
        q.outl(0xcfc, val)


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(op, max_size=25))
def test_guest_nonsense_is_survived(q, ops):
    setup_bars(q)
    for o in ops:
        if o[0] == "cfg":
            _, reg, size, val = o
            q.outl(0xcf8, CFG | (reg & 0xfc))
            port = 0xcfc + (reg & (4 - size))
            {1: q.outb, 2: q.outw, 4: q.outl}[size](port, val & ((1 << 8 * size) - 1))
        elif o[0] == "step":
            q.clock_step(o[1])
        else:
            name, off, size, val, write = o
            base, bar_size = BARS[name]
            off %= bar_size
            if name == "io":
                size = min(size, 4)
                port = base + min(off, bar_size - size)
                if write:
                    {1: q.outb, 2: q.outw, 4: q.outl}[size](port, val & ((1 << 8 * size) - 1))
                else:
                    {1: q.inb, 2: q.inw, 4: q.inl}[size](port)
            elif write:
                {1: q.writeb, 2: q.writew, 4: q.writel, 8: q.writeq}[size](
                    base + off, val & ((1 << 8 * size) - 1))
            else:
                {1: q.readb, 2: q.readw, 4: q.readl, 8: q.readq}[size](base + off)
    q.outl(0xcf8, CFG)
    assert q.inl(0xcfc) == 0x816810ec
    q.qmp("system_reset")


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(op, max_size=40))
def test_guest_nonsense_is_survived_campaign(q, ops):
    test_guest_nonsense_is_survived.hypothesis.inner_test(q, ops)
