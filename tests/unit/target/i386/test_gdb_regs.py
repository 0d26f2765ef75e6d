"""gdb register writes of segment selectors reload the segment, as QEMU's gdbstub."""
import struct

from qemu_py.target.i386.gdb_regs import write_register
from qemu_py.target.i386.state import CR0, R_ES, R_FS, SEG_BASE, SEG_FLAGS, SEG_LIMIT, seg_slot
from tests.unit.target.i386.harness import X86Bed

ES, FS = 21, 22                       # gdb register numbers (cs ss ds es fs gs from 18)


def seg(env, s):
    return tuple(env[seg_slot(s, f)] for f in (0, SEG_BASE, SEG_LIMIT, SEG_FLAGS))


def test_protected_mode_selector_loads_the_gdt_descriptor():
    bed = X86Bed()
    bed.setup_long_mode()
    env = bed.cpu.env_q
    assert write_register(bed.cpu, ES, struct.pack("<I", 0x23)) == 4
    sel, base, limit, flags = seg(env, R_ES)
    assert (sel, base, limit) == (0x23, 0, 0xFFFFFFFF)
    assert flags & 0xFF00 == 0xF300                  # the user data descriptor (0x20)


def test_selector_past_the_gdt_limit_changes_nothing():
    bed = X86Bed()
    bed.setup_long_mode()
    env = bed.cpu.env_q
    before = seg(env, R_FS)
    assert write_register(bed.cpu, FS, struct.pack("<I", 0x1F8)) == 4
    assert seg(env, R_FS) == before


def test_real_mode_selector_is_a_paragraph_base():
    bed = X86Bed()
    env = bed.cpu.env_q
    env[CR0] &= ~1
    assert write_register(bed.cpu, ES, struct.pack("<I", 0x1234)) == 4
    assert seg(env, R_ES)[:3] == (0x1234, 0x12340, 0xFFFF)
