"""Shared helpers for the hw/ppc tests."""

from __future__ import annotations

from qemu_py.hw.ppc.hcall_codes import u64
from qemu_py.hw.ppc.spapr_hcall import SpaprHcalls
from qemu_py.hw.ppc.spapr_hpt import SpaprHpt, create_spapr_hpt

BACKENDS = ("memory", "kvm-sim")
RAM_512M = 512 << 20


def make_machine(kind: str, ram_size: int = RAM_512M, htab_shift: int | None = None, **kwargs):
    """(SpaprHpt, SpaprHcalls) for a pseries with ``ram_size`` bytes of RAM."""
    hpt: SpaprHpt = create_spapr_hpt(kind, ram_size=ram_size, htab_shift=htab_shift)
    hcalls = SpaprHcalls(hpt.backend, is_ram=lambda addr: addr < ram_size, **kwargs)
    return hpt, hcalls


def status(regs: list[int]) -> int:
    """r3 as a signed status."""
    r3 = regs[0]
    return r3 - (1 << 64) if r3 >> 63 else r3


__all__ = ["BACKENDS", "RAM_512M", "make_machine", "status", "u64"]
