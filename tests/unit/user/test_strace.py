"""-strace formatting: QEMU's argument and result forms."""

import errno

from qemu_py.user.memory import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, GuestMemory
from qemu_py.user.strace import format_arg, format_call, format_result


def test_argument_kinds():
    mem = GuestMemory()
    mem.mmap(0x10000, 4096, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    mem.write_bytes(0x10000, b"/etc/passwd\0")
    assert format_arg("s", 0x10000, mem) == '"/etc/passwd"'
    assert format_arg("s", 0, mem) == "NULL"
    assert format_arg("s", 0x9999000, mem) == "0x0000000009999000"     # unreadable
    assert format_arg("p", 0x5ec000, mem) == "0x00000000005ec000"
    assert format_arg("x", 0x40028099c8, mem) == "0x28099c8"           # C's %#x: low 32 bits
    assert format_arg("d", 2**64 - 1, mem) == "-1"
    assert format_arg("f", 2**64 - 100, mem) == "AT_FDCWD"
    assert format_arg("f", 0xFFFFFF9C, mem) == "-100"                    # an int -100
    assert format_arg("P", 5, mem) == "PROT_EXEC|PROT_READ"
    assert format_arg("P", 0, mem) == "PROT_NONE"
    assert format_arg("M", 0x32, mem) == "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED"
    assert format_arg("O", 0o2000000 | 0o100 | 1, mem) == "O_WRONLY|O_CREAT|O_CLOEXEC"
    assert format_arg("o", 0o644, mem) == "0644"
    assert format_arg("A", 4, mem) == "R_OK"
    assert format_arg("I", 0x5413, mem) == "TIOCGWINSZ"
    assert format_arg("h", 0x1000, mem) == "0x1000" and format_arg("h", 0, mem) == "0"


def test_calls_and_results():
    mem = GuestMemory()
    assert format_call(7, "getuid", "", [0] * 6, mem) == "7 getuid()"
    assert format_call(7, "arch_prctl", None, [4098, 1, 2, 2**64 - 1, 0, 0], mem) == \
        "7 arch_prctl(4098,1,2,-1,0,0)"
    assert format_call(7, "openat", "fsOo", [2**64 - 100, 0, 0, 0o777, 0, 0], mem) == \
        "7 openat(AT_FDCWD,NULL,O_RDONLY)"                     # the mode only with O_CREAT
    assert format_result(3) == " = 3\n"
    assert format_result(-errno.ENOENT) == " = -1 errno=2 (No such file or directory)\n"
    assert format_result(0x5ec000, addr_result=True) == " = 0x00000000005ec000\n"
