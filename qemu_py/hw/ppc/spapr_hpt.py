"""pseries HPT sizing and construction of the HPT backend.

Sizing (spec section 3.2, QEMU's ``spapr_hpt_shift_for_ramsize``): the table
is 1/128 of RAM rounded up to a power of two, clamped to the architected
range: ``htab_shift = clamp(log2(pow2ceil(ram)) - 7, 18, 46)``; the PTEG mask
is ``2^(htab_shift - 7) - 1``; the guest sees ``ibm,pft-size = <0 htab_shift>``.
QEMU sizes from ``ram_size`` plus plugged memory when HPT resizing is enabled
(the default) and from ``maxram_size`` when it is disabled; the caller passes
whichever applies.  An explicit ``htab-shift`` (a qemu-py machine option,
not a QEMU one) overrides the rule and must lie in 18..46.

Backends (``hpt-backend=``):

* ``memory``: QEMU's own table (``spapr->htab``), a private buffer outside
  guest RAM, every pte0 initialised to 0x40 as ``spapr_reallocate_hpt`` does
  (``DIRTY_HPTE``), reached through :class:`~qemu_py.target.ppc.hpt_backend.MemoryHPT`;
* ``kvm-sim``: a :class:`~qemu_py.target.ppc.kvm_htab_sim.KvmHtabSim` kernel
  allocated with ``KVM_PPC_ALLOCATE_HTAB`` semantics, reached only through
  its HTAB fd by :class:`~qemu_py.target.ppc.kvm_hptes.KvmSimHPT`.  QEMU
  rejects a kernel that allocates another order than requested; so does this.

RTAS: none of QEMU's RTAS calls concerns the HPT (the table size reaches the
guest through the device tree, and HPT resizing is done with hypercalls this
model does not cover), so there is no RTAS code here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qemu_py.target.ppc.guest_memory import RamMemory
from qemu_py.target.ppc.hpt_backend import HptBackend, MemoryHPT
from qemu_py.target.ppc.hpte import HPTE64_V_HPTE_DIRTY, HPTE_SIZE
from qemu_py.target.ppc.kvm_hptes import KvmSimHPT
from qemu_py.target.ppc.kvm_htab_abi import ByteOrder
from qemu_py.target.ppc.kvm_htab_sim import KvmHtabSim

MIN_HTAB_SHIFT = 18
MAX_HTAB_SHIFT = 46
HPT_BACKENDS = ("memory", "kvm-sim")


def pow2ceil(value: int) -> int:
    """Smallest power of two >= ``value`` (QEMU's ``pow2ceil``; 0 and 1 give 1)."""
    return 1 if value <= 1 else 1 << (value - 1).bit_length()


def spapr_hpt_shift_for_ramsize(ram_size: int) -> int:
    """QEMU's default HPT order for ``ram_size`` bytes of RAM."""
    if ram_size < 0:
        raise ValueError(f"ram_size={ram_size} is negative")
    shift = pow2ceil(ram_size).bit_length() - 1 - 7
    return min(max(shift, MIN_HTAB_SHIFT), MAX_HTAB_SHIFT)


def validate_htab_shift(htab_shift: int) -> int:
    if isinstance(htab_shift, bool) or not isinstance(htab_shift, int):
        raise TypeError(f"htab-shift={htab_shift!r}: expected an integer")
    if not MIN_HTAB_SHIFT <= htab_shift <= MAX_HTAB_SHIFT:
        raise ValueError(
            f"htab-shift={htab_shift}: must be between {MIN_HTAB_SHIFT} and {MAX_HTAB_SHIFT}"
        )
    return htab_shift


def hpt_mask_for_shift(htab_shift: int) -> int:
    return (1 << (htab_shift - 7)) - 1


def pft_size_property(htab_shift: int) -> tuple[int, int]:
    """The ``ibm,pft-size`` cells: ``<0 htab_shift>``."""
    return (0, htab_shift)


def dirty_htab_image(htab_shift: int) -> bytes:
    """A fresh QEMU-owned table: every pte0 = 0x40 (big-endian), every pte1 = 0."""
    entry = HPTE64_V_HPTE_DIRTY.to_bytes(8, "big") + bytes(8)
    return entry * ((1 << htab_shift) // HPTE_SIZE)


@dataclass
class SpaprHpt:
    """The machine's HPT: its order, the backend, and the KVM kernel model if any."""

    htab_shift: int
    backend: HptBackend
    kvm: KvmHtabSim | None = None

    @property
    def hpt_mask(self) -> int:
        return hpt_mask_for_shift(self.htab_shift)


def create_spapr_hpt(
    kind: str,
    *,
    ram_size: int,
    htab_shift: int | None = None,
    is_ram: Callable[[int], bool] | None = None,
    host_byteorder: ByteOrder = "little",
    kvm: KvmHtabSim | None = None,
) -> SpaprHpt:
    """Build the HPT for ``-M pseries,hpt-backend=<kind>[,htab-shift=N]``.

    ``kvm`` lets the caller supply the kernel model (e.g. one whose
    ``allocate_htab`` the test has arranged); otherwise a new one is made.
    """
    if kind not in HPT_BACKENDS:
        raise ValueError(f"hpt-backend={kind!r}: expected one of {', '.join(HPT_BACKENDS)}")
    shift = (
        validate_htab_shift(htab_shift)
        if htab_shift is not None
        else spapr_hpt_shift_for_ramsize(ram_size)
    )
    if kind == "memory":
        memory = RamMemory(1 << shift)
        memory.write(0, dirty_htab_image(shift))
        return SpaprHpt(shift, MemoryHPT(memory, 0, shift))
    if is_ram is None:
        is_ram = lambda addr: addr < ram_size
    if kvm is None:
        kvm = KvmHtabSim(shift, host_byteorder=host_byteorder, is_ram=is_ram)
    got = kvm.allocate_htab(shift)
    if got != shift:
        raise ValueError(f"Requested order {shift} HPT, but kernel allocated order {got}")
    return SpaprHpt(shift, KvmSimHPT.for_sim(kvm), kvm)
