"""A hypothesis state machine that remaps ranges between block and page
mappings without break-before-make, in-process through the requester's
IOMMU address space (the same path PCI DMA takes).

Regions are level-2 ranges of IOVA space. Each remap installs a block, a
table of pages, or nothing, with a fresh output address (or, for a legal
BBML2 size change, the same one), and never invalidates first. DMA writes land
in a recording sink, so the exact physical address each access reached is
known. After every DMA the machine checks:

* the address came from exactly one translation that may still be cached
  (one installed since the last completed invalidation that had to remove
  it) or from the current tables: never a mixture (e.g. a block's base with a
  page's offset), never a fault that neither state allows;
* no event other than F_TRANSLATION, never F_TLB_CONFLICT, no GERROR;
* in QEMU mode, the result equals an independent reference model of QEMU's
  IOTLB (spec §4: keys, lookup order, capacity, §3.4 invalidation).

After every invalidation (+ CMD_SYNC) it checks that no IOTLB entry the
command had to remove is left (A5-A7).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, rule,
                                 run_state_machine_as_test)

from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps

from . import guest as G
from .rig import Setup

SINK_BASE = 1 << 40
SINK_SIZE = 1 << 43
NREG = 2
MASK64 = (1 << 64) - 1


def lshift(level, g):
    return g + (3 - level) * (g - 3)


class Sink:
    """An MMIO window recording every access (the DMA target of all mappings)."""

    def __init__(self):
        self.log: list[tuple[str, int, int]] = []
        ops = MemoryRegionOps(read=self._read, write=self._write, endianness=Endian.LITTLE,
                              valid_min=1, valid_max=8, impl_min=1, impl_max=8,
                              valid_unaligned=True, impl_unaligned=True)
        self.mr = MemoryRegion.io("dma-sink", SINK_SIZE, ops)

    def _read(self, offset, size):
        self.log.append(("r", SINK_BASE + offset, size))
        return 0

    def _write(self, offset, value, size):
        self.log.append(("w", SINK_BASE + offset, size))


class RefIOTLB:
    """QEMU's IOTLB re-stated from the spec (§4.1-4.3, §3.4), one ASID, one granule."""

    def __init__(self, g, tsz=16):
        self.g = g
        self.tg = G.TG_CODE[g]
        self.start = 4 - (64 - tsz - 4) // (g - 3)
        self.entries: dict[tuple[int, int, int], tuple[int, int]] = {}  # (base, tg, lvl) -> pa

    def lookup(self, iova):
        for level in range(self.start, 4):
            base = iova & ~((1 << lshift(level, self.g)) - 1)
            hit = self.entries.get((base, self.tg, level))
            if hit is not None:
                return hit[0] + (iova - base)
        return None

    def insert(self, base, level, pa):
        if len(self.entries) >= 256:
            self.entries.clear()
        self.entries.pop((base, self.tg, level), None)
        self.entries[(base, self.tg, level)] = (pa, level)

    def inv_all(self):
        self.entries.clear()

    def inv_iova(self, asid_any, iova, tg, pages, ttl):
        granule = tg * 2 + 10 if tg else 12
        if ttl and pages == 1 and not asid_any:
            if self.entries.pop((iova, tg, ttl), None) is not None:
                return
        rmask = ((pages << granule) - 1) & MASK64
        for key in list(self.entries):
            base, etg, level = key
            emask = (1 << lshift(level, {1: 12, 2: 14, 3: 16}[etg])) - 1
            if (iova & ~emask) == base or (base & ~rmask & MASK64) == iova:
                del self.entries[key]

    def range_inval(self, asid_any, addr, tg, ttl, num, scale):
        if not tg:
            self.inv_iova(asid_any, addr, 0, 1, ttl)
            return
        granule = tg * 2 + 10
        end = addr + (((num + 1) << scale) << granule)
        while addr < end:
            size = addr & -addr if addr else 1 << 63
            while addr + size > end:
                size >>= 1
            self.inv_iova(asid_any, addr, tg, size >> granule, ttl)
            addr += size


