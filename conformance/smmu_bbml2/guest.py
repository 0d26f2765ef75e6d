"""Guest-side SMMUv3 programming: what a driver writes into guest memory and
registers. Used by the unit tests and the BBML2 conformance suite alike.

* encoders for STEs, CDs, L1 stream-table descriptors and commands;
* :class:`PageTables`: stage-1 tables for one granule, built in guest RAM,
  with page, block and table descriptors that can be rewritten live;
* :class:`SMMUDriver`: a minimal driver over any *rig* (something with
  ``readl/writel/readq/writeq`` for guest-physical accesses, ``write_mem`` /
  ``read_mem`` for RAM and ``dma(iova, data | size, write)`` for a requester
  behind the SMMU): stream table, queues, command submission, event reading.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SMMU_BASE = 0x0905_0000
RAM_BASE = 0x4000_0000

# registers
IDR0, IDR1, IDR3, IDR5, IIDR, AIDR = 0x0, 0x4, 0xC, 0x14, 0x18, 0x1C
CR0, CR0ACK, CR1, CR2, STATUSR, GBPA = 0x20, 0x24, 0x28, 0x2C, 0x40, 0x44
IRQ_CTRL, IRQ_CTRL_ACK, GERROR, GERRORN = 0x50, 0x54, 0x60, 0x64
STRTAB_BASE, STRTAB_BASE_CFG = 0x80, 0x88
CMDQ_BASE, CMDQ_PROD, CMDQ_CONS = 0x90, 0x98, 0x9C
EVENTQ_BASE, EVENTQ_PROD, EVENTQ_CONS = 0xA0, 0x100A8, 0x100AC

GRANULES = {12: 0, 16: 1, 14: 2}          # granule shift -> CD.TG0
TG_CODE = {12: 1, 14: 2, 16: 3}           # granule shift -> command TG

# -- encoders -------------------------------------------------------------------------


def ste(config: int = 5, ctxptr: int = 0, valid: bool = True, s1cdmax: int = 0,
        s1stalld: int = 0, s1fmt: int = 0) -> bytes:
    w = [0] * 16
    w[0] = int(valid) | (config & 7) << 1 | (s1fmt & 3) << 4 | (ctxptr & 0xFFFF_FFC0)
    w[1] = (ctxptr >> 32) & 0xFF_FFFF | (s1cdmax & 0x1F) << 27
    w[2] = (s1stalld & 1) << 27
    return struct.pack("<16I", *w)


def cd(ttb0: int, asid: int = 1, t0sz: int = 16, granule: int = 12, ips: int = 4,
       record: bool = True, affd: bool = True, epd0: bool = False, epd1: bool = True,
       ttb1: int = 0, t1sz: int = 0, tg1: int = 2, valid: bool = True, aa64: bool = True,
       a: bool = True, tbi: int = 0, had0: bool = False, endi: bool = False,
       hd: bool = False, ha: bool = False, s: bool = False) -> bytes:
    w = [0] * 16
    w[0] = (t0sz & 0x3F) | GRANULES[granule] << 6 | int(epd0) << 14 | int(endi) << 15 \
        | (t1sz & 0x3F) << 16 | (tg1 & 3) << 22 | int(epd1) << 30 | int(valid) << 31
    w[1] = (ips & 7) | int(affd) << 3 | (tbi & 3) << 6 | int(aa64) << 9 | int(hd) << 10 \
        | int(ha) << 11 | int(s) << 12 | int(record) << 13 | int(a) << 14 | (asid & 0xFFFF) << 16
    w[2] = (ttb0 & 0xFFFF_FFF0) | int(had0) << 1
    w[3] = (ttb0 >> 32) & 0xF_FFFF
    w[4] = ttb1 & 0xFFFF_FFF0
    w[5] = (ttb1 >> 32) & 0xF_FFFF
    return struct.pack("<16I", *w)


def l1std(l2ptr: int, span: int) -> bytes:
    return struct.pack("<Q", (l2ptr & ~0x3F) | (span & 0x1F))


def cmd(opcode: int, w0: int = 0, w1: int = 0, w2: int = 0, w3: int = 0) -> bytes:
    return struct.pack("<4I", (opcode & 0xFF) | (w0 & ~0xFF & 0xFFFF_FFFF), w1 & 0xFFFF_FFFF,
                       w2 & 0xFFFF_FFFF, w3 & 0xFFFF_FFFF)


def cmd_sync(irq: bool = False) -> bytes:
    return cmd(0x46, int(irq) << 12)


def cmd_cfgi_ste(sid: int, ssec: int = 0) -> bytes:
    return cmd(0x03, ssec << 10, sid)


def cmd_cfgi_ste_range(sid: int, rng: int) -> bytes:
    return cmd(0x04, 0, sid, rng & 0x1F)


def cmd_cfgi_cd(sid: int) -> bytes:
    return cmd(0x05, 0, sid)


def cmd_cfgi_cd_all(sid: int) -> bytes:
    return cmd(0x06, 0, sid)


def cmd_tlbi_nh_all(vmid: int = 0) -> bytes:
    return cmd(0x10, 0, vmid)


def cmd_tlbi_nh_asid(asid: int, vmid: int = 0) -> bytes:
    return cmd(0x11, 0, (asid & 0xFFFF) << 16 | vmid)


def cmd_tlbi_nsnh_all() -> bytes:
    return cmd(0x30)


def cmd_tlbi_va(addr: int, asid: int = 1, tg: int = 0, ttl: int = 0, num: int = 0,
                scale: int = 0, leaf: bool = False, vaa: bool = False, vmid: int = 0) -> bytes:
    op = 0x13 if vaa else 0x12
    return cmd(op, (num & 0x1F) << 12 | (scale & 0x3F) << 20, (asid & 0xFFFF) << 16 | vmid,
               int(leaf) | (ttl & 3) << 8 | (tg & 3) << 10 | (addr & 0xFFFF_F000), addr >> 32)


# -- event records ----------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    type: int
    sid: int
    rnw: int
    cls: int
    input_addr: int
    addr2: int

    @classmethod
    def decode(cls, data: bytes) -> "Event":
        w = struct.unpack("<8I", data)
        return cls(w[0] & 0xFF, w[1], w[3] >> 3 & 1, w[3] >> 8 & 3, w[4] | w[5] << 32,
                   w[6] | w[7] << 32)


# -- stage-1 page tables ----------------------------------------------------------------------


def level_shift(level: int, g: int) -> int:
    return g + (3 - level) * (g - 3)


class PageTables:
    """Stage-1 tables for granule 2^G and T0SZ TSZ, allocated from POOL."""

    def __init__(self, rig, pool_base: int, pool_size: int, granule: int = 12, tsz: int = 16):
        self.rig = rig
        self.g = granule
        self.tsz = tsz
        self.stride = granule - 3
        self.start = 4 - (64 - tsz - 4) // self.stride
        self.pool = pool_base
        self.pool_end = pool_base + pool_size
        self.free: list[int] = []
        top_entries = 1 << ((64 - tsz) - self.stride * (3 - self.start) - granule)
        self.root = self._alloc(max(8 * top_entries, 64))
        self.tables: dict[tuple[int, int], int] = {(self.start, 0): self.root}

    def _alloc(self, size: int | None = None) -> int:
        size = size or (1 << self.g)
        if size == 1 << self.g and self.free:
            addr = self.free.pop()
        else:
            addr = (self.pool + (1 << self.g) - 1) & ~((1 << self.g) - 1)
            self.pool = addr + max(size, 1 << self.g)
            if self.pool > self.pool_end:
                raise MemoryError("page-table pool exhausted")
        self.rig.write_mem(addr, bytes(size))
        return addr

    def index(self, iova: int, level: int) -> int:
        return (iova >> level_shift(level, self.g)) & ((1 << self.stride) - 1)

    def base_of(self, iova: int, level: int) -> int:
        return iova & ~((1 << level_shift(level, self.g)) - 1)

    def table_for(self, iova: int, level: int, create: bool = True) -> int:
        """Address of the level-LEVEL table covering IOVA (creating tables above)."""
        table = self.root
        for lvl in range(self.start, level):
            slot = table + 8 * self.index(iova, lvl)
            desc = self.rig.read_q(slot)
            if desc & 3 == 3:
                table = desc & ((1 << 48) - 1) & ~((1 << self.g) - 1)
                continue
            if not create:
                return -1
            new = self._alloc()
            self.rig.write_q(slot, new | 3)
            table = new
        return table

    def desc_addr(self, iova: int, level: int) -> int:
        return self.table_for(iova, level) + 8 * self.index(iova, level)

    def set_desc(self, iova: int, level: int, desc: int):
        self.rig.write_q(self.desc_addr(iova, level), desc)

    @staticmethod
    def leaf_bits(ro: bool = False, af: bool = True) -> int:
        return (int(ro) << 7) | (int(af) << 10)

    def map(self, iova: int, pa: int, level: int = 3, ro: bool = False, af: bool = True):
        """A page (level 3) or block (level < 3) descriptor for IOVA -> PA."""
        kind = 3 if level == 3 else 1
        shift = level_shift(level, self.g)
        self.set_desc(iova, level, (pa & ~((1 << shift) - 1)) | kind | self.leaf_bits(ro, af))

    def new_table(self, iova: int, level: int, pa: int, ro: bool = False,
                  aptable_ro: bool = False) -> int:
        """A fresh next-level table whose entries map IOVA's level-LEVEL region
        page-for-page (or block-for-block) to PA; returns the table descriptor."""
        table = self._alloc()
        shift = level_shift(level + 1, self.g)
        kind = 3 if level + 1 == 3 else 1
        n = 1 << self.stride
        data = b"".join(struct.pack("<Q", (pa + (i << shift)) | kind | self.leaf_bits(ro))
                        for i in range(n))
        self.rig.write_mem(table, data)
        return table | 3 | (int(aptable_ro) << 62)

    def unmap(self, iova: int, level: int = 3):
        self.set_desc(iova, level, 0)


# -- driver ------------------------------------------------------------------------------------


class SMMUDriver:
    """Programs the SMMU like Linux does (spec §6) over a rig."""

    def __init__(self, rig, strtab: int, cmdq: int, eventq: int, log2_sids: int = 8,
                 cmdq_log2: int = 8, eventq_log2: int = 8):
        self.rig = rig
        self.strtab = strtab
        self.cmdq = cmdq
        self.eventq = eventq
        self.log2_sids = log2_sids
        self.cmdq_log2 = cmdq_log2
        self.eventq_log2 = eventq_log2
        self.prod = 0
        self.ev_cons = 0

    def reg_read(self, off: int) -> int:
        return self.rig.readl(SMMU_BASE + off)

    def reg_write(self, off: int, value: int):
        self.rig.writel(SMMU_BASE + off, value)

    def init(self, enable: bool = True, irq_ctrl: int = 0x5):
        r = self.reg_write
        r(CR0, 0)
        r(CR1, 0xD75)
        self.rig.write_mem(self.strtab, bytes(64 << self.log2_sids))
        self.rig.writeq(SMMU_BASE + CMDQ_BASE, self.cmdq | self.cmdq_log2)
        self.rig.writeq(SMMU_BASE + EVENTQ_BASE, self.eventq | self.eventq_log2)
        r(CMDQ_PROD, 0)
        r(CMDQ_CONS, 0)
        r(EVENTQ_PROD, 0)
        r(EVENTQ_CONS, 0)
        r(STRTAB_BASE_CFG, self.log2_sids)
        self.rig.writeq(SMMU_BASE + STRTAB_BASE, self.strtab)
        r(IRQ_CTRL, irq_ctrl)
        self.prod = 0
        self.ev_cons = 0
        if enable:
            r(CR0, 0xD)

    def set_ste(self, sid: int, data: bytes):
        self.rig.write_mem(self.strtab + 64 * sid, data)

    def submit(self, *cmds: bytes, sync: bool = True) -> int:
        """Queue CMDS (plus CMD_SYNC) and write PROD; returns CMDQ_CONS."""
        if sync:
            cmds = cmds + (cmd_sync(),)
        mask = (1 << self.cmdq_log2) - 1
        for c in cmds:
            idx = self.prod & mask
            self.rig.write_mem(self.cmdq + 16 * idx, c)
            self.prod = (self.prod + 1) & ((1 << (self.cmdq_log2 + 1)) - 1)
        self.reg_write(CMDQ_PROD, self.prod)
        return self.reg_read(CMDQ_CONS)

    def write_cmd_at(self, index: int, data: bytes):
        self.rig.write_mem(self.cmdq + 16 * (index & ((1 << self.cmdq_log2) - 1)), data)

    def events(self) -> list[Event]:
        """New event records since the last call (advances EVENTQ_CONS)."""
        prod = self.reg_read(EVENTQ_PROD)
        out = []
        wrap_mask = (1 << (self.eventq_log2 + 1)) - 1
        mask = (1 << self.eventq_log2) - 1
        while (self.ev_cons & wrap_mask) != (prod & wrap_mask):
            data = self.rig.read_mem(self.eventq + 32 * (self.ev_cons & mask), 32)
            out.append(Event.decode(data))
            self.ev_cons = (self.ev_cons + 1) & wrap_mask
        self.reg_write(EVENTQ_CONS, self.ev_cons)
        return out
