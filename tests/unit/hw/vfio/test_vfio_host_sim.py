"""vfio-host-sim and its rtl8168 model, without vfio-pci: the device file's
interface (region info, pread/pwrite, mmap, IRQs, DMA) and the hardware."""

import struct

import pytest

from qemu_py.hw.vfio import container
from qemu_py.hw.vfio.host_sim import (
    VFIO_REGION_INFO_FLAG_CAPS,
    VFIO_REGION_INFO_FLAG_MMAP,
    VFIOHostSim,
)
from qemu_py.memory import AddressSpace, MemoryRegion
from qemu_py.qom import QOMError
from qemu_py.qtest.libqos.inproc import reset_logging
from qemu_py.system.log import LOG


def make(**props):
    sim = VFIOHostSim()
    sim.id = "hs"
    for k, v in {"model": "rtl8168", **props}.items():
        sim.set_property(k, v)
    sim.complete()
    return sim


@pytest.fixture
def sim():
    return make()


@pytest.fixture
def guest_errors(tmp_path):
    path = tmp_path / "log"
    LOG.configure(["guest_errors"], str(path))
    yield path
    reset_logging()


@pytest.mark.parametrize("props, msg", [
    ({"model": None}, "Parameter 'model' is missing"),
    ({"model": "e1000"}, "Parameter 'model' does not accept value 'e1000' (known: rtl8168)"),
    ({"iommu": "foo"}, "Parameter 'iommu' does not accept value 'foo' (type1 or spapr)"),
])
def test_complete_errors(props, msg):
    s = VFIOHostSim()
    for k, v in {"model": "rtl8168", **props}.items():
        if v is not None:
            s.set_property(k, v)
    with pytest.raises(QOMError) as e:
        s.complete()
    assert str(e.value) == msg


def test_region_info(sim):
    bar2 = sim.region_info(2)
    assert (bar2.size, bar2.offset) == (0x1000, 2 << 40)
    assert bar2.flags & VFIO_REGION_INFO_FLAG_MMAP and bar2.flags & VFIO_REGION_INFO_FLAG_CAPS
    assert bar2.sparse == ((0x000, 0x010), (0x018, 0x018), (0x040, 0xfc0))
    assert sim.region_info(0).size == 0x100 and not sim.region_info(0).mmap_allowed
    assert sim.region_info(4).sparse is None and sim.region_info(4).mmap_allowed
    assert sim.region_info(1).size == 0 and sim.region_info(7).size == 0x100
    assert make(**{"sparse-mmap": "off"}).region_info(2).sparse is None


def test_groups_default_to_their_own(sim):
    assert sim.group_id != make().group_id
    assert make(group="7").group_id == 7


def test_pread_pwrite_are_exact_and_recorded(sim):
    assert sim.pread(2, 0x00, 4) == 0x684ce000                  # MAC 00:e0:4c:68
    assert sim.pwrite(2, 0x101, 0x1122334455667788, 8)
    assert sim.pread(2, 0x101, 2) == 0x7788
    assert [a[:5] for a in sim.accesses] == [("rw", "read", 2, 0x00, 4),
                                             ("rw", "write", 2, 0x101, 8),
                                             ("rw", "read", 2, 0x101, 2)]
    assert [a[:5] for a in sim.violations] == [("rw", "write", 2, 0x101, 8)]


def test_refused_accesses_are_guest_errors(sim, guest_errors):
    assert sim.pread(2, 0xffe, 4) is None
    assert sim.pwrite(1, 0, 0, 4) is False
    assert sim.pread(2, 0, 3) is None
    text = guest_errors.read_text()
    assert "pread of 4 bytes at region 2 offset 0xffe is outside the region" in text
    assert "pwrit of 4 bytes at region 1 offset 0x0 is outside the region" in text
    assert not sim.accesses


def test_mmap_shares_memory_with_the_slow_path(sim):
    view = sim.mmap(2, 0x40, 0xfc0)
    view[0x100 - 0x40:0x104 - 0x40] = b"\x01\x02\x03\x04"
    assert sim.pread(2, 0x100, 4) == 0x04030201
    sim.mmap_access(2, 0x100, 8, "read", 0)
    assert sim.accesses[-1][:5] == ("mmap", "read", 2, 0x100, 8)
    assert len(sim.violations) == 1
    with pytest.raises(QOMError):
        sim.mmap(0, 0, 0x10)                                      # the I/O BAR


def test_rtl8168_registers(sim):
    hw = sim.hw
    assert sim.pread(2, 0x6c, 1) == 0x13                         # PHYstatus
    sim.pwrite(2, 0x6c, 0, 1)
    assert sim.pread(2, 0x6c, 1) == 0x13                         # read-only
    sim.pwrite(2, 0x38, 0x01, 1)                                 # FSWInt
    assert hw.get("IntrStatus") == 0x100
    assert sim.pread(2, 0x38, 1) == 0                            # TxPoll is write-only
    sim.pwrite(2, 0x3e, 0x0100, 2)                               # w1c
    assert hw.get("IntrStatus") == 0
    sim.pwrite(2, 0x44, 0xabcd, 4)
    sim.pwrite(2, 0x37, 0x10, 1)                                 # CmdReset
    assert hw.get("ChipCmd") == 0 and hw.get("RxConfig") == 0
    assert sim.pread(0, 0x6c, 1) == 0x13                         # BAR0 mirrors BAR2


