"""The TCG accelerator in the emulator: -accel tcg options, -d items and -D,
-icount, error messages."""

import struct

import pytest

from qemu_py.cli import parse_args
from qemu_py.launch import Emulator, StartupError
from qemu_py.system.log import LOG

# multiboot a.out-kludge image at 2 MiB: a small loop, then "out 0xf4, al" (al=0) and hlt
LOAD = 0x200000
CODE32 = bytes.fromhex("b90a000000" "49" "75fd" "b000" "e6f4" "f4")   # mov ecx,10; dec; jnz; ...


def image():
    magic, flags = 0x1BADB002, 0x10000
    hdr = struct.pack("<8I", magic, flags, (-(magic + flags)) & 0xFFFFFFFF,
                      LOAD, LOAD, 0, 0, LOAD + 32)
    return hdr + CODE32


def boot(tmp_path, *extra):
    k = tmp_path / "k.bin"
    k.write_bytes(image())
    cfg = parse_args(["-M", "microvm", "-display", "none", "-device",
                      "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", str(k), *extra])
    emu = Emulator(cfg)
    emu.build()
    return emu


@pytest.fixture
def restore_log():
    saved = (set(LOG.items), LOG.fp, LOG.path)
    yield
    LOG.items, LOG.fp, LOG.path = saved


@pytest.mark.parametrize("backend", ["python", "interp"])
def test_guest_runs_and_exits_through_isa_debug_exit(tmp_path, backend):
    emu = boot(tmp_path, "-accel", f"tcg,backend={backend}")
    assert emu.run() == 1
    # mov, 10 x (dec, jnz), mov, out -- and the hlt after it: the write to
    # isa-debug-exit stops the machine at the end of the TB, as QEMU does
    assert emu.tcg.retired == 1 + 2 * 10 + 2 + 1


def test_log_items_and_file(tmp_path, restore_log):
    log = tmp_path / "qemu.log"
    emu = boot(tmp_path, "-d", "in_asm,op,op_opt,out_asm,exec,cpu,nochain,int", "-D", str(log))
    assert emu.run() == 1
    LOG.fp.flush()
    text = log.read_text()
    assert "IN: \n0x0000000000200020:  b9 0a 00 00 00" in text
    assert "OP:\n brcond_i64 budget,$0x3,ltu,$L0\n" in text
    assert " ---- 0000000000200020 0000000000000000\n" in text
    assert "OP after optimization and liveness analysis:" in text
    assert "OUT: [backend=python" in text and "def tb_200020_" in text
    assert "Trace 0: 0x" in text and "[0000000000000000/0000000000200025/" in text
    assert "RIP=0000000000200020 RFL=00000002" in text
    # nochain: the first TB ran iteration 1; each of the other 9 went through the loop
    assert text.count("/0000000000200025/") == 9


def test_dump_directory_receives_generated_sources(tmp_path):
    emu = boot(tmp_path, "-accel", f"tcg,dump={tmp_path / 'tbs'}")
    assert emu.run() == 1
    files = sorted(p.name for p in (tmp_path / "tbs").iterdir())
    assert files and all(f.startswith("tb_") and f.endswith(".py") for f in files)


def test_icount_clock_follows_instructions(tmp_path):
    emu = boot(tmp_path, "-icount", "shift=3")
    assert emu.vm.clock.source == "icount"
    assert emu.run() == 1
    assert emu.vm.clock.now() == emu.tcg.retired << 3


@pytest.mark.parametrize("opt,msg", [
    (["-accel", "tcg,backend=jit"], "-accel tcg,backend=jit: unknown backend (known: python, "
                                    "interp, llvm, auto)"),
    (["-icount", "shift=auto"], "-icount shift=auto: adaptive instruction counting is not "
                                "supported by qemu-py; give a number 0..10"),
])       # (an out-of-range shift is refused by the command line: tests/unit/test_cli_errors.py)
def test_bad_options_give_clear_errors(tmp_path, opt, msg):
    with pytest.raises(StartupError) as ei:
        boot(tmp_path, *opt)
    assert str(ei.value) == msg
