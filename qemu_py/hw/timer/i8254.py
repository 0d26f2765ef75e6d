"""Intel 8254 programmable interval timer (``isa-pit``) and the PC speaker port 0x61.

Models (after the Intel 82C54 datasheet, 23124406): three 16-bit channels
clocked at 1.193182 MHz on the virtual clock, modes 0-5 (mode 6/7 alias 2/3),
LSB / MSB / LSB-then-MSB access, counter latch, read-back of count and status,
the gate input (channels 0 and 1 tied high; channel 2's gate is bit 0 of port
0x61) and channel 0's output on ISA IRQ 0. Output levels and transition
times follow QEMU's arithmetic exactly (``muldiv64`` rounding, a minimum of
1 ns between transitions), so ``clock_step`` lands on the same nanoseconds as
QEMU: in mode 3 with the reset count 65536 the output rises at 27462700 ns,
falls at 27462701 ns and the next edge is due at 54925401 ns.

Counts and output levels are functions of the virtual clock. A periodic
channel (modes 2 and 3) stepped over more than ``COALESCE_PERIODS`` periods in
one clock warp jumps to the period just before the destination instead of
delivering every edge (QEMU visits each one; with a count of 4 and a 10 s
``clock_step`` that is six million edges); the count read afterwards is the
same.

Not modelled: BCD counting (the BCD bit is stored and reported in status, the
count runs binary; logged as unimplemented), the null-count status bit, gate
low stopping the count in modes 0/2/3/4 (as in QEMU), odd-count asymmetry of
mode 3.

``isa-pcspk`` is port 0x61 (NMI status and control): bit 0 channel-2 gate,
bit 1 speaker data enable, bit 4 a refresh toggle that flips on each read,
bit 5 channel-2 output. There is no audio backend.
"""

from __future__ import annotations

from qemu_py.hw.core.vmstate import Sub, VMState
from qemu_py.hw.isa.isa_bus import ISADevice
from qemu_py.hw.misc.registers import Field, Reg, RegisterBlock
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import DeviceProp, register_type
from qemu_py.system.log import guest_error, unimp

PIT_FREQ = 1193182
NS = 1_000_000_000

# A periodic channel stepped over more periods than this in one clock warp
# jumps ahead (its edges in between are not delivered one by one).
COALESCE_PERIODS = 1000

RW_STATE_LSB, RW_STATE_MSB, RW_STATE_WORD0, RW_STATE_WORD1 = 1, 2, 3, 4

REGS = tuple(Reg(i, f"COUNTER{i}", read="_counter_read", write="_counter_write", index=i)
             for i in range(3)) + (
    Reg(3, "CONTROL", access="wo", read="_control_read", write="_control_write", fields=(
        Field("BCD", 0), Field("MODE", 1, 3), Field("RW", 4, 2), Field("SC", 6, 2))),
)
CONTROL = REGS[3]
BCD, MODE, RW, SC = (CONTROL.field(n) for n in ("BCD", "MODE", "RW", "SC"))
READ_BACK = 3                        # SC value of the read-back command


def muldiv64(a: int, b: int, c: int) -> int:
    return (a * b) // c


