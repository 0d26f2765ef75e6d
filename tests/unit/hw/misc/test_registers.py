"""The register DSL: table decode, access modes, tagged/reserved bits, field callbacks, traces."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qemu_py.hw.misc.registers import Field, Reg, RegisterBlock
from qemu_py.system import trace
from qemu_py.system.log import LOG


class Dev:
    REGS = (
        Reg(0x0, "CTRL", width=4, reset=0x10, fields=(
            Field("EN", 0, on_write="_en_changed"), Field("MODE", 4, 2)),
            reserved=0xff00_0000, tagged=0x0000_0100),
        Reg(0x4, "STATUS", width=4, access="w1c", reset=0x0f),
        Reg(0x8, "SET", width=4, access="w1s"),
        Reg(0xc, "ID", width=2, access="ro", reset=0x1234),
        Reg(0xe, "LATCH", access="rc", reset=0x55),
        Reg(0xf, "GO", access="wo", write="_go", read_value=0x77),
    )

    def __init__(self):
        self.events = []
        self.regs = RegisterBlock(self, "dev", self.REGS)

    def _en_changed(self, old, new):
        self.events.append(("EN", old, new))

    def _go(self, sub, value, size):
        self.events.append(("GO", value))


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "log"
    LOG.configure(["guest_errors", "unimp"], str(path))
    yield path
    LOG.configure([], None)


def test_reset_values_byte_lanes_and_masks_from_fields():
    d = Dev()
    assert d.regs.read(0, 4) == 0x10
    assert d.regs.read(0xc, 2) == 0x1234 and d.regs.read(0xd, 1) == 0x12
    d.regs.write(1, 0xab, 1)                          # byte lane 1 of CTRL
    assert d.regs["CTRL"] == 0xab10
    assert Dev.REGS[0].mask("EN", "MODE") == 0x31


def test_w1c_w1s_rc_and_wo():
    d = Dev()
    d.regs.write(4, 0x05, 4)
    assert d.regs.read(4, 4) == 0x0a
    d.regs.write(8, 0x3, 4)
    d.regs.write(8, 0x4, 4)
    assert d.regs.read(8, 4) == 0x7
    assert d.regs.read(0xe, 1) == 0x55 and d.regs.read(0xe, 1) == 0
    assert d.regs.read(0xf, 1) == 0x77
    d.regs.write(0xf, 9, 1)
    assert d.events == [("GO", 9)]


def test_field_callback_only_on_change():
    d = Dev()
    d.regs.write(0, 1, 4)
    d.regs.write(0, 0x21, 4)
    d.regs.write(0, 0, 4)
    assert d.events == [("EN", 0, 1), ("EN", 1, 0)]


def test_guest_errors_and_unimp_name_register_and_bits(log):
    d = Dev()
    d.regs.write(0, 0x0100_0100, 4)
    d.regs.write(0xc, 1, 2)
    assert d.regs.read(0x40, 4) == 0
    d.regs.write(0x40, 1, 4)
    assert log.read_text().splitlines() == [
        "dev: write 0x1000100 to CTRL sets reserved bits 0x1000000",
        "dev: CTRL bits 0x100 not modelled",
        "dev: write 0x1 to read-only register ID",
        "dev: read of unknown register offset 0x40",
        "dev: write of unknown register offset 0x40",
    ]


def test_trace_events_name_the_register():
    seen = []
    entry = trace.subscribe(lambda name, args: seen.append((name, args)), "register_*")
    try:
        d = Dev()
        d.regs.write(8, 2, 4)
        d.regs.read(8, 4)
    finally:
        trace.unsubscribe(entry)
    assert seen == [
        ("register_write", {"device": "dev", "reg": "SET", "offset": 8, "value": 2, "size": 4}),
        ("register_read", {"device": "dev", "reg": "SET", "offset": 8, "value": 2, "size": 4}),
    ]
    assert trace.format_event("register_read", seen[1][1]) == "register_read dev SET @0x8 -> 0x2 size 4"


def test_overlapping_declarations_are_refused():
    with pytest.raises(ValueError, match="registers A and B overlap at 0x1"):
        RegisterBlock(None, "bad", (Reg(0, "A", width=2), Reg(1, "B")))


def test_unknown_access_mode_is_refused():
    with pytest.raises(ValueError, match="register X: unknown access mode 'rx'"):
        Reg(0, "X", access="rx")


programs = st.lists(st.tuples(st.sampled_from([0, 1, 2, 3, 4, 8, 0xc, 0xe, 0xf]),
                              st.integers(0, 0xffff_ffff), st.sampled_from([1, 2, 4])),
                    max_size=30)


@settings(max_examples=60, deadline=None)
@given(programs)
def test_random_program_then_reset_reads_reset_values(program):
    d = Dev()
    for off, value, size in program:
        d.regs.write(off, value & ((1 << (8 * size)) - 1), size)
    d.regs.reset()
    assert [d.regs.read(o, 4) for o in (0, 4, 8)] == [0x10, 0x0f, 0]
