"""Static ACPI tables for a firmware-less x86 boot (ACPI 6.4, chapter 5.2).

:func:`build_tables` lays out, from one base address in guest RAM:

* RSDP revision 2 (36 bytes, both checksums) pointing at the RSDT and XSDT;
* RSDT and XSDT listing the FADT and the MADT;
* FADT revision 3 (244 bytes): SCI on IRQ 9, no SMI command port (the
  hardware is always in ACPI mode), the PM1a event/control blocks and the
  24-bit PM timer of :mod:`qemu_py.hw.acpi.pm`, the century CMOS byte,
  optionally the reset register (port 0xcf9, value 6) and the 8042 flag;
* FACS (64 bytes, 64-byte aligned);
* DSDT holding ``Name(_S5_, Package(4){0, 0, 0, 0})``: SLP_TYP 0 is soft-off,
  as on QEMU's PIIX4 PM;
* MADT: the local APIC at 0xfee00000 with PCAT_COMPAT, CPU 0, the I/O APIC
  (id 0, 0xfec00000, GSI base 0), the overrides ISA IRQ 0 -> GSI 2 and the
  SCI (IRQ 9, level, active high), and LINT1 as NMI on every CPU.

The PM block and the ISA wiring these tables describe are the board's; the
values are passed in :class:`AcpiConfig`. Not generated: devices in the DSDT
(no PCI root bridge, so the kernel probes PCI the legacy way), GPE blocks,
sleep states other than S5, HPET, MCFG, SRAT.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import aml

OEM_ID = b"QEMUPY"
OEM_TABLE_ID = b"QEMUPYTB"
OEM_REVISION = 1
CREATOR_ID = b"QPY "
CREATOR_REVISION = 1
HEADER_LEN = 36

LAPIC_BASE = 0xFEE00000
IOAPIC_BASE = 0xFEC00000
SCI_IRQ = 9
RTC_CENTURY = 0x32

# FADT flags
FADT_WBINVD = 1 << 0
FADT_PROC_C1 = 1 << 2
FADT_SLP_BUTTON = 1 << 5
FADT_RTC_S4 = 1 << 7
FADT_RESET_REG_SUP = 1 << 10
IAPC_LEGACY_DEVICES = 1 << 0
IAPC_8042 = 1 << 1
# MADT
MADT_PCAT_COMPAT = 1
MADT_LAPIC, MADT_IOAPIC, MADT_ISO, MADT_LAPIC_NMI = 0, 1, 2, 4
MPS_LEVEL_HIGH = 0x0D              # trigger level (3 << 2), polarity active high (1)
GAS_SYSTEM_IO = 1


@dataclass(frozen=True)
class AcpiConfig:
    pm_base: int = 0x600
    reset_port: int | None = 0xCF9   # FADT RESET_REG, None when the board has none
    reset_value: int = 0x06
    i8042: bool = True               # IAPC_BOOT_ARCH 8042 flag
    irq0_override: bool = True


@dataclass(frozen=True)
class AcpiTables:
    base: int
    blob: bytes
    rsdp: int                        # guest-physical address of the RSDP
    tables: dict                     # signature -> guest-physical address


def checksum(data: bytes) -> int:
    """The byte that makes DATA sum to 0 modulo 256."""
    return (-sum(data)) & 0xFF


def _finish(table: bytearray, at: int):
    table[at] = 0
    table[at] = checksum(table)


def sdt(signature: bytes, revision: int, body: bytes) -> bytes:
    """A system description table: the 36-byte header (length, checksum) then BODY."""
    hdr = struct.pack("<4sIBB6s8sI4sI", signature, HEADER_LEN + len(body), revision, 0,
                      OEM_ID, OEM_TABLE_ID, OEM_REVISION, CREATOR_ID, CREATOR_REVISION)
    out = bytearray(hdr + body)
    _finish(out, 9)
    return bytes(out)


def gas(space: int, bit_width: int, address: int, access_size: int = 0) -> bytes:
    """A Generic Address Structure (12 bytes)."""
    return struct.pack("<BBBBQ", space, bit_width, 0, access_size, address)


def rsdp(rsdt_addr: int, xsdt_addr: int) -> bytes:
    out = bytearray(struct.pack("<8sB6sBIIQB3s", b"RSD PTR ", 0, OEM_ID, 2, rsdt_addr, 36,
                                xsdt_addr, 0, b"\0\0\0"))
    out[8] = checksum(out[:20])
    out[32] = checksum(out)
    return bytes(out)


def fadt(cfg: AcpiConfig, facs_addr: int, dsdt_addr: int) -> bytes:
    pm1_evt, pm1_cnt, pm_tmr = cfg.pm_base, cfg.pm_base + 4, cfg.pm_base + 8
    flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RTC_S4
    reset = gas(0, 0, 0)
    if cfg.reset_port is not None:
        flags |= FADT_RESET_REG_SUP
        reset = gas(GAS_SYSTEM_IO, 8, cfg.reset_port)
    boot_arch = IAPC_LEGACY_DEVICES | (IAPC_8042 if cfg.i8042 else 0)
    body = struct.pack("<IIBBHIBBBB", facs_addr, dsdt_addr, 0, 0, SCI_IRQ, 0, 0, 0, 0, 0)
    body += struct.pack("<IIIIIIII", pm1_evt, 0, pm1_cnt, 0, 0, pm_tmr, 0, 0)
    body += struct.pack("<BBBBBBBB", 4, 2, 0, 4, 0, 0, 0, 0)
    body += struct.pack("<HHHHBBBBBHBI", 0xFFF, 0xFFF, 0, 0, 0, 0, 0, 0, RTC_CENTURY,
                        boot_arch, 0, flags)
    body += reset + struct.pack("<BHB", cfg.reset_value if cfg.reset_port else 0, 0, 0)
    body += struct.pack("<QQ", facs_addr, dsdt_addr)
    body += gas(GAS_SYSTEM_IO, 32, pm1_evt) + gas(0, 0, 0)
    body += gas(GAS_SYSTEM_IO, 16, pm1_cnt) + gas(0, 0, 0)
    body += gas(0, 0, 0)
    body += gas(GAS_SYSTEM_IO, 32, pm_tmr)
    body += gas(0, 0, 0) + gas(0, 0, 0)
    return sdt(b"FACP", 3, body)


def facs() -> bytes:
    """FACS has no checksum and no standard header: signature, length, then zeros."""
    return struct.pack("<4sI", b"FACS", 64) + bytes(56)


def dsdt() -> bytes:
    return sdt(b"DSDT", 2, aml.name("_S5", aml.package((0, 0, 0, 0))))


def madt(cfg: AcpiConfig) -> bytes:
    body = struct.pack("<II", LAPIC_BASE, MADT_PCAT_COMPAT)
    body += struct.pack("<BBBBI", MADT_LAPIC, 8, 0, 0, 1)
    body += struct.pack("<BBBBII", MADT_IOAPIC, 12, 0, 0, IOAPIC_BASE, 0)
    if cfg.irq0_override:
        body += struct.pack("<BBBBIH", MADT_ISO, 10, 0, 0, 2, 0)
    body += struct.pack("<BBBBIH", MADT_ISO, 10, 0, SCI_IRQ, SCI_IRQ, MPS_LEVEL_HIGH)
    body += struct.pack("<BBBHB", MADT_LAPIC_NMI, 6, 0xFF, 0, 1)
    return sdt(b"APIC", 3, body)


def build_tables(base: int, cfg: AcpiConfig = AcpiConfig()) -> AcpiTables:
    """Lay the tables out from BASE (16-byte aligned); pointers are absolute."""
    if base & 0xF:
        raise ValueError(f"ACPI tables base 0x{base:x} is not 16-byte aligned")
    addrs: dict[bytes, int] = {}
    cursor = base

    def place(sig: bytes, size: int, align: int) -> int:
        nonlocal cursor
        cursor = (cursor + align - 1) & ~(align - 1)
        addrs[sig] = cursor
        cursor += size
        return addrs[sig]

    # sizes are fixed; place first, then build with the final addresses
    place(b"RSD PTR ", 36, 16)
    place(b"FACS", 64, 64)
    dsdt_t = dsdt()
    place(b"DSDT", len(dsdt_t), 16)
    place(b"FACP", 244, 16)
    madt_t = madt(cfg)
    place(b"APIC", len(madt_t), 16)
    place(b"RSDT", HEADER_LEN + 8, 16)
    place(b"XSDT", HEADER_LEN + 16, 16)
    listed = (addrs[b"FACP"], addrs[b"APIC"])
    built = {
        b"RSD PTR ": rsdp(addrs[b"RSDT"], addrs[b"XSDT"]),
        b"FACS": facs(),
        b"DSDT": dsdt_t,
        b"FACP": fadt(cfg, addrs[b"FACS"], addrs[b"DSDT"]),
        b"APIC": madt_t,
        b"RSDT": sdt(b"RSDT", 1, struct.pack(f"<{len(listed)}I", *listed)),
        b"XSDT": sdt(b"XSDT", 1, struct.pack(f"<{len(listed)}Q", *listed)),
    }
    blob = bytearray(cursor - base)
    for sig, addr in addrs.items():
        data = built[sig]
        blob[addr - base:addr - base + len(data)] = data
    return AcpiTables(base, bytes(blob), addrs[b"RSD PTR "],
                      {sig.decode().strip(): a for sig, a in addrs.items()})
