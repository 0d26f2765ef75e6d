"""vfio-pci on ``pc`` with a simulated RTL8168: config space, interrupts,
reset, hot-unplug and realize errors (the guest side through qtest)."""

import struct

import pytest

from qemu_py.launch import StartupError
from qemu_py.qtest.libqos.inproc import InProcessQTest
from qemu_py.qtest.libqos.pci import QPCIBus
from qemu_py.qtest.qmp_client import QMPError
from qemu_py.system import trace

SLOT = 4
BAR2, BAR4 = 0xe0000000, 0xe0004000
NIC = ["-object", "vfio-host-sim,id=hs0,model=rtl8168",
       "-device", f"vfio-pci,host-sim=hs0,addr={SLOT:02x}.0,id=nic0"]


@pytest.fixture
def q():
    q = InProcessQTest(["-M", "pc", *NIC])
    yield q
    q.close()


@pytest.fixture
def nic(q):
    dev = QPCIBus(q).device(SLOT)
    dev.map_bar(2, BAR2)
    dev.map_bar(4, BAR4)
    dev.enable()
    return dev


def test_identity_comes_from_the_device(q):
    dev = QPCIBus(q).device(SLOT)
    assert (dev.vendor_id, dev.device_id) == (0x10ec, 0x8168)
    assert dev.readl(0x08) == 0x0200000c
    assert dev.readl(0x2c) == 0xe0001458
    assert dev.readb(0x3d) == 1


def test_capabilities_keep_the_hardware_order(q):
    dev = QPCIBus(q).device(SLOT)
    assert dev.capabilities() == [(0x40, 0x01), (0x50, 0x05), (0x70, 0x10), (0xb0, 0x11)]
    assert dev.readw(0x06) & 0x10
    assert dev.readl(0x74) == 0x05cd8cc0                          # PCIe DevCap, passed through
    assert dev.msix_info() == (0xb0, 4, 4, 0, 4, 0x800)


def test_bars_are_emulated_and_sized_by_qemu(q):
    dev = QPCIBus(q).device(SLOT)
    assert dev.bar_info(0) == (0x100, True, False)
    assert dev.bar_info(2) == (0x1000, False, True)
    assert dev.bar_info(4) == (0x4000, False, True)
    assert dev.bar_info(1) == (0, False, False)
    sim = q.machine.peripheral.child("nic0").sim
    dev.writel(0x18, 0xfe000000)
    assert dev.readl(0x18) == 0xfe000004                          # QEMU's copy
    assert sim.hw.config[0x18:0x1c] == struct.pack("<I", 0xfe000004)   # the device filtered it


def test_multifunction_bit_is_qemus(q):
    assert QPCIBus(q).device(SLOT).readb(0x0e) == 0x00


def test_config_writes_reach_the_device_first(q):
    sim = q.machine.peripheral.child("nic0").sim
    dev = QPCIBus(q).device(SLOT)
    sim.clear_log()
    dev.writew(0x78, 0x1234)                                      # PCIe DevCtl
    assert sim.accesses[0][:5] == ("rw", "write", 7, 0x78, 2)
    assert dev.readw(0x78) == 0x1234 & 0x7cff


def test_msi_capability_is_emulated(q):
    sim = q.machine.peripheral.child("nic0").sim
    dev = QPCIBus(q).device(SLOT)
    dev.writel(0x54, 0xfee00000)
    assert dev.readl(0x54) == 0xfee00000
    sim.clear_log()
    assert dev.readw(0x52) == 0x0080                              # 64-bit, 1 vector
    assert not sim.accesses                                        # no device read for emulated bits


def test_intx_eoi_and_the_mmap_timeout(q, nic):
    """INTx: the pin rises, the mmaps go off; a BAR access is the EOI (lower,
    unmask: still asserted, so it fires again); mmaps come back 1.1 s later."""
    dev = q.machine.peripheral.child("nic0")
    q.irq_intercept_in("ioapic")
    q.outl(0xcf8, 0x80000000 | (8 << 8) | 0x60)                   # PIIX3 PIRQ routing
    q.outl(0xcfc, 0x0b0b0b0b)
    q.writew(BAR2 + 0x3c, 0x0100)                                  # IntrMask: SWInt
    # the eventfd is handled by the main loop after the access (and its no-op EOI)
    assert q.lines(f"writeb 0x{BAR2 + 0x38:x} 0x1") == ["OK", "IRQ raise 11"]
    assert dev.intx_pending
    mmaps = dev.bars[2].region.mmaps
    assert not any(mr.enabled for _, _, mr in mmaps)
    sim = dev.sim
    sim.clear_log()
    # a BAR access is the EOI; still asserted, so the device signals again
    assert q.lines(f"readw 0x{BAR2 + 0x3e:x}") == ["IRQ lower 11", "OK 0x0000000000000100",
                                                    "IRQ raise 11"]
    assert q.lines(f"readl 0x{BAR2 + 0x101:x}")[0] == "IRQ lower 11"
    # the mmaps are off: an unaligned dword is cut into aligned pieces by vfio_region_ops
    assert [a[:5] for a in sim.accesses] == [("rw", "read", 2, 0x3e, 2), ("rw", "read", 2, 0x101, 1),
                                             ("rw", "read", 2, 0x102, 2), ("rw", "read", 2, 0x104, 1)]
    assert q.lines(f"writew 0x{BAR2 + 0x3e:x} 0x100") == ["IRQ lower 11", "OK"]
    assert not dev.intx_pending
    q.clock_step(1_099_000_000)
    assert not any(mr.enabled for _, _, mr in mmaps)
    q.clock_step(1_000_000)
    assert all(mr.enabled for _, _, mr in mmaps)
    sim.clear_log()
    q.readl(BAR2 + 0x101)
    assert [a[:5] for a in sim.accesses] == [("mmap", "read", 2, 0x101, 4)]


