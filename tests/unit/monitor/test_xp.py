"""xp: one address-space read per output line, so the memory core picks the widths a device sees.

In process, against MMIO regions whose callbacks record every access (spec
4 and memory spec 4.4); and against a real process whose RAM was written
over the qtest protocol.
"""

import socket

import pytest

from qemu_py.memory import MemoryRegion, MemoryRegionOps

from .harness import BASE, InProcess, RawQMP, spawn

UART = 0x09000000          # a PL011-like block: 4-byte ID registers at 0xfe0..0xffc
PL011_ID = [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1]
HPET = 0x0A000000          # accepts 4-byte accesses only
WIDE = 0x0B000000          # like a ram_device: any size up to 8, unaligned allowed


class Recorder:
    def __init__(self):
        self.accesses: list[tuple[int, int]] = []

    def pl011_read(self, offset, size):
        self.accesses.append((offset, size))
        if 0xFE0 <= offset < 0x1000:
            return PL011_ID[(offset - 0xFE0) >> 2]
        return 0

    def counter_read(self, offset, size):
        self.accesses.append((offset, size))
        return int.from_bytes(bytes((offset + 1 + i) & 0xFF for i in range(size)), "little")


class CountingSpace:
    """Stands in for the machine's qtest_as: forwards reads and counts them."""

    def __init__(self, space):
        self.space = space
        self.reads: list[tuple[int, int]] = []

    def read(self, addr, length, *args):
        self.reads.append((addr, length))
        return self.space.read(addr, length, *args)


@pytest.fixture(scope="module")
def board():
    e = InProcess()
    rec = Recorder()
    machine = e.vm.machine
    ignore = (lambda offset, value, size: None)
    machine.system_memory.add_subregion(UART, MemoryRegion.io(
        "pl011", 0x1000, MemoryRegionOps(read=rec.pl011_read, write=ignore)))
    machine.system_memory.add_subregion(HPET, MemoryRegion.io(
        "hpet", 0x400, MemoryRegionOps(read=rec.counter_read, write=ignore, valid_min=4, valid_max=4)))
    machine.system_memory.add_subregion(WIDE, MemoryRegion.io(
        "wide", 0x1000, MemoryRegionOps(read=rec.counter_read, write=ignore, valid_max=8,
                                        valid_unaligned=True, impl_max=8, impl_unaligned=True)))
    machine.qtest_as = CountingSpace(machine.qtest_as)
    yield e, e.qmp(), rec, machine.qtest_as
    e.close()


def dump(board, line):
    _, q, rec, space = board
    rec.accesses.clear()
    space.reads.clear()
    return q.hmp(line), rec.accesses, space.reads


@pytest.mark.parametrize("line, accesses, reads", [
    ("xp /8xb 0x09000fe0", [(0xFE0, 4), (0xFE4, 4)], [(0x09000FE0, 8)]),
    ("xp /4xh 0x09000fe0", [(0xFE0, 4), (0xFE4, 4)], [(0x09000FE0, 8)]),
    ("xp /2xw 0x09000fe0", [(0xFE0, 4), (0xFE4, 4)], [(0x09000FE0, 8)]),
    ("xp /1xb 0x09000fe1", [(0xFE1, 1)], [(0x09000FE1, 1)]),
    ("xp /3xb 0x09000fe0", [(0xFE0, 2), (0xFE2, 1)], [(0x09000FE0, 3)]),
    ("xp /16xb 0x09000fe0", [(0xFE0, 4), (0xFE4, 4), (0xFE8, 4), (0xFEC, 4)],
     [(0x09000FE0, 8), (0x09000FE8, 8)]),
    ("xp /1xg 0x0a000000", [(0, 4), (4, 4)], [(0x0A000000, 8)]),
    ("xp /4xw 0x0b000000", [(0, 8), (8, 8)], [(0x0B000000, 16)]),
    ("xp /8xb 0x0b000000", [(0, 8)], [(0x0B000000, 8)]),
    ("xp /2xh 0x0b000000", [(0, 4)], [(0x0B000000, 4)]),
    ("xp /1xw 0x0b000000", [(0, 4)], [(0x0B000000, 4)]),
    ("xp /3xw 0x0b000001", [(1, 8), (9, 4)], [(0x0B000001, 12)]),
    ("xp /2xg 0x0b000000", [(0, 8), (8, 8)], [(0x0B000000, 16)]),
])
def test_access_widths_follow_the_line_not_the_item_size(board, line, accesses, reads):
    _, got_accesses, got_reads = dump(board, line)
    assert got_accesses == accesses
    assert got_reads == reads


