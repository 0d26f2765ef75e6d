"""ACPI tables: checksums, lengths, pointers and the values the kernel reads."""

import struct

import pytest

from qemu_py.hw.acpi import aml
from qemu_py.hw.acpi.tables import AcpiConfig, build_tables, checksum

BASE = 0x9FC00


def table_at(t, addr):
    off = addr - t.base
    length = struct.unpack_from("<I", t.blob, off + 4)[0]
    return t.blob[off:off + length]


def test_every_table_sums_to_zero_and_rsdp_checksums():
    t = build_tables(BASE)
    for sig in ("RSDT", "XSDT", "FACP", "APIC", "DSDT"):
        data = table_at(t, t.tables[sig])
        assert data[:4] == sig.encode() or (sig == "FACP" and data[:4] == b"FACP")
        assert sum(data) & 0xFF == 0, sig
    rsdp = t.blob[:36]
    assert rsdp[:8] == b"RSD PTR " and rsdp[15] == 2
    assert sum(rsdp[:20]) & 0xFF == 0 and sum(rsdp) & 0xFF == 0
    assert struct.unpack_from("<I", rsdp, 16)[0] == t.tables["RSDT"]
    assert struct.unpack_from("<Q", rsdp, 24)[0] == t.tables["XSDT"]
    assert t.base + len(t.blob) <= 0xA0000          # fits in the reserved EBDA KiB


def test_rsdt_and_xsdt_list_fadt_and_madt():
    t = build_tables(BASE)
    want = [t.tables["FACP"], t.tables["APIC"]]
    assert list(struct.unpack_from("<2I", table_at(t, t.tables["RSDT"]), 36)) == want
    assert list(struct.unpack_from("<2Q", table_at(t, t.tables["XSDT"]), 36)) == want


def test_fadt_pm_block_sci_and_reset_register():
    t = build_tables(BASE, AcpiConfig(pm_base=0x600, reset_port=0xCF9))
    f = table_at(t, t.tables["FACP"])
    assert len(f) == 244 and f[8] == 3
    facs, dsdt = struct.unpack_from("<II", f, 36)
    assert (facs, dsdt) == (t.tables["FACS"], t.tables["DSDT"]) and facs % 64 == 0
    assert struct.unpack_from("<H", f, 46)[0] == 9                # SCI_INT
    assert struct.unpack_from("<I", f, 48)[0] == 0                # no SMI_CMD: ACPI mode
    assert struct.unpack_from("<I", f, 56)[0] == 0x600            # PM1a_EVT_BLK
    assert struct.unpack_from("<I", f, 64)[0] == 0x604            # PM1a_CNT_BLK
    assert struct.unpack_from("<I", f, 76)[0] == 0x608            # PM_TMR_BLK
    assert tuple(f[88:92]) == (4, 2, 0, 4)
    flags = struct.unpack_from("<I", f, 112)[0]
    assert flags & (1 << 10) and not flags & (1 << 8)             # RESET_REG_SUP, 24-bit timer
    assert f[116:128] == struct.pack("<BBBBQ", 1, 8, 0, 0, 0xCF9) and f[128] == 6
    assert struct.unpack_from("<Q", f, 140)[0] == dsdt            # X_DSDT
    assert f[208:220] == struct.pack("<BBBBQ", 1, 32, 0, 0, 0x608)  # X_PM_TMR_BLK


def test_fadt_without_reset_register_on_microvm():
    f = table_at(t := build_tables(BASE, AcpiConfig(reset_port=None, i8042=False)),
                 t.tables["FACP"])
    assert not struct.unpack_from("<I", f, 112)[0] & (1 << 10)
    assert struct.unpack_from("<H", f, 109)[0] == 1               # legacy devices, no 8042


def test_madt_lapic_ioapic_and_overrides():
    t = build_tables(BASE)
    m = table_at(t, t.tables["APIC"])
    assert struct.unpack_from("<II", m, 36) == (0xFEE00000, 1)
    off, entries = 44, []
    while off < len(m):
        entries.append(bytes(m[off:off + m[off + 1]]))
        off += m[off + 1]
    assert entries == [
        bytes([0, 8, 0, 0, 1, 0, 0, 0]),                            # CPU 0, enabled
        struct.pack("<BBBBII", 1, 12, 0, 0, 0xFEC00000, 0),         # I/O APIC 0
        struct.pack("<BBBBIH", 2, 10, 0, 0, 2, 0),                  # IRQ0 -> GSI 2
        struct.pack("<BBBBIH", 2, 10, 0, 9, 9, 0x0D),               # SCI level high
        struct.pack("<BBBHB", 4, 6, 0xFF, 0, 1),                    # LINT1 NMI
    ]


def test_dsdt_holds_s5_package():
    t = build_tables(BASE)
    d = table_at(t, t.tables["DSDT"])
    assert d[36:] == b"\x08_S5_\x12\x06\x04\x00\x00\x00\x00"


def test_facs_signature_and_length():
    t = build_tables(BASE)
    off = t.tables["FACS"] - BASE
    assert t.blob[off:off + 8] == b"FACS" + struct.pack("<I", 64)


def test_unaligned_base_is_refused():
    with pytest.raises(ValueError, match="ACPI tables base 0x9fc01 is not 16-byte aligned"):
        build_tables(0x9FC01)


def test_checksum():
    assert checksum(b"\x01\x02") == 0xFD


@pytest.mark.parametrize("value,enc", [(0, b"\x00"), (1, b"\x01"), (5, b"\x0a\x05"),
                                       (0x1234, b"\x0b\x34\x12"),
                                       (0x12345678, b"\x0c\x78\x56\x34\x12")])
def test_aml_integer(value, enc):
    assert aml.integer(value) == enc


def test_aml_pkg_length_two_bytes():
    assert aml.pkg_length(0x3E) == b"\x3f"
    assert aml.pkg_length(0x40) == bytes([0x42, 0x04])


def test_aml_bad_name():
    with pytest.raises(aml.AMLError, match="AML name '5S' is not a valid NameSeg"):
        aml.name_seg("5S")
