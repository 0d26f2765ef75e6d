"""The machine under test: ``pc`` with an assigned RTL8168 and a pci-testdev.

``Rig(kind)`` builds it in this process (``inproc``: the qtest server code
without a socket, hardware accesses read from the simulated device) or as a
separate emulator process (``qtest``: the hardware accesses come back
through ``-trace vfio_sim_access`` in a file, as a test outside the
process sees them).

Fixed guest layout (programmed through config space like a BIOS would):
RTL8168 at 04.0 (BAR0 I/O 0xc000, BAR2 0xe0000000, BAR4 0xe0004000),
pci-testdev at 05.0 (BAR0 registers at 0xe0010000), both with memory
decoding, bus mastering and INTx Disable set (so no INTx switches the BAR
mmaps off in the middle of a property run).
"""

from __future__ import annotations

import os
import re
import tempfile

from qemu_py.qtest.client import QTest
from qemu_py.qtest.libqos.inproc import InProcessQTest
from qemu_py.qtest.libqos.pci import QPCIBus

BAR0_IO, BAR2, BAR4, TESTDEV = 0xc000, 0xe0000000, 0xe0004000, 0xe0010000
BAR2_SIZE, BAR4_SIZE = 0x1000, 0x4000
NIC_SLOT, TESTDEV_SLOT = 4, 5
TRACE_RE = re.compile(r"vfio_sim_access \S+ path (\w+) (\w+) region (\d+) offset 0x([0-9a-f]+) "
                      r"size (\d+) value 0x([0-9a-f]+)")


def machine_args(sparse: bool = True, extra=()) -> list[str]:
    return ["-M", "pc", "-m", "128M",
            "-object", f"vfio-host-sim,id=hs0,model=rtl8168,sparse-mmap={'on' if sparse else 'off'}",
            "-device", f"vfio-pci,host-sim=hs0,addr={NIC_SLOT:02x}.0,id=nic0",
            "-device", f"pci-testdev,addr={TESTDEV_SLOT:02x}.0,id=td0", *extra]


class Rig:
    def __init__(self, kind: str = "inproc", sparse: bool = True, extra=(), log_dir=None):
        self.kind = kind
        args = machine_args(sparse, extra)
        if kind == "inproc":
            self.q = InProcessQTest(args)
            self.sim = self.q.machine.peripheral.child("nic0").sim
            self.trace_path = None
        else:
            self.dir = log_dir or tempfile.mkdtemp(prefix="ramd-rig-")
            self.trace_path = os.path.join(self.dir, "trace.log")
            args += ["-trace", f"enable=vfio_sim_access,file={self.trace_path}"]
            self.q = QTest(args, log_dir=self.dir).launch()
            self.sim = None
            self._trace_pos = 0
        self.bus = QPCIBus(self.q)
        self.nic = self.bus.device(NIC_SLOT)
        self.nic.map_bar(0, BAR0_IO)
        self.nic.map_bar(2, BAR2)
        self.nic.map_bar(4, BAR4)
        self.nic.enable(intx_disable=True)
        self.td = self.bus.device(TESTDEV_SLOT)
        self.td.map_bar(0, TESTDEV)
        self.td.enable(intx_disable=True)
        self.drain()

    def close(self) -> None:
        if self.kind == "inproc":
            self.q.close()
        else:
            self.q.quit()

    # -- hardware access log -----------------------------------------------------------------
    def drain(self) -> list[tuple]:
        """BAR accesses seen by the simulated hardware since the last drain
        (config-space cycles left out): [(path, op, region, offset, size, value)]."""
        if self.kind == "inproc":
            out = [tuple(a) for a in self.sim.accesses if a.region != 7]
            self.sim.accesses.clear()
            return out
        with open(self.trace_path) as f:
            f.seek(self._trace_pos)
            text = f.read()
            self._trace_pos = f.tell()
        out = []
        for m in TRACE_RE.finditer(text):
            path, op, region, off, size, value = m.groups()
            if int(region) != 7:
                out.append((path, op, int(region), int(off, 16), int(size), int(value, 16)))
        return out

    def violations(self) -> list:
        if self.kind == "inproc":
            return [tuple(a) for a in self.sim.violations]
        return self.q.qmp("qom-get", path="/objects/hs0", property="violations")

    # -- DMA from the pci-testdev --------------------------------------------------------------
    def testdev_dma(self, addr: int, data: bytes | None, length: int) -> bytes | None:
        """pci-testdev DMA: write DATA to ADDR (cmd 1) or read LENGTH bytes (cmd 2)."""
        q = self.q
        q.writel(TESTDEV + 0x10, addr & 0xffffffff)
        q.writel(TESTDEV + 0x14, addr >> 32)
        q.writel(TESTDEV + 0x18, length)
        if data is not None:
            q.memwrite(TESTDEV + 0x100, data)
            q.writel(TESTDEV + 0x1c, 1)
            return None
        q.writel(TESTDEV + 0x1c, 2)
        return q.memread(TESTDEV + 0x100, length)