def test_sub_word_items_come_from_the_buffer_in_memory_order(board):
    out, _, _ = dump(board, "xp /8xb 0x09000fe0")
    assert out == "0000000009000fe0: 0x11 0x00 0x00 0x00 0x10 0x00 0x00 0x00\r\n"
    out, _, _ = dump(board, "xp /8xw 0x09000fe0")
    assert out == ("0000000009000fe0: 0x00000011 0x00000010 0x00000014 0x00000000\r\n"
                   "0000000009000ff0: 0x0000000d 0x000000f0 0x00000005 0x000000b1\r\n")


def test_a_rejected_access_is_cannot_access_memory_without_a_callback(board):
    out, accesses, _ = dump(board, "xp /1xb 0x0a000000")
    assert (out, accesses) == ("000000000a000000: Cannot access memory\r\n", [])
    out, accesses, reads = dump(board, "xp /6xw 0x0a0003f8")       # runs off the end of the region
    assert out == "000000000a0003f8: Cannot access memory\r\n"
    assert reads == [(0x0A0003F8, 16)] and accesses == [(0x3F8, 4), (0x3FC, 4)]


# -- a real process, RAM written over qtest -------------------------------------------------------

def test_xp_on_ram_written_with_qtest(tmp_path):
    path = str(tmp_path / "qtest.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    ours, theirs = socket.socketpair()
    proc = spawn([*BASE, "-qtest", f"unix:{path}", "-qtest-log", "none",
                  "-chardev", f"socket,id=mon,fd={theirs.fileno()}", "-mon", "chardev=mon,mode=control"],
                 pass_fds=[theirs.fileno()])
    theirs.close()
    listener.settimeout(20)
    qtest, _ = listener.accept()
    qmp = RawQMP(ours, proc)
    try:
        qmp.negotiate()
        qtest.settimeout(20)
        qtest.sendall(b"write 0x1000 16 0x00ff7f80414243440102030405060708\n")
        assert qtest.recv(100) == b"OK\n"

        def hmp(line):
            return qmp.execute("human-monitor-command", {"command-line": line})["return"]

        assert hmp("xp /4wx 0x1000") == \
            "0000000000001000: 0x807fff00 0x44434241 0x04030201 0x08070605\r\n"
        assert hmp("xp /16xb 0x1000") == (
            "0000000000001000: 0x00 0xff 0x7f 0x80 0x41 0x42 0x43 0x44\r\n"
            "0000000000001008: 0x01 0x02 0x03 0x04 0x05 0x06 0x07 0x08\r\n")
        assert hmp("xp /2gx 0x1000") == "0000000000001000: 0x44434241807fff00 0x0807060504030201\r\n"
        assert hmp("xp /1wx 0x1004") == "0000000000001004: 0x44434241\r\n"
        assert hmp("xp /1wx 0x40000000+8-0x3ffff004") == "0000000000001004: 0x44434241\r\n"
        qmp.send(b'{"execute": "quit"}')
        assert qmp.msg()["event"] == "SHUTDOWN"
        assert qmp.msg() == {"return": {}}
    finally:
        qtest.close()
        listener.close()
        assert qmp.close() == 0
