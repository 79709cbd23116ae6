"""time, as the ESP32 port has it: the RTC counts seconds since 2000-01-01 UTC.

The unix port's built-in counts from 1970 through the PC's C library (a
9-tuple, a 32-bit time_t); the chip's gmtime is MicroPython's own calendar
arithmetic on the 2000 epoch, which this follows.  Ticks and sleeps are the
built-in's own.
"""

import virtual_chip as _chip

_builtin = _chip.time

ticks_ms = _builtin.ticks_ms
ticks_us = _builtin.ticks_us
ticks_cpu = _builtin.ticks_cpu
ticks_add = _builtin.ticks_add
ticks_diff = _builtin.ticks_diff
sleep = _builtin.sleep
sleep_ms = _builtin.sleep_ms
sleep_us = _builtin.sleep_us

_DAYS_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def _leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_before_year(year):
    """Days from 2000-01-01 to January 1st of `year` (year >= 2000)."""
    y = year - 1
    return y * 365 + y // 4 - y // 100 + y // 400 - 730119


def time():
    return _chip.rtc_ms() // 1000


def time_ns():
    return _chip.rtc_ms() * 1_000_000


def gmtime(secs=None):
    """(year, month, mday, hour, minute, second, weekday 0=Monday, yearday 1..366)."""
    if secs is None:
        secs = time()
    days, rem = divmod(int(secs), 86400)
    hour, rem = divmod(rem, 3600)
    minute, second = divmod(rem, 60)
    weekday = (days + 5) % 7  # 2000-01-01 was a Saturday
    year = 2000 + days // 366
    while _days_before_year(year + 1) <= days:
        year += 1
    yearday = days - _days_before_year(year)
    leap = 1 if _leap(year) else 0
    month = 12
    while yearday < _DAYS_BEFORE_MONTH[month - 1] + (leap if month > 2 else 0):
        month -= 1
    mday = yearday - _DAYS_BEFORE_MONTH[month - 1] - (leap if month > 2 else 0) + 1
    return (year, month, mday, hour, minute, second, weekday, yearday + 1)


localtime = gmtime  # the device keeps UTC


def mktime(t):
    year, month, mday, hour, minute, second = t[:6]
    leap = 1 if month > 2 and _leap(year) else 0
    days = _days_before_year(year) + _DAYS_BEFORE_MONTH[month - 1] + leap + mday - 1
    return ((days * 24 + hour) * 60 + minute) * 60 + second
