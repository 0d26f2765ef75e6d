"""PCI on ``pc``: host bridge, config mechanism #1, BAR sizing and mapping, INTx,
MSI, MSI-X and bus-master gating, with ``pci-testdev`` at 04.0."""

import pytest

DEVFN = 4 << 3
BAR0_ADDR, BAR4_ADDR, BAR1_PORT = 0xfe000000, 0xfe001000, 0xc000
MAGIC = 0x54534554


def cfg_addr(devfn, reg):
    return 0x80000000 | (devfn << 8) | (reg & 0xfc)


def cfg_readl(s, devfn, reg):
    s.outl(0xcf8, cfg_addr(devfn, reg))
    return s.inl(0xcfc)


def cfg_writel(s, devfn, reg, val):
    s.outl(0xcf8, cfg_addr(devfn, reg))
    s.outl(0xcfc, val)


def cfg_readb(s, devfn, reg):
    s.outl(0xcf8, cfg_addr(devfn, reg))
    return s.inb(0xcfc + (reg & 3))


def cfg_writeb(s, devfn, reg, val):
    s.outl(0xcf8, cfg_addr(devfn, reg))
    s.outb(0xcfc + (reg & 3), val)


@pytest.fixture
def pcitest(qtest):
    return qtest("-device", "pci-testdev,addr=04.0")


def test_host_bridge_and_isa_bridge_ids(qtest):
    s = qtest()
    assert s.cmd("outl 0xcf8 0x80000000") == "OK"
    assert s.cmd("inl 0xcfc") == "OK 0x12378086"
    assert cfg_readl(s, 0, 0x08) == 0x06000002
    assert cfg_readl(s, 0, 0x2c) == 0x11001af4
    assert cfg_readl(s, 8, 0x00) == 0x70008086
    assert cfg_readb(s, 8, 0x0e) == 0x80                 # PIIX3 is multi-function
    assert cfg_readl(s, 8, 0x60) == 0x80808080           # PIRQ routes disabled
    assert cfg_readl(s, 0x50, 0x00) == 0xffffffff         # empty slot
    s.outl(0xcf8, 0x00000000)                             # enable bit clear
    assert s.inl(0xcfc) == 0xffffffff
    assert s.inl(0xcf8) == 0
    assert s.inw(0xcfc) == 0xffff


def test_config_address_needs_a_dword_write(qtest):
    s = qtest()
    s.outl(0xcf8, 0x80000000)
    s.outb(0xcf8, 0x12)
    assert s.inl(0xcf8) == 0x80000000
    assert s.inw(0xcfe) == 0x1237                         # high half of the ID dword


def test_bar_sizing_by_writing_all_ones(pcitest):
    s = pcitest
    assert cfg_readl(s, DEVFN, 0) == 0x00051b36
    expect = {0x10: 0xfffff000, 0x14: 0xffffff01, 0x18: 0xffff000c, 0x1c: 0xffffffff,
              0x20: 0xfffff000, 0x24: 0x00000000}
    for reg, size_word in expect.items():
        cfg_writel(s, DEVFN, reg, 0xffffffff)
        assert cfg_readl(s, DEVFN, reg) == size_word, hex(reg)
    cfg_writel(s, DEVFN, 0x30, 0xffffffff)
    assert cfg_readl(s, DEVFN, 0x30) == 0                # no ROM BAR


def map_bars(s, command=0x7):
    cfg_writel(s, DEVFN, 0x10, BAR0_ADDR)
    cfg_writel(s, DEVFN, 0x14, BAR1_PORT)
    cfg_writel(s, DEVFN, 0x18, 0x0000000c)
    cfg_writel(s, DEVFN, 0x1c, 0x2)                       # BAR2 at 0x2_0000_0000
    cfg_writel(s, DEVFN, 0x20, BAR4_ADDR)
    cfg_writel(s, DEVFN, 0x04, command)


