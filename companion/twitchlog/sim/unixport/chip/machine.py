"""machine, as the ESP32 port has it, for the parts the firmware touches.

Pins read the levels the driver holds (virtual_chip.levels), the ADC reads
the battery it set, the RTC and its memory survive deep sleep through the
driver, and the watchdog is a thread that reports when it would bite.
"""

import time

import virtual_chip as chip

PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
PIN_WAKE = EXT0_WAKE = 2
TIMER_WAKE = 4

_rtc_memory = chip.RTC_MEMORY
_wake = None  # (pin id, level) armed by esp32.wake_on_*


class Pin:
    IN, OUT, OPEN_DRAIN = 1, 3, 7
    PULL_UP, PULL_DOWN = 2, 1
    IRQ_RISING, IRQ_FALLING = 1, 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        self.id = id
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return chip.levels.get(self.id, 0)
        v = 1 if v else 0
        if chip.levels.get(self.id) != v:
            chip.levels[self.id] = v
            chip.say("pin", self.id, v)  # the LED, seen by the driver
        return None

    __call__ = value

    def irq(self, handler=None, trigger=3):
        if handler is None:
            chip.handlers.pop(self.id, None)
        else:
            chip.handlers[self.id] = (handler, self, trigger)


class ADC:
    ATTN_0DB, ATTN_2_5DB, ATTN_6DB, ATTN_11DB = 0, 1, 2, 3

    def __init__(self, pin, *, atten=None):
        self.pin = pin

    def atten(self, value):
        pass

    def read_uv(self):
        return chip.BATTERY_UV


class RTC:
    def datetime(self, value=None):
        """(year, month, day, weekday, hours, minutes, seconds, subseconds), read or set, UTC."""
        if value is None:
            y, mo, d, h, mi, s, wd, _ = time.gmtime()
            return (y, mo, d, wd, h, mi, s, 0)
        y, mo, d, _wd, h, mi, s = value[:7]
        chip.set_rtc_ms(time.mktime((y, mo, d, h, mi, s, 0, 0)) * 1000)
        return None

    def memory(self, data=None):
        global _rtc_memory
        if data is None:
            return _rtc_memory
        _rtc_memory = bytes(data)
        return None


class WDT:
    def __init__(self, id=0, timeout=5000):
        self._timeout = timeout
        self.feed()
        try:
            import _thread
        except ImportError:
            return  # the WebAssembly REPL (tests/mp/wasm_chip) has no threads: its watchdog never bites
        _thread.start_new_thread(self._watch, ())

    def feed(self):
        self._fed = time.ticks_ms()

    def _watch(self):
        while time.ticks_diff(time.ticks_ms(), self._fed) < self._timeout:
            time.sleep_ms(100)
        chip.say("watchdog")  # the driver resets the chip


def deepsleep(ms=0):
    if ms:
        raise NotImplementedError("timer wake is not used by this firmware")
    pin_id, level = _wake if _wake is not None else (-1, 0)
    chip.say("sleep", chip.rtc_ms(), _rtc_memory.hex() or "-", pin_id, level)
    import sys

    sys.exit(0)


def _soft_reset(repl_mode):
    """The interpreter restarts with flash, RTC and RTC memory kept; repl_mode: "raw" or "friendly"."""
    chip.say("soft", chip.rtc_ms(), _rtc_memory.hex() or "-", repl_mode)
    import sys

    sys.exit(0)


def soft_reset():
    import repl

    repl.soft_reset(raw=False)


def lightsleep(ms=0):
    time.sleep_ms(ms)


def reset():
    chip.say("reset")
    import sys

    sys.exit(0)


def reset_cause():
    return chip.RESET_CAUSE


def wake_reason():
    return chip.WAKE_REASON


def unique_id():
    return chip.UNIQUE_ID


def freq(*hz):
    return 160_000_000


def idle():
    time.sleep_ms(1)
