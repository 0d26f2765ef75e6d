"""SMMUv3 page-0 register map, declared as data (spec §1.3, §1.4).

Each :class:`Reg` names the register as the Arm manual does, gives its
offset, access mode, reset value and fields, and says where the value lives
on the device (``attr``, a dotted attribute path) and which device method
handles a store (``on_write``). 64-bit registers (``size=8``) can be accessed
as two 32-bit halves; ``q64`` says what a single 64-bit access does: "rw",
"w" (writes only; QEMU has no 64-bit read case) or "" (RAZ/WI, as for every
other offset). Offsets not listed read as zero and ignore writes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    lsb: int
    width: int


@dataclass(frozen=True)
class Reg:
    offset: int
    name: str
    access: str                  # "ro", "rw", "wo" (reads as 0: QEMU has no read case)
    attr: str | None = None      # dotted attribute path of the stored value
    reset: int = 0
    size: int = 4
    q64: str = ""
    on_write: str | None = None
    fields: tuple = ()
    value: int | None = None     # constant registers (ID bytes)
    strict_only: bool = False    # RAZ/WI unless strict-arch=on (QEMU 7.2 lacks it)


def _f(*specs):
    return tuple(Field(*s) for s in specs)


# ID register values of QEMU 7.2 on virt (measured, spec §1.4).
IDR0 = 0x0D40_101A
IDR1 = 0x0273_0010
IDR2 = 0
IDR3 = 0x0000_1404
IDR4 = 0
IDR5 = 0x0000_0074
IIDR = 0
AIDR = 1

ID_BYTES = (0x04, 0x00, 0x00, 0x00, 0x84, 0xB4, 0xF0, 0x10, 0x0D, 0xF0, 0x05, 0xB1)

CR0_RESERVED = 0xFFFF_FC20      # QEMU: CR0ACK = CR0 & ~CR0_RESERVED
CR0_ARCH_MASK = 0x0000_01DF     # SMMUEN, PRIQEN, EVENTQEN, CMDQEN, ATSCHK, VMW
GBPA_RESET = 0x0000_1000
GBPA_UPDATE = 1 << 31
GBPA_ABORT = 1 << 20

REGISTERS: tuple[Reg, ...] = (
    Reg(0x000, "IDR0", "ro", "idr[0]", fields=_f(
        ("S2P", 0, 1), ("S1P", 1, 1), ("TTF", 2, 2), ("COHACC", 4, 1), ("BTM", 5, 1),
        ("HTTU", 6, 2), ("HYP", 9, 1), ("ATS", 10, 1), ("NS1ATS", 11, 1), ("ASID16", 12, 1),
        ("MSI", 13, 1), ("SEV", 14, 1), ("ATOS", 15, 1), ("PRI", 16, 1), ("VMW", 17, 1),
        ("VMID16", 18, 1), ("CD2L", 19, 1), ("VATOS", 20, 1), ("TTENDIAN", 21, 2),
        ("STALL_MODEL", 24, 2), ("TERM_MODEL", 26, 1), ("ST_LEVEL", 27, 2))),
    Reg(0x004, "IDR1", "ro", "idr[1]", fields=_f(
        ("SIDSIZE", 0, 6), ("SSIDSIZE", 6, 5), ("PRIQS", 11, 5), ("EVENTQS", 16, 5),
        ("CMDQS", 21, 5), ("ATTR_PERMS_OVR", 26, 1), ("ATTR_TYPES_OVR", 27, 1), ("REL", 28, 1),
        ("QUEUES_PRESET", 29, 1), ("TABLES_PRESET", 30, 1))),
    Reg(0x008, "IDR2", "ro", "idr[2]"),
    Reg(0x00C, "IDR3", "ro", "idr[3]", fields=_f(
        ("HAD", 2, 1), ("PBHA", 3, 1), ("XNX", 4, 1), ("PPS", 5, 1), ("MPAM", 7, 1),
        ("FWB", 8, 1), ("STT", 9, 1), ("RIL", 10, 1), ("BBML", 11, 2))),
    Reg(0x010, "IDR4", "ro", "idr[4]"),
    Reg(0x014, "IDR5", "ro", "idr[5]", fields=_f(
        ("OAS", 0, 3), ("GRAN4K", 4, 1), ("GRAN16K", 5, 1), ("GRAN64K", 6, 1), ("VAX", 10, 2),
        ("STALL_MAX", 16, 16))),
    Reg(0x018, "IIDR", "ro", "iidr"),
    Reg(0x01C, "AIDR", "ro", "aidr", fields=_f(("ArchMinorRev", 0, 4), ("ArchMajorRev", 4, 4))),
    Reg(0x020, "CR0", "rw", "cr0", on_write="write_cr0", fields=_f(
        ("SMMUEN", 0, 1), ("PRIQEN", 1, 1), ("EVENTQEN", 2, 1), ("CMDQEN", 3, 1),
        ("ATSCHK", 4, 1), ("VMW", 6, 3))),
    Reg(0x024, "CR0ACK", "ro", "cr0ack"),
    Reg(0x028, "CR1", "rw", "cr1", fields=_f(
        ("QUEUE_IC", 0, 2), ("QUEUE_OC", 2, 2), ("QUEUE_SH", 4, 2), ("TABLE_IC", 6, 2),
        ("TABLE_OC", 8, 2), ("TABLE_SH", 10, 2))),
    Reg(0x02C, "CR2", "rw", "cr2", fields=_f(("E2H", 0, 1), ("RECINVSID", 1, 1), ("PTM", 2, 1))),
    Reg(0x040, "STATUSR", "ro", "statusr"),
    Reg(0x044, "GBPA", "rw", "gbpa", reset=GBPA_RESET, on_write="write_gbpa", strict_only=True,
        fields=_f(("MEMATTR", 0, 4), ("MTCFG", 4, 1), ("ALLOCCFG", 8, 4), ("SHCFG", 12, 2),
                  ("PRIVCFG", 16, 2), ("INSTCFG", 18, 2), ("ABORT", 20, 1), ("UPDATE", 31, 1))),
    Reg(0x050, "IRQ_CTRL", "rw", "irq_ctrl", fields=_f(
        ("GERROR_IRQEN", 0, 1), ("PRI_IRQEN", 1, 1), ("EVENTQ_IRQEN", 2, 1))),
    Reg(0x054, "IRQ_CTRL_ACK", "ro", "irq_ctrl"),
    Reg(0x060, "GERROR", "ro", "gerror", fields=_f(
        ("CMDQ_ERR", 0, 1), ("EVENTQ_ABT_ERR", 2, 1), ("PRIQ_ABT_ERR", 3, 1),
        ("MSI_CMDQ_ABT_ERR", 4, 1), ("MSI_EVENTQ_ABT_ERR", 5, 1), ("MSI_PRIQ_ABT_ERR", 6, 1),
        ("MSI_GERROR_ABT_ERR", 7, 1), ("SFM_ERR", 8, 1))),
    Reg(0x064, "GERRORN", "rw", "gerrorn", on_write="write_gerrorn"),
    Reg(0x068, "GERROR_IRQ_CFG0", "rw", "gerror_irq_cfg0", size=8, q64="rw"),
    Reg(0x070, "GERROR_IRQ_CFG1", "rw", "gerror_irq_cfg1"),
    Reg(0x074, "GERROR_IRQ_CFG2", "rw", "gerror_irq_cfg2"),
    Reg(0x080, "STRTAB_BASE", "rw", "strtab_base", size=8, q64="rw",
        fields=_f(("ADDR", 6, 46), ("RA", 62, 1))),
    Reg(0x088, "STRTAB_BASE_CFG", "rw", "strtab_base_cfg", on_write="write_strtab_base_cfg",
        fields=_f(("LOG2SIZE", 0, 6), ("SPLIT", 6, 5), ("FMT", 16, 2))),
    Reg(0x090, "CMDQ_BASE", "rw", "cmdq.base", size=8, q64="rw", reset=19,
        on_write="write_cmdq_base", fields=_f(("LOG2SIZE", 0, 5), ("ADDR", 5, 47),
                                              ("RA", 62, 1))),
    Reg(0x098, "CMDQ_PROD", "rw", "cmdq.prod", on_write="write_cmdq_prod"),
    Reg(0x09C, "CMDQ_CONS", "rw", "cmdq.cons", fields=_f(("RD", 0, 20), ("ERR", 24, 7))),
    Reg(0x0A0, "EVENTQ_BASE", "rw", "eventq.base", size=8, q64="rw", reset=19,
        on_write="write_eventq_base", fields=_f(("LOG2SIZE", 0, 5), ("ADDR", 5, 47),
                                                ("WA", 62, 1))),
    Reg(0x0A8, "EVENTQ_PROD", "rw", "eventq.prod", fields=_f(("WR", 0, 20), ("OVFLG", 31, 1))),
    Reg(0x0AC, "EVENTQ_CONS", "rw", "eventq.cons",
        fields=_f(("RD", 0, 20), ("OVACKFLG", 31, 1))),
    Reg(0x0B0, "EVENTQ_IRQ_CFG0", "wo", "eventq_irq_cfg0", size=8, q64="w"),
    Reg(0x0B8, "EVENTQ_IRQ_CFG1", "wo", "eventq_irq_cfg1"),
    Reg(0x0BC, "EVENTQ_IRQ_CFG2", "wo", "eventq_irq_cfg2"),
) + tuple(
    Reg(0xFD0 + 4 * i, name, "ro", value=ID_BYTES[i])
    for i, name in enumerate(("PIDR4", "PIDR5", "PIDR6", "PIDR7", "PIDR0", "PIDR1", "PIDR2",
                              "PIDR3", "CIDR0", "CIDR1", "CIDR2", "CIDR3"))
)

# offset -> (register, 32-bit half): the decode table of 32-bit accesses.
DECODE32: dict[int, tuple[Reg, int]] = {}
for _r in REGISTERS:
    DECODE32[_r.offset] = (_r, 0)
    if _r.size == 8:
        DECODE32[_r.offset + 4] = (_r, 1)
BY_NAME = {r.name: r for r in REGISTERS}

# Page 1 (offset 0x10000) in the architecture holds only these.
PAGE1_ARCH_OFFSETS = (0x0A8, 0x0AC, 0x0C8, 0x0CC)