class BBML2Machine(RuleBasedStateMachine):
    strict = False
    steps = 0                                   # steps run, all examples together
    granules_seen: set = set()

    @initialize(granule=st.sampled_from([12, 14, 16]))
    def setup(self, granule):
        self.s = Setup(strict=self.strict, granule=granule)
        type(self).granules_seen.add(granule)
        self.sink = Sink()
        self.s.rig.system.add_subregion(SINK_BASE, self.sink.mr)
        self.g = granule
        self.page = 1 << granule
        self.l2 = 1 << lshift(2, granule)
        self.region_base = [(r + 1) * self.l2 for r in range(NREG + 1)]
        p = self.page
        self.offsets = [8, p + 0x10, 2 * p + 0x18, 5 * p + 0x28, 9 * p, 17 * p + 8,
                        self.l2 // 2 + 0x30, self.l2 - 8]
        self.version = 0
        self.state = [None] * NREG                     # (kind, pa) or None
        self.table = [None] * NREG
        self.maybe_block = [set() for _ in range(NREG)]
        self.maybe_page: dict[tuple[int, int], set] = {}
        self.ref = RefIOTLB(granule)
        # the flood region: always pages, for capacity flushes
        flood_pa = self._new_pa()
        self.flood_pa = flood_pa
        self.s.pt.set_desc(self.region_base[NREG], 2,
                           self.s.pt.new_table(self.region_base[NREG], 2, flood_pa))
        for r in range(NREG):                           # start mapped: pages, block, ...
            self.remap(r, ("pages", "block")[r % 2], False)
        for o in range(0, len(self.offsets), 2):        # warm up: some pages cached
            self._access(0, o, False)

    def _new_pa(self):
        self.version += 1
        return SINK_BASE + (self.version * self.l2) % (SINK_SIZE - self.l2)

    # -- rules ----------------------------------------------------------------------
    @rule(r=st.integers(0, NREG - 1),
          kind=st.sampled_from(["toggle", "toggle", "toggle", "toggle", "block", "pages",
                                "none"]),
          same_oa=st.sampled_from([False, False, False, True]))
    def remap(self, r, kind, same_oa):
        """Change region R's L2 descriptor in place: no BBM, no TLBI. "toggle"
        swaps block and pages (the size change BBML2 is about)."""
        old = self.state[r]
        if kind == "toggle":
            kind = "pages" if old is not None and old[0] == "block" else "block"
        pa = old[1] if (same_oa and old is not None) else self._new_pa()
        base = self.region_base[r]
        if self.table[r] is not None:
            self.s.pt.free.append(self.table[r])
            self.table[r] = None
        if kind == "block":
            self.s.pt.set_desc(base, 2, pa | 1 | G.PageTables.leaf_bits())
            self.state[r] = ("block", pa)
        elif kind == "pages":
            desc = self.s.pt.new_table(base, 2, pa)
            self.table[r] = desc & ~3
            self.s.pt.set_desc(base, 2, desc)
            self.state[r] = ("pages", pa)
        else:
            self.s.pt.set_desc(base, 2, 0)
            self.state[r] = None

    @rule(r=st.integers(0, NREG - 1), offs=st.lists(st.integers(0, 7), min_size=1, max_size=5),
          write=st.booleans())
    def access(self, r, offs, write):
        """DMA to one to three offsets of region R, in order."""
        for o in offs:
            self._access(r, o, write)

    @rule(r=st.integers(0, NREG - 1), offs=st.lists(st.integers(0, 7), min_size=2, max_size=5))
    def access_more(self, r, offs):
        """Like access (writes only): gives accesses twice the weight of other rules."""
        for o in offs:
            self._access(r, o, True)

    def _access(self, r, o, write):
        iova = self.region_base[r] + self.offsets[o]
        page = self.offsets[o] >> self.g
        self.sink.log.clear()
        if write:
            ok = self.s.rig.dma_write(iova, b"\x5A" * 8)
        else:
            ok = self.s.rig.dma_read(iova, 8)[1]
        hits = {a for kind, a, _ in self.sink.log}
        assert len(hits) <= 1, f"one DMA reached several addresses: {sorted(map(hex, hits))}"
        got = hits.pop() if hits else None
        assert ok is (got is not None)
        off = self.offsets[o]
        cur = self.state[r]
        allowed = {pa + off for pa in self.maybe_block[r] | self.maybe_page.get((r, page), set())}
        if cur is not None:
            allowed.add(cur[1] + off)
        else:
            allowed.add(None)
        assert got in allowed, (
            f"access {iova:#x}: got {got if got is None else hex(got)}, allowed "
            f"{sorted('fault' if a is None else hex(a) for a in allowed)}")
        # what may now be cached
        if cur is not None and got == cur[1] + off:
            if cur[0] == "block":
                self.maybe_block[r].add(cur[1])
            else:
                self.maybe_page.setdefault((r, page), set()).add(cur[1])
        if not self.strict:
            want = self.ref.lookup(iova)
            if want is None and cur is not None:
                level = 2 if cur[0] == "block" else 3
                ebase = iova & ~((1 << lshift(level, self.g)) - 1)
                self.ref.insert(ebase, level, cur[1] + (ebase - self.region_base[r]))
                want = cur[1] + off
            assert got == want, (f"QEMU-exact: access {iova:#x} got "
                                 f"{got if got is None else hex(got)}, QEMU gives "
                                 f"{want if want is None else hex(want)}")

    def flood(self, n):
        """Touch N distinct pages of the flood region (256 entries fill the IOTLB)."""
        base = self.region_base[NREG]
        pages = min(n, (self.l2 >> self.g))
        for i in range(pages):
            iova = base + i * self.page
            self.s.rig.dma_read(iova, 8)
            if not self.strict and self.ref.lookup(iova) is None:
                self.ref.insert(iova, 3, self.flood_pa + i * self.page)

    @rule(data=st.data())
    def tlbi(self, data):
        """One invalidation and CMD_SYNC, or (rarely) a capacity flood."""
        kind = data.draw(st.sampled_from(["va", "va", "va", "vaa", "asid", "all", "nsnh",
                                          "va", "va", "flood"]))
        if kind == "flood":
            self.flood(data.draw(st.integers(250, 270)))
            return
        r = data.draw(st.integers(0, NREG - 1))
        base = self.region_base[r]
        if kind in ("asid", "all", "nsnh"):
            cmd = {"asid": G.cmd_tlbi_nh_asid(1), "all": G.cmd_tlbi_nh_all(),
                   "nsnh": G.cmd_tlbi_nsnh_all()}[kind]
            scope = (0, MASK64, 0, 0)
            self._submit(cmd)
            if not self.strict:
                self.ref.inv_all()
        else:
            tg = data.draw(st.sampled_from([0, G.TG_CODE[self.g], G.TG_CODE[self.g], 1, 3]))
            gran = tg * 2 + 10 if tg else 12
            where = data.draw(st.sampled_from(["base", "page", "offset"]))
            if where == "base":
                addr = base
            elif where == "page":
                addr = base + data.draw(st.integers(0, 7)) * (1 << gran)
            else:
                addr = base + self.offsets[data.draw(st.integers(0, 7))]
            addr &= ~((1 << gran) - 1)
            ttl = data.draw(st.integers(0, 3)) if tg else data.draw(st.sampled_from([0, 0, 3]))
            num = data.draw(st.integers(0, 31)) if tg else 0
            scale = data.draw(st.integers(0, 10)) if tg else 0
            if tg and not (num or scale or ttl):
                num = 1                                   # never the reserved encoding
            self._submit(G.cmd_tlbi_va(addr, asid=1, tg=tg, ttl=ttl, num=num, scale=scale,
                                       vaa=kind == "vaa"))
            if not self.strict:
                self.ref.range_inval(kind == "vaa", addr, tg, ttl, num, scale)
            size = (((num + 1) << scale) << gran) if tg else 1
            aligned = not ttl or not tg or addr % (1 << lshift(ttl, gran)) == 0
            scope = (addr, addr + size - 1, tg, ttl if tg else 0) if aligned else None
        if scope is not None:
            self._check_removed(scope)
            self._forget(scope)

    def _submit(self, cmd):
        cons = self.s.drv.submit(cmd)
        assert cons & 0x7F00_0000 == 0 and self.s.reg(G.GERROR) == 0

    def _check_removed(self, scope):
        start, end, tg, ttl = scope
        for (asid, vmid, iova, etg, level), e in self.s.smmu.iotlb.entries.items():
            if tg and etg != tg:
                continue
            if ttl and level != ttl:
                continue
            assert not (iova <= end and start <= iova + e.addr_mask), (
                f"stale entry {iova:#x} level {level} survived TLBI "
                f"[{start:#x}, {end:#x}] tg={tg} ttl={ttl}")

    def _forget(self, scope):
        start, end, tg, ttl = scope
        if tg and tg != G.TG_CODE[self.g]:
            return
        for r in range(NREG):
            base = self.region_base[r]
            if ttl in (0, 2) and base <= end and start <= base + self.l2 - 1:
                self.maybe_block[r].clear()
            if ttl in (0, 3):
                for (rr, page), s in self.maybe_page.items():
                    pbase = self.region_base[rr] + page * self.page
                    if pbase <= end and start <= pbase + self.page - 1:
                        s.clear()

    @invariant()
    def no_conflicts_or_errors(self):
        if not hasattr(self, "s"):
            return
        type(self).steps += 1
        types = {e.type for e in self.s.events()}
        assert types <= {0x10}, f"unexpected events {sorted(map(hex, types))}"
        assert self.s.reg(G.GERROR) == 0


class StrictBBML2Machine(BBML2Machine):
    strict = True


SHORT = settings(max_examples=12, stateful_step_count=25, deadline=None,
                 suppress_health_check=list(HealthCheck), database=None)
LONG = settings(max_examples=60, stateful_step_count=50, deadline=None,
                suppress_health_check=list(HealthCheck), database=None)


@pytest.mark.parametrize("machine", [BBML2Machine, StrictBBML2Machine], ids=["qemu", "strict"])
def test_bbml2_state_machine_short(machine):
    run_state_machine_as_test(machine, settings=SHORT)


@pytest.mark.slow
@pytest.mark.parametrize("machine", [BBML2Machine, StrictBBML2Machine], ids=["qemu", "strict"])
def test_bbml2_state_machine_long(machine):
    """Up to 60 examples x 50 steps per mode, across the three granules."""
    machine.steps = 0
    machine.granules_seen = set()
    run_state_machine_as_test(machine, settings=LONG)
    assert machine.steps >= 2000, machine.steps
    assert machine.granules_seen == {12, 14, 16}


def test_broken_lookup_order_is_caught(monkeypatch):
    """Probing level 3 first (smallest entry wins) breaks Q2; the default example
    budget must find it."""
    from qemu_py.hw.arm import smmu_iotlb

    def smallest_first(self, cfg, tt, iova):
        g = tt.granule_sz
        for level in range(3, smmu_iotlb.start_level(tt.tsz, g) - 1, -1):
            mask = (1 << smmu_iotlb.level_shift(level, g)) - 1
            e = self.entries.get((cfg.asid, cfg.vmid, iova & ~mask, (g - 10) // 2, level))
            if e is not None:
                return e
        return None

    monkeypatch.setattr(smmu_iotlb.IOTLB, "lookup", smallest_first)
    # derandomized: a random seed missed the bug once in a full run (order-dependent flake)
    budget = settings(max_examples=100, stateful_step_count=50, deadline=None, database=None,
                      derandomize=True,
                      suppress_health_check=list(HealthCheck),
                      phases=[Phase.explicit, Phase.reuse, Phase.generate])
    with pytest.raises(AssertionError, match="QEMU-exact"):
        run_state_machine_as_test(BBML2Machine, settings=budget)
