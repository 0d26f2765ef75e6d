"""A1-A10: architecture-level BBML2 properties (spec §5.4).

They must hold both in the default (QEMU) mode and with ``strict-arch=on``,
except A9, whose architectural form only strict mode satisfies: QEMU accepts
the reserved TLBI encoding (spec §3.4, §7.6); in the default mode the test
checks that documented behaviour instead.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qemu_py.memory import IOMMUAccessFlag

from . import guest as G
from .scenario import BBMScenario, X, Y, va

FAULT_EVENTS = {0x10, 0x11, 0x12, 0x13}


def legal_pages(sc):
    """A table of pages that maps exactly what the block maps (same OA, perms)."""
    return sc.s.pt.new_table(sc.base, 2, sc.block_pa)


def test_a1_a3_size_only_changes_never_conflict_or_fault(make):
    s = make()
    sc = BBMScenario(s)
    pages = legal_pages(sc)
    offs = [X, Y, 0x200000, 0x3FFFF8, 0x2ABCD0]
    for step in range(6):
        s.pt.set_desc(sc.base, 2, pages if step % 2 else sc.block_desc)
        for iova in offs:
            assert s.probe(iova, {"OA": sc.block_pa + iova - sc.base}) == "OA"
        if step == 3:
            s.drv.submit(va(sc.base, tg=1, ttl=2))
    assert s.events() == []                          # no F_TLB_CONFLICT, no fault
    assert s.reg(G.GERROR) == 0


def test_a2_single_source(make_inproc):
    s = make_inproc()
    sc = BBMScenario(s)
    # page X read-only at the pages PA, block read-write at the block PA
    s.pt.set_desc(sc.base, 2, s.pt.new_table(sc.base, 2, sc.pages_pa, ro=True))
    s.rig.dma_read(X, 8)
    sc.install_block()
    s.rig.dma_read(Y, 8)
    cached = [e for e in s.smmu.iotlb.entries.values()]
    assert {e.level for e in cached} == {2, 3}
    for write in (False, True):
        got = s.rig.translate(X, write)
        if got.perm == IOMMUAccessFlag.NONE:
            assert write                                # a write may hit the RO page...
            continue
        candidates = [(e.translated_addr + (X & e.addr_mask), e.addr_mask) for e in cached
                      if (X & ~e.addr_mask) == e.iova and (not write or e.perm & 2)]
        assert (got.translated_addr, got.addr_mask) in candidates


def test_a4_results_come_from_before_or_after_state(make):
    s = make()
    sc = BBMScenario(s)
    sc.install_pages()
    seen = {sc.where(X)}
    sc.install_block()
    for iova in (X, Y, X + 0x1000, Y - 0x8000):
        seen.add(sc.where(iova))
    sc.install_pages()
    for iova in (X, Y, 0x2F0000):
        seen.add(sc.where(iova))
    assert seen <= {"PAGE", "BLOCK"}


FULL_SCOPE = [
    ("va-tg0", va(X, tg=0)),
    ("va-ttl0", va(0x200000, tg=1, ttl=0, scale=9)),
    ("vaa-tg0", va(X, tg=0, vaa=True)),
    ("vaa-ttl0", va(0x200000, tg=1, ttl=0, num=1, scale=9, vaa=True)),
    ("nh-asid", G.cmd_tlbi_nh_asid(1)),
    ("nh-all", G.cmd_tlbi_nh_all()),
    ("nsnh-all", G.cmd_tlbi_nsnh_all()),
]


@pytest.mark.parametrize("name,cmd", FULL_SCOPE, ids=[n for n, _ in FULL_SCOPE])
def test_a5_full_scope_tlbi_removes_all_levels(make, name, cmd):
    s = make()
    sc = BBMScenario(s)
    covers_y = not name.endswith("tg0")              # a TG=0 TLBI covers one 4K page only
    sc.both_cached()
    sc.clear()
    s.drv.submit(cmd)
    assert sc.where(X) == "fault"
    if covers_y:
        assert sc.where(Y) == "fault"
    sc.both_cached()
    sc.install_pages()
    s.drv.submit(cmd)
    assert sc.where(X) == "PAGE"
    if covers_y:
        assert sc.where(Y) == "PAGE"


def test_a6_ttl_scoped_tlbi_removes_that_level(make):
    s = make()
    sc = BBMScenario(s)
    sc.both_cached()
    sc.clear()
    s.drv.submit(va(X, tg=1, ttl=3))                 # the L3 page must go
    assert sc.where(X) in ("BLOCK", "fault")         # block may survive
    s = make()
    sc = BBMScenario(s)
    sc.both_cached()
    sc.clear()
    s.drv.submit(va(0x200000, tg=1, ttl=2))          # the L2 block must go
    assert sc.where(Y) == "fault"
    assert sc.where(X) in ("PAGE", "fault")          # a stale L3 page may survive


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a7_range_tlbi_removes_every_overlap_and_spares_the_rest(make_inproc, data):
    s = make_inproc()
    g = data.draw(st.sampled_from([12, 14, 16]), label="granule")
    tg = G.TG_CODE[g]
    if g != 12:
        s = make_inproc(granule=g)
    page = 1 << g
    entries = data.draw(st.lists(st.tuples(st.integers(0, 255), st.sampled_from([3, 2])),
                                 min_size=1, max_size=12, unique_by=lambda t: t[0]),
                        label="entries")
    l2 = 1 << (g + g - 3)
    for idx, level in entries:
        iova = idx * page if level == 3 else (idx % 4) * l2 + 64 * l2
        s.pt.map(iova, 0x4100_0000 if level == 3 else 0, level=level)
        s.rig.dma_read(iova, 8)
    num = data.draw(st.integers(0, 31), label="num")
    scale = data.draw(st.integers(0, 6), label="scale")
    start = data.draw(st.integers(0, 300), label="start") * page
    if num == 0 and scale == 0:
        num = 1                                      # avoid the reserved encoding (A9)
    before = dict(s.smmu.iotlb.entries)
    s.drv.submit(G.cmd_tlbi_va(start, asid=1, tg=tg, num=num, scale=scale))
    end = start + ((num + 1) << scale) * page - 1
    for key, e in before.items():
        overlaps = e.iova <= end and start <= e.iova + e.addr_mask
        assert (key in s.smmu.iotlb.entries) is (not overlaps), (hex(e.iova), e.level)


def test_a8_asid_isolation(make):
    s = make()
    sc = BBMScenario(s)
    sc.install_block()
    assert sc.where(X) == "BLOCK"                    # ASID 1 entry
    sc.clear()
    for cmd in (va(X, asid=2), va(X, asid=2, tg=1, ttl=2), G.cmd_tlbi_nh_asid(2)):
        s.drv.submit(cmd)
        assert sc.where(X) == "BLOCK"
    s.drv.submit(va(X, tg=0, vaa=True))              # NH_VAA: every ASID
    assert sc.where(X) == "fault"


def test_a9_reserved_range_encoding(make, mode):
    s = make()
    sc = BBMScenario(s)
    sc.both_cached()
    sc.clear()
    cons = s.drv.submit(va(X, tg=1, ttl=0, num=0, scale=0))
    if mode == "strict":
        assert cons == 0x0100_0000                   # CERROR_ILL, CONS on the command
        assert s.reg(G.GERROR) & 1
        assert sc.where(Y) == "BLOCK"                # nothing was invalidated
    else:
        # QEMU 7.2 deviation (spec §3.4): accepted as a one-granule invalidation
        assert cons == 2 and s.reg(G.GERROR) == 0
        assert sc.where(X) == "fault"


def test_a10_recommended_procedure(make):
    for direction in ("block-to-pages", "pages-to-block"):
        s = make()
        sc = BBMScenario(s)
        pages = legal_pages(sc)
        first, second = ((sc.block_desc, pages) if direction == "block-to-pages"
                         else (pages, sc.block_desc))
        s.pt.set_desc(sc.base, 2, first)
        offs = (X, Y, 0x3FF000)
        for iova in offs:
            assert s.probe(iova, {"OA": sc.block_pa + iova - sc.base}) == "OA"
        s.pt.set_desc(sc.base, 2, second)
        for iova in offs:                            # no fault between write and TLBI
            assert s.probe(iova, {"OA": sc.block_pa + iova - sc.base}) == "OA"
        s.drv.submit(va(sc.base, tg=1, ttl=0, scale=9))  # the whole 2 MiB, all levels
        mark = len(s.smmu.trace.records)
        for iova in offs:
            assert s.probe(iova, {"OA": sc.block_pa + iova - sc.base}) == "OA"
        inserted = [f["level"] for n, f in list(s.smmu.trace.records)[mark:]
                    if n == "smmu_iotlb_insert"]
        want = 3 if direction == "block-to-pages" else 2
        assert inserted and set(inserted) == {want}
        assert s.events() == [] and s.reg(G.GERROR) == 0
