"""IOMMU regions: the translation loop of §1.7 with permission checks, and
notifiers."""

import pytest

from qemu_py.memory import (AddressSpace, Endian, IOMMUAccessFlag, IOMMUNotifierFlag,
                            IOMMUTLBEntry, MemoryRegion, MemTxResult)

from .recording import RecordingDevice

PAGE_MASK = 0xFFF
OK, DECODE = MemTxResult.OK, MemTxResult.DECODE_ERROR


@pytest.fixture
def machine():
    """System memory with RAM and an MMIO device; a DMA space behind an IOMMU
    that maps IOVA page n to the page table entry ``table[n]``."""
    system = MemoryRegion("system", 1 << 64)
    memory = AddressSpace(system, "memory")
    ram = MemoryRegion.ram("ram", 0x10000)
    system.add_subregion(0, ram)
    mmio = RecordingDevice(0x1000, "mmio", endianness=Endian.LITTLE)
    system.add_subregion(0xFE000000, mmio.region)

    table = {}
    calls = []

    def translate(addr, is_write, attrs):
        calls.append((addr, is_write))
        page = addr >> 12
        if page not in table:
            return IOMMUTLBEntry(memory, addr & ~PAGE_MASK, 0, PAGE_MASK, IOMMUAccessFlag.NONE)
        target, perm = table[page]
        return IOMMUTLBEntry(memory, addr & ~PAGE_MASK, target, PAGE_MASK, perm)

    iommu = MemoryRegion.iommu("dmar", 1 << 32, translate)
    dma_root = MemoryRegion("dma-root", 1 << 64)
    dma_root.add_subregion(0, iommu)
    dma = AddressSpace(dma_root, "dma")
    return memory, dma, table, calls, mmio, iommu


def test_translated_reads_and_writes_reach_ram(machine):
    memory, dma, table, calls, _, _ = machine
    table[0x10] = (0x3000, IOMMUAccessFlag.RW)
    assert dma.write(0x10010, b"hello") == OK
    assert memory.read(0x3010, 5) == (b"hello", OK)
    assert dma.read_value(0x10011, 2) == (int.from_bytes(b"el", "little"), OK)
    assert calls[0] == (0x10010, True)


def test_an_access_crossing_an_iotlb_page_is_translated_per_page(machine):
    memory, dma, table, calls, _, _ = machine
    table[1] = (0x5000, IOMMUAccessFlag.RW)
    table[2] = (0x2000, IOMMUAccessFlag.RW)
    memory.write(0x5FFC, b"ABCD")
    memory.write(0x2000, b"EFGH")
    assert dma.read(0x1FFC, 8) == (b"ABCDEFGH", OK)
    assert [addr for addr, _ in calls] == [0x1FFC, 0x2000]


def test_permission_failure_goes_to_unassigned(machine):
    memory, dma, table, _, _, _ = machine
    table[4] = (0x6000, IOMMUAccessFlag.RO)
    memory.write(0x6000, b"\x11\x22\x33\x44")
    assert dma.read_value(0x4000, 4) == (0x44332211, OK)
    assert dma.write_value(0x4000, 0xDEADBEEF, 4) == DECODE
    assert memory.read_value(0x6000, 4) == (0x44332211, OK)
    table[5] = (0x7000, IOMMUAccessFlag.WO)
    assert dma.read_value(0x5000, 4) == (0, DECODE)
    assert dma.read(0x9000, 2) == (b"\0\0", DECODE)  # no mapping: perm NONE


def test_translation_can_land_on_mmio(machine):
    _, dma, table, _, mmio, _ = machine
    table[3] = (0xFE000000, IOMMUAccessFlag.RW)
    dma.write_value(0x3008, 0x1234, 2)
    assert mmio.log == [("write", 8, 2, 0x1234)]


def test_nested_iommus_translate_again():
    system = MemoryRegion("system", 1 << 64)
    memory = AddressSpace(system, "memory")
    system.add_subregion(0, MemoryRegion.ram("ram", 0x10000))
    stage2_root = MemoryRegion("s2-root", 1 << 64)
    stage2_root.add_subregion(0, MemoryRegion.iommu(
        "stage2", 1 << 32,
        lambda addr, w, attrs: IOMMUTLBEntry(memory, addr, addr + 0x1000, 0xFFF,
                                             IOMMUAccessFlag.RW)))
    stage2 = AddressSpace(stage2_root, "stage2")
    stage1_root = MemoryRegion("s1-root", 1 << 64)
    stage1_root.add_subregion(0, MemoryRegion.iommu(
        "stage1", 1 << 32,
        lambda addr, w, attrs: IOMMUTLBEntry(stage2, addr, addr + 0x2000, 0xFFF,
                                             IOMMUAccessFlag.RW)))
    dev = AddressSpace(stage1_root, "device")
    memory.write(0x3004, b"ok")
    assert dev.read(0x4, 2) == (b"ok", OK)
    mr, xlat, length = dev.translate(0x4, False, length=0x2000)
    assert (mr.name, xlat, length) == ("ram", 0x3004, 0x1000 - 4)


def test_translate_reports_unassigned_on_permission_failure(machine):
    _, dma, table, _, _, _ = machine
    table[6] = (0x6000, IOMMUAccessFlag.RO)
    assert dma.translate(0x6000, True)[0].name == "unassigned"
    assert dma.translate(0x6000, False)[0].name == "ram"


def test_notifiers_filter_by_event_and_range(machine):
    memory, _, _, _, _, iommu = machine
    seen = []
    iommu.register_iommu_notifier(lambda e: seen.append(("all", e.iova)))
    iommu.register_iommu_notifier(lambda e: seen.append(("map", e.iova)),
                                  IOMMUNotifierFlag.MAP)
    ranged = iommu.register_iommu_notifier(lambda e: seen.append(("low", e.iova)),
                                           start=0, end=0xFFFF)
    iommu.iommu_notify(IOMMUTLBEntry(memory, 0x1000, 0x5000, PAGE_MASK, IOMMUAccessFlag.RW))
    iommu.iommu_notify(IOMMUTLBEntry(memory, 0x20000, 0, PAGE_MASK, IOMMUAccessFlag.NONE))
    assert seen == [("all", 0x1000), ("map", 0x1000), ("low", 0x1000), ("all", 0x20000)]
    iommu.unregister_iommu_notifier(ranged)
    with pytest.raises(ValueError, match="is not registered on 'dmar'"):
        iommu.unregister_iommu_notifier(ranged)


def test_notifiers_only_on_iommu_regions():
    with pytest.raises(ValueError, match="'ram' is not an IOMMU region"):
        MemoryRegion.ram("ram", 16).register_iommu_notifier(print)
