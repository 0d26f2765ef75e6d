"""The aarch64 ``virt`` board, laid out like QEMU 7.2's ``hw/arm/virt.c``.

Memory map (QEMU's ``base_memmap``):

============ ============ =========== ==========================================
base         size         SPI         device
============ ============ =========== ==========================================
0x0800_0000  0x1_0000                 GIC distributor (v2 and v3)
0x0801_0000  0x1_0000                 GICv2 CPU interface
0x080A_0000  0x20_0000                GICv3 redistributor (one CPU)
0x0900_0000  0x1000       1           PL011 UART (``-serial`` 0)
0x0901_0000  0x1000       2           PL031 RTC
0x0902_0000  0x18                     fw_cfg (MMIO flavour)
0x0905_0000  0x2_0000     74-77       SMMUv3 (``iommu=smmuv3``)
0x1000_0000  0x2EFF_0000  3-6         PCIe 32-bit MMIO window
0x3EFF_0000  0x1_0000                 PCIe PIO window
0x3F00_0000  0x100_0000               PCIe ECAM, 16 buses (``highmem=off``)
0x40_1000_0000 0x1000_0000            PCIe ECAM, 256 buses (``highmem=on``)
0x80_0000_0000 0x80_0000_0000         PCIe 64-bit MMIO window (``highmem=on``)
0x4000_0000  -m                       RAM
============ ============ =========== ==========================================

QOM tree: ``/machine/unattached/device[0]`` the CPU, ``device[1]`` the GIC
(so ``irq_intercept_in /machine/unattached/device[1]`` sees SPI n as line n),
then the PL011, the PL031, the PCIe host (with ``pcie.0``) and the SMMU;
``/machine/fw_cfg``. The first ``-device`` on ``pcie.0`` lands at 00:01.0
(requester ID 8); with ``iommu=smmuv3`` its bus-master address space is the
SMMU's IOMMU region for that requester.

The CPU is represented by :class:`ARMCPU`, which records the ``-cpu`` model
and its MPIDR; no Arm instruction set is executed yet (the board is meant for
``-accel qtest``). Not modelled: flash, GPIO, virtio-mmio transports, the
platform bus, secure/EL2/EL3 memory, ACPI and the device tree.
"""

from __future__ import annotations

from qemu_py.hw.core.cpus import cpu_models
from qemu_py.hw.core.machine import Machine, machine_type
from qemu_py.hw.misc import edu  # noqa: F401  (registers -device edu with the board)
from qemu_py.hw.pci.pci import PCIDevice
from qemu_py.qom import Device, DeviceProp, QOMError, register_type

from .arm_gic import GICv2, GICv3
from .fw_cfg_mem import FW_CFG_MEM_SIZE, FWCfgMem
from .gpex import GPEXHost, GPEXRoot
from .pl011 import PL011
from .pl031 import PL031
from .smmuv3 import SMMUv3

MiB = 1 << 20
GiB = 1 << 30

MEMMAP = {
    "gic-dist": (0x0800_0000, 0x1_0000),
    "gic-cpu": (0x0801_0000, 0x1_0000),
    "gic-redist": (0x080A_0000, 0x20_0000),
    "uart": (0x0900_0000, 0x1000),
    "rtc": (0x0901_0000, 0x1000),
    "fw_cfg": (0x0902_0000, FW_CFG_MEM_SIZE),
    "smmu": (0x0905_0000, 0x2_0000),
    "pcie-mmio": (0x1000_0000, 0x2EFF_0000),
    "pcie-pio": (0x3EFF_0000, 0x1_0000),
    "pcie-ecam": (0x3F00_0000, 0x100_0000),
    "mem": (0x4000_0000, 255 * GiB),
    "high-pcie-ecam": (0x40_1000_0000, 0x1000_0000),
    "high-pcie-mmio": (0x80_0000_0000, 0x80_0000_0000),
}
SPI = {"uart": 1, "rtc": 2, "pcie": 3, "smmu": 74}


@register_type("arm-cpu", "device", desc="Arm CPU (model and identity only)",
               user_creatable=False)
class ARMCPU(Device):
    """The board's CPU: its ``-cpu`` model and MPIDR. No instructions run yet."""

    PROPS = [DeviceProp("model", "str", "cortex-a15"), DeviceProp("mp-affinity", "uint64", 0)]

    def reset(self):
        self.mpidr = (1 << 31) | self.prop("mp-affinity")


def _onoff(machine, name: str, default: bool) -> bool:
    value = machine.machine_prop(name)
    if value is None:
        return default
    words = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}
    if value not in words:
        raise QOMError(f"Parameter '{name}' expects 'on' or 'off'")
    return words[value]


@machine_type("virt", targets=("aarch64",), default_for=("aarch64",),
              desc="QEMU 7.2 ARM Virtual Machine")
