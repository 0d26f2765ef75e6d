"""The HPT backend interface, and the backend that keeps the HPT in memory.

Everything above this layer (translation, debug translation, the PAPR
hypercalls) reaches HPTEs only through an :class:`HptBackend`:

* ``read_hptes(ptex, n) -> list[(pte0, pte1)]``: exactly ``n`` entries from
  HPTE index ``ptex``; ``n`` must be at least 1 and the range must lie inside
  the table, otherwise ``ValueError`` naming the bad value.
* ``write_hpte(ptex, pte0, pte1)``: replace one entry.
* ``set_r`` / ``set_c``: the R/C updates of a translation.  The default writes
  the whole entry; :class:`MemoryHPT` does QEMU's single-byte stores.
* geometry: ``htab_shift`` (log2 of the table size in bytes), ``npte`` and
  ``hpt_mask`` (number of PTEGs - 1).

Two implementations exist: :class:`MemoryHPT` here (QEMU's own ``spapr->htab``
or an HPT in guest-visible memory) and :class:`~.kvm_hptes.KvmSimHPT` (an HPT
owned by a simulated KVM-HV kernel, reached only through its HTAB fd).
"""

from __future__ import annotations

import abc

from .guest_memory import GuestMemory
from .hpte import HPTE64_R_C, HPTE64_R_R, HPTE64_V_VALID, HPTE_SIZE

MIN_HTAB_SHIFT_ANY = 7  # one PTEG: smallest table the code can address


class HptBackend(abc.ABC):
    """Where the HPT lives; see the module docstring for the contract."""

    def __init__(self, htab_shift: int):
        if htab_shift < MIN_HTAB_SHIFT_ANY:
            raise ValueError(f"htab_shift={htab_shift}: a table needs at least one 128-byte PTEG")
        self.htab_shift = htab_shift

    @property
    def size(self) -> int:
        return 1 << self.htab_shift

    @property
    def npte(self) -> int:
        return self.size // HPTE_SIZE

    @property
    def hpt_mask(self) -> int:
        """Number of PTEGs minus one: ``2^(htab_shift - 7) - 1``."""
        return (1 << (self.htab_shift - 7)) - 1

    def check_range(self, ptex: int, n: int, what: str = "read_hptes") -> None:
        """``ValueError`` naming ``n`` or ``ptex`` if ``[ptex, ptex+n)`` is not in the table."""
        if n < 1:
            raise ValueError(f"{what}: n={n}, must be at least 1")
        if ptex < 0 or ptex + n > self.npte:
            raise ValueError(
                f"{what}: ptex={ptex:#x} n={n} runs outside the table of {self.npte:#x} HPTEs"
            )

    @abc.abstractmethod
    def read_hptes(self, ptex: int, n: int) -> list[tuple[int, int]]:
        """Exactly ``n`` ``(pte0, pte1)`` pairs starting at ``ptex``."""

    @abc.abstractmethod
    def write_hpte(self, ptex: int, pte0: int, pte1: int) -> None:
        """Replace entry ``ptex``."""

    def set_r(self, ptex: int, pte0: int, pte1: int) -> None:
        """Set R in entry ``ptex`` whose current words are ``pte0``/``pte1``."""
        self.write_hpte(ptex, pte0, pte1 | HPTE64_R_R)

    def set_c(self, ptex: int, pte0: int, pte1: int) -> None:
        """Set C in entry ``ptex`` whose current words are ``pte0``/``pte1``."""
        self.write_hpte(ptex, pte0, pte1 | HPTE64_R_C)


class MemoryHPT(HptBackend):
    """The HPT as big-endian 16-byte entries at ``base`` in a memory object.

    Stores follow QEMU's ``spapr_store_hpte``: when the new pte0 is valid,
    pte1 is written before pte0; when it is invalid, pte0 goes first, so a
    concurrent PTEG search never sees a new V with an old pte1.  R and C are
    set with QEMU's single-byte stores to bytes 14 and 15 of the entry.
    """

    def __init__(self, memory: GuestMemory, base: int, htab_shift: int):
        super().__init__(htab_shift)
        self.memory = memory
        self.base = base

    def _addr(self, ptex: int) -> int:
        return self.base + ptex * HPTE_SIZE

    def read_hptes(self, ptex: int, n: int) -> list[tuple[int, int]]:
        self.check_range(ptex, n)
        raw = self.memory.read(self._addr(ptex), n * HPTE_SIZE)
        return [
            (int.from_bytes(raw[o : o + 8], "big"), int.from_bytes(raw[o + 8 : o + 16], "big"))
            for o in range(0, n * HPTE_SIZE, HPTE_SIZE)
        ]

    def write_hpte(self, ptex: int, pte0: int, pte1: int) -> None:
        self.check_range(ptex, 1, "write_hpte")
        addr = self._addr(ptex)
        w0 = pte0.to_bytes(8, "big")
        w1 = pte1.to_bytes(8, "big")
        if pte0 & HPTE64_V_VALID:
            self.memory.write(addr + 8, w1)
            self.memory.write(addr, w0)
        else:
            self.memory.write(addr, w0)
            self.memory.write(addr + 8, w1)

    def set_r(self, ptex: int, pte0: int, pte1: int) -> None:
        self.check_range(ptex, 1, "set_r")
        self.memory.write(self._addr(ptex) + 14, bytes([((pte1 >> 8) | 0x01) & 0xFF]))

    def set_c(self, ptex: int, pte0: int, pte1: int) -> None:
        self.check_range(ptex, 1, "set_c")
        self.memory.write(self._addr(ptex) + 15, bytes([(pte1 | 0x80) & 0xFF]))
