"""The qtest rig: the suite's accesses as qtest protocol lines to a ``virt``
machine with ``iommu=smmuv3`` and one ``edu`` device (requester 00:01.0,
StreamID 8), as the QEMU 7.2 measurements of spec §5.3 were made.

The emulator runs in this process (the shared in-process client
:class:`~qemu_py.qtest.inprocess.InProcessQTest`), its qtest chardev one end of a
socketpair; every register access, RAM access and DMA goes over the wire as
``readl``/``writeq``/``b64write``/``clock_step`` lines. A DMA is an edu
transfer: edu's buffer (never written, so all zeros) to the IOVA, started by
DMA_CMD and completed by stepping the virtual clock 100 ms. A read DMA pulls
into another part of the buffer; its data and success are not observable
through edu (spec §6), so :meth:`dma_read` returns ``(None, None)``.
"""

from __future__ import annotations

from qemu_py.qtest.inprocess import InProcessQTest

ECAM = 0x3F00_0000
EDU_CFG = ECAM + (8 << 12)            # 00:01.0
EDU_BAR = 0x1000_0000
EDU_WRITE_SRC = 0x40000               # buffer bytes DMA'd out (always zero)
EDU_READ_DST = 0x40800                # where read DMAs land in the buffer


def qtest_available() -> bool:
    from qemu_py.hw import catalog  # noqa: F401
    from qemu_py.hw.core.machine import find_machine
    from qemu_py.qom import type_info
    return find_machine("aarch64", "virt") is not None and type_info("edu") is not None


class QTestError(AssertionError):
    pass


class QTestRig(InProcessQTest):
    check_replies = True        # a FAIL reply is a failed measurement

    def __init__(self, strict: bool = False, extra=()):
        machine = "virt,iommu=smmuv3,highmem=off" + (",smmu-strict-arch=on" if strict else "")
        super().__init__(["-M", machine, "-m", "128M", "-cpu", "cortex-a57", "-nodefaults",
                          "-device", "edu", "-accel", "qtest", *extra], "aarch64")
        self.smmu = self.emu.vm.machine.smmu
        self.sid = 8
        self.cmd(f"writel {EDU_CFG + 0x10:#x} {EDU_BAR:#x}")
        self.cmd(f"writew {EDU_CFG + 0x4:#x} 0x6")

    # -- guest-physical accesses (the shared client's, values masked to the width) --------------
    def writel(self, addr: int, value: int):
        super().writel(addr, value & 0xFFFF_FFFF)

    def writeq(self, addr: int, value: int):
        super().writeq(addr, value & ((1 << 64) - 1))

    def read_q(self, addr: int) -> int:
        return self.readq(addr)

    def write_q(self, addr: int, value: int):
        self.writeq(addr, value)

    def write_mem(self, addr: int, data: bytes):
        self.bufwrite(addr, bytes(data))

    def read_mem(self, addr: int, n: int) -> bytes:
        return self.memread(addr, n)

    # -- DMA through edu -------------------------------------------------------------------------
    def _edu_dma(self, src: int, dst: int, count: int, to_pci: bool):
        self.writeq(EDU_BAR + 0x80, src)
        self.writeq(EDU_BAR + 0x88, dst)
        self.writeq(EDU_BAR + 0x90, count)
        self.writeq(EDU_BAR + 0x98, 0x3 if to_pci else 0x1)
        self.cmd("clock_step 100000000")
        if self.readq(EDU_BAR + 0x98) & 1:
            raise QTestError("edu DMA did not complete after 100 ms")

    def dma_write(self, iova: int, data: bytes):
        """Write len(DATA) bytes of edu's buffer (zeros) to IOVA; DATA's content is
        not used. The outcome is observed in memory, so this returns None."""
        self._edu_dma(EDU_WRITE_SRC, iova, len(data), True)

    def dma_read(self, iova: int, n: int):
        self._edu_dma(iova, EDU_READ_DST, n, False)
        return None, None
