"""Stream tables, STE/CD decode, the stage-1 walk and event records (spec §2)."""

import struct

import pytest

from conformance.smmu_bbml2 import guest as G
from qemu_py.hw.arm import smmuv3_events as ev
from qemu_py.hw.arm.smmu_iotlb import start_level

from conformance.smmu_bbml2.rig import CD_ADDR, EVENTQ, STRTAB, Setup

PA = 0x4100_0000


def test_translate_4k_page(setup):
    setup.pt.map(0x212000, PA)
    assert setup.write(0x212345, b"hello")
    assert setup.rig.read_mem(PA + 0x345, 5) == b"hello"
    assert setup.read(0x212345, 5) == (b"hello", True)
    assert setup.events() == []


def test_unmapped_iova_records_translation_fault(setup):
    assert not setup.write(0x212345)
    evs = setup.events()
    assert evs and all(e.type == ev.F_TRANSLATION and e.sid == 8 for e in evs)
    assert evs[0].input_addr == 0x212345
    assert evs[0].rnw == 0 and evs[0].cls == 0


def test_read_fault_sets_rnw(setup):
    setup.read(0x5000)
    assert setup.events()[0].rnw == 1


def test_record_faults_off_gives_no_events():
    s = Setup(record=False)
    assert not s.write(0x212345)
    assert s.events() == []


def test_strict_fault_class_is_in():
    s = Setup(strict=True)
    s.write(0x212345)
    assert s.events()[0].cls == ev.CLASS_IN


@pytest.mark.parametrize("granule,tsz,level,size", [
    (12, 16, 2, 1 << 21), (12, 16, 1, 1 << 30), (12, 25, 1, 1 << 30),
    (14, 16, 2, 1 << 25), (16, 16, 2, 1 << 29), (16, 22, 2, 1 << 29),
])
def test_block_descriptors(granule, tsz, level, size):
    s = Setup(granule=granule, tsz=tsz)
    base = 0x4000_0000
    s.pt.map(0, base, level=level)
    assert s.write(0x12348, b"blk!")
    assert s.rig.read_mem(base + 0x12348, 4) == b"blk!"
    (entry,) = s.smmu.iotlb.entries.values()
    assert entry.level == level and entry.addr_mask == size - 1


@pytest.mark.parametrize("granule", [12, 14, 16])
def test_pages_for_each_granule(granule):
    s = Setup(granule=granule)
    page = 1 << granule
    s.pt.map(5 * page, PA)
    assert s.write(5 * page + 8, b"pg")
    assert s.rig.read_mem(PA + 8, 2) == b"pg"
    (key,) = s.smmu.iotlb.entries
    assert key == (1, -1, 5 * page, {12: 1, 14: 2, 16: 3}[granule], 3)


@pytest.mark.parametrize("granule,tsz,start", [
    (12, 16, 0), (12, 25, 1), (12, 22, 0),   # spec table says 1; its formula gives 0
    (14, 16, 0), (14, 25, 1), (16, 16, 1), (16, 25, 2),
])
def test_start_levels(granule, tsz, start):
    s = Setup(granule=granule, tsz=tsz)
    assert s.pt.start == start
    s.pt.map(0, PA)
    assert s.write(0x10)
    (entry,) = s.smmu.iotlb.entries.values()
    assert entry.level == 3
    assert start_level(tsz, granule) == start


def test_block_at_level0_accepted_in_qemu_mode_but_not_strict():
    for strict, ok in ((False, True), (True, False)):
        s = Setup(strict=strict, granule=16, tsz=16)     # 64K, start level 1
        s.pt.map(0, 0, level=1)                          # 4 TiB block: not architectural
        assert s.write(0x4000_0008, b"x") is ok


def test_ap_read_only_page(setup):
    setup.pt.map(0x3000, PA, ro=True)
    assert setup.read(0x3000)[1]
    assert not setup.write(0x3000)
    assert {e.type for e in setup.events()} == {ev.F_PERMISSION}


