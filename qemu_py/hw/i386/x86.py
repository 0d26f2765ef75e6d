"""What every x86 board here shares: RAM layout, the BIOS ROM, GSI routing, fw_cfg.

RAM is one region (``pc.ram`` / ``microvm.ram``) seen through two aliases,
``ram-below-4g`` at 0 and ``ram-above-4g`` at 4 GiB. The BIOS ROM (``pc.bios``,
256 KiB) sits at the top of the 4 GiB space with its last 128 KiB aliased at
0xe0000 (``isa-bios``); without a firmware file it is filled with 0xff and a
reset stub at 0xfffffff0 (``cli; hlt; jmp .-1``). The 24 GSIs fan out to the
two 8259s (GSI 0-15) and to the I/O APIC's inputs. ``-kernel`` with a
multiboot or PVH image becomes ``machine.kernel_boot`` (see :func:`load_linux`),
which TCG and KVM load and enter the same way at every reset.
"""

from __future__ import annotations

import struct

from qemu_py.hw.nvram import fw_cfg as fwc
from qemu_py.loader import x86boot
from qemu_py.loader.bzimage import prepare_bzimage
from qemu_py.loader.elf import LoaderError
from qemu_py.loader.files import read_image_file
from qemu_py.memory import MemoryRegion
from qemu_py.qom import IRQ, QOMError

GiB = 1 << 30
BIOS_SIZE = 256 * 1024
ISA_BIOS_SIZE = 128 * 1024
RESET_STUB = bytes([0xfa, 0xf4, 0xeb, 0xfd])
GSI_NUM_PINS = 24
E820_RAM, E820_RESERVED = 1, 2
CPU_ACCELS = ("tcg", "kvm")         # accelerators that run the guest's code


def ram_split(ram_size: int, max_below_4g: int, gigabyte_align: bool = True) -> tuple[int, int]:
    """(below_4g, above_4g) by QEMU's pc_piix rule."""
    lowmem = max_below_4g
    if ram_size >= max_below_4g and gigabyte_align and lowmem > 0xc0000000:
        lowmem = 0xc0000000
    if ram_size >= lowmem:
        return lowmem, ram_size - lowmem
    return ram_size, 0


def init_ram(machine, name: str, below: int, above: int) -> MemoryRegion:
    ram = MemoryRegion.ram(name, machine.ram_size, owner=machine)
    low = MemoryRegion.alias("ram-below-4g", ram, 0, below)
    machine.system_memory.add_subregion(0, low)
    if above:
        high = MemoryRegion.alias("ram-above-4g", ram, below, above)
        machine.system_memory.add_subregion(4 * GiB, high)
    machine.ram = ram
    return ram


def init_bios(machine, rom_space: MemoryRegion, name: str = "pc.bios",
              size: int = BIOS_SIZE) -> MemoryRegion:
    bios = MemoryRegion.rom(name, size, owner=machine)
    image = bytearray(b"\xff" * size)
    image[size - 16:size - 16 + len(RESET_STUB)] = RESET_STUB
    bios.host[:] = image
    rom_space.add_subregion(4 * GiB - size, bios)
    isa_size = min(size, ISA_BIOS_SIZE)
    isa_bios = MemoryRegion.alias("isa-bios", bios, size - isa_size, isa_size)
    isa_bios.set_readonly(True)
    rom_space.add_subregion_overlap(0x100000 - isa_size, isa_bios, 1)
    return bios


class GSIRouter:
    """Global system interrupts 0-23 -> i8259 inputs (0-15) and I/O APIC inputs."""

    def __init__(self):
        self.pic_inputs: list | None = None
        self.ioapic = None
        self.irqs = [IRQ(self._set, n) for n in range(GSI_NUM_PINS)]

    def _set(self, n: int, level: int):
        if self.pic_inputs is not None and n < 16:
            self.pic_inputs[n].set(level)
        if self.ioapic is not None:
            self.ioapic.get_gpio_in(n).set(level)


def e820_table(below: int, above: int) -> bytes:
    entries = [(0, below, E820_RAM)]
    if above:
        entries.append((4 * GiB, above, E820_RAM))
    return b"".join(struct.pack("<QQI", a, s, t) for a, s, t in entries)


def setup_fw_cfg(machine, below: int, above: int, irq0_override: bool = True):
    """Create /machine/fw_cfg with the x86 items QEMU's boards provide."""
    fw = fwc.FWCfgIO()
    fw.machine = machine
    machine.attach_device(fw, machine, "fw_cfg")
    fw.add_i16(fwc.FW_CFG_NB_CPUS, 1)
    fw.add_i16(fwc.FW_CFG_MAX_CPUS, 1)
    fw.add_i64(fwc.FW_CFG_RAM_SIZE, machine.ram_size)
    fw.add_i16(fwc.FW_CFG_NOGRAPHIC, 1 if machine.config.nographic else 0)
    fw.add_bytes(fwc.FW_CFG_NUMA, struct.pack("<QQ", 0, 0))
    fw.add_bytes(fwc.FW_CFG_ACPI_TABLES, struct.pack("<H", 0))
    fw.add_bytes(fwc.FW_CFG_E820_TABLE, struct.pack("<I", 0))
    if irq0_override:
        fw.add_i32(fwc.FW_CFG_IRQ0_OVERRIDE, 1)
    fw.add_file("etc/e820", e820_table(below, above))
    fw.add_file("etc/boot-fail-wait", struct.pack("<i", -1))
    load_linux(machine, fw, below)
    fw.map_io(machine.io_memory)
    return fw


