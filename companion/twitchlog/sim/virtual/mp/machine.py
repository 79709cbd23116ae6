"""machine: the button and LED pins, the battery ADC, the RTC, the watchdog, resets and sleep."""

from __future__ import annotations

import asyncio
import calendar
import time
import types
from collections.abc import Callable
from typing import Any, NoReturn

from twitchlog.firmware.clock import UNIX_AT_2000
from twitchlog.hw.chips import chip
from twitchlog.sim.virtual.hardware import (
    DEEPSLEEP_RESET,
    HARD_RESET,
    PWRON_RESET,
    SOFT_RESET,
    WAKE_EXT0,
    WAKE_TIMER,
    WDT_RESET,
    DeepSleep,
    Hardware,
    OnChip,
    Reset,
)


class Pin(OnChip):
    """The button reads the simulated level; the LED pin records what it shows."""

    IN, OUT, OPEN_DRAIN = 1, 3, 7
    PULL_UP, PULL_DOWN = 2, 1
    IRQ_RISING, IRQ_FALLING = 1, 2
    WAKE_LOW, WAKE_HIGH = 4, 5

    def __init__(self, id: int, mode: int = -1, pull: int = -1, *, value: int | None = None) -> None:
        self.id = id
        if value is not None:
            self.value(value)

    def value(self, v: int | None = None) -> int | None:
        hw = self.hw
        led = hw.profile["led"]
        hw.check_power()
        if v is None:
            if self.id == led["pin"]:
                return int(hw.led == bool(led["active"]))
            return hw.pin_level(self.id)
        if self.id == led["pin"]:
            lit = bool(v) == bool(led["active"])
            if lit != hw.led:
                hw.led_changes += 1
            hw.led = lit
        return None

    def irq(self, handler: Callable[[Pin], None] | None = None, trigger: int = 3, *, wake: Any = None) -> None:
        hw = self.hw
        if self.id != hw.profile["button"]["pin"]:
            return
        if handler is None:
            hw.button_handler = None
            hw.fw_loop = None
        else:
            hw.button_handler = lambda _pin: handler(self)
            hw.fw_loop = asyncio.get_running_loop()  # the world presses the button from another thread

    def __call__(self, v: int | None = None) -> int | None:
        return self.value(v)


class ADC(OnChip):
    """Reads the battery through the board's voltage divider."""

    ATTN_0DB, ATTN_2_5DB, ATTN_6DB, ATTN_11DB = 0, 1, 2, 3

    def __init__(self, pin: Pin, *, atten: int | None = None) -> None:
        self.pin = pin

    def atten(self, value: int) -> None:
        pass  # the simulated reading is already in microvolts

    def read_uv(self) -> int:
        return int(self.hw.battery_mv * 1000 / self.hw.profile["battery"]["divider"])


class RTC(OnChip):
    def datetime(self, value: tuple[int, ...] | None = None) -> tuple[int, ...] | None:
        """Read as (year, month, day, weekday, hours, minutes, seconds, subseconds), or set from it."""
        hw = self.hw
        hw.check_power()
        if value is None:
            t = time.gmtime(int(hw.rtc_seconds()) + UNIX_AT_2000)
            return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_wday, t.tm_hour, t.tm_min, t.tm_sec, 0)
        y, mo, d, _wd, h, mi, s = value[:7]
        target = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) - UNIX_AT_2000
        hw.rtc_offset = target - hw.clock.now()
        return None

    def memory(self, data: bytes | bytearray | memoryview | None = None) -> bytes | None:
        if data is None:
            return self.hw.rtc_memory
        self.hw.rtc_memory = bytes(data)
        return None


class WDT(OnChip):
    def __init__(self, id: int = 0, timeout: int = 5000) -> None:
        self._timeout_s = timeout / 1000
        self.feed()

    def feed(self) -> None:
        self.hw.wdt_deadline = self.hw.clock.now() + self._timeout_s


class Machine(types.ModuleType):
    """The machine module of one boot."""

    PWRON_RESET, HARD_RESET, WDT_RESET = PWRON_RESET, HARD_RESET, WDT_RESET
    DEEPSLEEP_RESET, SOFT_RESET = DEEPSLEEP_RESET, SOFT_RESET
    PIN_WAKE = EXT0_WAKE = WAKE_EXT0
    TIMER_WAKE = WAKE_TIMER
    SLEEP, DEEPSLEEP = 2, 4

    def __init__(self, hw: Hardware) -> None:
        super().__init__("machine", __doc__)
        self._hw = hw
        self.Pin = Pin.on(hw)
        self.ADC = ADC.on(hw)
        self.RTC = RTC.on(hw)
        self.WDT = WDT.on(hw)

    def deepsleep(self, ms: int = 0) -> NoReturn:
        if ms:
            raise NotImplementedError("timer wake is not used by this firmware")
        wake = self._hw.wake_config
        if wake is not None and wake[0] == "gpio":  # checked here, as modmachine.c does
            gpio_wake_pins = chip(self._hw.profile["chip"]).gpio_wake_pins
            if not gpio_wake_pins:
                raise ValueError("DEEPSLEEP with gpio pins not supported on this chip")
            if wake[1] not in gpio_wake_pins:
                raise ValueError("wake-up pin not supported")
        raise DeepSleep()

    def lightsleep(self, ms: int = 0) -> None:
        self._hw.clock.sleep_blocking(ms / 1000)

    def reset(self) -> NoReturn:
        raise Reset(HARD_RESET)

    def soft_reset(self) -> NoReturn:
        raise Reset(SOFT_RESET)

    def reset_cause(self) -> int:
        return self._hw.reset_cause

    def wake_reason(self) -> int:
        return self._hw.wake_reason

    def unique_id(self) -> bytes:
        return self._hw.unique_id

    def freq(self, *hz: int) -> int:
        return 160_000_000

    def idle(self) -> None:
        pass