def test_write_through_cached_ro_entry_faults_from_cache(setup):
    setup.pt.map(0x3000, PA, ro=True)
    assert setup.read(0x3000)[1]
    setup.pt.map(0x3000, PA, ro=False)                  # no TLBI: the cache still says RO
    assert not setup.write(0x3000)
    assert {e.type for e in setup.events()} == {ev.F_PERMISSION}


def test_aptable_faults_writes_during_the_walk_only(setup):
    table = setup.pt.new_table(0, 2, PA, aptable_ro=True)
    setup.pt.set_desc(0, 2, table)
    assert not setup.write(0x1000)
    assert {e.type for e in setup.events()} == {ev.F_PERMISSION}
    assert setup.read(0x1000)[1]
    assert setup.write(0x1000)                          # quirk: cached entry keeps AP only


def test_strict_folds_aptable_into_cached_permission():
    s = Setup(strict=True)
    s.pt.set_desc(0, 2, s.pt.new_table(0, 2, PA, aptable_ro=True))
    assert s.read(0x1000)[1]
    assert not s.write(0x1000)


def test_had_disables_aptable_check():
    s = Setup(had0=True)
    s.pt.set_desc(0, 2, s.pt.new_table(0, 2, PA, aptable_ro=True))
    assert s.write(0x1000)


def test_access_flag_ignored_in_qemu_mode_checked_when_strict():
    s = Setup()
    s.pt.map(0x3000, PA, af=False)
    assert s.write(0x3000)
    s = Setup(strict=True, affd=False)
    s.pt.map(0x3000, PA, af=False)
    assert not s.write(0x3000)
    assert {e.type for e in s.events()} == {ev.F_ACCESS}


def test_output_address_size_checked_only_when_strict():
    for strict, ok in ((False, True), (True, False)):
        s = Setup(strict=strict, ips=0)                  # 32-bit output
        s.pt.map(0x3000, 0x1_0000_0000)
        s.write(0x3000)
        got = {e.type for e in s.events()}
        assert (ev.F_ADDR_SIZE in got) is (not ok)


def test_walk_external_abort_recorded_even_without_r():
    s = Setup(record=False)
    s.pt.set_desc(0, 2, 0x7000_0000 | 3)                # table outside RAM
    assert not s.write(0x1000)
    (e, *_) = s.events()
    assert e.type == ev.F_WALK_EABT and e.cls == ev.CLASS_TT and e.addr2 == 0x7000_0008


def test_reserved_level3_descriptor_is_translation_fault(setup):
    setup.pt.set_desc(0x3000, 3, PA | 1)
    assert not setup.write(0x3000)
    assert {e.type for e in setup.events()} == {ev.F_TRANSLATION}


def test_tt1_selection():
    s = Setup(epd1=False, t1sz=16, ttb1=0x4050_0000, tg1=2)
    s.pt.map(0x3000, PA)
    s.rig.write_mem(0x4050_0000, bytes(4096))
    assert s.write(0x3000)
    assert not s.write(0xFFFF_0000_0000_3000)           # TT1 empty
    assert not s.write(0x0001_0000_0000_0000)           # in the gap


def test_epd1_makes_upper_half_fault(setup):
    setup.pt.map(0x3000, PA)
    assert not setup.write(0xFFFF_FFFF_FFFF_F000)
    assert {e.type for e in setup.events()} == {ev.F_TRANSLATION}


def test_tbi0_ignores_top_byte():
    s = Setup(tbi=1)
    s.pt.map(0x3000, PA)
    assert s.write(0x5A00_0000_0000_3010, b"t")
    assert s.rig.read_mem(PA + 0x10, 1) == b"t"


# -- STE / CD decode ---------------------------------------------------------------------

def test_invalid_ste_is_c_bad_ste(setup):
    setup.drv.set_ste(8, G.ste(5, CD_ADDR, valid=False))
    assert not setup.write(0x1000)
    assert setup.event_types() == [ev.C_BAD_STE]


