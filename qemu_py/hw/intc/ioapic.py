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

from qemu_py.hw.core.vmstate import VMState
from qemu_py.hw.misc.registers import Field, Reg, RegisterBlock
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
    Reg(0x00, "IOREGSEL", width=4, read="_ioregsel_read", write="_ioregsel_write"),
    Reg(0x10, "IOWIN", width=4, read="_iowin_read", write="_iowin_write",
        desc="window on the register selected by IOREGSEL"),
    Reg(0x40, "EOI", width=4, access="wo", write="_eoi_write",
        desc="version 0x20: EOI of a vector"),
)
# Registers behind IOWIN, at IOREGSEL indices (32-bit words; IOREDTBLn spans two).
INDIRECT_REGS = (
    Reg(0x00, "IOAPICID", width=4, read="_id_read", write="_id_write",
        fields=(Field("ID", 24, 4),)),
    Reg(0x01, "IOAPICVER", width=4, access="ro", read="_ver_read"),
    Reg(0x02, "IOAPICARB", width=4, access="ro", read="_arb_read"),
) + tuple(Reg(0x10 + 2 * i, f"IOREDTBL{i}", reset=1 << 16, width=8, fields=REDTBL_FIELDS,
              read="_redtbl_read", write="_redtbl_write", index=i)
          for i in range(IOAPIC_NUM_PINS))
# IOREGSEL index -> (register, 32-bit half): the decode table of IOWIN.
INDIRECT_DECODE = {r.offset + half: (r, half) for r in INDIRECT_REGS
                   for half in range(r.width // 4)}
ID = INDIRECT_REGS[0].field("ID")

MASKED = 1 << 16
TRIGGER_LEVEL = 1 << 15
REMOTE_IRR = 1 << 14
POLARITY = 1 << 13
DELIVS = 1 << 12
RO_BITS = REMOTE_IRR | DELIVS


@register_type("ioapic", "device", desc="I/O APIC", user_creatable=False)
class IOAPIC(Device):
    PROPS = [DeviceProp("version", "uint8", 0x20)]
    VMSTATE = VMState("ioapic", 1, ("apic_id", "ioregsel", "irr", "ioredtbl"),
                      post_load="post_load")

    def post_load(self) -> str | None:
        if len(self.ioredtbl) != IOAPIC_NUM_PINS:
            return f"{len(self.ioredtbl)} redirection entries, not {IOAPIC_NUM_PINS}"
        return None

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
        self.regs = RegisterBlock(self, "ioapic", MMIO_REGS, offset_mask=0xff,
                                  unknown_fmt="{name}: {what} of unknown offset 0x{offset:02x}")
        self.mmio = MemoryRegion.io("ioapic", 0x1000, MemoryRegionOps(
            read=self.regs.read, write=self.regs.write, endianness=Endian.LITTLE,
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
    def _ioregsel_read(self, sub: int, size: int) -> int:
        return self.ioregsel

    def _ioregsel_write(self, sub: int, val: int, size: int):
        self.ioregsel = val & 0xffffffff

    def _iowin_read(self, sub: int, size: int) -> int:
        hit = INDIRECT_DECODE.get(self.ioregsel)
        if hit is None:
            guest_error(f"ioapic: read of unknown register 0x{self.ioregsel:02x} through IOWIN")
            return 0
        reg, half = hit
        fn = getattr(self, reg.read)
        return fn(half) if reg.index is None else fn(reg.index, half)

    def _iowin_write(self, sub: int, val: int, size: int):
        sel = self.ioregsel
        hit = INDIRECT_DECODE.get(sel)
        if hit is None:
            guest_error(f"ioapic: write of unknown register 0x{sel:02x} through IOWIN")
            return
        reg, half = hit
        if reg.access == "ro":
            guest_error(f"ioapic: write to read-only register 0x{sel:02x}")
            return
        fn = getattr(self, reg.write)
        val &= 0xffffffff
        if reg.index is None:
            fn(half, val)
        else:
            fn(reg.index, half, val)

    def _eoi_write(self, sub: int, val: int, size: int):
        if self.prop("version") >= 0x20:
            self.eoi_broadcast(val & 0xff)
        else:
            guest_error("ioapic: EOI register does not exist in version 0x11")

    def _id_read(self, half: int) -> int:
        return ID.set(0, self.apic_id)

    def _id_write(self, half: int, val: int):
        self.apic_id = ID.get(val)

    def _ver_read(self, half: int) -> int:
        return self.prop("version") | ((IOAPIC_NUM_PINS - 1) << 16)

    def _arb_read(self, half: int) -> int:
        return 0

    def _redtbl_read(self, index: int, half: int) -> int:
        return (self.ioredtbl[index] >> (32 * half)) & 0xffffffff

    def _redtbl_write(self, index: int, half: int, val: int):
        entry = self.ioredtbl[index]
        if half:
            entry = (entry & 0xffffffff) | (val << 32)
        else:
            entry = (entry & ~0xffffffff & ((1 << 64) - 1)) | (val & ~RO_BITS) | (entry & RO_BITS)
        if not entry & TRIGGER_LEVEL:
            entry &= ~REMOTE_IRR
        self.ioredtbl[index] = entry
        self.service()
