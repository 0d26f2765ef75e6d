"""SMMUv3 circular queues (command and event queues), spec §1.5.

A queue is BASE (address bits [51:6], LOG2SIZE in bits [4:0]) plus PROD and
CONS registers whose low LOG2SIZE bits are the index and the next bit the
wrap flag. Increments deposit into the low LOG2SIZE+1 bits only, so other bits
(CMDQ_CONS.ERR, EVENTQ_PROD.OVFLG) survive them, as in QEMU.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_ADDR_MASK = 0x000F_FFFF_FFFF_FFC0      # bits [51:6]


@dataclass(slots=True)
class SMMUQueue:
    entry_size: int
    max_log2size: int
    base: int = 0
    prod: int = 0
    cons: int = 0
    log2size: int = 0

    def reset(self):
        self.base = self.max_log2size
        self.prod = 0
        self.cons = 0
        self.log2size = self.max_log2size

    def set_base(self, value: int):
        self.base = value & ((1 << 64) - 1)
        self.log2size = min(self.base & 0x1F, self.max_log2size)

    def _idx(self, v: int) -> int:
        return v & ((1 << self.log2size) - 1)

    def _wrap(self, v: int) -> int:
        return (v >> self.log2size) & 1

    def empty(self) -> bool:
        return self._idx(self.prod) == self._idx(self.cons) and \
            self._wrap(self.prod) == self._wrap(self.cons)

    def full(self) -> bool:
        return self._idx(self.prod) == self._idx(self.cons) and \
            self._wrap(self.prod) != self._wrap(self.cons)

    @staticmethod
    def _incr(reg: int, log2size: int) -> int:
        mask = (1 << (log2size + 1)) - 1
        return (reg & ~mask & 0xFFFF_FFFF) | ((reg + 1) & mask)

    def incr_prod(self):
        self.prod = self._incr(self.prod, self.log2size)

    def incr_cons(self):
        self.cons = self._incr(self.cons, self.log2size)

    def entry_addr(self, index_reg: int) -> int:
        return (self.base & BASE_ADDR_MASK) + self.entry_size * self._idx(index_reg)

    def cons_entry(self) -> int:
        return self.entry_addr(self.cons)

    def prod_entry(self) -> int:
        return self.entry_addr(self.prod)
