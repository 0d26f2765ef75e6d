"""The aarch64 virt board and the edu device, driven over the qtest protocol
(an in-process emulator on one end of a socketpair)."""

import pytest

from qemu_py.launch import StartupError
from qemu_py.qtest.inprocess import InProcessQTest


class Session(InProcessQTest):
    """The shared in-process client on an aarch64 machine; IRQ lines in ``irqs``."""

    def __init__(self, *args):
        super().__init__(list(args) + ["-accel", "qtest"], "aarch64")
        self.irqs = self.irq_lines

    def val(self, line: str) -> int:
        reply = self.cmd(line)
        assert reply.startswith("OK "), reply
        return int(reply.split()[1], 16)


@pytest.fixture
def virt():
    made = []

    def launch(*args):
        s = Session(*args)
        made.append(s)
        return s

    yield launch
    for s in made:
        s.close()


def test_virt_is_the_aarch64_default_and_has_ram_at_1g(virt):
    s = virt("-nodefaults")
    assert s.emu.vm.machine.MACHINE_NAME == "virt"
    assert s.cmd("writel 0x40000000 0x12345678") == "OK"
    assert s.val("readl 0x40000000") == 0x12345678
    assert s.cmd("endianness") == "OK little"


def test_pl011_identity_and_reset_values(virt):
    s = virt("-M", "virt", "-nodefaults")
    ids = [s.val(f"readl {0x09000fe0 + 4 * i:#x}") for i in range(8)]
    assert ids == [0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1]
    assert s.val("readl 0x09000018") == 0x90
    assert s.val("readl 0x09000030") == 0x300


def test_pl011_output_reaches_serial_file_and_gic_sees_spi1(virt, tmp_path):
    out = tmp_path / "serial.txt"
    s = virt("-M", "virt", "-nodefaults", "-serial", f"file:{out}")
    assert s.cmd("irq_intercept_in /machine/unattached/device[1]") == "OK"
    s.cmd("writel 0x09000038 0x20")                     # IMSC: TX
    for ch in b"AB\nC":
        s.cmd(f"writel 0x09000000 {ch:#x}")
    assert "IRQ raise 1" in s.irqs
    s.cmd("writel 0x09000044 0x20")                     # ICR
    assert s.irqs[-1] == "IRQ lower 1"
    for c in s.emu.chardevs.values():
        c.flush_blocking()
    assert out.read_bytes() == b"AB\nC"


def test_pl031_identifies_as_0x31_and_counts(virt):
    s = virt("-M", "virt", "-nodefaults")
    assert s.val("readl 0x09010fe0") == 0x31
    t0 = s.val("readl 0x09010000")
    s.cmd("clock_step 3000000000")
    assert s.val("readl 0x09010000") == t0 + 3


def test_clock_step_without_deadline(virt):
    s = virt("-M", "virt", "-nodefaults")
    assert s.cmd("clock_step 1000") == "OK 1000"
    assert s.cmd("clock_step") == "OK 1000"


def test_gicv3_option(virt):
    s = virt("-M", "virt,gic-version=3", "-nodefaults")
    assert s.val("readl 0x0800ffe8") == 0x3B
    assert s.val("readl 0x080affe8") == 0x3B
    assert s.cmd("irq_intercept_in /machine/unattached/device[1]") == "OK"
    s.cmd("writel 0x09000038 0x20")
    s.cmd("writel 0x09000000 0x41")
    assert "IRQ raise 1" in s.irqs


def test_cpu_option_is_stored_and_checked(virt):
    s = virt("-M", "virt", "-cpu", "cortex-a57", "-nodefaults")
    assert s.emu.vm.machine.cpu.prop("model") == "cortex-a57"
    with pytest.raises(StartupError, match="unable to find CPU model 'cortex-z9'"):
        Session("-M", "virt", "-cpu", "cortex-z9")


def test_bad_iommu_value(virt):
    with pytest.raises(StartupError, match="Invalid IOMMU type"):
        Session("-M", "virt,iommu=intel")


def test_fw_cfg_signature(virt):
    s = virt("-M", "virt", "-nodefaults")
    s.cmd("writew 0x09020008 0x0000")                   # big-endian selector 0
    # a big-endian data register: the bytes arrive in item order
    assert s.val("readl 0x09020000").to_bytes(4, "little") == b"QEMU"


@pytest.mark.parametrize("highmem,ecam", [("off", 0x3F00_0000), ("on", 0x40_1000_0000)])
def test_ecam_placement_and_first_device_at_00_01_0(virt, highmem, ecam):
    s = virt("-M", f"virt,highmem={highmem}", "-nodefaults", "-device", "edu")
    assert s.val(f"readl {ecam:#x}") == 0x0008_1B36           # gpex-root at 00.0
    assert s.val(f"readl {ecam + 0x8000:#x}") == 0x11E8_1234  # edu at 00:01.0
    assert s.val(f"readl {ecam + 0x8008:#x}") == 0x00FF_0010
    edu = s.emu.vm.machine.pci_bus.slots[8]
    assert edu.requester_id == 8


