"""The ``microvm`` machine: a minimal legacy-free x86 board (QEMU's ``microvm``).

Devices (each can be switched off with ``-M microvm,NAME=off`` like QEMU's):
an ISA bus on the port space without a PCI bridge, the 8259 pair (``pic``),
the I/O APIC at ``/machine/ioapic`` (0xfec00000), the PIT (``pit``) and port
0x61, the RTC (``rtc``), one ``isa-serial`` on COM1 (``isa-serial``) and
fw_cfg with DMA at 0x510/0x514. RAM ``microvm.ram`` below 3 GiB, the rest
above 4 GiB; a 256 KiB ROM at the top of 4 GiB.

virtio devices (``-device virtio-balloon-device``) sit on the eight
virtio-mmio transports, created when the first virtio device is plugged
(``qemu_py/hw/virtio/virtio_mmio.py``).

With ``acpi`` on (the default) the ACPI PM block sits at 0x600 (SCI on IRQ
9, S5 soft-off, the PM timer) and static tables at 0x9fc00 are handed to a
directly booted kernel; QEMU's microvm uses the hardware-reduced ACPI GED
instead, which is not modelled, nor is a reset register (no 0xcf9, no i8042).

Not modelled: PCI Express (``pcie=on`` is refused), the second I/O APIC,
option ROMs and the kernel command-line auto-extension.
"""

from __future__ import annotations

from qemu_py.hw.char.serial import ISASerial
from qemu_py.hw.core.machine import Machine, machine_type
from qemu_py.hw.intc.i8259 import i8259_init
from qemu_py.hw.intc.ioapic import IOAPIC, IOAPIC_DEFAULT_BASE
from qemu_py.hw.isa.isa_bus import ISABus, ISADevice
from qemu_py.hw.misc.ioport import ioport80_region
from qemu_py.hw.rtc.mc146818rtc import MC146818RTC
from qemu_py.hw.timer.i8254 import PIT, PCSpeaker
from qemu_py.qom import QOMError

from . import x86


@machine_type("microvm", targets=("x86_64",), desc="microvm (i386)")
class MicrovmMachine(Machine):
    DEFAULT_RAM_SIZE = 128 * 1024 * 1024
    MACHINE_PROPS = {
        "pic": "Enable i8259 PIC", "pit": "Enable i8254 PIT", "rtc": "Enable MC146818 RTC",
        "isa-serial": "Set off to disable the instantiation an ISA serial port",
        "pcie": "Enable PCIe", "ioapic2": "Enable second IO-APIC", "acpi": "Enable ACPI",
        "x-option-roms": "Set off to disable loading option ROMs",
        "auto-kernel-cmdline": "Set off to disable adding virtio-mmio devices to the kernel cmdline",
    }

    def init(self):
        mem = self.system_memory
        self.below_4g, self.above_4g = x86.ram_split(self.ram_size, 0xc0000000, False)
        x86.init_ram(self, "microvm.ram", self.below_4g, self.above_4g)
        x86.init_bios(self, mem, "bios.bin")
        if x86.parse_onoffauto(self, "pcie") == "on":
            raise QOMError("microvm: pcie=on is not supported by qemu-py yet")
        if x86.parse_onoffauto(self, "ioapic2") == "on":
            raise QOMError("microvm: ioapic2=on is not supported by qemu-py yet")

        self.gsi = x86.GSIRouter()
        self.isa_bus = ISABus("isa.0", self.io_memory, self.gsi.irqs[:16], mem)

        ioapic = self.ioapic = IOAPIC()
        ioapic.machine = self
        self.attach_device(ioapic, self, "ioapic")
        mem.add_subregion(IOAPIC_DEFAULT_BASE, ioapic.mmio)
        self.gsi.ioapic = ioapic

        if x86.parse_onoffauto(self, "pic") != "off":
            self.pic, self.gsi.pic_inputs = i8259_init(self, None)
        if x86.parse_onoffauto(self, "pit") != "off":
            pit = self.pit = PIT()
            pit.machine = self
            self.attach_device(pit)
            pit.irq_out.connect(pit.isa_get_irq(0))
            spk = PCSpeaker()
            spk.machine = self
            spk.pit = pit
            self.attach_device(spk)
        self.io_memory.add_subregion(0x80, ioport80_region())
        if x86.parse_onoffauto(self, "rtc") != "off":
            rtc = self.rtc = MC146818RTC()
            rtc.machine = self
            rtc.set_property("base_year", 2000)
            self.attach_device(rtc)
            rtc.connect_isa_irq()
            self.add_property("rtc-time", "struct tm", get=rtc._date_prop)
        if x86.parse_onoffauto(self, "isa-serial", "on") != "off":
            chardevs = getattr(self, "serial_chardevs", [])
            if chardevs and chardevs[0] is not None:
                ser = ISASerial()
                ser.machine = self
                ser.backend = chardevs[0]
                ser.set_property("index", 0)
                self.attach_device(ser)
        x86.init_acpi(self, reset_port=None, i8042=False)
        self.fw_cfg = x86.setup_fw_cfg(self, self.below_4g, self.above_4g)

    def plug_user_device(self, dev):
        if isinstance(dev, ISADevice):
            dev.isa_bus = self.isa_bus
        elif dev.is_a("pci-device"):
            raise QOMError(f"No 'PCI' bus found for device '{dev.TYPE_NAME}'")
        self.attach_user_device(dev)
