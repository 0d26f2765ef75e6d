"""Intel 82093AA I/O APIC (``ioapic``), version 0x20, 24 pins.

Models (after the 82093AA datasheet, 290566): IOREGSEL/IOWIN indirect access,
the ID, version and arbitration registers, a 24-entry redirection table
(vector, delivery mode, destination mode, polarity, trigger mode, mask,
destination), edge inputs that latch only while unmasked, level inputs with
remote IRR that is cleared by an EOI (the version 0x20 EOI register at 0x40,
or :meth:`eoi_broadcast` from a local APIC). Delivery is a message write of
QEMU's MSI format (address 0xfee00000 | dest << 12 | dest_mode << 2, data
vector | delivery_mode << 8 | trigger << 15) into the machine's address space,
where a local APIC model can pick it up.

Numbering as in QEMU's PCs: input 0 (the ISA timer) is wired to pin 2, every
other input N to pin N; the gpio index is the ISA IRQ / GSI.

Not modelled: input polarity inversion (logged as unimplemented when set
on an unmasked pin), interrupt remapping, the delivery-status bit (always 0).
"""

from __future__ import annotations

from qemu_py.hw.misc.registers import Field, Reg
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import Device, DeviceProp, register_type
from qemu_py.system.log import guest_error, unimp

IOAPIC_NUM_PINS = 24
IOAPIC_DEFAULT_BASE = 0xfec00000

REDTBL_FIELDS = (
    Field("VECTOR", 0, 8), Field("DELMOD", 8, 3), Field("DESTMOD", 11), Field("DELIVS", 12),
    Field("INTPOL", 13), Field("REMOTE_IRR", 14), Field("TRIGGER", 15), Field("MASK", 16),
    Field("DEST", 56, 8),
)
MMIO_REGS = (
    Reg(0x00, "IOREGSEL", width=4),
    Reg(0x10, "IOWIN", width=4, desc="window on the register selected by IOREGSEL"),
    Reg(0x40, "EOI", width=4, access="wo", desc="version 0x20: EOI of a vector"),
)
INDIRECT_REGS = (
    Reg(0x00, "IOAPICID", width=4, fields=(Field("ID", 24, 4),)),
    Reg(0x01, "IOAPICVER", width=4, access="ro"),
    Reg(0x02, "IOAPICARB", width=4, access="ro"),
) + tuple(Reg(0x10 + 2 * i, f"IOREDTBL{i}", reset=1 << 16, width=8, fields=REDTBL_FIELDS)
          for i in range(IOAPIC_NUM_PINS))

MASKED = 1 << 16
TRIGGER_LEVEL = 1 << 15
REMOTE_IRR = 1 << 14
POLARITY = 1 << 13
DELIVS = 1 << 12
RO_BITS = REMOTE_IRR | DELIVS