def test_abort_ste_gives_no_event(setup):
    setup.drv.set_ste(8, G.ste(0, CD_ADDR))
    assert not setup.write(0x1000)
    assert setup.events() == []


def test_bypass_ste_is_identity(setup):
    setup.drv.set_ste(8, G.ste(4))
    assert setup.write(PA + 0x10, b"by")
    assert setup.rig.read_mem(PA + 0x10, 2) == b"by"


@pytest.mark.parametrize("kw", [dict(config=6), dict(config=7), dict(s1cdmax=1),
                                dict(s1stalld=1)])
def test_unsupported_ste_fields(setup, kw):
    args = dict(config=5, ctxptr=CD_ADDR)
    args.update(kw)
    setup.drv.set_ste(8, G.ste(**args))
    assert not setup.write(0x1000)
    assert setup.event_types() == [ev.C_BAD_STE]


@pytest.mark.parametrize("kw", [dict(t0sz=15), dict(t0sz=40), dict(valid=False),
                                dict(aa64=False), dict(a=False), dict(s=True), dict(ha=True),
                                dict(hd=True), dict(endi=True), dict(ttb0=1 << 44)])
def test_bad_cd(setup, kw):
    args = dict(ttb0=setup.pt.root)
    args.update(kw)
    setup.rig.write_mem(CD_ADDR, G.cd(**args))
    assert not setup.write(0x1000)
    assert setup.event_types() == [ev.C_BAD_CD]


def test_bad_tg0_is_bad_cd(setup):
    data = bytearray(G.cd(setup.pt.root))
    data[0] |= 3 << 6
    setup.rig.write_mem(CD_ADDR, bytes(data))
    assert not setup.write(0x1000)
    assert setup.event_types() == [ev.C_BAD_CD]


def test_cd_fetch_abort_address_in_input_addr_qemu_and_addr2_strict():
    for strict in (False, True):
        s = Setup(strict=strict)
        s.drv.set_ste(8, G.ste(5, 0x7000_0000))
        assert not s.write(0x1000)
        e = s.events()[0]
        assert e.type == ev.F_CD_FETCH
        assert (e.addr2 if strict else e.input_addr) == 0x7000_0000


def test_failed_decode_is_not_cached_and_good_decode_is(setup):
    setup.drv.set_ste(8, G.ste(5, CD_ADDR, valid=False))
    setup.write(0x1000)
    setup.write(0x1000)
    assert len([e for e in setup.events() if e.type == ev.C_BAD_STE]) >= 2
    setup.drv.set_ste(8, G.ste(5, CD_ADDR))
    setup.pt.map(0x1000, PA)
    assert setup.write(0x1000)
    setup.drv.set_ste(8, G.ste(5, CD_ADDR, valid=False))   # no CFGI: cached config used
    assert setup.write(0x1000)
    setup.drv.submit(G.cmd_cfgi_ste(8))
    assert not setup.write(0x1000)


def test_sid_beyond_log2size_is_bad_streamid(setup):
    setup.wreg(G.STRTAB_BASE_CFG, 3)                     # 8 STEs: SID 8 is out
    setup.drv.submit(G.cmd_cfgi_ste(8))
    assert not setup.write(0x1000)
    assert setup.event_types() == [ev.C_BAD_STREAMID]


def test_ste_fetch_abort(setup):
    setup.rig.writeq(G.SMMU_BASE + G.STRTAB_BASE, 0x7000_0000)
    assert not setup.write(0x1000)
    e = setup.events()[0]
    assert e.type == ev.F_STE_FETCH and e.addr2 == 0x7000_0000 + 8 * 64


