"""fw_cfg on ``pc``/``microvm``: I/O port items, the file directory, DMA."""

import struct

import pytest


def fw_read(s, key, n):
    s.outw(0x510, key)
    return bytes(s.inb(0x511) for _ in range(n))


def find_file(s, name):
    count = struct.unpack(">I", fw_read(s, 0x19, 4))[0]
    raw = fw_read(s, 0x19, 4 + 64 * count)[4:]
    for i in range(count):
        size, select, _, fname = struct.unpack(">IHH56s", raw[64 * i:64 * i + 64])
        if fname.rstrip(b"\0").decode() == name:
            return size, select
    return None


@pytest.mark.parametrize("machine_type", ["pc", "microvm"])
def test_signature_id_and_ram_size(qtest, machine_type):
    s = qtest("-m", "256M", machine=machine_type)
    assert fw_read(s, 0x00, 4) == b"QEMU"
    assert struct.unpack("<I", fw_read(s, 0x01, 4))[0] == 3        # traditional + DMA
    assert struct.unpack("<Q", fw_read(s, 0x03, 8))[0] == 256 << 20
    assert struct.unpack("<H", fw_read(s, 0x05, 2))[0] == 1
    assert fw_read(s, 0x02, 16) == bytes(16)


def test_file_directory_and_e820(qtest):
    s = qtest("-m", "128M")
    size, select = find_file(s, "etc/e820")
    assert size == 20
    assert struct.unpack("<QQI", fw_read(s, select, 20)) == (0, 128 << 20, 1)
    size, select = find_file(s, "etc/boot-fail-wait")
    assert fw_read(s, select, 4) == b"\xff\xff\xff\xff"
    assert find_file(s, "no/such/file") is None


def test_reads_past_the_end_and_bad_selectors_return_zero(qtest):
    s = qtest()
    assert fw_read(s, 0x00, 6) == b"QEMU\0\0"
    assert fw_read(s, 0x1234, 4) == bytes(4)          # beyond the last file slot
    s.outb(0x510, 0x00)                               # a byte write does not select
    assert s.inb(0x511) == 0


def test_dma_read_of_the_file_directory_and_signature(qtest):
    s = qtest()
    assert s.inb(0x514) == ord("Q")
    assert s.inl(0x514) == 0x554d4551                 # "QEMU" read big-endian
    desc = struct.pack(">IIQ", (0x19 << 16) | 0x08 | 0x02, 4, 0x2000)
    s.memwrite(0x1000, desc)
    s.outl(0x514, 0)                                  # high half of the address
    s.outl(0x518, 0x00100000)                         # low half (byte-swapped 0x1000)
    assert s.memread(0x1000, 4) == bytes(4)           # control: done, no error
    count = struct.unpack(">I", s.memread(0x2000, 4))[0]
    assert count == struct.unpack(">I", fw_read(s, 0x19, 4))[0]


def test_dma_write_to_read_only_item_sets_error(qtest):
    s = qtest()
    desc = struct.pack(">IIQ", (0x00 << 16) | 0x08 | 0x10, 4, 0x2000)
    s.memwrite(0x1000, desc)
    s.outl(0x514, 0)
    s.outl(0x518, 0x00100000)
    assert s.memread(0x1000, 4) == b"\0\0\0\x01"


def test_kernel_initrd_and_cmdline_items(qtest, tmp_path):
    kernel = bytearray(0x2000)
    kernel[0x1f1] = 1                                  # one setup sector
    kernel[0x202:0x206] = b"HdrS"
    (tmp_path / "bzImage").write_bytes(bytes(kernel))
    (tmp_path / "initrd").write_bytes(b"INITRD" * 10)
    s = qtest("-kernel", str(tmp_path / "bzImage"), "-initrd", str(tmp_path / "initrd"),
              "-append", "console=ttyS0")
    assert struct.unpack("<I", fw_read(s, 0x17, 4))[0] == 1024       # setup size
    assert struct.unpack("<I", fw_read(s, 0x08, 4))[0] == 0x2000 - 1024
    assert struct.unpack("<I", fw_read(s, 0x14, 4))[0] == len("console=ttyS0") + 1
    assert fw_read(s, 0x15, 14) == b"console=ttyS0\0"
    assert struct.unpack("<I", fw_read(s, 0x0b, 4))[0] == 60
    assert fw_read(s, 0x12, 6) == b"INITRD"


def test_dma_read_of_4_gib_past_the_end_zeroes_ram_in_pieces_and_fails_past_it(qtest):
    import time
    s = qtest("-m", "128M")
    s.memwrite(0x7ff0000, b"\xaa" * 16)
    desc = struct.pack(">IIQ", (0x00 << 16) | 0x08 | 0x02, 0xffffffff, 0x7000000)
    s.memwrite(0x1000, desc)
    t = time.monotonic()
    s.outl(0x514, 0)
    s.outl(0x518, 0x00100000)
    assert time.monotonic() - t < 10                  # no 4 GiB buffer is built
    assert s.memread(0x1000, 4) == b"\0\0\0\x01"      # the part past RAM failed
    assert s.memread(0x7000000, 4) == b"QEMU"         # the item, then zeros
    assert s.memread(0x7ff0000, 16) == bytes(16)


def test_dma_zero_writes_every_piece():
    from qemu_py.hw.nvram.fw_cfg import DMA_ZERO_CHUNK, _dma_zero
    from qemu_py.memory import MemTxResult

    class Space:
        def __init__(self):
            self.writes = []

        def write(self, addr, data):
            self.writes.append((addr, len(data)))
            return MemTxResult.OK if addr < DMA_ZERO_CHUNK else MemTxResult.DECODE_ERROR

    space = Space()
    assert _dma_zero(space, 0, 3 * DMA_ZERO_CHUNK + 5) is False
    assert space.writes == [(0, DMA_ZERO_CHUNK), (DMA_ZERO_CHUNK, DMA_ZERO_CHUNK),
                            (2 * DMA_ZERO_CHUNK, DMA_ZERO_CHUNK), (3 * DMA_ZERO_CHUNK, 5)]
