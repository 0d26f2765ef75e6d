"""The SMMU IOTLB: QEMU's multi-level cache of stage-1 leaf translations.

Keys are ``(asid, vmid, iova, tg, level)`` where ``iova`` is the base of the
cached block or page and ``tg`` the granule code (1 = 4K, 2 = 16K, 3 = 64K).
Several entries for one address may coexist, one per level: that is how QEMU
satisfies BBML2 (spec §5.2). Lookup probes from the walk's start level down to
level 3 and the first hit wins, so the largest cached block is used (§4.2).

Capacity is 256 entries. In QEMU mode the insert that finds the table full
empties it first (§4.3); with ``strict`` the oldest entry is evicted instead
(the architecture allows any replacement policy).

Invalidation follows ``smmu_iotlb_inv_iova`` (§3.4) in QEMU mode: the TTL
exact-key fast path, otherwise removal of every overlapping entry whatever its
level or granule. :meth:`inv_range_arch` is the architectural rule used with
``strict-arch=on``: every overlapping entry, narrowed to one level and granule
when the command gives TG and TTL (IHI 0070 §4.4.1.1).
"""

from __future__ import annotations

from dataclasses import dataclass

from qemu_py.memory import IOMMUAccessFlag

from .smmu_trace import TraceLog

MASK64 = (1 << 64) - 1
IOTLB_MAX_SIZE = 256


def level_shift(level: int, granule_sz: int) -> int:
    """log2 of the size a descriptor at LEVEL maps (QEMU's level_shift)."""
    return granule_sz + (3 - level) * (granule_sz - 3)


def start_level(tsz: int, granule_sz: int) -> int:
    inputsize = 64 - tsz
    return 4 - (inputsize - 4) // (granule_sz - 3)


@dataclass(slots=True)
class TLBEntry:
    """One cached leaf: ``[iova, iova + addr_mask]`` -> ``translated_addr``."""

    iova: int
    translated_addr: int
    addr_mask: int
    perm: IOMMUAccessFlag
    level: int
    granule: int

    @property
    def tg(self) -> int:
        return (self.granule - 10) // 2


class IOTLB:
    def __init__(self, trace: TraceLog, strict: bool = False, capacity: int = IOTLB_MAX_SIZE):
        self.entries: dict[tuple[int, int, int, int, int], TLBEntry] = {}
        self.trace = trace
        self.strict = strict
        self.capacity = capacity

    def __len__(self):
        return len(self.entries)

    # -- lookup / insert ---------------------------------------------------------
    def lookup(self, cfg, tt, iova: int) -> TLBEntry | None:
        """smmu_iotlb_lookup: probe levels start..3, the first hit wins."""
        g = tt.granule_sz
        tg = (g - 10) // 2
        level = start_level(tt.tsz, g)
        entries = self.entries
        asid, vmid = cfg.asid, cfg.vmid
        entry = None
        while level <= 3:
            mask = (1 << level_shift(level, g)) - 1
            entry = entries.get((asid, vmid, iova & ~mask & MASK64, tg, level))
            if entry is not None:
                break
            level += 1
        if entry is not None:
            cfg.iotlb_hits += 1
            name = "smmu_iotlb_lookup_hit"
        else:
            cfg.iotlb_misses += 1
            name = "smmu_iotlb_lookup_miss"
        total = cfg.iotlb_hits + cfg.iotlb_misses
        self.trace.emit(name, asid=asid, addr=iova, hits=cfg.iotlb_hits,
                        misses=cfg.iotlb_misses, p=100 * cfg.iotlb_hits // total)
        return entry

    def insert(self, cfg, entry: TLBEntry):
        if len(self.entries) >= self.capacity:
            if self.strict:
                oldest = next(iter(self.entries))
                del self.entries[oldest]
                self.trace.emit("smmu_iotlb_evict", asid=oldest[0], addr=oldest[2],
                                tg=oldest[3], level=oldest[4])
            else:
                self.inv_all()
        key = (cfg.asid, cfg.vmid, entry.iova, entry.tg, entry.level)
        self.trace.emit("smmu_iotlb_insert", asid=cfg.asid, addr=entry.iova, tg=entry.tg,
                        level=entry.level)
        self.entries.pop(key, None)     # a duplicate key is replaced (and becomes newest)
        self.entries[key] = entry

    # -- invalidation ------------------------------------------------------------------
    def inv_all(self):
        self.trace.emit("smmu_iotlb_inv_all")
        self.entries.clear()

    def inv_asid(self, asid: int):
        self.trace.emit("smmu_iotlb_inv_asid", asid=asid)
        for key in [k for k in self.entries if k[0] == asid]:
            del self.entries[key]

    def inv_vmid(self, vmid: int):
        self.trace.emit("smmu_iotlb_inv_vmid", vmid=vmid)
        for key in [k for k in self.entries if k[1] == vmid]:
            del self.entries[key]

    def inv_iova(self, asid: int, vmid: int, iova: int, tg: int, num_pages: int, ttl: int):
        """smmu_iotlb_inv_iova: exact-key fast path, else remove every overlap."""
        granule = tg * 2 + 10 if tg else 12
        if ttl and num_pages == 1 and asid >= 0:
            if self.entries.pop((asid, vmid, iova, tg, ttl), None) is not None:
                return
        range_mask = ((num_pages << granule) - 1) & MASK64
        doomed = []
        for key, e in self.entries.items():
            if asid >= 0 and key[0] != asid:
                continue
            if vmid >= 0 and key[1] != vmid:
                continue
            if (iova & ~e.addr_mask & MASK64) == e.iova or (e.iova & ~range_mask & MASK64) == iova:
                doomed.append(key)
        for key in doomed:
            del self.entries[key]

    def inv_range_arch(self, asid: int, vmid: int, start: int, size: int, tg: int, ttl: int):
        """Architectural TLBI by address: every overlapping entry (of level TTL
        and granule TG when both hints are given) is removed."""
        end = start + size - 1
        doomed = []
        for key, e in self.entries.items():
            if asid >= 0 and key[0] != asid:
                continue
            if vmid >= 0 and key[1] != vmid:
                continue
            if tg and ttl and (key[3] != tg or key[4] != ttl):
                continue
            if e.iova <= end and start <= e.iova + e.addr_mask:
                doomed.append(key)
        for key in doomed:
            del self.entries[key]

    # -- observability -------------------------------------------------------------------
    def dump_text(self) -> str:
        """The ``info iotlb`` text (a qemu-py extension; QEMU has no such command)."""
        lines = [f"IOTLB: {len(self.entries)}/{self.capacity} entries"]
        if self.entries:
            lines.append(f"{'ASID':>6} {'VMID':>5} {'IOVA':>18} {'PA':>18} {'SIZE':>10} "
                         f"{'TG':>3} {'LVL':>3} PERM")
        for (asid, vmid, iova, tg, level), e in self.entries.items():
            perm = {0: "--", 1: "r-", 2: "-w", 3: "rw"}[int(e.perm)]
            lines.append(f"{asid:>6} {vmid:>5} {iova:#18x} {e.translated_addr:#18x} "
                         f"{e.addr_mask + 1:#10x} {tg:>3} {level:>3} {perm}")
        return "\n".join(lines) + "\n"
