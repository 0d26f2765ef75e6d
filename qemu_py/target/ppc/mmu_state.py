"""The slice of CPU state the hash MMU reads: MSR, LPCR, AMR, IAMR.

QEMU folds MSR[PR], MSR[IR]/MSR[DR] and HV into an MMU index; here the
registers are kept as they are and the same predicates are derived from them,
so the CPU model can hand its registers over unchanged.  Bit positions are the
ISA's (IBM bit ``b`` is ``1 << (63 - b)``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MSR_SF = 1 << 63  # 64-bit mode
MSR_HV = 1 << 60  # hypervisor state
MSR_PR = 1 << 14  # problem state
MSR_IR = 1 << 5  # instruction relocation
MSR_DR = 1 << 4  # data relocation

LPCR_VPM0 = 1 << 63
LPCR_VPM1 = 1 << 62  # virtualised partition memory: faults go to HDSI/HISI
LPCR_ISL = 1 << 61  # ignore SLB large page: hash as 4K
LPCR_HR = 1 << 20  # host radix (MMU 3.00)

PAGE_READ = 0x1
PAGE_WRITE = 0x2
PAGE_EXEC = 0x4
PAGE_RWX = PAGE_READ | PAGE_WRITE | PAGE_EXEC


class AccessType(enum.IntEnum):
    """QEMU's ``MMUAccessType``."""

    DATA_LOAD = 0
    DATA_STORE = 1
    INST_FETCH = 2

    @property
    def need_prot(self) -> int:
        """``prot_for_access_type``: the page permission this access needs."""
        return {0: PAGE_READ, 1: PAGE_WRITE, 2: PAGE_EXEC}[int(self)]


@dataclass(frozen=True)
class MmuState:
    """Registers that steer a translation.  ``msr`` alone is enough for pseries."""

    msr: int
    lpcr: int = 0
    amr: int = 0
    iamr: int = 0

    @property
    def problem_state(self) -> bool:
        return bool(self.msr & MSR_PR)

    @property
    def hv(self) -> bool:
        """Hypervisor privilege: MSR[HV]=1 and MSR[PR]=0."""
        return bool(self.msr & MSR_HV) and not self.msr & MSR_PR

    def relocation(self, access: AccessType) -> bool:
        """True when translation is on for this kind of access (IR or DR)."""
        bit = MSR_IR if access == AccessType.INST_FETCH else MSR_DR
        return bool(self.msr & bit)


def narrow_ea(ea: int, msr: int) -> int:
    """The EA the CPU hands the MMU: truncated to 32 bits when MSR[SF] is clear.

    A guest started with ``-bios`` begins in 32-bit mode, so an EA of
    0x20000009000 reaches the MMU as 0x9000 (spec section 3.7, caveat).
    """
    return ea & 0xFFFFFFFFFFFFFFFF if msr & MSR_SF else ea & 0xFFFFFFFF
