"""Random guest programming of the ``pc`` port space, PCI config space and device
MMIO never raises: malformed values are guest errors, not Python exceptions."""

import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.hw.x86_qtest import build_machine

PORTS = [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x70, 0x71,
         0x80, 0xf0, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0x510, 0x511,
         0x514, 0x518, 0xcf8, 0xcfa, 0xcfc, 0xcfd, 0xcfe, 0xc000, 0xc004, 0xc00c, 0xc01c]

access = st.tuples(
    st.sampled_from(["in", "out", "cfg", "mmio", "clock"]),
    st.one_of(st.sampled_from(PORTS), st.integers(0, 0xffff)),
    st.sampled_from([1, 2, 4]),
    st.integers(0, 0xffffffff),
)


@functools.cache
def pc():
    emu = build_machine("-M", "pc", "-accel", "qtest", "-serial", "null",
                        "-device", "pci-testdev,addr=04.0")
    return emu


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(access, min_size=1, max_size=40))
def test_random_port_and_config_programming_never_raises(ops):
    emu = pc()
    m = emu.vm.machine
    for kind, port, size, value in ops:
        value &= (1 << (8 * size)) - 1
        if kind == "in":
            m.io_as.read_value(port, size)
        elif kind == "out":
            if port == 0xcf9:
                continue                       # a reset request; harmless but slow
            m.io_as.write_value(port, value, size)
        elif kind == "cfg":
            reg = port & 0xfc
            m.io_as.write_value(0xcf8, 0x80000000 | (0x20 << 8) | reg, 4)
            m.io_as.write_value(0xcfc + (port & 3) if size == 1 else 0xcfc, value, size)
        elif kind == "mmio":
            base = (0xfec00000, 0xfe000000, 0xfe001000, 0xfff00000)[port & 3]
            m.system_as.write_value(base + (value >> 20 & 0xffc), value, 4)
            m.system_as.read_value(base + (port & 0xffc), size)
        else:
            emu.vm.clock.warp(emu.vm.clock.now() + (value & 0xffffff))
    emu.loop.iterate(0)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, 0x7f), st.integers(0, 0xff)), max_size=30),
       st.integers(0, 3_000_000_000))
def test_random_cmos_programming_never_raises(writes, ns):
    emu = pc()
    m = emu.vm.machine
    for reg, val in writes:
        m.io_as.write_value(0x70, reg, 1)
        m.io_as.write_value(0x71, val, 1)
    emu.vm.clock.warp(emu.vm.clock.now() + ns)
    for reg in range(14):
        m.io_as.write_value(0x70, reg, 1)
        m.io_as.read_value(0x71, 1)