class VirtMachine(Machine):
    DEFAULT_RAM_SIZE = 128 * MiB
    MACHINE_PROPS = {
        "iommu": "Set the IOMMU type: none or smmuv3",
        "highmem": "Set on/off to enable/disable using physical address space above 32 bits",
        "gic-version": "Set GIC version: 2, 3, host or max",
        "secure": "Set on/off to enable/disable the ARM Security Extensions (not modelled)",
        "virtualization": "Set on/off to enable/disable emulating a guest CPU which implements "
                          "the ARM Virtualization Extensions (not modelled)",
        "its": "Set on/off to enable/disable ITS instantiation (not modelled)",
        "acpi": "Enable ACPI (not modelled)",
        "ras": "Set on/off to enable/disable reporting host memory errors (not modelled)",
        "mte": "Set on/off to enable/disable emulating a guest CPU which implements MTE",
        "default_bus_bypass_iommu": "on/off: PCI devices bypass the IOMMU",
        "smmu-strict-arch": "qemu-py extension: SMMUv3 strict-arch property",
    }

    def unattached_slot(self, dev, n: int):
        self.attach_device(dev, self.unattached, f"device[{n}]")

    def init(self):
        mem = self.system_memory
        if self.ram_size > MEMMAP["mem"][1]:
            raise QOMError(f"cannot model more than {MEMMAP['mem'][1] // GiB}GB RAM")
        self.add_ram(self.ram_size, MEMMAP["mem"][0], "mach-virt.ram")
        highmem = _onoff(self, "highmem", True)
        iommu = self.machine_prop("iommu", "none")
        if iommu not in ("none", "smmuv3"):
            raise QOMError("Invalid IOMMU type. Valid values are none and smmuv3.")
        gic_version = self.machine_prop("gic-version", "2")
        if gic_version not in ("2", "3", "host", "max"):
            raise QOMError("Invalid gic-version value\nValid values are 3, 2, host, max.")

        # CPU
        model = self.config.cpu or "cortex-a15"
        known = [name for name, _ in cpu_models("aarch64")]
        if model.split(",")[0] not in known:
            raise QOMError(f"unable to find CPU model '{model.split(',')[0]}'")
        cpu = self.cpu = ARMCPU()
        cpu.set_property("model", model.split(",")[0])
        self.unattached_slot(cpu, 0)

        # GIC
        gic = self.gic = GICv2() if gic_version == "2" else GICv3()
        self.unattached_slot(gic, 1)
        mem.add_subregion(MEMMAP["gic-dist"][0], gic.dist_mmio)
        if gic_version == "2":
            mem.add_subregion(MEMMAP["gic-cpu"][0], gic.cpu_mmio)
        else:
            mem.add_subregion(MEMMAP["gic-redist"][0], gic.redist_mmio)

        # PL011 and PL031
        uart = self.uart = PL011()
        serials = getattr(self, "serial_chardevs", None) or []
        uart.backend = serials[0] if serials else None
        self.unattached_slot(uart, 2)
        mem.add_subregion(MEMMAP["uart"][0], uart.mmio)
        uart.connect_irq(0, gic.get_gpio_in(SPI["uart"]))

        rtc = self.rtc = PL031()
        rtc.clock = self.vm.clock
        self.unattached_slot(rtc, 3)
        mem.add_subregion(MEMMAP["rtc"][0], rtc.mmio)
        rtc.connect_irq(0, gic.get_gpio_in(SPI["rtc"]))

        # PCIe
        host = self.pcie_host = GPEXHost()
        host.machine = self
        ecam_base, ecam_size = MEMMAP["high-pcie-ecam" if highmem else "pcie-ecam"]
        bus = self.pci_bus = host.create_bus(mem, ecam_size)
        self.unattached_slot(host, 4)
        mem.add_subregion(ecam_base, host.ecam)
        base, size = MEMMAP["pcie-mmio"]
        mem.add_subregion(base, host.mmio_alias("pcie-mmio", base, size))
        if highmem:
            base, size = MEMMAP["high-pcie-mmio"]
            mem.add_subregion(base, host.mmio_alias("pcie-mmio-high", base, size))
        mem.add_subregion(MEMMAP["pcie-pio"][0], host.pio_alias())
        for i in range(4):
            host.connect_irq(i, gic.get_gpio_in(SPI["pcie"] + i))

        if iommu == "smmuv3":
            smmu = self.smmu = SMMUv3()
            if _onoff(self, "smmu-strict-arch", False):
                smmu.set_property("strict-arch", "on")
            smmu.dma_as = self.system_as
            cfg = self.config
            smmu.trace.set_patterns(list(cfg.trace) + [i[len("trace:"):] for i in cfg.log_items
                                                        if i.startswith("trace:")])
            self.unattached_slot(smmu, 5)
            mem.add_subregion(MEMMAP["smmu"][0], smmu.mmio)
            for i in range(4):
                smmu.connect_irq(i, gic.get_gpio_in(SPI["smmu"] + i))
            if not _onoff(self, "default_bus_bypass_iommu", False):
                host.set_iommu(smmu)
        else:
            self.smmu = None

        root = GPEXRoot()
        root.machine = self
        root.pci_bus = bus
        root.set_property("addr", "0")
        self.unattached_slot(root, 6)
        host.attach_iommu(root)

        # fw_cfg
        fw = self.fw_cfg = FWCfgMem()
        fw.machine = self
        fw.add_i64(0x03, self.ram_size)                      # FW_CFG_RAM_SIZE
        fw.add_i16(0x05, 1)                                  # FW_CFG_NB_CPUS
        fw.add_i16(0x0F, 1)                                  # FW_CFG_MAX_CPUS
        self.attach_device(fw, self, "fw_cfg")
        fw.map_mmio(mem, MEMMAP["fw_cfg"][0])

    def plug_user_device(self, dev):
        if isinstance(dev, PCIDevice):
            want = dev.prop("bus")
            if want is not None and want != "pcie.0":
                raise QOMError(f"Bus '{want}' not found")
            dev.pci_bus = self.pci_bus
            self.attach_user_device(dev)
            self.pcie_host.attach_iommu(dev)
            return
        self.attach_user_device(dev)
