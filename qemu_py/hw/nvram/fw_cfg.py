"""QEMU firmware configuration device, I/O port flavour (``fw_cfg_io``).

Models QEMU's documented interface (docs/specs/fw_cfg.rst): a 16-bit selector
written at port 0x510 (2-byte writes only), data read a byte at a time at
0x510/0x511 with an offset that advances and reads 0 past the item's end, the
DMA interface at 0x514 (big-endian 64-bit address of a ``FWCfgDmaAccess``
{control, length, address}, written as two 32-bit halves or one 64-bit write;
control bits ERROR/READ/SKIP/SELECT/WRITE; the device writes control back as
0 or ERROR), the DMA signature ``QEMU CFG`` read back from 0x514, items
0x00 signature ``QEMU``, 0x01 feature bitmap (traditional | DMA), UUID, RAM
size, CPU counts, kernel/initrd/command line and setup items, and the file
directory (item 0x19: big-endian count, then size, select, name[56] per
file, sorted by name) with files from 0x20 on.

Not modelled: writable items other than through DMA WRITE to a writable
file (none by default), the memory-mapped flavour (``fw_cfg_mem``, for Arm),
``-fw_cfg`` command-line files, ACPI/SMBIOS tables (no firmware to use them).
Out-of-range selectors and bad DMA requests are guest errors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from qemu_py.hw.core.vmstate import VMState
from qemu_py.hw.misc.registers import Reg, RegisterBlock
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import Device, DeviceProp, register_type
from qemu_py.system.log import guest_error

FW_CFG_SIGNATURE, FW_CFG_ID, FW_CFG_UUID, FW_CFG_RAM_SIZE = 0x00, 0x01, 0x02, 0x03
FW_CFG_NOGRAPHIC, FW_CFG_NB_CPUS, FW_CFG_MACHINE_ID = 0x04, 0x05, 0x06
FW_CFG_KERNEL_ADDR, FW_CFG_KERNEL_SIZE, FW_CFG_KERNEL_CMDLINE = 0x07, 0x08, 0x09
FW_CFG_INITRD_ADDR, FW_CFG_INITRD_SIZE, FW_CFG_BOOT_DEVICE = 0x0a, 0x0b, 0x0c
FW_CFG_NUMA, FW_CFG_BOOT_MENU, FW_CFG_MAX_CPUS = 0x0d, 0x0e, 0x0f
FW_CFG_KERNEL_ENTRY, FW_CFG_KERNEL_DATA, FW_CFG_INITRD_DATA = 0x10, 0x11, 0x12
FW_CFG_CMDLINE_ADDR, FW_CFG_CMDLINE_SIZE, FW_CFG_CMDLINE_DATA = 0x13, 0x14, 0x15
FW_CFG_SETUP_ADDR, FW_CFG_SETUP_SIZE, FW_CFG_SETUP_DATA = 0x16, 0x17, 0x18
FW_CFG_FILE_DIR, FW_CFG_FILE_FIRST = 0x19, 0x20
FW_CFG_WRITE_CHANNEL, FW_CFG_ARCH_LOCAL = 0x4000, 0x8000
FW_CFG_ENTRY_MASK = 0x3fff
FW_CFG_INVALID = 0xffff
FW_CFG_FILE_SLOTS = 0x20
FW_CFG_MAX_FILE_PATH = 56

FW_CFG_VERSION, FW_CFG_VERSION_DMA = 0x01, 0x02
FW_CFG_DMA_CTL_ERROR, FW_CFG_DMA_CTL_READ, FW_CFG_DMA_CTL_SKIP = 0x01, 0x02, 0x04
FW_CFG_DMA_CTL_SELECT, FW_CFG_DMA_CTL_WRITE = 0x08, 0x10
FW_CFG_DMA_SIGNATURE = 0x51454d5520434647          # "QEMU CFG"

# x86 architecture-local items
FW_CFG_ACPI_TABLES, FW_CFG_SMBIOS_ENTRIES = FW_CFG_ARCH_LOCAL + 0, FW_CFG_ARCH_LOCAL + 1
FW_CFG_IRQ0_OVERRIDE, FW_CFG_E820_TABLE = FW_CFG_ARCH_LOCAL + 2, FW_CFG_ARCH_LOCAL + 3
FW_CFG_HPET = FW_CFG_ARCH_LOCAL + 4

# Port 0x510: a 2-byte write selects, a byte read at either port reads data.
COMB_REGS = (
    Reg(0x0, "SELECTOR/DATA", width=2, read="_data_read", write="_selector_write",
        desc="16-bit item selector (2-byte writes); next byte of the item (byte reads)"),
)
# Port 0x514: big-endian; reads give the signature "QEMU CFG".
DMA_REGS = (
    Reg(0x0, "DMA_ADDR_HI", width=4, read="_dma_sig_read", write="_dma_addr_write", index=0,
        desc="high half; a 64-bit write here gives the whole address and starts the transfer"),
    Reg(0x4, "DMA_ADDR_LO", width=4, read="_dma_sig_read", write="_dma_addr_write", index=1,
        desc="low half; writing it starts the transfer"),
)
REGS = COMB_REGS + DMA_REGS


@dataclass
class FWCfgEntry:
    data: bytearray
    allow_write: bool = False
    select_cb: object = None


@register_type("fw_cfg_io", "device", desc="QEMU firmware configuration (I/O ports)",
               user_creatable=False)
class FWCfgIO(Device):
    PROPS = [
        DeviceProp("iobase", "uint32", 0x510),
        DeviceProp("dma_iobase", "uint32", 0x514),
        DeviceProp("dma_enabled", "bool", True),
        DeviceProp("x-file-slots", "uint16", FW_CFG_FILE_SLOTS),
    ]
    VMSTATE = VMState("fw_cfg", 1, ("cur_entry", "cur_offset", "dma_addr"),
                      post_load="post_load")

    def post_load(self) -> str | None:
        if self.cur_offset < 0:
            return f"negative data offset {self.cur_offset}"
        return None

    def __init__(self):
        super().__init__()
        self.machine = None
        self.entries: list[dict[int, FWCfgEntry]] = [{}, {}]     # generic, arch-local
        self.files: list[tuple[str, int]] = []                  # (name, select key)
        self.cur_entry = FW_CFG_INVALID
        self.cur_offset = 0
        self.dma_addr = 0
        self.dma_as = None
        self.add_bytes(FW_CFG_SIGNATURE, b"QEMU")

    # -- building items ----------------------------------------------------------------------
    def max_entry(self) -> int:
        return FW_CFG_FILE_FIRST + self.prop("x-file-slots")

    def add_bytes(self, key: int, data: bytes, allow_write: bool = False):
        arch = 1 if key & FW_CFG_ARCH_LOCAL else 0
        self.entries[arch][key & FW_CFG_ENTRY_MASK] = FWCfgEntry(bytearray(data), allow_write)

    def add_i16(self, key: int, v: int):
        self.add_bytes(key, struct.pack("<H", v & 0xffff))

    def add_i32(self, key: int, v: int):
        self.add_bytes(key, struct.pack("<I", v & 0xffffffff))

    def add_i64(self, key: int, v: int):
        self.add_bytes(key, struct.pack("<Q", v & ((1 << 64) - 1)))

    def add_string(self, key: int, s: str):
        self.add_bytes(key, s.encode() + b"\0")

    def add_file(self, name: str, data: bytes, allow_write: bool = False) -> int:
        if len(name.encode()) >= FW_CFG_MAX_FILE_PATH:
            raise ValueError(f"fw_cfg file name too long: {name}")
        if any(n == name for n, _ in self.files):
            raise ValueError(f"duplicate fw_cfg file name: {name}")
        if len(self.files) >= self.prop("x-file-slots"):
            raise ValueError("fw_cfg: no file slots left")
        self.files.append((name, 0))
        self.files.sort(key=lambda f: f[0].encode())
        # (re)assign selectors in name order and rebuild the items
        old = {n: self.entries[0].get(k) for n, k in self.files if k}
        old[name] = FWCfgEntry(bytearray(data), allow_write)
        for k in range(FW_CFG_FILE_FIRST, FW_CFG_FILE_FIRST + len(self.files)):
            self.entries[0].pop(k, None)
        for i, (n, _) in enumerate(self.files):
            key = FW_CFG_FILE_FIRST + i
            self.files[i] = (n, key)
            self.entries[0][key] = old[n]
        self._rebuild_dir()
        return dict(self.files)[name]

    def modify_file(self, name: str, data: bytes):
        key = dict(self.files)[name]
        self.entries[0][key].data = bytearray(data)
        self._rebuild_dir()

    def _rebuild_dir(self):
        out = bytearray(struct.pack(">I", len(self.files)))
        for name, key in self.files:
            size = len(self.entries[0][key].data)
            out += struct.pack(">IHH", size, key, 0) + name.encode().ljust(FW_CFG_MAX_FILE_PATH, b"\0")
        self.add_bytes(FW_CFG_FILE_DIR, out)

    # -- life cycle -----------------------------------------------------------------------------
    def realize(self):
        dma = self.prop("dma_enabled")
        self.add_i32(FW_CFG_ID, FW_CFG_VERSION | (FW_CFG_VERSION_DMA if dma else 0))
        self.add_bytes(FW_CFG_UUID, bytes(16))
        self.add_i16(FW_CFG_NOGRAPHIC, 0)
        self.add_i16(FW_CFG_BOOT_MENU, 0)
        if FW_CFG_FILE_DIR not in self.entries[0]:
            self._rebuild_dir()
        self.comb_regs = RegisterBlock(self, "fw_cfg", COMB_REGS)
        self.dma_regs = RegisterBlock(self, "fw_cfg.dma", DMA_REGS)
        self.comb_io = MemoryRegion.io("fwcfg", 2, MemoryRegionOps(
            read=self.comb_regs.read, write=self.comb_regs.write, endianness=Endian.LITTLE,
            valid_min=1, valid_max=2, accepts=self._comb_valid), owner=self)
        if dma:
            self.dma_io = MemoryRegion.io("fwcfg.dma", 8, MemoryRegionOps(
                read=self.dma_regs.read, write=self.dma_regs.write, endianness=Endian.BIG,
                valid_min=1, valid_max=8, impl_min=1, impl_max=8, valid_unaligned=False,
                accepts=self._dma_valid), owner=self)

    def map_io(self, io_region):
        io_region.add_subregion(self.prop("iobase"), self.comb_io)
        if self.prop("dma_enabled"):
            io_region.add_subregion(self.prop("dma_iobase"), self.dma_io)

    def reset(self):
        self._select(0)

    # -- data port --------------------------------------------------------------------------------
    def _entry(self, key: int) -> FWCfgEntry | None:
        if key == FW_CFG_INVALID:
            return None
        arch = 1 if key & FW_CFG_ARCH_LOCAL else 0
        return self.entries[arch].get(key & FW_CFG_ENTRY_MASK)

    def _select(self, key: int) -> bool:
        self.cur_offset = 0
        if (key & FW_CFG_ENTRY_MASK) >= self.max_entry():
            self.cur_entry = FW_CFG_INVALID
            guest_error(f"fw_cfg: selector 0x{key:04x} out of range (max entry 0x{self.max_entry():x})")
            return False
        self.cur_entry = key
        e = self._entry(key)
        if e is not None and e.select_cb is not None:
            e.select_cb()
        return True

    def _read_byte(self) -> int:
        e = self._entry(self.cur_entry)
        if e is None or self.cur_offset >= len(e.data):
            return 0
        b = e.data[self.cur_offset]
        self.cur_offset += 1
        return b

    def _comb_valid(self, addr, size, is_write, attrs) -> bool:
        return size == 1 or (is_write and size == 2 and addr == 0)

    def _data_read(self, sub: int, size: int) -> int:
        return self._read_byte()

    def _selector_write(self, sub: int, value: int, size: int):
        if size == 2:
            self._select(value & 0xffff)
        else:
            guest_error(f"fw_cfg: byte write 0x{value & 0xff:02x} to the data port is ignored")

    # -- DMA ----------------------------------------------------------------------------------------
    def _dma_valid(self, addr, size, is_write, attrs) -> bool:
        return not is_write or (addr == 0 and size in (4, 8)) or (addr == 4 and size == 4)

    def _dma_sig_read(self, index: int, sub: int, size: int) -> int:
        shift = (8 - 4 * index - sub - size) * 8
        if shift < 0:
            return 0
        return (FW_CFG_DMA_SIGNATURE >> shift) & ((1 << (size * 8)) - 1)

    def _dma_addr_write(self, index: int, sub: int, value: int, size: int):
        if size == 4:
            if index == 0:
                self.dma_addr = (value & 0xffffffff) << 32
            else:
                self.dma_addr |= value & 0xffffffff
                self._dma_transfer()
        elif size == 8 and index == 0:
            self.dma_addr = value
            self._dma_transfer()

    def _as(self):
        if self.dma_as is not None:
            return self.dma_as
        return self.machine.system_as

    def _dma_transfer(self):
        from qemu_py.memory import MemTxResult
        space = self._as()
        addr = self.dma_addr
        self.dma_addr = 0
        raw, res = space.read(addr, 16)
        if res != MemTxResult.OK:
            guest_error(f"fw_cfg: DMA descriptor at 0x{addr:x} is not readable")
            return
        control, length, address = struct.unpack(">IIQ", raw)
        if control & FW_CFG_DMA_CTL_SELECT:
            self._select(control >> 16)
        e = self._entry(self.cur_entry)
        if control & FW_CFG_DMA_CTL_READ:
            read = 1
        elif control & FW_CFG_DMA_CTL_WRITE or control & FW_CFG_DMA_CTL_SKIP:
            read = 0
        else:
            length = 0
        status = 0
        while length > 0 and not status & FW_CFG_DMA_CTL_ERROR:
            if e is None or self.cur_offset >= len(e.data):
                chunk = length
                if read and not _dma_zero(space, address, chunk):
                    status |= FW_CFG_DMA_CTL_ERROR
                if control & FW_CFG_DMA_CTL_WRITE and not control & FW_CFG_DMA_CTL_READ:
                    guest_error("fw_cfg: DMA write past the end of the selected item")
                    status |= FW_CFG_DMA_CTL_ERROR
            else:
                chunk = min(length, len(e.data) - self.cur_offset)
                if read:
                    if space.write(address, bytes(e.data[self.cur_offset:self.cur_offset + chunk])) \
                            != MemTxResult.OK:
                        status |= FW_CFG_DMA_CTL_ERROR
                elif control & FW_CFG_DMA_CTL_WRITE:
                    if not e.allow_write:
                        guest_error(f"fw_cfg: DMA write to read-only item 0x{self.cur_entry:04x}")
                        status |= FW_CFG_DMA_CTL_ERROR
                    else:
                        data, res = space.read(address, chunk)
                        if res != MemTxResult.OK:
                            status |= FW_CFG_DMA_CTL_ERROR
                        else:
                            e.data[self.cur_offset:self.cur_offset + chunk] = data
                self.cur_offset += chunk
            address += chunk
            length -= chunk
        space.write(addr, struct.pack(">I", status))


DMA_ZERO_CHUNK = 1 << 20
_ZEROS = bytes(DMA_ZERO_CHUNK)


def _dma_zero(space, address: int, length: int) -> bool:
    """dma_memory_set(address, 0, length) in 1 MiB writes (a 4 GiB read past the end of
    an item allocates no 4 GiB buffer); like QEMU, every piece is written and any
    failure makes the whole transfer fail."""
    from qemu_py.memory import MemTxResult
    ok = True
    while length > 0:
        n = min(length, DMA_ZERO_CHUNK)
        if space.write(address & 0xFFFF_FFFF_FFFF_FFFF, _ZEROS[:n] if n < DMA_ZERO_CHUNK else _ZEROS) \
                != MemTxResult.OK:
            ok = False
        address += n
        length -= n
    return ok