def _read_file(path: str, what: str, limit: int) -> bytes:
    try:
        return read_image_file(path, what, limit)
    except LoaderError as e:
        raise QOMError(str(e)) from None


def load_linux(machine, fw, below: int):
    """-kernel/-initrd/-append: a bzImage as fw_cfg items (the linuxboot option
    ROM's view) and, when a CPU runs, prepared for direct boot through the
    Linux boot protocol by :mod:`qemu_py.loader.bzimage`; a multiboot or PVH image prepared for direct boot by
    :mod:`qemu_py.loader.x86boot` (``machine.kernel_boot``), whichever
    accelerator runs the CPU."""
    cfg = machine.config
    machine.kernel_boot = None
    if cfg.kernel is None:
        if cfg.initrd is not None:
            raise QOMError("-initrd only allowed with -kernel option")
        if cfg.append is not None:
            raise QOMError("-append only allowed with -kernel option")
        return
    kernel = _read_file(cfg.kernel, "kernel", machine.ram_size)
    cmdline = (cfg.append or "").encode()
    if x86boot.is_linux_boot_protocol(kernel):
        if getattr(machine.vm, "accel", None) in CPU_ACCELS:
            # no firmware here runs the linuxboot option ROM: the Linux boot
            # protocol is done directly (zero page, 64-bit entry)
            try:
                machine.kernel_boot = prepare_bzimage(machine, cfg, kernel)
            except LoaderError as e:
                raise QOMError(str(e)) from None
        setup_sects = kernel[0x1f1] or 4
        setup_size = (setup_sects + 1) * 512
        setup, body = kernel[:setup_size], kernel[setup_size:]
    else:
        # multiboot and PVH: laid out now, written to RAM and entered by the
        # accelerator at every reset (machine.kernel_boot); -initrd then names
        # multiboot modules
        try:
            machine.kernel_boot = x86boot.prepare_kernel(machine, cfg, kernel)
        except LoaderError as e:
            raise QOMError(str(e)) from None
        return
    fw.add_i32(fwc.FW_CFG_KERNEL_ADDR, 0x100000)
    fw.add_i32(fwc.FW_CFG_KERNEL_SIZE, len(body))
    fw.add_bytes(fwc.FW_CFG_KERNEL_DATA, body)
    fw.add_i32(fwc.FW_CFG_SETUP_ADDR, 0x10000 if setup else 0)
    fw.add_i32(fwc.FW_CFG_SETUP_SIZE, len(setup))
    fw.add_bytes(fwc.FW_CFG_SETUP_DATA, setup)
    fw.add_i32(fwc.FW_CFG_CMDLINE_ADDR, 0x20000)
    fw.add_i32(fwc.FW_CFG_CMDLINE_SIZE, len(cmdline) + 1)
    fw.add_bytes(fwc.FW_CFG_CMDLINE_DATA, cmdline + b"\0")
    fw.add_bytes(fwc.FW_CFG_KERNEL_CMDLINE, cmdline + b"\0")
    if cfg.initrd is not None:
        initrd = _read_file(cfg.initrd, "initrd", machine.ram_size)
        initrd_max = min(below, 0x38000000) - 1
        addr = (initrd_max - len(initrd)) & ~0xfff
        if addr < 0x100000:
            raise QOMError(f"initrd is too large ({len(initrd)} bytes)")
        fw.add_i32(fwc.FW_CFG_INITRD_ADDR, addr)
        fw.add_i32(fwc.FW_CFG_INITRD_SIZE, len(initrd))
        fw.add_bytes(fwc.FW_CFG_INITRD_DATA, initrd)


ACPI_TABLES_BASE = 0x9FC00          # the reserved top KiB below 640 KiB (EBDA)


def init_acpi(machine, reset_port: int | None, i8042: bool):
    """``acpi=on`` (the default): the PM block at 0x600 and the static tables
    (``machine.acpi_tables``) that the direct-boot loaders place and point
    the kernel at; ``system_powerdown`` presses the ACPI power button."""
    machine.acpi_tables = None
    machine.acpi_pm = None
    if parse_onoffauto(machine, "acpi") == "off":
        return
    from qemu_py.hw.acpi.pm import ACPIPMBlock
    from qemu_py.hw.acpi.tables import AcpiConfig, build_tables
    pm = machine.acpi_pm = ACPIPMBlock()
    pm.machine = machine
    pm.isa_bus = machine.isa_bus
    machine.attach_device(pm, machine, "acpi-pm")
    cfg = AcpiConfig(pm_base=pm.prop("iobase"), reset_port=reset_port, i8042=i8042)
    machine.acpi_tables = build_tables(ACPI_TABLES_BASE, cfg)
    machine.powerdown_request = pm.power_button


def init_i8042(machine, parent=None, name: str | None = None):
    from qemu_py.hw.input.i8042 import I8042
    kbd = machine.i8042 = I8042()
    kbd.machine = machine
    if parent is None:
        machine.attach_device(kbd)
    else:
        machine.attach_device(kbd, parent, name)
    return kbd


def parse_onoffauto(machine, name: str, default: str = "auto") -> str:
    val = machine.machine_prop(name, default)
    if val in ("on", "yes", "true"):
        return "on"
    if val in ("off", "no", "false"):
        return "off"
    if val == "auto":
        return "auto"
    raise QOMError(f"Parameter '{name}' does not accept value '{val}'")
