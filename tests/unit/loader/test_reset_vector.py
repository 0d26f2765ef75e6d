"""Without -kernel the vCPU starts like a PC: real mode at F000:FFF0, in the
BIOS ROM the board provides (qemu-py's stub is ``cli; hlt``)."""

from qemu_py.cli import parse_args
from qemu_py.launch import Emulator
from qemu_py.target.i386.state import CR0, HFLAGS, RIP, R_CS, seg_slot


def test_pc_starts_at_the_reset_vector_in_real_mode_and_halts():
    emu = Emulator(parse_args(["-M", "pc", "-display", "none"]))
    emu.build()
    cpu = emu.tcg.cpu
    env = cpu.env_q
    assert (env[seg_slot(R_CS, 0)], env[seg_slot(R_CS, 1)], env[RIP]) == (0xF000, 0xFFFF0000,
                                                                         0xFFF0)
    assert not env[CR0] & 1 and not env[HFLAGS] & 0x10        # real mode, 16-bit code
    n = cpu.exec(100)
    assert n == 2 and cpu.halted                              # cli; hlt
    assert env[RIP] == 0xFFF2
