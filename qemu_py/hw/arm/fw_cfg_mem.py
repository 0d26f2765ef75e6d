"""QEMU firmware configuration, memory-mapped flavour (``fw_cfg_mem``), as on Arm.

The items and the DMA engine are those of ``fw_cfg_io``; only the access
windows differ (docs/specs/fw_cfg.rst): the data register at +0 (1, 2, 4 or 8
byte reads return that many consecutive item bytes, most significant first),
the 16-bit big-endian selector at +8, and the DMA address register at +16
(big-endian 64-bit, or two 32-bit halves).
"""

from __future__ import annotations

from qemu_py.hw.nvram.fw_cfg import FWCfgIO
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import register_type
from qemu_py.system.log import guest_error

FW_CFG_MEM_SIZE = 0x18


@register_type("fw_cfg_mem", "fw_cfg_io", desc="QEMU firmware configuration (MMIO)",
               user_creatable=False)
class FWCfgMem(FWCfgIO):
    def realize(self):
        super().realize()
        self.data_mem = MemoryRegion.io("fwcfg.data", 8, MemoryRegionOps(
            read=self._data_read, write=self._data_write, endianness=Endian.BIG,
            valid_min=1, valid_max=8, impl_min=1, impl_max=8), owner=self)
        self.ctl_mem = MemoryRegion.io("fwcfg.ctl", 2, MemoryRegionOps(
            read=lambda a, s: 0, write=self._ctl_write, endianness=Endian.BIG,
            valid_min=2, valid_max=2), owner=self)

    def map_mmio(self, container: MemoryRegion, base: int):
        container.add_subregion(base, self.data_mem)
        container.add_subregion(base + 8, self.ctl_mem)
        if self.prop("dma_enabled"):
            container.add_subregion(base + 16, self.dma_io)

    def _data_read(self, addr: int, size: int) -> int:
        value = 0
        for _ in range(size):
            value = (value << 8) | self._read_byte()
        return value

    def _data_write(self, addr: int, value: int, size: int):
        guest_error(f"fw_cfg: write 0x{value:x} to the data register is ignored")

    def _ctl_write(self, addr: int, value: int, size: int):
        self._select(value & 0xFFFF)
