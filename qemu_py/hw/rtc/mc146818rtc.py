"""Motorola MC146818A real-time clock with 128 bytes of CMOS RAM (``mc146818rtc``).

Models (after the MC146818A datasheet and QEMU's PC behaviour): index port
(0x70, bit 7 the NMI mask, ignored) and data port (0x71); time and alarm
registers in BCD or binary (register B DM) and 12/24-hour format (B 24/12,
PM in bit 7 of the hours); the century byte at 0x32 (also reachable through
the PS/2 alias 0x37); register A divider chain control (DV2-0 = 11x holds the
divider in reset; the first update after releasing it comes half a second
later), rate select for the periodic interrupt, UIP set during the last 244 us
before each update; register B SET (freezes the time), PIE/AIE/UIE; register C
flags (IRQF, PF, AF, UF), cleared and the IRQ lowered by a read; register D
VRT = 1. The time is kept as seconds since the epoch plus the virtual clock,
so ``clock_step`` moves it; the periodic interrupt is computed on a 32768 Hz
grid exactly as QEMU does (so register A = 0x26, B = 0x42 raises the IRQ at
976563 ns). The date comes from ``-rtc base=`` (``utc``, ``localtime`` or a
date); ``-rtc clock=`` is accepted but the clock is always the virtual clock
(``clock=vm``) in qemu-py so that qtest owns time.

Not modelled: square-wave output (B SQWE), daylight-saving (B DSE), the
lost-tick policy ``slew`` (accepted, behaves as ``discard``), divider
settings other than 32.768 kHz (logged as unimplemented, the clock runs).
"""

from __future__ import annotations

import time

from qemu_py.hw.isa.isa_bus import ISADevice
from qemu_py.hw.misc.registers import Field, Reg
from qemu_py.memory import Endian, MemoryRegion, MemoryRegionOps
from qemu_py.qom import DeviceProp, QOMError, register_type
from qemu_py.system.log import unimp

from .timeutil import TM, gmtime, mktimegm, parse_rtc_base

NS = 1_000_000_000
RTC_CLOCK_RATE = 32768
UIP_HOLD_LENGTH = 8 * NS // 32768

RTC_SECONDS, RTC_SECONDS_ALARM, RTC_MINUTES, RTC_MINUTES_ALARM = 0, 1, 2, 3
RTC_HOURS, RTC_HOURS_ALARM, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH = 4, 5, 6, 7
RTC_MONTH, RTC_YEAR = 8, 9
RTC_REG_A, RTC_REG_B, RTC_REG_C, RTC_REG_D = 10, 11, 12, 13
RTC_CENTURY, RTC_IBM_PS2_CENTURY_BYTE = 0x32, 0x37

REG_A_UIP = 0x80
REG_B_SET, REG_B_PIE, REG_B_AIE, REG_B_UIE = 0x80, 0x40, 0x20, 0x10
REG_B_SQWE, REG_B_DM, REG_B_24H, REG_B_DSE = 0x08, 0x04, 0x02, 0x01
REG_C_IRQF, REG_C_PF, REG_C_AF, REG_C_UF = 0x80, 0x40, 0x20, 0x10
REG_C_MASK = 0x70

REGS = (
    Reg(RTC_SECONDS, "SECONDS"), Reg(RTC_SECONDS_ALARM, "SECONDS_ALARM"),
    Reg(RTC_MINUTES, "MINUTES"), Reg(RTC_MINUTES_ALARM, "MINUTES_ALARM"),
    Reg(RTC_HOURS, "HOURS", fields=(Field("PM", 7),)), Reg(RTC_HOURS_ALARM, "HOURS_ALARM"),
    Reg(RTC_DAY_OF_WEEK, "DAY_OF_WEEK"), Reg(RTC_DAY_OF_MONTH, "DAY_OF_MONTH"),
    Reg(RTC_MONTH, "MONTH"), Reg(RTC_YEAR, "YEAR"),
    Reg(RTC_REG_A, "REG_A", reset=0x26, fields=(
        Field("RS", 0, 4), Field("DV", 4, 3), Field("UIP", 7))),
    Reg(RTC_REG_B, "REG_B", reset=0x02, fields=(
        Field("DSE", 0), Field("24H", 1), Field("DM", 2), Field("SQWE", 3), Field("UIE", 4),
        Field("AIE", 5), Field("PIE", 6), Field("SET", 7))),
    Reg(RTC_REG_C, "REG_C", reset=0x00, access="rc", fields=(
        Field("UF", 4), Field("AF", 5), Field("PF", 6), Field("IRQF", 7))),
    Reg(RTC_REG_D, "REG_D", reset=0x80, access="ro", fields=(Field("VRT", 7),)),
    Reg(RTC_CENTURY, "CENTURY"),
)


