"""The process's start: the ELF segments and the initial stack as Linux lays it out."""

import struct

from qemu_py.user.loader import (AT_EXECFN, AT_PAGESZ, AT_PLATFORM, AT_RANDOM, STACK_TOP,
                                 build_stack, load_program, read_elf)
from qemu_py.user.memory import GuestMemory


def _cstr(mem, addr):
    return mem.read_cstring(addr)


def test_stack_argc_argv_envp_auxv():
    mem = GuestMemory()
    sp = build_stack(mem, [b"prog", b"a1"], [b"K=V"], 1 << 20, [(AT_PAGESZ, 4096)],
                     b"/bin/prog", bytes(range(16)))
    assert sp % 16 == 0 and sp < STACK_TOP
    words = struct.unpack("<20Q", mem.read_bytes(sp, 160))
    assert words[0] == 2
    assert [_cstr(mem, w) for w in words[1:3]] == [b"prog", b"a1"] and words[3] == 0
    assert _cstr(mem, words[4]) == b"K=V" and words[5] == 0
    aux = dict(zip(words[6::2], words[7::2]))
    assert aux[AT_PAGESZ] == 4096
    assert mem.read_bytes(aux[AT_RANDOM], 16) == bytes(range(16))
    assert _cstr(mem, aux[AT_EXECFN]) == b"/bin/prog"
    assert _cstr(mem, aux[AT_PLATFORM]) == b"x86_64"


def test_static_busybox_segments_and_break():
    import os
    import pytest
    if not os.path.exists("/bin/busybox"):
        pytest.skip("busybox-static is not installed (scripts/install-test-deps)")
    img = read_elf("/bin/busybox")
    mem = GuestMemory()
    proc = load_program(mem, "/bin/busybox", [b"busybox"], [], random_bytes=bytes(16))
    assert proc.entry == img.entry and proc.interp_base == 0
    assert mem.read_bytes(0x400000, 4) == b"\x7fELF"
    assert proc.brk == max(p[3] + p[5] for p in img.phdrs if p[0] == 1)
