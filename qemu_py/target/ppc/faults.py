"""Translation faults: which interrupt, and the DAR/DSISR/SRR1 bits it carries.

Bit values are QEMU 7.2's (``target/ppc/cpu.h``).  A fault is returned as a
value, not raised, so the CPU model decides how to deliver it and the debug
path can simply try the next access type.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DSISR_NOPTE = 0x40000000
DSISR_PROTFAULT = 0x08000000
DSISR_ISSTORE = 0x02000000
DSISR_AMR = 0x00200000

SRR1_NOPTE = DSISR_NOPTE
SRR1_NOEXEC_GUARD = 0x10000000
SRR1_PROTFAULT = DSISR_PROTFAULT
SRR1_IAMR = DSISR_AMR


class Interrupt(enum.Enum):
    """The interrupt a failed translation raises (QEMU's ``POWERPC_EXCP_*``)."""

    DSI = "DSI"
    ISI = "ISI"
    DSEG = "DSEG"
    ISEG = "ISEG"
    HDSI = "HDSI"
    HISI = "HISI"


@dataclass(frozen=True)
class MmuFault:
    """A translation that failed.

    * DSI/HDSI: ``dar`` and ``dsisr`` (for HDSI these go to HDAR/HDSISR).
    * ISI/HISI: ``srr1`` holds the error bits QEMU puts in ``env->error_code``.
    * DSEG: ``dar`` only.  ISEG: nothing.
    """

    interrupt: Interrupt
    ea: int
    dar: int | None = None
    dsisr: int | None = None
    srr1: int | None = None

    def __str__(self) -> str:
        extra = []
        if self.dar is not None:
            extra.append(f"dar={self.dar:#x}")
        if self.dsisr is not None:
            extra.append(f"dsisr={self.dsisr:#010x}")
        if self.srr1 is not None:
            extra.append(f"srr1={self.srr1:#010x}")
        return f"{self.interrupt.value} at ea {self.ea:#x}" + (
            " " + " ".join(extra) if extra else ""
        )
