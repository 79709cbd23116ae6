"""time: ticks since boot, the RTC as seconds since 2000, and sleeps, all on the simulated clock."""

from __future__ import annotations

import time
import types

from twitchlog.firmware.clock import UNIX_AT_2000
from twitchlog.firmware.gestures import ticks_diff
from twitchlog.sim.virtual.hardware import Hardware

TICKS_PERIOD = 1 << 30  # MicroPython's ticks wrap here; gestures.ticks_diff matches

# time.gmtime(): (year, month, mday, hour, minute, second, weekday, yearday)
TimeTuple = tuple[int, int, int, int, int, int, int, int]


class Time(types.ModuleType):
    """The time module of one boot: ticks count from `boot_at` on the simulated clock."""

    ticks_diff = staticmethod(ticks_diff)

    def __init__(self, hw: Hardware, boot_at: float) -> None:
        super().__init__("time", __doc__)
        self._hw = hw
        self._boot_at = boot_at

    def ticks_ms(self) -> int:
        self._hw.check_power()
        return int((self._hw.clock.now() - self._boot_at) * 1000) % TICKS_PERIOD

    def ticks_us(self) -> int:
        return int((self._hw.clock.now() - self._boot_at) * 1_000_000) % TICKS_PERIOD

    @staticmethod
    def ticks_add(ticks: int, delta: int) -> int:
        return (ticks + delta) % TICKS_PERIOD

    def time(self) -> int:
        return int(self._hw.rtc_seconds())

    def time_ns(self) -> int:
        return int(self._hw.rtc_seconds() * 1e9)

    def gmtime(self, secs: float | None = None) -> TimeTuple:
        if secs is None:
            secs = self._hw.rtc_seconds()
        g = time.gmtime(int(secs) + UNIX_AT_2000)
        return (g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, g.tm_wday, g.tm_yday)

    localtime = gmtime  # the device keeps UTC

    def sleep_ms(self, ms: float) -> None:
        self._hw.check_power()
        self._hw.clock.sleep_blocking(ms / 1000)
        self._hw.check_power()

    def sleep_us(self, us: float) -> None:
        self.sleep_ms(us / 1000)

    def sleep(self, seconds: float) -> None:
        self.sleep_ms(seconds * 1000)
