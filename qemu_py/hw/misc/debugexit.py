"""``isa-debug-exit``: a port that ends the emulator with a chosen status.

Models QEMU's test device: a write of V to any of its ``iosize`` ports at
``iobase`` makes the process exit with status ``(V << 1) | 1`` (so a guest
can never signal plain success); reads return 0. Used by test kernels.
"""

from __future__ import annotations

from qemu_py.hw.isa.isa_bus import ISADevice
from qemu_py.hw.misc.registers import Reg, RegisterBlock
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import DeviceProp, QOMError, register_type

# every port of the window is EXIT (offset_mask 0 folds them onto offset 0)
REGS = (Reg(0, "EXIT", access="wo", write="_write_exit",
            desc="writing V exits with status (V << 1) | 1"),)


@register_type("isa-debug-exit", "isa-device", desc="ISA debug exit device")
class ISADebugExit(ISADevice):
    PROPS = [DeviceProp("iobase", "uint32", 0x501), DeviceProp("iosize", "uint32", 0x02)]

    def realize(self):
        size = self.prop("iosize")
        if not 1 <= size <= 0x10000:
            raise QOMError(f"isa-debug-exit: iosize 0x{size:x} out of range")
        self.regs = RegisterBlock(self, "isa-debug-exit", REGS, offset_mask=0)
        self.io = MemoryRegion.io("isa-debug-exit", size, MemoryRegionOps(
            read=self.regs.read, write=self.regs.write, endianness=Endian.LITTLE,
            valid_min=1, valid_max=4), owner=self)
        self.isa_register_ioport(self.io, self.prop("iobase"))

    def _write_exit(self, sub: int, val: int, size: int):
        status = ((val << 1) | 1) & 0xff
        self.vm.exit_now(status)
