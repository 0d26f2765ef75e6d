"""SMMUv3 register interface: ID and reset values, access rules (spec §1)."""

import pytest

from conformance.smmu_bbml2 import guest as G
from conformance.smmu_bbml2.rig import InProcessRig
from qemu_py.hw.arm import smmuv3_regs as R
from qemu_py.memory import MemTxResult

B = G.SMMU_BASE


@pytest.fixture
def rig():
    return InProcessRig()


def test_id_registers_match_qemu_7_2(rig):
    got = [rig.readl(B + off) for off in (0x0, 0x4, 0x8, 0xC, 0x10, 0x14, 0x18, 0x1C)]
    assert got == [0x0D40_101A, 0x0273_0010, 0, 0x1404, 0, 0x74, 0, 1]


def test_idr3_advertises_bbml2_and_ril(rig):
    idr3 = rig.readl(B + G.IDR3)
    assert (idr3 >> 11) & 3 == 2
    assert idr3 >> 10 & 1 == 1


def test_peripheral_and_component_id_bytes(rig):
    got = [rig.readl(B + 0xFD0 + 4 * i) for i in range(12)]
    assert got == [0x04, 0, 0, 0, 0x84, 0xB4, 0xF0, 0x10, 0x0D, 0xF0, 0x05, 0xB1]


def test_reset_values(rig):
    regs = {off: rig.readl(B + off) for off in (0x20, 0x24, 0x28, 0x2C, 0x40, 0x44, 0x50,
                                                 0x54, 0x60, 0x64, 0x88, 0x98, 0x9C, 0xA8, 0xAC)}
    assert all(v == 0 for v in regs.values()), regs
    assert rig.readq(B + G.CMDQ_BASE) == 19
    assert rig.readq(B + G.EVENTQ_BASE) == 19
    assert rig.readq(B + G.STRTAB_BASE) == 0


def test_cr0_write_acks_immediately_with_reserved_bits_masked(rig):
    rig.writel(B + G.CR0, 0xFFFF_FFFF)
    assert rig.readl(B + G.CR0) == 0xFFFF_FFFF
    assert rig.readl(B + G.CR0ACK) == 0x3DF


def test_strict_cr0_keeps_only_defined_bits():
    rig = InProcessRig(strict=True)
    rig.writel(B + G.CR0, 0xFFFF_FFFF)
    assert rig.readl(B + G.CR0) == 0x1DF
    assert rig.readl(B + G.CR0ACK) == 0x1DF


def test_64bit_reads_only_at_the_64bit_registers(rig):
    assert rig.readq(B + G.IDR0) == 0
    rig.writeq(B + G.STRTAB_BASE, 0x1234_5678_9ABC_DEC0)
    assert rig.readq(B + G.STRTAB_BASE) == 0x1234_5678_9ABC_DEC0
    assert rig.readl(B + G.STRTAB_BASE) == 0x9ABC_DEC0
    assert rig.readl(B + G.STRTAB_BASE + 4) == 0x1234_5678
    rig.writeq(B + 0x68, 0xDEAD_BEEF_0000_0004)
    assert rig.readq(B + 0x68) == 0xDEAD_BEEF_0000_0004


def test_64bit_write_elsewhere_is_ignored(rig):
    rig.writeq(B + G.CR1, 0xFFFF_FFFF_FFFF_FFFF)
    assert rig.readl(B + G.CR1) == 0


def test_32bit_halves_of_64bit_registers(rig):
    rig.writel(B + G.CMDQ_BASE, 0x4020_000A)
    rig.writel(B + G.CMDQ_BASE + 4, 0x1)
    assert rig.readq(B + G.CMDQ_BASE) == 0x1_4020_000A
    assert rig.smmu.cmdq.log2size == 10


def test_queue_base_reads_back_raw_but_log2size_is_capped(rig):
    rig.writeq(B + G.CMDQ_BASE, 0x4020_0000 | 25)
    assert rig.readq(B + G.CMDQ_BASE) == 0x4020_0000 | 25
    assert rig.smmu.cmdq.log2size == 19


def test_eventq_irq_cfg_is_write_only(rig):
    rig.writeq(B + 0xB0, 0x1234_5678)
    rig.writel(B + 0xB8, 0x55)
    assert rig.smmu.eventq_irq_cfg0 == 0x1234_5678
    assert rig.smmu.eventq_irq_cfg1 == 0x55
    assert rig.readl(B + 0xB0) == 0 and rig.readl(B + 0xB8) == 0 and rig.readq(B + 0xB0) == 0