def test_bar_mapping_follows_command_register(pcitest):
    s = pcitest
    map_bars(s, command=0)
    assert s.readl(BAR0_ADDR) == 0                        # not decoding yet
    assert s.inl(BAR1_PORT) == 0xffffffff
    cfg_writel(s, DEVFN, 0x04, 0x3)
    assert s.readl(BAR0_ADDR) == MAGIC
    assert s.inl(BAR1_PORT) == MAGIC
    s.writel(BAR0_ADDR + 4, 0x12345678)
    assert s.inl(BAR1_PORT + 4) == 0x12345678
    s.writeq(0x200000000, 0x1122334455667788)            # the 64-bit prefetchable BAR
    assert s.readq(0x200000000) == 0x1122334455667788
    cfg_writel(s, DEVFN, 0x10, 0xfd000000)               # move BAR0
    assert s.readl(BAR0_ADDR) == 0 and s.readl(0xfd000000) == MAGIC
    cfg_writel(s, DEVFN, 0x04, 0x1)                       # memory decode off
    assert s.readl(0xfd000000) == 0
    assert s.inl(BAR1_PORT) == MAGIC


def test_bar_in_the_pci_hole_of_a_4g_machine(qtest):
    s = qtest("-m", "4G", "-device", "pci-testdev,addr=04.0")
    s.writel(0x100000000, 0xcafef00d)                     # RAM above 4 GiB
    assert s.readl(0x100000000) == 0xcafef00d
    cfg_writel(s, DEVFN, 0x10, 0xf0000000)                # hole: 3 GiB .. 4 GiB
    cfg_writel(s, DEVFN, 0x04, 0x2)
    assert s.readl(0xf0000000) == MAGIC


def test_intx_through_piix3_pirq_routing(pcitest):
    s = pcitest
    map_bars(s)
    assert cfg_readb(s, DEVFN, 0x3d) == 1                 # INTA
    s.cmd("irq_intercept_in ioapic")
    cfg_writeb(s, 8, 0x63, 11)                            # slot 4 INTA -> PIRQD -> IRQ 11
    assert s.lines(f"writel 0x{BAR0_ADDR + 8:x} 0x1") == ["IRQ raise 11", "OK"]
    assert cfg_readl(s, DEVFN, 0x04) >> 16 & 0x08         # status: interrupt pending
    assert s.lines(f"outl 0xcfc 0x{0x407:x}") == ["IRQ lower 11", "OK"]   # INTX_DISABLE
    assert s.lines("outl 0xcfc 0x7") == ["IRQ raise 11", "OK"]
    assert s.lines(f"writel 0x{BAR0_ADDR + 8:x} 0x0") == ["IRQ lower 11", "OK"]
    s.cmd(f"writel 0x{BAR0_ADDR + 8:x} 0x1")
    assert s.lines("outl 0xcf8 0x80000860") == ["OK"]
    assert s.lines("outb 0xcff 0x80") == ["IRQ lower 11", "OK"]   # route disabled


def find_cap(s, cap_id):
    ptr = cfg_readb(s, DEVFN, 0x34)
    while ptr:
        if cfg_readb(s, DEVFN, ptr) == cap_id:
            return ptr
        ptr = cfg_readb(s, DEVFN, ptr + 1)
    return 0


def test_msix_table_delivery_masking_and_pba(pcitest):
    s = pcitest
    map_bars(s)
    assert cfg_readl(s, DEVFN, 0x04) >> 16 & 0x10         # capability list
    cap = find_cap(s, 0x11)
    assert cap and cfg_readl(s, DEVFN, cap) >> 16 == 0x0007   # 8 entries
    assert cfg_readl(s, DEVFN, cap + 4) == 4 and cfg_readl(s, DEVFN, cap + 8) == 0x804
    cfg_writel(s, DEVFN, cap, 0x80000000)                 # enable
    s.writel(BAR4_ADDR + 0x10, 0x10000)                    # entry 1: address
    s.writel(BAR4_ADDR + 0x18, 0xbeef)                     # data
    assert s.readl(BAR4_ADDR + 0x1c) == 1                  # masked after reset
    s.writel(BAR0_ADDR + 0x0c, 1)                          # notify vector 1: pending
    assert s.readl(BAR4_ADDR + 0x800) == 0x2
    assert s.readl(0x10000) == 0
    s.writel(BAR4_ADDR + 0x1c, 0)                          # unmask: delivered
    assert s.readl(0x10000) == 0xbeef
    assert s.readl(BAR4_ADDR + 0x800) == 0
    assert s.readq(BAR4_ADDR + 0x10) == 0x10000            # 8-byte access split in two
    s.writel(0x10000, 0)
    s.writel(BAR0_ADDR + 0x0c, 1)
    assert s.readl(0x10000) == 0xbeef


