"""Small PC port-I/O sinks that QEMU's ``pc`` board creates without a device.

``ioport80``: the POST-code port 0x80, a 1-byte sink whose reads return
all-ones (``inb 0x80`` answers 0xff), used by guests as an I/O delay.
``ioportF0``: port 0xf0, the legacy FPU error reset; writes lower the FERR
line (nothing is connected without a CPU), reads return all-ones.
"""

from __future__ import annotations

from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps

_ONES = (1 << 64) - 1


def ioport80_region() -> MemoryRegion:
    return MemoryRegion.io("ioport80", 1, MemoryRegionOps(
        read=lambda off, size: _ONES, write=lambda off, val, size: None,
        endianness=Endian.LITTLE))


def ioportf0_region(ferr_irq=None) -> MemoryRegion:
    def write(off, val, size):
        if ferr_irq is not None:
            ferr_irq.lower()
    return MemoryRegion.io("ioportF0", 1, MemoryRegionOps(
        read=lambda off, size: _ONES, write=write, endianness=Endian.LITTLE))