def periodic_period_to_clock(period_code: int) -> int:
    if not period_code:
        return 0
    if period_code <= 2:
        period_code += 7
    return 1 << (period_code - 1)


def periodic_clock_to_ns(clock: int) -> int:
    return (clock * NS) // RTC_CLOCK_RATE


@register_type("mc146818rtc", "isa-device", desc="MC146818 RTC and CMOS RAM")
class MC146818RTC(ISADevice):
    PROPS = [
        DeviceProp("base_year", "int32", 1980),
        DeviceProp("iobase", "uint16", 0x70),
        DeviceProp("irq", "uint8", 8),
        DeviceProp("lost_tick_policy", "str", "discard"),
    ]
    STATE = ("cmos_data", "cmos_index", "base_rtc", "last_update", "offset", "period",
             "next_periodic_time", "next_alarm_time")

    def __init__(self):
        super().__init__()
        self.cmos_data = bytearray(128)
        self.cmos_index = 0
        self.base_rtc = 0
        self.last_update = 0
        self.offset = 0
        self.period = 0
        self.next_periodic_time = 0
        self.next_alarm_time = 0
        self.base_year = 1980
        self.irq = self.init_gpio_out(1)[0]
        self.add_property("date", "struct tm", get=self._date_prop)

    # -- life cycle ---------------------------------------------------------------------
    def realize(self):
        if self.prop("irq") >= 16:
            raise QOMError('Maximum value for "irq" is: 15')
        if self.prop("lost_tick_policy") not in ("discard", "slew", "delay"):
            raise QOMError("Invalid lost tick policy.")
        self.base_year = self.prop("base_year")
        if self.base_year == 2000:
            self.base_year = 0
        for r in REGS:
            if r.offset >= RTC_REG_A:
                self.cmos_data[r.offset] = r.reset
        self.cmos_data[RTC_CENTURY] = 0
        self._set_date_from_host()
        self.periodic_timer = self.clock.new_timer(self._periodic_timer, "rtc-periodic")
        self.update_timer = self.clock.new_timer(self._update_timer, "rtc-update")
        self._check_update_timer()
        self.io = MemoryRegion.io("rtc", 2, MemoryRegionOps(
            read=self._ioport_read, write=self._ioport_write, endianness=Endian.LITTLE,
            impl_min=1, impl_max=1), owner=self)
        self.isa_register_ioport(self.io, self.prop("iobase"))

    def connect_isa_irq(self):
        self.irq.connect(self.isa_get_irq(self.prop("irq")))

    def reset(self):
        if self.cmos_data[0x0f] != 0xfe:
            self.cmos_data[0x0f] = 0
        self.cmos_data[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_SQWE) & 0xff
        self.cmos_data[RTC_REG_C] &= ~(REG_C_UF | REG_C_IRQF | REG_C_PF | REG_C_AF) & 0xff
        self._check_update_timer()
        self.irq.lower()

    def _host_base(self) -> int:
        if not hasattr(self, "_rtc_base"):
            cfg = getattr(getattr(self.machine, "config", None), "rtc", {}) or {}
            try:
                self._rtc_base = parse_rtc_base(cfg.get("base"), time.time())
            except ValueError as e:
                raise QOMError(str(e)) from None
        return self._rtc_base

    def _set_date_from_host(self):
        secs = self._host_base() + self.clock.now() // NS
        self.base_rtc = secs
        self.last_update = self.clock.now()
        self.offset = 0
        self._set_cmos(gmtime(secs))

    def _date_prop(self):
        self._update_time()
        tm = self._get_time()
        return {"tm_year": tm.year, "tm_mon": tm.mon, "tm_mday": tm.mday,
                "tm_hour": tm.hour, "tm_min": tm.min, "tm_sec": tm.sec}

    # -- helpers -------------------------------------------------------------------------
    def _now(self) -> int:
        return self.clock.now()

    def _running(self) -> bool:
        return (not self.cmos_data[RTC_REG_B] & REG_B_SET
                and (self.cmos_data[RTC_REG_A] & 0x70) <= 0x20)

    def _guest_rtc_ns(self) -> int:
        return self.base_rtc * NS + self._now() - self.last_update + self.offset

    def _to_bcd(self, a: int) -> int:
        if self.cmos_data[RTC_REG_B] & REG_B_DM:
            return a & 0xff
        return (((a // 10) << 4) | (a % 10)) & 0xff

    def _from_bcd(self, a: int) -> int:
        if (a & 0xc0) == 0xc0:
            return -1
        if self.cmos_data[RTC_REG_B] & REG_B_DM:
            return a
        return ((a >> 4) * 10) + (a & 0x0f)

    def _get_time(self) -> TM:
        d = self.cmos_data
        tm = TM()
        tm.sec = self._from_bcd(d[RTC_SECONDS])
        tm.min = self._from_bcd(d[RTC_MINUTES])
        tm.hour = self._from_bcd(d[RTC_HOURS] & 0x7f)
        if not d[RTC_REG_B] & REG_B_24H:
            tm.hour %= 12
            if d[RTC_HOURS] & 0x80:
                tm.hour += 12
        tm.wday = self._from_bcd(d[RTC_DAY_OF_WEEK]) - 1
        tm.mday = self._from_bcd(d[RTC_DAY_OF_MONTH])
        tm.mon = self._from_bcd(d[RTC_MONTH]) - 1
        tm.year = (self._from_bcd(d[RTC_YEAR]) + self.base_year
                   + self._from_bcd(d[RTC_CENTURY]) * 100 - 1900)
        return tm

    def _set_time(self):
        tm = self._get_time()
        self.base_rtc = mktimegm(tm)
        self.last_update = self._now()
        vm = getattr(self.machine, "vm", None)
        if vm is not None and hasattr(vm, "emit"):
            host_now = self._host_base() + self._now() // NS
            vm.emit("RTC_CHANGE", {"offset": self.base_rtc - host_now})

    def _set_cmos(self, tm: TM):
        d = self.cmos_data
        d[RTC_SECONDS] = self._to_bcd(tm.sec)
        d[RTC_MINUTES] = self._to_bcd(tm.min)
        if d[RTC_REG_B] & REG_B_24H:
            d[RTC_HOURS] = self._to_bcd(tm.hour)
        else:
            h = tm.hour % 12 or 12
            d[RTC_HOURS] = self._to_bcd(h) | (0x80 if tm.hour >= 12 else 0)
        d[RTC_DAY_OF_WEEK] = self._to_bcd(tm.wday + 1)
        d[RTC_DAY_OF_MONTH] = self._to_bcd(tm.mday)
        d[RTC_MONTH] = self._to_bcd(tm.mon + 1)
        year = tm.year + 1900 - self.base_year
        d[RTC_YEAR] = self._to_bcd(year % 100)
        d[RTC_CENTURY] = self._to_bcd(year // 100)

    def _update_time(self):
        guest_sec = self._guest_rtc_ns() // NS
        if not self.cmos_data[RTC_REG_B] & REG_B_SET:
            self._set_cmos(gmtime(guest_sec))

    def _update_in_progress(self) -> bool:
        if not self._running():
            return False
        if self.update_timer.pending:
            if self._now() >= self.update_timer.expire - UIP_HOLD_LENGTH:
                self.cmos_data[RTC_REG_A] |= REG_A_UIP
                return True
        return (self._guest_rtc_ns() % NS) >= NS - UIP_HOLD_LENGTH

    # -- periodic interrupt -----------------------------------------------------------------
    def _periodic_clock_ticks(self) -> int:
        if not self.cmos_data[RTC_REG_B] & REG_B_PIE:
            return 0
        return periodic_period_to_clock(self.cmos_data[RTC_REG_A] & 0x0f)

    def _periodic_timer_update(self, current_time: int, old_period: int, period_change: bool):
        period = self._periodic_clock_ticks()
        self.period = period
        if not period:
            self.periodic_timer.delete()
            return
        cur_clock = (current_time * RTC_CLOCK_RATE) // NS
        lost_clock = 0
        if old_period and period_change:
            next_periodic_clock = (self.next_periodic_time * RTC_CLOCK_RATE) // NS
            last_periodic_clock = next_periodic_clock - old_period
            lost_clock = max(0, cur_clock - last_periodic_clock)
        lost_clock = min(lost_clock, period)
        next_irq_clock = cur_clock + period - lost_clock
        self.next_periodic_time = periodic_clock_to_ns(next_irq_clock) + 1
        self.periodic_timer.mod(self.next_periodic_time)

    def _periodic_timer(self):
        self._periodic_timer_update(self.next_periodic_time, self.period, False)
        self.cmos_data[RTC_REG_C] |= REG_C_PF
        if self.cmos_data[RTC_REG_B] & REG_B_PIE:
            self.cmos_data[RTC_REG_C] |= REG_C_IRQF
            self.irq.raise_()

    # -- update-ended and alarm interrupts -----------------------------------------------------
    def _check_update_timer(self):
        d = self.cmos_data
        if (d[RTC_REG_A] & 0x60) == 0x60:
            self.update_timer.delete()
            return
        guest_nsec = self._guest_rtc_ns() % NS
        next_update_time = self._now() + NS - guest_nsec
        next_alarm_sec = self._next_alarm()
        self.next_alarm_time = next_update_time + (next_alarm_sec - 1) * NS
        if not d[RTC_REG_A] & REG_A_UIP and d[RTC_REG_C] & REG_C_UF:
            if d[RTC_REG_B] & REG_B_SET or d[RTC_REG_C] & REG_C_AF:
                self.update_timer.delete()
                return
            next_update_time = self.next_alarm_time
        if not self.update_timer.pending or self.update_timer.expire != next_update_time:
            self.update_timer.mod(next_update_time)

    def _convert_hour(self, hour: int) -> int:
        if not self.cmos_data[RTC_REG_B] & REG_B_24H:
            hour %= 12
            if self.cmos_data[RTC_HOURS] & 0x80:
                hour += 12
        return hour

    def _next_alarm(self) -> int:
        self._update_time()
        d = self.cmos_data
        alarm_sec = self._from_bcd(d[RTC_SECONDS_ALARM])
        alarm_min = self._from_bcd(d[RTC_MINUTES_ALARM])
        alarm_hour = self._from_bcd(d[RTC_HOURS_ALARM])
        alarm_hour = -1 if alarm_hour == -1 else self._convert_hour(alarm_hour)
        cur_sec = self._from_bcd(d[RTC_SECONDS])
        cur_min = self._from_bcd(d[RTC_MINUTES])
        cur_hour = self._convert_hour(self._from_bcd(d[RTC_HOURS]))
        if alarm_hour == -1:
            alarm_hour = cur_hour
            if alarm_min == -1:
                alarm_min = cur_min
                if alarm_sec == -1:
                    alarm_sec = cur_sec + 1
                elif cur_sec > alarm_sec:
                    alarm_min += 1
            elif cur_min == alarm_min:
                if alarm_sec == -1:
                    alarm_sec = cur_sec + 1
                elif cur_sec > alarm_sec:
                    alarm_hour += 1
                if alarm_sec == 60:
                    alarm_sec = 0
                    alarm_hour += 1
            elif cur_min > alarm_min:
                alarm_hour += 1
        elif cur_hour == alarm_hour:
            if alarm_min == -1:
                alarm_min = cur_min
                if alarm_sec == -1:
                    alarm_sec = cur_sec + 1
                elif cur_sec > alarm_sec:
                    alarm_min += 1
                if alarm_sec == 60:
                    alarm_sec = 0
                    alarm_min += 1
                alarm_min %= 60
            elif cur_min == alarm_min:
                if alarm_sec == -1:
                    alarm_sec = cur_sec + 1
                alarm_sec %= 60
        if alarm_min == -1:
            alarm_min = 0
        if alarm_sec == -1:
            alarm_sec = 0
        if alarm_sec == 60:
            alarm_sec = 0
            alarm_min += 1
        if alarm_min == 60:
            alarm_min = 0
            alarm_hour += 1
        alarm_hour %= 24
        hour = alarm_hour - cur_hour
        minute = hour * 60 + alarm_min - cur_min
        sec = minute * 60 + alarm_sec - cur_sec
        return sec + 86400 if sec <= 0 else sec

    def _update_timer(self):
        d = self.cmos_data
        if (d[RTC_REG_A] & 0x60) == 0x60:
            return
        self._update_time()
        d[RTC_REG_A] &= ~REG_A_UIP & 0xff
        irqs = REG_C_UF
        if self._now() >= self.next_alarm_time:
            irqs |= REG_C_AF
        new_irqs = irqs & ~d[RTC_REG_C]
        d[RTC_REG_C] |= irqs
        if new_irqs & d[RTC_REG_B]:
            d[RTC_REG_C] |= REG_C_IRQF
            self.irq.raise_()
        self._check_update_timer()

    # -- port I/O ----------------------------------------------------------------------------
    def _ioport_write(self, addr: int, data: int, size: int):
        data &= 0xff
        d = self.cmos_data
        if not addr & 1:
            self.cmos_index = data & 0x7f
            return
        idx = self.cmos_index
        if idx in (RTC_SECONDS_ALARM, RTC_MINUTES_ALARM, RTC_HOURS_ALARM):
            d[idx] = data
            self._check_update_timer()
        elif idx in (RTC_IBM_PS2_CENTURY_BYTE, RTC_CENTURY, RTC_SECONDS, RTC_MINUTES,
                     RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR):
            if idx == RTC_IBM_PS2_CENTURY_BYTE:
                self.cmos_index = idx = RTC_CENTURY
            d[idx] = data
            if self._running():
                self._set_time()
                self._check_update_timer()
        elif idx == RTC_REG_A:
            update_periodic = (d[RTC_REG_A] ^ data) & 0x0f
            old_period = self._periodic_clock_ticks()
            if (data & 0x60) == 0x60:
                if self._running():
                    self._update_time()
                d[RTC_REG_A] &= ~REG_A_UIP & 0xff
            elif (d[RTC_REG_A] & 0x60) == 0x60 and (data & 0x70) <= 0x20:
                if not d[RTC_REG_B] & REG_B_SET:
                    self.offset = 500000000
                    self._set_time()
                d[RTC_REG_A] &= ~REG_A_UIP & 0xff
            if (data & 0x70) not in (0x20, 0x60, 0x70):
                unimp(f"mc146818rtc: divider chain DV=0b{(data >> 4) & 7:03b} not modelled; "
                      "the clock runs at 32.768 kHz")
            d[RTC_REG_A] = (data & ~REG_A_UIP) | (d[RTC_REG_A] & REG_A_UIP)
            if update_periodic:
                self._periodic_timer_update(self._now(), old_period, True)
            self._check_update_timer()
        elif idx == RTC_REG_B:
            update_periodic = (d[RTC_REG_B] ^ data) & REG_B_PIE
            old_period = self._periodic_clock_ticks()
            if data & REG_B_SET:
                if self._running():
                    self._update_time()
                d[RTC_REG_A] &= ~REG_A_UIP & 0xff
                data &= ~REG_B_UIE & 0xff
            elif d[RTC_REG_B] & REG_B_SET and (d[RTC_REG_A] & 0x70) <= 0x20:
                self.offset = self._guest_rtc_ns() % NS
                self._set_time()
            if data & (REG_B_SQWE | REG_B_DSE):
                unimp("mc146818rtc: square-wave output and daylight saving not modelled")
            if data & d[RTC_REG_C] & REG_C_MASK:
                d[RTC_REG_C] |= REG_C_IRQF
                self.irq.raise_()
            else:
                d[RTC_REG_C] &= ~REG_C_IRQF & 0xff
                self.irq.lower()
            d[RTC_REG_B] = data
            if update_periodic:
                self._periodic_timer_update(self._now(), old_period, True)
            self._check_update_timer()
        elif idx in (RTC_REG_C, RTC_REG_D):
            from qemu_py.system.log import guest_error
            guest_error(f"mc146818rtc: write 0x{data:02x} to read-only register "
                        f"{'C' if idx == RTC_REG_C else 'D'}")
        else:
            d[idx] = data

    def _ioport_read(self, addr: int, size: int) -> int:
        if not addr & 1:
            return 0xff
        d = self.cmos_data
        idx = self.cmos_index
        if idx in (RTC_IBM_PS2_CENTURY_BYTE, RTC_CENTURY, RTC_SECONDS, RTC_MINUTES, RTC_HOURS,
                   RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR):
            if idx == RTC_IBM_PS2_CENTURY_BYTE:
                self.cmos_index = idx = RTC_CENTURY
            if self._running():
                self._update_time()
            return d[idx]
        if idx == RTC_REG_A:
            ret = d[RTC_REG_A]
            if self._update_in_progress():
                ret |= REG_A_UIP
            return ret
        if idx == RTC_REG_C:
            ret = d[RTC_REG_C]
            self.irq.lower()
            d[RTC_REG_C] = 0
            if ret & (REG_C_UF | REG_C_AF):
                self._check_update_timer()
            return ret
        return d[idx]

    # -- board helpers ---------------------------------------------------------------------------
    def set_cmos_data(self, addr: int, val: int):
        if 0 <= addr <= 127:
            self.cmos_data[addr] = val & 0xff

    def get_cmos_data(self, addr: int) -> int:
        return self.cmos_data[addr & 0x7f]
