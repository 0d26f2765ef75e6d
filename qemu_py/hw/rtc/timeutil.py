"""Calendar arithmetic on plain integers (any range, never raises).

``mktimegm`` is the proleptic-Gregorian formula QEMU uses (C truncating
division), so odd register contents written by a guest give the same seconds
as QEMU; ``gmtime`` is its inverse on days (Hinnant's civil-from-days).
"""

from __future__ import annotations

from dataclasses import dataclass


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@dataclass
class TM:
    """C ``struct tm`` fields: year since 1900, month 0-11, weekday 0 = Sunday."""
    sec: int = 0
    min: int = 0
    hour: int = 0
    mday: int = 1
    mon: int = 0
    year: int = 70
    wday: int = 4


def mktimegm(tm: TM) -> int:
    y, m, d = tm.year + 1900, tm.mon + 1, tm.mday
    if m < 3:
        m += 12
        y -= 1
    days = d + _cdiv(153 * m - 457, 5) + 365 * y + _cdiv(y, 4) - _cdiv(y, 100) + _cdiv(y, 400) - 719469
    return 86400 * days + 3600 * tm.hour + 60 * tm.min + tm.sec


def gmtime(t: int) -> TM:
    days, secs = divmod(t, 86400)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return TM(sec=secs % 60, min=(secs // 60) % 60, hour=secs // 3600, mday=d, mon=m - 1,
              year=y - 1900, wday=(days + 4) % 7)


def parse_rtc_base(text: str | None, now: float) -> int:
    """``-rtc base=`` -> seconds since the epoch (UTC) of the guest's clock at start-up.

    ``utc`` (default) and ``localtime`` use the host's time; a date is
    ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SS``. Raises ValueError with QEMU's text.
    """
    import time as _time
    if text is None or text == "utc":
        return int(now)
    if text == "localtime":
        lt = _time.localtime(now)
        return mktimegm(TM(lt.tm_sec, lt.tm_min, lt.tm_hour, lt.tm_mday, lt.tm_mon - 1,
                           lt.tm_year - 1900))
    import re
    m = re.fullmatch(r"(\d+)-(\d+)-(\d+)(?:T(\d+):(\d+):(\d+))?", text)
    if not m:
        raise ValueError("invalid datetime format\nvalid formats: "
                         "'2006-06-17T16:01:21' or '2006-06-17'")
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    hh, mm, ss = (int(m[4]), int(m[5]), int(m[6])) if m[4] else (0, 0, 0)
    if y < 1900 or not 1 <= mo <= 12 or not 1 <= d <= 31 or hh > 23 or mm > 59 or ss > 59:
        raise ValueError("invalid datetime format\nvalid formats: "
                         "'2006-06-17T16:01:21' or '2006-06-17'")
    return mktimegm(TM(ss, mm, hh, d, mo - 1, y - 1900))