def test_rtl8168_hardware_window(sim):
    """The device's own ERIAR/ERIDR semantics (what QEMU's quirk passes through)."""
    sim.pwrite(2, 0x70, 0xfee00000, 4)
    sim.pwrite(2, 0x74, 0x8001f000, 4)                            # write MSI-X table +0
    assert sim.pread(2, 0x74, 4) == 0x0001f000                    # complete
    assert sim.hw.msix_table[0:4] == struct.pack("<I", 0xfee00000)
    sim.pwrite(2, 0x74, 0x0001f000, 4)                            # read it back
    assert sim.pread(2, 0x74, 4) == 0x8001f000                    # latched
    assert sim.pread(2, 0x70, 4) == 0xfee00000
    sim.pwrite(2, 0x70, 7, 4)
    sim.pwrite(2, 0x74, 0x80020010, 4)                            # another type
    sim.pwrite(2, 0x74, 0x00020010, 4)
    assert sim.pread(2, 0x70, 4) == 7


def test_intx_is_automasked_until_unmasked(sim):
    fired = []
    sim.pwrite(7, 0x04, 0x0007, 2)                                # memory, master
    sim.set_irqs("intx", {0: lambda: fired.append(1)})
    sim.pwrite(2, 0x3c, 0x0100, 2)                                # IntrMask SWInt
    sim.pwrite(2, 0x38, 0x01, 1)
    assert fired == [1] and sim.intx_masked
    sim.pwrite(2, 0x38, 0x01, 1)                                  # still masked
    assert fired == [1]
    sim.intx_unmask()                                             # still asserted: again
    assert fired == [1, 1]
    sim.pwrite(2, 0x3e, 0x0100, 2)
    sim.intx_unmask()
    assert fired == [1, 1] and not sim.intx_masked


def test_intx_disable_keeps_the_device_quiet(sim):
    fired = []
    sim.pwrite(7, 0x04, 0x0407, 2)                                # INTx Disable
    sim.set_irqs("intx", {0: lambda: fired.append(1)})
    sim.pwrite(2, 0x3c, 0x0100, 2)
    sim.pwrite(2, 0x38, 0x01, 1)
    assert fired == []
    sim.pwrite(7, 0x04, 0x0007, 2)                                # enabled again: fires
    assert fired == [1]


def test_msi_mode_is_edge_triggered(sim):
    fired = []
    sim.set_irqs("msi", {0: lambda: fired.append(0)})
    sim.pwrite(2, 0x3c, 0x0100, 2)
    sim.pwrite(2, 0x38, 0x01, 1)
    sim.pwrite(2, 0x38, 0x01, 1)                                  # still high: no new edge
    assert fired == [0]
    sim.pwrite(2, 0x3e, 0x0100, 2)
    sim.pwrite(2, 0x38, 0x01, 1)
    assert fired == [0, 0]


def _iommu(sim):
    """A container over a small address space with 64 KiB of RAM at 0x10000."""
    root = MemoryRegion("root", 1 << 64)
    space = AddressSpace(root, "dma")
    ram = MemoryRegion.ram("ram", 0x10000)
    root.add_subregion(0x10000, ram)

    class State:
        policy = None
    ctr = container.VFIOContainer(State(), space, "type1")
    ctr.start_listening()
    sim.attach(object(), ctr)
    return ram, ctr


def test_dma_goes_through_the_iommu(sim):
    ram, ctr = _iommu(sim)
    assert ctr.mappings() == [(0x10000, 0x10000, "ram")]
    assert sim.dma_read(0x10000, 4) is None                       # no bus master yet
    assert sim.dma_log[-1][3] == "no-bus-master"
    sim.pwrite(7, 0x04, 0x0004, 2)
    ram.host[0:4] = b"abcd"
    assert sim.dma_read(0x10000, 4) == b"abcd"
    assert sim.dma_write(0x1fffe, b"xy") and bytes(ram.host[0xfffe:0x10000]) == b"xy"
    assert sim.dma_read(0x1ffff, 2) is None                       # crosses the end: fault
    assert sim.dma_log[-1][3] == "fault"


def test_tally_dump_and_transmit_are_dma(sim):
    ram, _ = _iommu(sim)
    sim.pwrite(7, 0x04, 0x0004, 2)
    ring, buf = 0x10100, 0x10800
    ram.host[0x800:0x840] = bytes(range(64))
    ram.host[0x100:0x110] = struct.pack("<IIQ", 0xf0000000 | 64, 0, buf)
    sim.pwrite(2, 0x20, ring, 4)
    sim.pwrite(2, 0x37, 0x04, 1)                                  # TxEnb
    sim.pwrite(2, 0x38, 0x40, 1)                                  # NPQ
    assert sim.hw.tx_frames == [bytes(range(64))]
    assert struct.unpack("<I", ram.host[0x100:0x104])[0] == 0x70000040   # OWN cleared
    assert sim.hw.get("IntrStatus") & 0x04                        # TxOK
    sim.pwrite(2, 0x10, 0x10c00 | 0x8, 4)                         # CounterDump
    assert struct.unpack("<Q", ram.host[0xc00:0xc08])[0] == 1     # tx_ok
    assert not sim.hw.get("CounterAddrLow") & 0x8
