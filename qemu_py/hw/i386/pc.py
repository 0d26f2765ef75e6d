"""The ``pc`` machine: i440FX + PIIX3, QEMU's ``pc-i440fx-7.2``.

Layout (as QEMU 7.2 builds it, minus what is not modelled):

* RAM ``pc.ram`` split at 0xe0000000, or at 0xc0000000 when the RAM does not
  fit below 3.5 GiB (``max-ram-below-4g`` overrides the limit); the PCI
  address space ``pci`` under system memory at priority -1 holds the BIOS
  ROM at 4 GiB - 256 KiB and ``isa-bios`` at 0xe0000; PAM windows at
  0xc0000-0xfffff route to it after reset.
* ``/machine/i440fx`` (``i440FX-pcihost``) with bus ``pci.0`` and the I/O
  APIC as ``/machine/i440fx/ioapic`` (MMIO 0xfec00000);
  ``/machine/unattached/device[2]`` i440FX (00.0),
  ``device[3]`` PIIX3 (01.0) with ``isa.0``, ``device[4]``/``device[5]``
  the 8259 pair, ``device[9]`` the RTC (0x70), ``device[10]`` the PIT
  (0x40), ``device[11]`` port 0x61, then one ``isa-serial`` per ``-serial``
  (0x3f8, 0x2f8, ...), then the ``i8042`` keyboard controller (0x60/0x64);
  ``/machine/acpi-pm`` the ACPI PM block (0x600, SCI on IRQ 9) with the
  static ACPI tables at 0x9fc00 for direct kernel boot (``acpi=off`` drops
  both; QEMU's PIIX4 PM function is a PCI device 01.3 set up by firmware);
  ``/machine/fw_cfg`` (0x510, DMA 0x514); port sinks
  0x80 and 0xf0; PIIX3 reset control at 0xcf9.
* Interrupts: ISA IRQ N -> GSI N -> 8259 input N and I/O APIC input N (the
  I/O APIC wires input 0 to pin 2); PCI INTx through the PIIX3 PIRQ routers.

The slots QEMU fills with devices qemu-py does not have yet (device[0] the
CPU, [1] kvmvapic, [6] VGA, [7] HPET, [8]) are left free so the numbering of
the rest matches QEMU's. Not modelled: CPU (the TCG issue adds it), HPET,
VGA, the default NIC, IDE/USB functions of the PIIX, the PIIX4 PM as a PCI
function, the PS/2 keyboard and mouse behind the i8042, the DMA controllers,
port 92 and SMM.
"""

from __future__ import annotations

from qemu_py.hw.char.serial import ISASerial
from qemu_py.hw.core.machine import Machine, machine_type
from qemu_py.hw.intc.i8259 import i8259_init
from qemu_py.hw.intc.ioapic import IOAPIC, IOAPIC_DEFAULT_BASE
from qemu_py.hw.isa.isa_bus import ISADevice
from qemu_py.hw.isa.piix3 import PIIX3
from qemu_py.hw.misc.ioport import ioport80_region, ioportf0_region
from qemu_py.hw.pci.i440fx import I440FX, I440FXHost
from qemu_py.hw.pci.pci import PCIBus, PCIDevice
from qemu_py.hw.rtc.mc146818rtc import MC146818RTC
from qemu_py.hw.timer.i8254 import PIT, PCSpeaker
from qemu_py.memory import MemoryRegion
from qemu_py.qom import QOMError
from qemu_py.system.numbers import parse_size

from . import x86

MAX_ISA_SERIAL_PORTS = 4


@machine_type("pc-i440fx-7.2", targets=("x86_64",), default_for=("x86_64",), alias="pc",
              desc="Standard PC (i440FX + PIIX, 1996)")
