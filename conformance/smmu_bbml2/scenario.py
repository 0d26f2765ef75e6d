"""The measured BBML2 scenario of spec §5.3, reusable on any rig.

Two IOVAs, X = 0x212345 and Y = 0x254000, lie in one level-2 region. The
region is mapped either by a block descriptor or by a table of pages; the two
map to different PAs on purpose, so the PA a DMA reaches tells which cached
entry served it ("BLOCK", "PAGE" or "fault"). The rows are data: each names
the commands issued after both entries are cached and the L2 descriptor is
cleared, and the outcomes QEMU 7.2 produced.
"""

from __future__ import annotations

from . import guest as G

X = 0x212345
Y = 0x254000


class BBMScenario:
    def __init__(self, setup, granule: int = 12):
        self.s = setup
        self.g = granule
        if granule == 12:
            self.base, self.block_pa, self.pages_pa = 0x200000, 0x4200_0000, 0x4220_0000
        elif granule == 16:
            self.base, self.block_pa, self.pages_pa = 0x0, 0x4000_0000, 0x4240_0000
        else:
            raise ValueError(f"no BBM scenario for granule {granule}")
        self.table_desc = setup.pt.new_table(self.base, 2, self.pages_pa)
        self.block_desc = self.block_pa | 1 | G.PageTables.leaf_bits()

    def install_pages(self):
        self.s.pt.set_desc(self.base, 2, self.table_desc)

    def install_block(self):
        self.s.pt.set_desc(self.base, 2, self.block_desc)

    def clear(self):
        self.s.pt.set_desc(self.base, 2, 0)

    def where(self, iova: int) -> str:
        off = iova - self.base
        return self.s.probe(iova, {"PAGE": self.pages_pa + off, "BLOCK": self.block_pa + off})

    def both_cached(self):
        """Steps 1-3: page X cached from the table, then block cached via Y."""
        self.install_pages()
        assert self.where(X) == "PAGE"
        self.install_block()
        assert self.where(Y) == "BLOCK"

    def run_row(self, cmds) -> tuple[str, str]:
        self.both_cached()
        self.clear()
        self.s.drv.submit(*cmds)
        return self.where(X), self.where(Y)


def va(addr, **kw):
    return G.cmd_tlbi_va(addr, **{"asid": 1, **kw})


# (row, commands, X, Y) as measured on QEMU 7.2, 4K granule (spec §5.3)
ROWS_4K = [
    ("I1", [va(X, tg=0)], "fault", "fault"),
    ("I2", [va(X, tg=1, ttl=3)], "BLOCK", "BLOCK"),
    ("I3", [va(X, tg=1, ttl=2)], "fault", "fault"),
    ("I4", [va(0x200000, tg=1, ttl=2)], "PAGE", "fault"),
    ("I5", [va(X, tg=1, ttl=1)], "fault", "fault"),
    ("I6", [va(X, tg=1, ttl=0)], "fault", "fault"),
    ("I7", [va(X, tg=1, ttl=3, num=1)], "fault", "fault"),
    ("I8", [va(X, tg=0, ttl=3)], "fault", "fault"),
    ("I9", [va(X, tg=3, ttl=3)], "fault", "fault"),
    ("I10", [va(X, tg=1, ttl=3, leaf=True)], "BLOCK", "BLOCK"),
    ("I11", [va(X, tg=1, ttl=3, vaa=True)], "fault", "fault"),
    ("I12", [va(X, asid=2)], "BLOCK", "BLOCK"),
    ("I13", [va(Y, tg=1, num=0)], "PAGE", "fault"),
    ("I14", [va(0x1F0000, tg=1, num=31)], "PAGE", "fault"),
    ("I15", [va(0x1F0000, tg=1, scale=4, num=0)], "BLOCK", "BLOCK"),
    ("I16-asid", [G.cmd_tlbi_nh_asid(1)], "fault", "fault"),
    ("I16-all", [G.cmd_tlbi_nh_all()], "fault", "fault"),
    ("I16-nsnh", [G.cmd_tlbi_nsnh_all()], "fault", "fault"),
    ("I17", [G.cmd_cfgi_ste(8)], "BLOCK", "BLOCK"),
    ("I18-el2", [G.cmd(0x20)], "BLOCK", "BLOCK"),
    ("I18-s12", [G.cmd(0x28)], "BLOCK", "BLOCK"),
]

# 64K granule: L2 = 512 MiB block at 0 vs 64K pages (spec §5.3 rows G1-G4)
ROWS_64K = [
    ("G1", [va(0x210000, tg=3, ttl=3)], "BLOCK", "BLOCK"),
    ("G2", [va(0x0, tg=3, ttl=2)], "PAGE", "fault"),
    ("G3", [va(0x212000, tg=3, ttl=3)], "fault", "fault"),
    ("G4", [va(0x210000, tg=1, ttl=3)], "fault", "fault"),
]
