"""Command queue processing, opcodes, errors, range invalidation, IOTLB (spec §3, §4)."""

import pytest

from conformance.smmu_bbml2 import guest as G
from conformance.smmu_bbml2.rig import Setup
from qemu_py.hw.arm.smmuv3_cmdq import OPCODES, dma_aligned_pow2_mask, range_chunks

PA = 0x4100_0000


def cached(s):
    return sorted((k[2], k[3], k[4]) for k in s.smmu.iotlb.entries)


def test_commands_run_on_prod_write_and_cons_follows(setup):
    cons = setup.drv.submit(G.cmd(0x01), G.cmd(0x02))
    assert cons == 3 and setup.reg(G.GERROR) == 0


def test_commands_wait_for_cmdqen(make_setup):
    s = make_setup(enable=False)
    s.drv.submit(G.cmd_tlbi_nsnh_all())
    assert s.reg(G.CMDQ_CONS) == 0
    s.wreg(G.CR0, 0x8)                                  # CMDQEN alone: runs (no SMMUEN needed)
    assert s.reg(G.CMDQ_CONS) == 2


def test_cmd_sync_pulses_its_irq_regardless_of_irq_ctrl(setup):
    setup.wreg(G.IRQ_CTRL, 0)
    setup.rig.irq_log.clear()
    setup.drv.submit(G.cmd_sync(irq=True), sync=False)
    assert setup.rig.irq_log == [(2, 1), (2, 0)]
    setup.rig.irq_log.clear()
    setup.drv.submit(G.cmd_sync(irq=False), sync=False)
    assert setup.rig.irq_log == []


@pytest.mark.parametrize("op", [0x00, 0x07, 0x47, 0xFF, 0x14])
def test_illegal_opcodes(setup, op):
    cons = setup.drv.submit(G.cmd(op))
    assert cons == 0x0100_0000
    assert setup.reg(G.GERROR) == 1


def test_error_recovery_sequence_as_measured(setup):
    setup.pt.map(0x212000, PA)
    setup.write(0x212000)
    assert cached(setup)
    cons = setup.drv.submit(G.cmd(0x07), G.cmd_tlbi_va(0x212000))
    assert cons == 0x0100_0000 and setup.reg(G.GERROR) == 1
    assert cached(setup)                                 # the TLBI did not run
    setup.wreg(G.GERRORN, 1)                             # acknowledge without a fix
    assert setup.reg(G.GERROR) == 0 and setup.reg(G.GERRORN) == 1
    setup.drv.write_cmd_at(0, G.cmd_sync())
    setup.wreg(G.GERRORN, 0)
    assert setup.reg(G.CMDQ_CONS) == 0x0100_0003          # ERR kept (QEMU)
    assert setup.reg(G.GERROR) == setup.reg(G.GERRORN) == 0
    assert not cached(setup)


def test_strict_recovery_clears_err(make_setup):
    s = make_setup(strict=True)
    s.drv.submit(G.cmd(0x07))
    s.drv.write_cmd_at(0, G.cmd_sync())
    s.wreg(G.GERRORN, 1)
    assert s.reg(G.CMDQ_CONS) == 2


def test_gerror_irq_when_enabled(setup):
    setup.rig.irq_log.clear()
    setup.drv.submit(G.cmd(0))
    assert (3, 1) in setup.rig.irq_log
    s2 = Setup()
    s2.wreg(G.IRQ_CTRL, 0)
    s2.rig.irq_log.clear()
    s2.drv.submit(G.cmd(0))
    assert (3, 1) not in s2.rig.irq_log


def test_command_fetch_abort_is_cerror_abt(setup):
    setup.rig.writeq(G.SMMU_BASE + G.CMDQ_BASE, 0x7000_0000 | 8)
    setup.wreg(G.CMDQ_PROD, 1)
    assert setup.reg(G.CMDQ_CONS) == 0x0200_0000 and setup.reg(G.GERROR) == 1


@pytest.mark.parametrize("op", [0x18, 0x1A, 0x20, 0x21, 0x22, 0x23, 0x28, 0x2A, 0x40, 0x41,
                                0x44, 0x45])
def test_unhandled_commands_consumed_silently_or_illegal_when_strict(make_setup, op):
    s = make_setup()
    s.pt.map(0x1000, PA)
    s.write(0x1000)
    assert s.drv.submit(G.cmd(op)) == 2 and s.reg(G.GERROR) == 0
    assert cached(s)
    s = make_setup(strict=True)
    assert s.drv.submit(G.cmd(op)) == 0x0100_0000 and s.reg(G.GERROR) == 1


@pytest.mark.parametrize("make", [G.cmd_cfgi_ste, G.cmd_cfgi_cd, G.cmd_cfgi_cd_all,
                                  lambda sid: G.cmd_cfgi_ste_range(sid, 31)])