class PCMachine(Machine):
    DEFAULT_RAM_SIZE = 128 * 1024 * 1024
    MACHINE_PROPS = {
        "max-ram-below-4g": "Maximum ram below the 4G boundary (32bit boundary)",
        "hpet": "Enable/disable high precision event timer emulation (not modelled)",
        "acpi": "Enable ACPI",
        "smm": "Enable SMM (not modelled)",
        "vmport": "Enable vmport (not modelled)",
        "pit": "Enable i8254 PIT",
        "pic": "Enable i8259 PIC",
        "sata": "Enable SATA (not modelled)",
    }

    def unattached_slot(self, dev, n: int):
        self.attach_device(dev, self.unattached, f"device[{n}]")

    def init(self):
        mem = self.system_memory
        max_below = self.machine_prop("max-ram-below-4g")
        try:
            max_below = parse_size(max_below) if max_below is not None else 0xe0000000
        except ValueError:
            raise QOMError("Parameter 'max-ram-below-4g' expects a size") from None
        if max_below > 4 * x86.GiB:
            raise QOMError("max-ram-below-4g must be at most 4G")
        self.below_4g, self.above_4g = x86.ram_split(self.ram_size, max_below)
        ram = x86.init_ram(self, "pc.ram", self.below_4g, self.above_4g)

        self.pci_memory = MemoryRegion("pci", (1 << 64) - 1, owner=self)
        mem.add_subregion_overlap(0, self.pci_memory, -1)
        x86.init_bios(self, self.pci_memory)

        self.gsi = x86.GSIRouter()

        host = self.i440fx_host = I440FXHost()
        host.machine = self
        bus = self.pci_bus = PCIBus("pci.0", self.pci_memory, self.io_memory, mem)
        host.bus = bus
        host.add_child("pci.0", bus)
        host.init_conf_regions()
        self.attach_device(host, self, "i440fx")
        host.map_conf_regions(self.io_memory)

        i440fx = I440FX()
        i440fx.machine = self
        i440fx.pci_bus = bus
        i440fx.set_property("addr", "0")
        self.unattached_slot(i440fx, 2)
        i440fx.setup_memory(mem, ram, self.pci_memory)

        piix3 = self.piix3 = PIIX3()
        piix3.machine = self
        piix3.pci_bus = bus
        piix3.set_property("addr", "1")
        piix3.set_property("multifunction", "on")
        self.isa_bus = piix3.create_isa_bus(self.io_memory, self.gsi.irqs[:16], mem)
        self.unattached_slot(piix3, 3)

        if x86.parse_onoffauto(self, "pic") != "off":
            self.pic, self.gsi.pic_inputs = i8259_init(
                self, self.unattached, None, ("device[4]", "device[5]"))
        else:
            self.pic = None

        ioapic = self.ioapic = IOAPIC()
        ioapic.machine = self
        self.attach_device(ioapic, host, "ioapic")
        mem.add_subregion(IOAPIC_DEFAULT_BASE, ioapic.mmio)
        self.gsi.ioapic = ioapic

        for name in ("hpet", "smm", "vmport", "sata"):
            if self.machine_prop(name) is not None:
                from qemu_py.system.log import unimp
                unimp(f"pc: machine property {name} is accepted but not modelled")

        self.io_memory.add_subregion(0x80, ioport80_region())
        self.io_memory.add_subregion(0xf0, ioportf0_region())

        rtc = self.rtc = MC146818RTC()
        rtc.machine = self
        rtc.set_property("base_year", 2000)
        self.unattached_slot(rtc, 9)
        rtc.connect_isa_irq()
        self.add_property("rtc-time", "struct tm", get=rtc._date_prop)
        self.cmos_init(rtc)

        if x86.parse_onoffauto(self, "pit") != "off":
            pit = self.pit = PIT()
            pit.machine = self
            self.unattached_slot(pit, 10)
            pit.irq_out.connect(pit.isa_get_irq(0))
            spk = PCSpeaker()
            spk.machine = self
            spk.pit = pit
            self.unattached_slot(spk, 11)

        slot = 12
        for index, chr_ in enumerate(getattr(self, "serial_chardevs", [])[:MAX_ISA_SERIAL_PORTS]):
            if chr_ is None:
                continue
            ser = ISASerial()
            ser.machine = self
            ser.backend = chr_
            ser.set_property("index", index)
            self.unattached_slot(ser, slot)
            slot += 1
        x86.init_i8042(self, self.unattached, f"device[{slot}]")

        x86.init_acpi(self, reset_port=0xcf9, i8042=True)
        self.fw_cfg = x86.setup_fw_cfg(self, self.below_4g, self.above_4g)

    def cmos_init(self, rtc):
        """The memory-size and boot bytes a PC BIOS reads from CMOS."""
        rtc.set_cmos_data(0x15, 640 & 0xff)
        rtc.set_cmos_data(0x16, 640 >> 8)
        val = min(self.below_4g // 1024 - 1024, 65535) if self.below_4g > 1024 * 1024 else 0
        for reg in (0x17, 0x30):
            rtc.set_cmos_data(reg, val & 0xff)
            rtc.set_cmos_data(reg + 1, val >> 8)
        val = min((self.below_4g - 16 * 1024 * 1024) // 65536, 65535) \
            if self.below_4g > 16 * 1024 * 1024 else 0
        rtc.set_cmos_data(0x34, val & 0xff)
        rtc.set_cmos_data(0x35, val >> 8)
        val = self.above_4g // 65536
        rtc.set_cmos_data(0x5b, val & 0xff)
        rtc.set_cmos_data(0x5c, (val >> 8) & 0xff)
        rtc.set_cmos_data(0x5d, (val >> 16) & 0xff)
        rtc.set_cmos_data(0x5f, 0)                 # number of CPUs - 1
        rtc.set_cmos_data(0x14, 0x06)              # equipment: FPU, PS/2 mouse
        rtc.set_cmos_data(0x3d, 0x12)              # boot order c, a
        rtc.set_cmos_data(0x38, 0x31)              # then d; floppy signature check off

    def plug_user_device(self, dev):
        if isinstance(dev, PCIDevice):
            want = dev.prop("bus")
            if want is not None and want != "pci.0":
                raise QOMError(f"Bus '{want}' not found")
            dev.pci_bus = self.pci_bus
        elif isinstance(dev, ISADevice):
            want = dev.prop("bus") if dev.find_property("bus") else None
            if want is not None and want != "isa.0":
                raise QOMError(f"Bus '{want}' not found")
            dev.isa_bus = self.isa_bus
        self.attach_user_device(dev)
