"""-d page in user mode: QEMU's page_dump table after the load and after mmaps."""

import subprocess
import sys

from qemu_py.user.memory import (MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ,
                                 PROT_WRITE, GuestMemory)
from qemu_py.user.page_dump import page_dump

ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED


def test_runs_of_equal_protection_are_one_line():
    mem = GuestMemory()
    mem.mmap(0x10000, 0x1000, PROT_READ, ANON)
    mem.mmap(0x11000, 0x2000, PROT_READ, ANON)                  # adjacent, same rights
    mem.mmap(0x13000, 0x1000, PROT_READ | PROT_EXEC, ANON)
    mem.mmap(0x20000, 0x1000, PROT_READ | PROT_WRITE, ANON)
    mem.mmap(0x21000, 0x1000, 0, ANON)
    assert page_dump(mem) == (
        "start            end              size             prot\n"
        "0000000000010000-0000000000013000 0000000000003000 r--\n"
        "0000000000013000-0000000000014000 0000000000001000 r-x\n"
        "0000000000020000-0000000000021000 0000000000001000 rw-\n"
        "0000000000021000-0000000000022000 0000000000001000 ---\n")


def test_dash_d_page_logs_the_map_after_load_and_mmap(tmp_path):
    log = tmp_path / "log"
    res = subprocess.run([sys.executable, "-m", "qemu_py.user", "-d", "page", "-D", str(log),
                          "/bin/true"], capture_output=True, text=True, timeout=300)
    # the host's /bin/true may stop in ld.so (its libc wants a newer x86-64 level than
    # the emulated CPU has): the loader and ld.so's mmaps have run by then, which is
    # all -d page logs
    assert res.returncode in (0, 127), res.stderr
    text = log.read_text()
    assert text.startswith("page layout changed following binary load\n"
                           "start            end              size             prot\n")
    assert "\nentry       0x" in text and "\nstart_stack 0x" in text
    assert "page layout changed following mmap\n" in text
    rows = [line for line in text.splitlines() if line[16:17] == "-" and len(line) == 54]
    assert rows and all(line[51:54].strip("rwx-") == "" for line in rows)


def test_without_the_item_nothing_is_logged(tmp_path):
    log = tmp_path / "log"
    res = subprocess.run([sys.executable, "-m", "qemu_py.user", "-d", "int", "-D", str(log),
                          "/bin/true"], capture_output=True, text=True, timeout=300)
    assert res.returncode in (0, 127), res.stderr
    assert "page layout" not in log.read_text()