def edu_session(virt, *extra):
    s = virt("-M", "virt,highmem=off" + "".join(extra), "-nodefaults", "-device", "edu")
    s.cmd("writel 0x3f008010 0x10000000")
    s.cmd("writew 0x3f008004 0x6")
    return s


def test_edu_registers(virt):
    s = edu_session(virt)
    assert s.val("readl 0x10000000") == 0x010000ED
    s.cmd("writel 0x10000004 0x12345678")
    assert s.val("readl 0x10000004") == 0xEDCBA987
    s.cmd("writel 0x10000008 10")
    assert s.val("readl 0x10000008") == 3628800
    assert s.val("readw 0x10000000") == 0               # 2-byte accesses are not valid
    s.cmd("writeq 0x10000080 0x1234")
    assert s.val("readq 0x10000080") == 0x1234


def test_edu_interrupts_intx_through_the_gic(virt):
    s = edu_session(virt)
    s.cmd("irq_intercept_in /machine/unattached/device[1]")
    s.cmd("writel 0x10000060 0x5")
    assert s.val("readl 0x10000024") == 0x5
    assert s.irqs[-1] == "IRQ raise 4"                  # INTA of slot 1 -> SPI 3 + 1
    s.cmd("writel 0x10000064 0x5")
    assert s.irqs[-1] == "IRQ lower 4"
    s.cmd("writel 0x10000020 0x80")                     # IRQ on factorial completion
    s.cmd("writel 0x10000008 3")
    assert s.val("readl 0x10000024") == 1


def test_edu_msi(virt):
    s = edu_session(virt)
    cap = s.val("readb 0x3f008034")
    assert s.val(f"readb {0x3f008000 + cap:#x}") == 0x05
    s.cmd(f"writel {0x3f008000 + cap + 4:#x} 0x40001000")
    s.cmd(f"writel {0x3f008000 + cap + 8:#x} 0")
    s.cmd(f"writew {0x3f008000 + cap + 12:#x} 0x4321")
    s.cmd(f"writew {0x3f008000 + cap + 2:#x} 0x1")
    s.cmd("writel 0x10000060 0x1")
    assert s.val("readl 0x40001000") == 0x4321


def test_edu_dma_without_iommu(virt):
    s = edu_session(virt)
    s.cmd("writel 0x40002000 0xCAFEF00D")
    s.cmd("writeq 0x10000080 0x40002000")               # masked to 28 bits: 0x00002000
    s.cmd("writeq 0x10000088 0x40000")
    s.cmd("writeq 0x10000090 4")
    s.cmd("writeq 0x10000098 0x1")
    assert s.val("readq 0x10000098") & 1
    s.cmd("clock_step 100000000")
    assert s.val("readq 0x10000098") & 1 == 0


def test_edu_dma_goes_through_the_smmu(virt):
    from conformance.smmu_bbml2 import guest as G
    s = edu_session(virt, ",iommu=smmuv3")
    smmu = s.emu.vm.machine.smmu
    assert s.val("readl 0x09050000") == 0x0D40_101A
    # SMMU tables in guest RAM: STE for SID 8, CD, one 4K page 0x5000 -> 0x40800000
    ram = s.emu.vm.machine.system_as
    ram.write(0x4001_0000 + 64 * 8, G.ste(5, 0x4004_0000))
    pt_root, l1, l2, l3 = 0x4005_0000, 0x4005_1000, 0x4005_2000, 0x4005_3000
    ram.write(pt_root, (l1 | 3).to_bytes(8, "little"))
    ram.write(l1, (l2 | 3).to_bytes(8, "little"))
    ram.write(l2, (l3 | 3).to_bytes(8, "little"))
    ram.write(l3 + 8 * 5, (0x4080_0000 | 0x403).to_bytes(8, "little"))
    ram.write(0x4004_0000, G.cd(pt_root))
    s.cmd("writeq 0x09050090 0x4002000a")
    s.cmd("writeq 0x090500a0 0x4003000a")
    s.cmd("writel 0x09050088 0x8")
    s.cmd("writeq 0x09050080 0x40010000")
    s.cmd("writel 0x09050020 0xd")
    s.cmd("writeq 0x10000080 0x40000")
    s.cmd("writeq 0x10000088 0x5010")
    s.cmd("writeq 0x10000090 8")
    s.cmd("writel 0x40800010 0xFFFFFFFF")
    s.cmd("writeq 0x10000098 0x3")                      # buffer (zeros) -> IOVA 0x5010
    s.cmd("clock_step 100000000")
    assert s.val("readl 0x40800010") == 0
    assert "smmu_iotlb_insert asid=1 addr=0x5000 tg=1 level=3" in smmu.trace_text()
    s.cmd("writeq 0x10000088 0x9000")                   # unmapped IOVA: F_TRANSLATION
    s.cmd("writeq 0x10000098 0x3")
    s.cmd("clock_step 100000000")
    assert s.val("readl 0x090500a8") >= 1
    assert s.val("readl 0x40030000") == 0x10 and s.val("readl 0x40030004") == 8