@register_type("ioapic", "device", desc="I/O APIC", user_creatable=False)
class IOAPIC(Device):
    PROPS = [DeviceProp("version", "uint8", 0x20)]

    def __init__(self):
        super().__init__()
        self.machine = None
        self.id = None
        self.apic_id = 0
        self.ioregsel = 0
        self.irr = 0
        self.ioredtbl = [MASKED] * IOAPIC_NUM_PINS
        self.init_gpio_in(self._set_irq, IOAPIC_NUM_PINS)
        self.deliver = None            # fn(addr, data); default: write to system memory
        self.deliveries: list[tuple[int, int]] = []

    def realize(self):
        if self.prop("version") not in (0x11, 0x20):
            from qemu_py.qom import QOMError
            raise QOMError(f"IOAPIC only supports version 0x11 or 0x20 (version 0x{self.prop('version'):x})")
        self.mmio = MemoryRegion.io("ioapic", 0x1000, MemoryRegionOps(
            read=self._mem_read, write=self._mem_write, endianness=Endian.LITTLE,
            impl_min=4, impl_max=4), owner=self)

    def reset(self):
        self.apic_id = 0
        self.ioregsel = 0
        self.irr = 0
        self.ioredtbl = [MASKED] * IOAPIC_NUM_PINS

    # -- inputs --------------------------------------------------------------------
    def _set_irq(self, vector: int, level: int):
        if vector == 0:
            vector = 2
        if vector >= IOAPIC_NUM_PINS:
            return
        mask = 1 << vector
        entry = self.ioredtbl[vector]
        if entry & TRIGGER_LEVEL:
            if level:
                self.irr |= mask
                if not entry & REMOTE_IRR:
                    self.service()
            else:
                self.irr &= ~mask
        elif level and not entry & MASKED:
            self.irr |= mask
            self.service()

    def service(self):
        for pin in range(IOAPIC_NUM_PINS):
            mask = 1 << pin
            if not self.irr & mask:
                continue
            entry = self.ioredtbl[pin]
            if entry & MASKED:
                continue
            if entry & TRIGGER_LEVEL:
                if entry & REMOTE_IRR:
                    continue
                self.ioredtbl[pin] |= REMOTE_IRR
            else:
                self.irr &= ~mask
            if entry & POLARITY:
                unimp(f"ioapic: active-low polarity on pin {pin} not modelled")
            vector = entry & 0xff
            delivery_mode = (entry >> 8) & 7
            dest_mode = (entry >> 11) & 1
            dest = (entry >> 56) & 0xff
            trigger = 1 if entry & TRIGGER_LEVEL else 0
            if delivery_mode == 7:         # ExtINT: the vector comes from the PIC
                vector = 0
            addr = 0xfee00000 | (dest << 12) | (dest_mode << 2)
            data = vector | (delivery_mode << 8) | (trigger << 15)
            self._send(addr, data)

    def _send(self, addr: int, data: int):
        self.deliveries.append((addr, data))
        del self.deliveries[:-64]
        if self.deliver is not None:
            self.deliver(addr, data)
        elif self.machine is not None:
            self.machine.system_as.write(addr, data.to_bytes(4, "little"))

    def eoi_broadcast(self, vector: int):
        """A local APIC signalled EOI for VECTOR: clear remote IRR, re-deliver."""
        for pin in range(IOAPIC_NUM_PINS):
            entry = self.ioredtbl[pin]
            if not entry & TRIGGER_LEVEL or (entry & 0xff) != vector or not entry & REMOTE_IRR:
                continue
            self.ioredtbl[pin] = entry & ~REMOTE_IRR
            if not entry & MASKED and self.irr & (1 << pin):
                self.service()

    # -- registers -----------------------------------------------------------------
    def _mem_read(self, addr: int, size: int) -> int:
        addr &= 0xff
        if addr == 0x00:
            return self.ioregsel
        if addr == 0x10:
            sel = self.ioregsel
            if sel == 0x00:
                return (self.apic_id & 0xf) << 24
            if sel == 0x01:
                return self.prop("version") | ((IOAPIC_NUM_PINS - 1) << 16)
            if sel == 0x02:
                return 0
            index = (sel - 0x10) >> 1
            if 0 <= index < IOAPIC_NUM_PINS:
                entry = self.ioredtbl[index]
                return (entry >> 32) & 0xffffffff if sel & 1 else entry & 0xffffffff
            guest_error(f"ioapic: read of unknown register 0x{sel:02x} through IOWIN")
            return 0
        if addr != 0x40:
            guest_error(f"ioapic: read of unknown offset 0x{addr:02x}")
        return 0

    def _mem_write(self, addr: int, val: int, size: int):
        addr &= 0xff
        val &= 0xffffffff
        if addr == 0x00:
            self.ioregsel = val
        elif addr == 0x10:
            sel = self.ioregsel
            if sel == 0x00:
                self.apic_id = (val >> 24) & 0xf
            elif sel in (0x01, 0x02):
                guest_error(f"ioapic: write to read-only register 0x{sel:02x}")
            else:
                index = (sel - 0x10) >> 1
                if not 0 <= index < IOAPIC_NUM_PINS:
                    guest_error(f"ioapic: write of unknown register 0x{sel:02x} through IOWIN")
                    return
                entry = self.ioredtbl[index]
                if sel & 1:
                    entry = (entry & 0xffffffff) | (val << 32)
                else:
                    entry = (entry & ~0xffffffff & ((1 << 64) - 1)) | (val & ~RO_BITS) | (entry & RO_BITS)
                if not entry & TRIGGER_LEVEL:
                    entry &= ~REMOTE_IRR
                self.ioredtbl[index] = entry
                self.service()
        elif addr == 0x40:
            if self.prop("version") >= 0x20:
                self.eoi_broadcast(val & 0xff)
            else:
                guest_error("ioapic: EOI register does not exist in version 0x11")
        else:
            guest_error(f"ioapic: write of unknown offset 0x{addr:02x}")