def test_page1_aliases_page0(rig):
    rig.writel(B + 0x10020, 0x4)
    assert rig.readl(B + G.CR0) == 0x4
    rig.writel(B + 0x100A8, 3)
    assert rig.readl(B + 0xA8) == 3
    assert rig.readl(B + 0x10000) == 0x0D40_101A


def test_strict_page1_has_only_its_own_registers():
    rig = InProcessRig(strict=True)
    assert rig.readl(B + 0x10000) == 0
    rig.writel(B + 0x10020, 0x4)
    assert rig.readl(B + G.CR0) == 0
    rig.writel(B + 0x100A8, 3)
    assert rig.readl(B + 0xA8) == 3


@pytest.mark.parametrize("size", [1, 2])
def test_narrow_accesses_fail(rig, size):
    value, res = rig.as_.read_value(B + G.IDR0, size)
    assert value == 0 and res != MemTxResult.OK
    assert rig.as_.write_value(B + G.CR0, 1, size) != MemTxResult.OK
    assert rig.readl(B + G.CR0) == 0


def test_unknown_offsets_raz_wi(rig):
    for off in (0xC0, 0xC8, 0xCC, 0xDC, 0x100, 0x800, 0xE00):
        rig.writel(B + off, 0xFFFF_FFFF)
        assert rig.readl(B + off) == 0


def test_gerror_is_read_only_and_gerrorn_stores(rig):
    rig.writel(B + G.GERROR, 0xFF)
    assert rig.readl(B + G.GERROR) == 0
    rig.writel(B + G.GERRORN, 0x5)
    assert rig.readl(B + G.GERRORN) == 0x5


def test_irq_ctrl_ack_mirrors_irq_ctrl(rig):
    rig.writel(B + G.IRQ_CTRL, 0x7)
    assert rig.readl(B + G.IRQ_CTRL_ACK) == 0x7


def test_gbpa_raz_wi_in_qemu_mode_and_implemented_when_strict(rig):
    rig.writel(B + G.GBPA, 0x8010_0000)
    assert rig.readl(B + G.GBPA) == 0
    strict = InProcessRig(strict=True)
    assert strict.readl(B + G.GBPA) == 0x1000
    strict.writel(B + G.GBPA, 0x0010_0000)          # no UPDATE: ignored
    assert strict.readl(B + G.GBPA) == 0x1000
    strict.writel(B + G.GBPA, 0x8010_0000)
    assert strict.readl(B + G.GBPA) == 0x0010_0000


def test_strtab_base_cfg_fmt_latch_survives_fmt0_until_reset(rig):
    rig.writel(B + G.STRTAB_BASE_CFG, 1 << 16 | 6 << 6 | 8)
    assert rig.smmu.two_level and rig.smmu.sid_split == 6
    rig.writel(B + G.STRTAB_BASE_CFG, 8)
    assert rig.smmu.two_level
    assert rig.readl(B + G.STRTAB_BASE_CFG) == 8
    rig.smmu.reset()
    assert not rig.smmu.two_level


def test_strict_fmt0_leaves_two_level_mode():
    rig = InProcessRig(strict=True)
    rig.writel(B + G.STRTAB_BASE_CFG, 1 << 16 | 6 << 6 | 8)
    rig.writel(B + G.STRTAB_BASE_CFG, 8)
    assert not rig.smmu.two_level


def test_reset_restores_everything(rig):
    for off, v in ((G.CR0, 0xD), (G.CR1, 0xD75), (G.IRQ_CTRL, 5), (G.GERRORN, 1),
                   (G.CMDQ_PROD, 4), (G.EVENTQ_CONS, 2)):
        rig.writel(B + off, v)
    rig.writeq(B + G.CMDQ_BASE, 0x4020_000A)
    rig.smmu.reset()
    assert [rig.readl(B + o) for o in (0x20, 0x24, 0x28, 0x50, 0x64, 0x98, 0xAC)] == [0] * 7
    assert rig.readq(B + G.CMDQ_BASE) == 19


def test_register_table_is_consistent():
    offsets = [r.offset for r in R.REGISTERS]
    assert len(offsets) == len(set(offsets))
    for reg in R.REGISTERS:
        assert reg.offset % 4 == 0
        assert (reg.attr is None) == (reg.value is not None)
        for f in reg.fields:
            assert f.lsb + f.width <= 8 * reg.size
    idr0 = R.BY_NAME["IDR0"]
    fields = {f.name: (R.IDR0 >> f.lsb) & ((1 << f.width) - 1) for f in idr0.fields}
    assert fields["S1P"] == 1 and fields["TTF"] == 2 and fields["ST_LEVEL"] == 1
    assert fields["STALL_MODEL"] == 1 and fields["TERM_MODEL"] == 1 and fields["TTENDIAN"] == 2