def two_level(s, span, split=4, sid=8, strict=False):
    l1 = 0x4011_0000
    l2 = 0x4012_0000
    s.rig.write_mem(l1, bytes(64))
    s.rig.write_mem(l1 + 8 * (sid >> split), G.l1std(l2, span))
    s.rig.write_mem(l2, bytes(64 * 32))
    s.rig.write_mem(l2 + 64 * (sid & ((1 << split) - 1)), G.ste(5, CD_ADDR))
    s.wreg(G.STRTAB_BASE_CFG, 1 << 16 | split << 6 | 8)
    s.rig.writeq(G.SMMU_BASE + G.STRTAB_BASE, l1)


def test_two_level_stream_table(setup):
    two_level(setup, span=5)
    setup.pt.map(0x1000, PA)
    assert setup.write(0x1000)


def test_two_level_span_zero_is_bad_streamid(setup):
    two_level(setup, span=0)
    assert not setup.write(0x1000)
    assert setup.event_types() == [ev.C_BAD_STREAMID]


@pytest.mark.parametrize("strict,span,expect", [
    (False, 4, None), (False, 3, ev.C_BAD_STE),          # QEMU: 2^Span STEs
    (True, 5, None), (True, 4, ev.C_BAD_STREAMID),        # architecture: 2^(Span-1)
])
def test_two_level_span_limit(strict, span, expect):
    s = Setup(strict=strict)
    two_level(s, span=span)                              # SID 8: L2 index 8
    s.pt.map(0x1000, PA)
    ok = s.write(0x1000)
    assert ok is (expect is None)
    if expect is not None:
        assert s.event_types() == [expect]


def test_smmu_disabled_is_bypass(setup):
    setup.wreg(G.CR0, 0)
    assert setup.write(PA, b"d")
    assert setup.rig.read_mem(PA, 1) == b"d"


def test_strict_gbpa_abort_while_disabled():
    s = Setup(strict=True)
    s.wreg(G.CR0, 0)
    s.wreg(G.GBPA, 0x8010_0000)
    assert not s.write(PA)


# -- event queue --------------------------------------------------------------------------

def test_event_record_layout(setup):
    setup.write(0x212345, b"\0" * 8)
    raw = setup.rig.read_mem(EVENTQ, 32)
    w = struct.unpack("<8I", raw)
    assert w[0] == 0x10 and w[1] == 8 and w[4] == 0x212345 and w[5] == 0


def test_event_queue_disabled_drops_events(setup):
    setup.wreg(G.CR0, 0x9)                               # SMMUEN + CMDQEN
    assert not setup.write(0x1000)
    assert setup.reg(G.EVENTQ_PROD) == 0


def test_event_irq_pulses_when_enabled(setup):
    setup.rig.irq_log.clear()
    setup.write(0x1000, b"\0" * 4)
    assert (0, 1) in setup.rig.irq_log and (0, 0) in setup.rig.irq_log


def test_event_queue_full_raises_eventq_abt_err():
    s = Setup()
    s.rig.writeq(G.SMMU_BASE + G.EVENTQ_BASE, EVENTQ | 1)   # 2 entries
    s.drv.eventq_log2 = 1
    for i in range(4):
        s.write(0x1000 * (i + 1), b"\0" * 4)
    assert s.reg(G.GERROR) & 4
    assert s.reg(G.EVENTQ_PROD) & 0x8000_0000 == 0


def test_strict_event_queue_full_sets_ovflg():
    s = Setup(strict=True)
    s.rig.writeq(G.SMMU_BASE + G.EVENTQ_BASE, EVENTQ | 1)
    for i in range(4):
        s.write(0x1000 * (i + 1), b"\0" * 4)
    assert s.reg(G.GERROR) & 4 == 0
    assert s.reg(G.EVENTQ_PROD) & 0x8000_0000


def test_event_queue_write_abort_is_gerror(setup):
    setup.rig.writeq(G.SMMU_BASE + G.EVENTQ_BASE, 0x7000_0000 | 4)
    setup.write(0x1000, b"\0" * 4)
    assert setup.reg(G.GERROR) & 4


def test_strtab_is_not_needed_for_bypass_of_disabled_smmu():
    s = Setup(enable=False)
    assert s.write(PA, b"z")
    assert STRTAB