def test_msi_delivers_the_message(q, nic):
    ram = 0x200000
    nic.writel(0x54, ram)                                           # MSI address (RAM here)
    nic.writel(0x58, 0)
    nic.writew(0x5c, 0x4041)                                        # data
    nic.writew(0x52, nic.readw(0x52) | 1)                          # enable
    assert q.machine.peripheral.child("nic0").sim.irq_mode == "msi"
    q.writew(BAR2 + 0x3c, 0x0100)
    q.writeb(BAR2 + 0x38, 0x01)
    assert q.readl(ram) == 0x4041


def test_msix_delivers_through_the_emulated_table_and_pends_when_masked(q, nic):
    ram = 0x200000
    q.writel(BAR4 + 0, ram)                                         # vector 0 address
    q.writel(BAR4 + 4, 0)
    q.writel(BAR4 + 8, 0x77)                                        # data
    nic.msix_enable()
    dev = q.machine.peripheral.child("nic0")
    assert dev.sim.irq_mode == "msix"
    q.writew(BAR2 + 0x3c, 0x0100)
    q.writeb(BAR2 + 0x38, 0x01)                                     # vector 0 still masked
    assert q.readl(ram) == 0
    assert dev.msix.pba_mmio.enabled and q.readl(BAR4 + 0x800) == 1   # pending bit
    q.writel(BAR4 + 12, 0)                                          # unmask: sent
    assert q.readl(ram) == 0x77
    nic.msix_disable()
    assert dev.sim.irq_mode == "intx"


def test_system_reset_resets_the_device(q, nic):
    sim = q.machine.peripheral.child("nic0").sim
    q.writel(BAR2 + 0x44, 0xabcd)
    assert sim.hw.get("RxConfig") == 0xabcd
    q.qmp("system_reset")
    assert sim.hw.get("RxConfig") == 0
    assert sim.irq_mode == "intx"
    assert QPCIBus(q).device(SLOT).readw(0x04) == 0


def test_hot_unplug_frees_everything(q, nic):
    dev = q.machine.peripheral.child("nic0")
    sim = dev.sim
    q.qmp("device_del", id="nic0")
    assert q.qmp_event("DEVICE_DELETED")["data"] == {"device": "nic0",
                                                     "path": "/machine/peripheral/nic0"}
    assert QPCIBus(q).device(SLOT).vendor_id == 0xffff
    assert q.readl(BAR2) == 0                                       # unmapped
    assert sim.attached_to is None and sim.irq_mode == "none"
    assert q.machine.vfio_state.groups == {}
    q.qmp("device_add", driver="vfio-pci", id="again", addr="04.0", **{"host-sim": "hs0"})
    assert QPCIBus(q).device(SLOT).vendor_id == 0x10ec


def test_trace_events_of_the_slow_path(q, nic):
    seen = []
    entry = trace.subscribe(lambda n, a: seen.append((n, a)), "vfio_region_*")
    try:
        q.readl(BAR2 + 0x10)
        q.writeb(BAR2 + 0x37, 0)
    finally:
        trace.unsubscribe(entry)
    assert seen == [
        ("vfio_region_read", dict(name="0000:01:00.0", index=2, addr=0x10, size=4, data=0)),
        ("vfio_region_write", dict(name="0000:01:00.0", index=2, addr=0x37, data=0, size=1)),
    ]


@pytest.mark.parametrize("args, msg", [
    (["-device", "vfio-pci"], "-device vfio-pci: No provided host device (use -device "
                              "vfio-pci,host-sim=ID with -object vfio-host-sim,id=ID,model=...)"),
    (["-device", "vfio-pci,host-sim=nope"],
     "-device vfio-pci,host-sim=nope: vfio-host-sim 'nope' not found"),
    (NIC + ["-device", "vfio-pci,host-sim=hs0,id=twice"],
     "-device vfio-pci,host-sim=hs0,id=twice: vfio 0000:01:00.0: device is already attached"),
    (["-object", "vfio-host-sim,id=hs0,model=rtl8168",
      "-object", "vfio-host-sim,id=hs0,model=rtl8168"],
     "-object vfio-host-sim,id=hs0,model=rtl8168: attempt to add duplicate property 'hs0' to "
     "object (type 'container')"),
    (["-object", "vfio-host-sim,model=rtl8168"],
     "-object vfio-host-sim,model=rtl8168: Parameter 'id' is missing"),
    (["-object", "nonsense,id=x"], "-object nonsense,id=x: invalid object type: nonsense"),
    (["-object", "vfio-host-sim,id=x,model=rtl8168,colour=red"],
     "-object vfio-host-sim,id=x,model=rtl8168,colour=red: Property 'vfio-host-sim.colour' "
     "not found"),
])
def test_startup_errors(args, msg):
    with pytest.raises(StartupError) as e:
        InProcessQTest(["-M", "pc", *args])
    assert str(e.value) == msg


def test_device_add_of_a_busy_host_device_leaves_no_trace(q):
    with pytest.raises(QMPError, match="device is already attached"):
        q.qmp("device_add", driver="vfio-pci", id="dup", **{"host-sim": "hs0"})
    assert q.machine.peripheral.child("dup") is None
    assert q.qmp("qom-get", path="/machine", property="x-ram-discard")[
        "uncoordinated-disabled"] == 1