class PITChannel:
    STATE = ("count", "latched_count", "count_latched", "status_latched", "status",
             "read_state", "write_state", "write_latch", "rw_mode", "mode", "bcd", "gate",
             "count_load_time", "next_transition_time")
    VMSTATE = VMState("i8254-channel", 1, STATE, timers=("irq_timer",), post_load="post_load")

    def __init__(self, pit: PIT, index: int):
        self.pit = pit
        self.index = index
        for name in self.STATE:
            setattr(self, name, 0)
        self.irq_timer = None          # channel 0 only
        self.irq_disabled = False

    def post_load(self) -> str | None:
        if not 1 <= self.count <= 0x10000:
            return f"channel {self.index} count 0x{self.count:x} out of range"
        if not 0 <= self.mode <= 5 or not 0 <= self.rw_mode <= 3:
            return f"channel {self.index} mode {self.mode} / access {self.rw_mode} invalid"
        return None

    def now(self) -> int:
        return self.pit.clock.now()

    def ticks(self, current_time: int) -> int:
        return muldiv64(current_time - self.count_load_time, PIT_FREQ, NS)

    def get_count(self) -> int:
        d = self.ticks(self.now())
        if self.mode in (0, 1, 4, 5):
            return (self.count - d) & 0xffff
        if self.mode == 3:
            return self.count - ((2 * d) % self.count)
        return self.count - (d % self.count)

    def get_out(self, current_time: int) -> int:
        d = self.ticks(current_time)
        mode = self.mode
        if mode == 1:
            return int(d < self.count)
        if mode == 2:
            return int(d % self.count == 0 and d != 0)
        if mode == 3:
            return int((d % self.count) < ((self.count + 1) >> 1))
        if mode in (4, 5):
            return int(d == self.count)
        return int(d >= self.count)          # mode 0 (and anything else)

    def next_transition(self, current_time: int) -> int:
        d = self.ticks(current_time)
        mode, count = self.mode, self.count
        if mode == 2:
            base = (d // count) * count
            next_time = base + count if (d - base) == 0 and d != 0 else base + count + 1
        elif mode == 3:
            base = (d // count) * count
            period2 = (count + 1) >> 1
            next_time = base + period2 if (d - base) < period2 else base + count
        elif mode in (4, 5):
            if d < count:
                next_time = count
            elif d == count:
                next_time = count + 1
            else:
                return -1
        else:                                # modes 0 and 1
            if d < count:
                next_time = count
            else:
                return -1
        next_time = self.count_load_time + muldiv64(next_time, NS, PIT_FREQ)
        if next_time <= current_time:
            next_time = current_time + 1
        return next_time

    def irq_timer_update(self, current_time: int):
        if self.irq_timer is None or self.irq_disabled:
            return
        expire = self.next_transition(current_time)
        self.pit.irq_out.set(self.get_out(current_time))
        self.next_transition_time = expire
        if expire != -1:
            self.irq_timer.mod(expire)
        else:
            self.irq_timer.delete()

    def on_timer(self):
        self.irq_timer_update(self._catch_up(self.next_transition_time))

    def _catch_up(self, current_time: int) -> int:
        """The instant to compute the output at, skipping whole periods of a long warp.

        The count is a function of the virtual clock, so a periodic channel
        (modes 2 and 3) need not visit every edge of a step spanning more than
        ``COALESCE_PERIODS`` periods: it jumps to the period boundary just
        before the destination and runs the last edges from there.
        """
        dest = self.pit.clock.warp_dest
        if dest is None or self.mode not in (2, 3):
            return current_time
        d_dest = self.ticks(dest)
        if d_dest - self.ticks(current_time) <= COALESCE_PERIODS * self.count:
            return current_time
        base = (d_dest // self.count - 1) * self.count
        return max(current_time, self.count_load_time + muldiv64(base, NS, PIT_FREQ))

    def load_count(self, val: int):
        if val == 0:
            val = 0x10000
        self.count_load_time = self.now()
        self.count = val
        self.irq_timer_update(self.count_load_time)

    def latch_count(self):
        if not self.count_latched:
            self.latched_count = self.get_count()
            self.count_latched = self.rw_mode

    def set_gate(self, val: int):
        if self.mode in (1, 2, 3, 5) and self.gate < val:
            # restart counting on the rising edge
            self.count_load_time = self.now()
            self.irq_timer_update(self.count_load_time)
        self.gate = val

    def reset(self):
        for name in ("latched_count", "count_latched", "status_latched", "status", "read_state",
                     "write_state", "write_latch", "rw_mode", "bcd"):
            setattr(self, name, 0)
        self.mode = 3
        self.gate = int(self.index != 2)
        self.count_load_time = self.now()
        self.count = 0x10000
        if self.index == 0 and not self.irq_disabled:
            self.next_transition_time = self.next_transition(self.count_load_time)


@register_type("isa-pit", "isa-device", desc="ISA i8254 PIT", user_creatable=False)
class PIT(ISADevice):
    PROPS = [DeviceProp("iobase", "uint32", 0x40)]
    VMSTATE = VMState("i8254", 1, (Sub("channels", PITChannel.VMSTATE),))

    def __init__(self):
        super().__init__()
        self.channels = [PITChannel(self, i) for i in range(3)]
        self.irq_out = self.init_gpio_out(1)[0]
        self.init_gpio_in(self._gate_in, 1)   # unnamed input 0: channel 2 gate
        self.regs = RegisterBlock(self, "i8254", REGS, offset_mask=3)

    def realize(self):
        self.channels[0].irq_timer = self.clock.new_timer(self.channels[0].on_timer, "pit")
        self.io = MemoryRegion.io("pit", 4, MemoryRegionOps(
            read=self.regs.read, write=self.regs.write, endianness=Endian.LITTLE,
            impl_min=1, impl_max=1), owner=self)
        self.isa_register_ioport(self.io, self.prop("iobase"))

    def reset(self):
        for ch in self.channels:
            ch.reset()
        ch0 = self.channels[0]
        if not ch0.irq_disabled and ch0.irq_timer is not None:
            ch0.irq_timer.mod(ch0.next_transition_time)

    def _gate_in(self, n: int, level: int):
        self.channels[2].set_gate(1 if level else 0)

    # -- public helpers (pcspk, HPET legacy mode) ------------------------------------------
    def channel_info(self, index: int) -> tuple[int, int]:
        ch = self.channels[index]
        return ch.gate, ch.get_out(self.clock.now())

    def set_gate(self, index: int, val: int):
        self.channels[index].set_gate(val)

    # -- port I/O ------------------------------------------------------------------------------
    def _ioport_write(self, addr: int, val: int, size: int):
        self.regs.write(addr, val, size)

    def _ioport_read(self, addr: int, size: int) -> int:
        return self.regs.read(addr, size)

    def _control_write(self, sub: int, val: int, size: int):
        val &= 0xff
        channel = SC.get(val)
        if channel == READ_BACK:
            if not val & 0x0e:
                guest_error("i8254: read-back command selects no counter")
            for index, ch in enumerate(self.channels):
                if val & (2 << index):
                    if not val & 0x20:
                        ch.latch_count()
                    if not val & 0x10 and not ch.status_latched:
                        ch.status = ((ch.get_out(self.clock.now()) << 7) | (ch.rw_mode << 4)
                                     | (ch.mode << 1) | ch.bcd)
                        ch.status_latched = 1
            return
        ch = self.channels[channel]
        access = RW.get(val)
        if access == 0:
            ch.latch_count()
            return
        ch.rw_mode = access
        ch.read_state = access
        ch.write_state = access
        ch.mode = MODE.get(val)
        ch.bcd = BCD.get(val)
        if ch.bcd:
            unimp(f"i8254: BCD counting on channel {channel} not modelled (counts binary)")
        if ch.mode > 5:
            ch.mode -= 4                                 # modes 6 and 7 are 2 and 3

    def _control_read(self, sub: int, size: int) -> int:
        guest_error("i8254: read of the write-only control word register")
        return 0

    def _counter_write(self, index: int, sub: int, val: int, size: int):
        val &= 0xff
        ch = self.channels[index]
        state = ch.write_state
        if state == RW_STATE_MSB:
            ch.load_count(val << 8)
        elif state == RW_STATE_WORD0:
            ch.write_latch = val
            ch.write_state = RW_STATE_WORD1
        elif state == RW_STATE_WORD1:
            ch.load_count(ch.write_latch | (val << 8))
            ch.write_state = RW_STATE_WORD0
        else:
            if state == 0:
                guest_error(f"i8254: counter {index} written before its mode was programmed")
            ch.load_count(val)

    def _counter_read(self, index: int, sub: int, size: int) -> int:
        ch = self.channels[index]
        if ch.status_latched:
            ch.status_latched = 0
            return ch.status
        if ch.count_latched:
            if ch.count_latched == RW_STATE_MSB:
                ch.count_latched = 0
                return (ch.latched_count >> 8) & 0xff
            if ch.count_latched == RW_STATE_WORD0:
                ch.count_latched = RW_STATE_MSB
                return ch.latched_count & 0xff
            ch.count_latched = 0
            return ch.latched_count & 0xff
        state = ch.read_state
        count = ch.get_count()
        if state == RW_STATE_MSB:
            return (count >> 8) & 0xff
        if state == RW_STATE_WORD0:
            ch.read_state = RW_STATE_WORD1
            return count & 0xff
        if state == RW_STATE_WORD1:
            ch.read_state = RW_STATE_WORD0
            return (count >> 8) & 0xff
        return count & 0xff


PCSPK_REGS = (
    Reg(0, "NMI_SC", access="rw", fields=(
        Field("TIM2GATE", 0), Field("SPKR_DATA", 1), Field("REFRESH", 4),
        Field("OUT2", 5))),
)


@register_type("isa-pcspk", "isa-device", desc="PC speaker", user_creatable=False)
class PCSpeaker(ISADevice):
    PROPS = [DeviceProp("iobase", "uint32", 0x61)]

    def __init__(self):
        super().__init__()
        self.pit: PIT | None = None
        self.data_on = 0
        self.refresh = 0

    def realize(self):
        self.io = MemoryRegion.io("pcspk", 1, MemoryRegionOps(
            read=self._read, write=self._write, endianness=Endian.LITTLE,
            impl_min=1, impl_max=1), owner=self)
        self.isa_register_ioport(self.io, self.prop("iobase"))

    def reset(self):
        self.data_on = 0
        self.refresh = 0

    def _read(self, addr: int, size: int) -> int:
        gate, out = self.pit.channel_info(2) if self.pit is not None else (0, 0)
        self.refresh ^= 1 << 4
        return gate | (self.data_on << 1) | self.refresh | (out << 5)

    def _write(self, addr: int, val: int, size: int):
        self.data_on = (val >> 1) & 1
        if self.pit is not None:
            self.pit.set_gate(2, val & 1)