def test_msi_delivery_with_vector_bits(pcitest):
    s = pcitest
    map_bars(s)
    cap = find_cap(s, 0x05)
    flags = cfg_readl(s, DEVFN, cap) >> 16
    assert flags == 0x0184                                 # maskable, 64-bit, 4 vectors
    cfg_writel(s, DEVFN, cap + 4, 0x20000)
    cfg_writel(s, DEVFN, cap + 8, 0)
    cfg_writel(s, DEVFN, cap + 0x0c, 0x4440)
    cfg_writel(s, DEVFN, cap, (0x21 << 16))               # enable, 4 vectors
    s.writel(BAR0_ADDR + 0x0c, 3)
    assert s.readl(0x20000) == 0x4443
    cfg_writel(s, DEVFN, cap + 0x10, 0x4)                  # mask vector 2
    s.writel(BAR0_ADDR + 0x0c, 2)
    assert s.readl(0x20000) == 0x4443
    assert cfg_readl(s, DEVFN, cap + 0x14) == 0x4          # pending
    cfg_writel(s, DEVFN, cap + 0x10, 0)
    assert s.readl(0x20000) == 0x4442


def test_bus_master_enable_gates_dma(pcitest):
    s = pcitest
    map_bars(s, command=0x3)                               # no bus mastering
    s.memwrite(BAR0_ADDR + 0x100, b"dma-data")
    s.writel(BAR0_ADDR + 0x10, 0x30000)
    s.writel(BAR0_ADDR + 0x18, 8)
    s.writel(BAR0_ADDR + 0x1c, 1)
    assert s.memread(0x30000, 8) == bytes(8)
    assert s.readl(BAR0_ADDR + 0x20) != 0                  # the transfer failed
    cfg_writel(s, DEVFN, 0x04, 0x7)
    s.writel(BAR0_ADDR + 0x1c, 1)
    assert s.memread(0x30000, 8) == b"dma-data"
    assert s.readl(BAR0_ADDR + 0x20) == 0
    s.memwrite(0x30000, b"fromram!")
    s.writel(BAR0_ADDR + 0x1c, 2)
    assert s.memread(BAR0_ADDR + 0x100, 8) == b"fromram!"


def test_device_placement_errors(tmp_path):
    from tests.unit.hw.launch_errors import run_and_capture
    out = run_and_capture("-device", "pci-testdev,addr=00.0")
    assert "PCI: slot 0 function 0 not available for pci-testdev, in use by i440FX" in out
    out = run_and_capture("-device", "pci-testdev,addr=zz")
    assert "Property 'addr' doesn't take value 'zz'" in out


# -- in-process --------------------------------------------------------------------------------

def test_requester_id_and_auto_slot(machine):
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults", "-device", "pci-testdev",
                "-device", "pci-testdev,addr=1f.0")
    devs = [d for d in m.pci_bus.devices if d.TYPE_NAME == "pci-testdev"]
    assert [d.devfn for d in devs] == [0x10, 0xf8]
    assert devs[1].requester_id == 0x00f8
    assert devs[0].canonical_path() == "/machine/peripheral-anon/device[0]"


def test_ecam_helper(machine):
    from qemu_py.hw.pci.host import ecam_region
    m = machine("-M", "pc", "-accel", "qtest", "-nodefaults")
    ecam = ecam_region(m.pci_bus, 1 << 20)
    assert ecam.dispatch_read(0, 4)[0] == 0x12378086
    assert ecam.dispatch_read((1 << 15) | 0x0a, 2)[0] == 0x0601
    assert ecam.dispatch_read(0x100, 4)[0] == 0xffffffff      # beyond conventional space
