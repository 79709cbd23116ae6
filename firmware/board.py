"""The one module that touches hardware: pins, LED, battery ADC, RTC, sleep.

Everything else in firmware/ is pure logic with time and I/O passed in.  The
pin map comes from a board profile (boards/*.json), which deploy writes to
the device as /board.json.
"""

import json
import time

import machine

try:
    import esp32
except ImportError:  # not an ESP32 port
    esp32 = None

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

PROFILE_PATH = "board.json"

# esp_sleep_get_wakeup_cause(): ext0 on the ESP32 and S3, GPIO on the C3 and C6 (profile "wake").
_WAKE_EXT0 = const(2)
_WAKE_GPIO = const(7)
_RTC_MEMORY_MAX = const(2048)  # what survives deep sleep besides the RTC


class Board:
    def __init__(self, profile=None):
        if profile is None:
            with open(PROFILE_PATH) as f:
                profile = json.load(f)
        self.profile = profile
        button = profile["button"]
        self._active = button["active"]
        pull = machine.Pin.PULL_UP if button.get("pull", "up") == "up" else machine.Pin.PULL_DOWN
        self.button = machine.Pin(button["pin"], machine.Pin.IN, pull)
        led = profile["led"]
        self._led_active = led["active"]
        self.led = machine.Pin(led["pin"], machine.Pin.OUT, value=1 - self._led_active)
        battery = profile["battery"]
        self._adc = machine.ADC(machine.Pin(battery["pin"]))
        self._adc.atten(machine.ADC.ATTN_11DB)
        self._divider = battery["divider"]
        self._empty_mv = battery["empty_mv"]
        self._full_mv = battery["full_mv"]
        self._rtc = machine.RTC()
        self._wdt = None

    # ------------------------------------------------------------ button
    def pressed(self):
        return self.button.value() == self._active

    def on_button(self, handler):
        """handler(pin) runs in IRQ context on every edge: record and flag only."""
        self.button.irq(handler=handler, trigger=machine.Pin.IRQ_FALLING | machine.Pin.IRQ_RISING)

    # ------------------------------------------------------------ LED
    def set_led(self, on):
        self.led.value(self._led_active if on else 1 - self._led_active)

    # ------------------------------------------------------------ battery
    def battery_mv(self):
        return int(self._adc.read_uv() * self._divider) // 1000

    def battery_percent(self, mv=None):
        """Linear between the profile's empty and full voltages, clamped."""
        if mv is None:
            mv = self.battery_mv()
        span = self._full_mv - self._empty_mv
        pct = (mv - self._empty_mv) * 100 // span
        return 0 if pct < 0 else 100 if pct > 100 else pct

    # ------------------------------------------------------------ clock
    def rtc_seconds(self):
        """The RTC as seconds since 2000-01-01 (MicroPython's ESP32 epoch)."""
        return time.time()

    def set_rtc(self, seconds):
        t = time.gmtime(seconds)  # (y, mo, d, h, mi, s, weekday, yearday)
        self._rtc.datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))

    def rtc_memory(self, data=None):
        """Read, or write, the bytes kept across deep sleep (lost on power loss)."""
        if data is None:
            return self._rtc.memory()
        if len(data) > _RTC_MEMORY_MAX:
            raise ValueError("RTC memory holds %d bytes" % _RTC_MEMORY_MAX)
        self._rtc.memory(data)

    # ------------------------------------------------------------ reset and sleep
    def woke_by_button(self):
        return machine.wake_reason() in (_WAKE_EXT0, _WAKE_GPIO)

    def cold_start(self):
        """True after power-on or a hard reset: the RTC started from zero."""
        return machine.reset_cause() in (machine.PWRON_RESET, machine.HARD_RESET)

    def unique_id(self):
        return machine.unique_id()

    def watchdog(self, timeout_ms):
        self._wdt = machine.WDT(timeout=timeout_ms)

    def feed(self):
        if self._wdt is not None:
            self._wdt.feed()

    def deep_sleep(self):
        """Sleep until the button is pressed.  Never returns."""
        self.set_led(False)
        level = self._active == 1  # esp32.WAKEUP_ANY_HIGH is True, WAKEUP_ALL_LOW False
        if esp32 is not None:
            if self.profile["wake"] == "ext0":
                esp32.wake_on_ext0(self.button, level)
            else:
                esp32.wake_on_gpio((self.button,), level)
        machine.deepsleep()