def test_cfgi_drops_config_but_not_iotlb(setup, make):
    setup.pt.map(0x1000, PA)
    setup.write(0x1000)
    assert setup.smmu.configs
    setup.drv.submit(make(8))
    assert not setup.smmu.configs
    assert cached(setup)


def test_cfgi_ste_other_sid_keeps_config(setup):
    setup.write(0x1000)
    setup.drv.submit(G.cmd_cfgi_ste(9), G.cmd_cfgi_ste_range(0x10, 2))
    assert setup.smmu.configs


def test_cfgi_ste_range_covers_aligned_block(setup):
    setup.write(0x1000)
    setup.drv.submit(G.cmd_cfgi_ste_range(0xF, 3))      # SIDs 0..15
    assert not setup.smmu.configs


def test_cfgi_with_ssec_is_illegal(setup):
    assert setup.drv.submit(G.cmd_cfgi_ste(8, ssec=1)) == 0x0100_0000


def test_tlbi_nh_asid_and_all(setup):
    setup.pt.map(0x1000, PA)
    setup.write(0x1000)
    setup.drv.submit(G.cmd_tlbi_nh_asid(2))
    assert cached(setup)
    setup.drv.submit(G.cmd_tlbi_nh_asid(1))
    assert not cached(setup)
    setup.write(0x1000)
    setup.drv.submit(G.cmd_tlbi_nh_all())
    assert not cached(setup)
    setup.write(0x1000)
    setup.drv.submit(G.cmd_tlbi_nsnh_all())
    assert not cached(setup)


def test_dma_aligned_pow2_mask():
    assert dma_aligned_pow2_mask(0x1F0000, 0x20FFFF) == 0xFFFF
    assert dma_aligned_pow2_mask(0, 0xFFF) == 0xFFF
    assert dma_aligned_pow2_mask(0, (1 << 64) - 1) == (1 << 64) - 1
    assert dma_aligned_pow2_mask(0x1000, 0x3FFF) == 0xFFF


def test_range_split_example_from_spec():
    assert range_chunks(0x1F0000, 1, 31, 0) == [(0x1F0000, 16), (0x200000, 16)]


def test_range_misaligned_to_granule_gives_zero_page_chunks():
    chunks = range_chunks(0x1000, 3, 0, 0)               # 64K TG at a 4K address
    assert chunks[0] == (0x1000, 0)
    assert sum(p for _, p in chunks) < 2


def test_range_wraps_at_top_of_address_space():
    chunks = range_chunks(0xFFFF_FFFF_FFFF_F000, 1, 1, 0)
    assert chunks == [(0xFFFF_FFFF_FFFF_F000, 1), (0, 1)]


def test_iotlb_capacity_as_measured():
    for n, survives in ((254, True), (255, True), (256, False)):
        s = Setup()
        s.pt.map(0x1000, PA)
        for i in range(n):
            s.pt.map(0x100000 + 0x1000 * i, PA)
        assert s.write(0x1000)
        for i in range(n):
            assert s.write(0x100000 + 0x1000 * i)
        s.pt.unmap(0x1000)
        assert s.write(0x1000) is survives


def test_strict_iotlb_evicts_only_the_oldest():
    s = Setup(strict=True)
    for i in range(300):
        s.pt.map(0x100000 + 0x1000 * i, PA)
        assert s.write(0x100000 + 0x1000 * i)
    assert len(s.smmu.iotlb) == 256
    assert min(k[2] for k in s.smmu.iotlb.entries) == 0x100000 + 0x1000 * 44


def test_trace_events_and_dump(setup):
    setup.pt.map(0x1000, PA)
    setup.write(0x1000)
    setup.write(0x1000)
    setup.drv.submit(G.cmd_tlbi_va(0x1000, tg=1, ttl=3))
    names = [n for n, _ in setup.smmu.trace.records]
    for expected in ("smmu_iotlb_lookup_miss", "smmu_iotlb_insert", "smmu_iotlb_lookup_hit",
                     "smmuv3_cmdq_opcode", "smmuv3_s1_range_inval", "smmuv3_cmdq_consume_out"):
        assert expected in names
    text = setup.smmu.trace_text("smmu_iotlb_insert")
    assert text == "smmu_iotlb_insert asid=1 addr=0x1000 tg=1 level=3\n"
    setup.write(0x1000)
    dump = setup.smmu.iotlb_dump_text()
    assert dump.splitlines()[0] == "IOTLB: 1/256 entries"
    assert "0x41000000" in dump and " rw" in dump


def test_every_declared_opcode_has_a_name():
    assert all(op.name.startswith("CMD_") for op in OPCODES.values())
    assert OPCODES[0x46].name == "CMD_SYNC"
