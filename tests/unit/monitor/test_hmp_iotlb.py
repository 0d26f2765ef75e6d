"""`info iotlb`, a qemu-py extension: the SMMU's cached translations."""

from types import SimpleNamespace

from qemu_py.hw.arm.smmu_iotlb import TLBEntry
from qemu_py.memory import IOMMUAccessFlag
from qemu_py.qtest.inprocess import InProcessQTest


def hmp(session, line):
    from qemu_py.monitor.hmp.monitor import run_command_line
    return run_command_line(session.emu.vm, line)


def test_info_iotlb_lists_entries_and_says_when_there_is_no_iommu():
    s = InProcessQTest(["-M", "virt,iommu=smmuv3", "-accel", "qtest"], target="aarch64")
    try:
        smmu = s.emu.vm.machine.smmu
        cfg = SimpleNamespace(asid=1, vmid=0)
        smmu.iotlb.insert(cfg, TLBEntry(0x200000, 0x40200000, 0x1FFFFF, IOMMUAccessFlag.RW, 2, 12))
        text = hmp(s, "info iotlb")
        assert text.startswith(f"{smmu.canonical_path()} (arm-smmuv3):\r\nIOTLB: 1/256 entries\r\n")
        assert "0x200000" in text and "0x40200000" in text and text.endswith(" rw\r\n")
    finally:
        s.close()
    s = InProcessQTest(["-M", "none", "-accel", "qtest"])
    try:
        assert hmp(s, "info iotlb") == "No IOMMU with an IOTLB in this machine\r\n"
    finally:
        s.close()
