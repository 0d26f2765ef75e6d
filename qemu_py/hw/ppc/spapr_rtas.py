"""RTAS calls of the pseries machine, reachable through qtest's ``rtas`` command.

QEMU's qtest ``rtas NAME NARGS ARGS NRET RETS`` looks the call up by name,
reads NARGS big-endian 32-bit arguments at guest address ARGS, runs it, and
writes NRET 32-bit results at RETS; the reply is 0 (H_SUCCESS) when the name
is known and H_PARAMETER (-4, printed as an unsigned 64-bit number) when not.
The first result is the RTAS status (0 success, -3 parameter error).

Modelled calls: ``get-time-of-day``, ``set-time-of-day`` (a guest clock that
starts at ``-rtc base=`` or the host's UTC time and then follows the virtual
clock), ``power-off`` and ``system-reboot``, ``display-character`` (to the
first serial backend).
"""

from __future__ import annotations

import calendar
import time

RTAS_OUT_SUCCESS = 0
RTAS_OUT_HW_ERROR = -1
RTAS_OUT_PARAM_ERROR = -3
H_SUCCESS = 0
H_PARAMETER = -4


class Rtas:
    def __init__(self, machine):
        self.machine = machine
        base = machine.config.rtc.get("base", "utc")
        self.base_seconds = self._parse_base(base)
        self.offset_ns = 0
        self.calls = {
            "get-time-of-day": self.get_time_of_day,
            "set-time-of-day": self.set_time_of_day,
            "power-off": self.power_off,
            "system-reboot": self.system_reboot,
            "display-character": self.display_character,
        }

    @staticmethod
    def _parse_base(base: str) -> int:
        if base in ("utc", "localtime"):
            return int(time.time())
        for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
            try:
                return calendar.timegm(time.strptime(base, fmt))
            except ValueError:
                pass
        return int(time.time())

    # -- guest memory -----------------------------------------------------------------
    def _ld(self, addr: int, i: int) -> int:
        return self.machine.system_as.read_value(addr + 4 * i, 4)[0]

    def _st(self, addr: int, i: int, value: int):
        self.machine.system_as.write_value(addr + 4 * i, value & 0xFFFFFFFF, 4)

    def call(self, name: str, nargs: int, args: int, nret: int, rets: int) -> int:
        fn = self.calls.get(name)
        if fn is None:
            return H_PARAMETER
        fn(nargs, args, nret, rets)
        return H_SUCCESS

    # -- calls ----------------------------------------------------------------------------
    def guest_ns(self) -> int:
        return self.base_seconds * 10**9 + self.machine.vm.clock.now() + self.offset_ns

    def get_time_of_day(self, nargs, args, nret, rets):
        if nret != 8:
            self._st(rets, 0, RTAS_OUT_PARAM_ERROR)
            return
        ns = self.guest_ns()
        tm = time.gmtime(ns // 10**9)
        for i, v in enumerate((RTAS_OUT_SUCCESS, tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour,
                               tm.tm_min, tm.tm_sec, ns % 10**9)):
            self._st(rets, i, v)

    def set_time_of_day(self, nargs, args, nret, rets):
        if nargs != 7 or nret != 1:
            self._st(rets, 0, RTAS_OUT_PARAM_ERROR)
            return
        year, mon, mday, hour, minute, sec, nsec = (self._ld(args, i) for i in range(7))
        try:
            wanted = calendar.timegm((year, mon, mday, hour, minute, sec, 0, 0, 0)) * 10**9 + nsec
        except (ValueError, OverflowError):
            self._st(rets, 0, RTAS_OUT_PARAM_ERROR)
            return
        self.offset_ns += wanted - self.guest_ns()
        self._st(rets, 0, RTAS_OUT_SUCCESS)

    def power_off(self, nargs, args, nret, rets):
        if nargs != 2 or nret != 1:
            self._st(rets, 0, RTAS_OUT_PARAM_ERROR)
            return
        self._st(rets, 0, RTAS_OUT_SUCCESS)
        self.machine.vm.request_shutdown("guest-shutdown", guest=True)

    def system_reboot(self, nargs, args, nret, rets):
        if nargs != 0 or nret != 1:
            self._st(rets, 0, RTAS_OUT_PARAM_ERROR)
            return
        self._st(rets, 0, RTAS_OUT_SUCCESS)
        self.machine.vm.system_reset("guest-reset", guest=True)

    def display_character(self, nargs, args, nret, rets):
        chardevs = [c for c in getattr(self.machine, "serial_chardevs", []) if c is not None]
        if chardevs:
            chardevs[0].write(bytes([self._ld(args, 0) & 0xFF]))
        self._st(rets, 0, RTAS_OUT_SUCCESS)
