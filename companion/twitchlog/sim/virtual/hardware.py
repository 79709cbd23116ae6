"""The virtual chip: pins, RTC, flash and sleep, as MicroPython modules.

``Hardware`` is what survives a deep sleep: the flash image, the RTC (which
drifts while asleep and restarts from zero on power loss), RTC memory, the
button level and the chip id.  ``boot_modules`` builds, for one boot, the
``machine``, ``esp32``, ``micropython``, ``time``, ``asyncio`` and ``os``
modules plus ``open`` and ``print`` that the unmodified firmware imports.
"""

from __future__ import annotations

import asyncio as _asyncio
import builtins
import calendar
import errno
import os as _os
import time as _time
import types
from typing import Any, Callable

import littlefs

from twitchlog.firmware.clock import UNIX_AT_2000
from twitchlog.firmware.gestures import ticks_diff
from twitchlog.hw.flash import FlashImage, LfsFS, PowerCut, mount
from twitchlog.sim.virtual.simclock import SimClock

TICKS_PERIOD = 1 << 30  # MicroPython's ticks wrap here; gestures.ticks_diff matches

PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
WAKE_EXT0, WAKE_TIMER, WAKE_GPIO = 2, 4, 7


class DeepSleep(BaseException):
    """machine.deepsleep(): the chip stops; not an Exception, so firmware cannot catch it."""


class Reset(BaseException):
    """machine.reset() or the watchdog."""

    def __init__(self, cause: int) -> None:
        super().__init__(cause)
        self.cause = cause


class Hardware:
    def __init__(
        self, profile: dict, image: FlashImage, clock: SimClock, unique_id: bytes, battery_mv: int = 3900
    ) -> None:
        self.profile = profile
        self.image = image
        self.clock = clock
        self.unique_id = unique_id
        self.battery_mv = battery_mv
        self.pressed = False
        self.led = False
        self.led_changes = 0
        self.rtc_drift = 0.0  # fractional RTC rate error while in deep sleep
        self.rtc_offset = -clock.now()  # power-on: the RTC starts at 2000-01-01
        self.rtc_memory = b""
        self.reset_cause = PWRON_RESET
        self.wake_reason = 0
        self.wake_config: tuple | None = None  # (kind, pin, level) armed for deep sleep
        self.slept_at: float | None = None
        self.button_handler: Callable | None = None
        self.fw_loop: _asyncio.AbstractEventLoop | None = None
        self.power_lost = False
        self.wdt_deadline: float | None = None
        self.pending_reset = False  # the EN button was pressed while running
        self.orphan_errors: list = []  # exceptions of firmware tasks nobody awaited

    # ------------------------------------------------------------ what the world does
    def set_button(self, pressed: bool) -> None:
        self.pressed = pressed
        handler, loop = self.button_handler, self.fw_loop
        if handler is not None and loop is not None:
            try:
                loop.call_soon_threadsafe(handler, None)
            except RuntimeError:
                pass

    def button_wakes(self) -> bool:
        """Would the current button level wake the chip from deep sleep?"""
        if self.wake_config is None:
            return False
        _, pin, level = self.wake_config
        level_now = self.pin_level(pin)
        return level_now == (1 if level else 0)

    def pin_level(self, pin: int) -> int:
        button = self.profile["button"]
        if pin == button["pin"]:
            return button["active"] if self.pressed else 1 - button["active"]
        return 0

    def rtc_seconds(self) -> float:
        return self.clock.now() + self.rtc_offset

    def enter_deep_sleep(self) -> None:
        self.slept_at = self.clock.now()

    def wake_up(self, reason: int) -> None:
        if self.slept_at is not None:
            self.rtc_offset += (self.clock.now() - self.slept_at) * self.rtc_drift
        self.slept_at = None
        self.reset_cause = DEEPSLEEP_RESET
        self.wake_reason = reason
        self.wake_config = None

    def power_on(self) -> None:
        """Power returns after a cut: the RTC and its memory start from zero."""
        self.rtc_offset = -self.clock.now()
        self.rtc_memory = b""
        self.reset_cause = PWRON_RESET
        self.wake_reason = 0
        self.wake_config = None
        self.slept_at = None
        self.power_lost = False
        self.image.powered = True
        self.image.cut_at = None

    def reset(self, cause: int) -> None:
        """A hard reset restarts the RTC like power-on; watchdog and soft resets keep it."""
        if cause == HARD_RESET:
            self.power_on()
        self.pending_reset = False
        self.reset_cause = cause
        self.wake_reason = 0
        self.wake_config = None

    def check_power(self) -> None:
        if self.power_lost or not self.image.powered:
            raise PowerCut()
        if self.pending_reset:
            raise Reset(HARD_RESET)
        if self.wdt_deadline is not None and self.clock.now() > self.wdt_deadline:
            raise Reset(WDT_RESET)  # every later call too, until the runner resets the chip


class _File:
    """A file on the littlefs image, text or binary as MicroPython opens it."""

    def __init__(self, raw: Any, text: bool) -> None:
        self._raw = raw
        self._text = text

    def read(self, n: int = -1) -> Any:
        data = self._raw.read(n)
        return data.decode() if self._text else data

    def readinto(self, buf: Any) -> int:
        return self._raw.readinto(buf)

    def write(self, data: Any) -> int:
        return self._raw.write(data.encode() if isinstance(data, str) else bytes(data))

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> "_File":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _os_module(fs: LfsFS, hw: Hardware) -> types.ModuleType:
    mod = types.ModuleType("os")
    lfs = fs.fs

    def call(fn: Callable, *args: Any) -> Any:
        hw.check_power()
        try:
            return fn(*args)
        except littlefs.LittleFSError as e:
            raise OSError(-e.code, str(e)) from None

    def stat(path: str) -> tuple:
        info = call(lfs.stat, path)
        mode = 0x4000 if info.type == 2 else 0x8000
        return (mode, 0, 0, 0, 0, 0, info.size, 0, 0, 0)

    def ilistdir(path: str = "") -> Any:
        for name in call(lfs.listdir, path or "/"):
            st = stat((path.rstrip("/") + "/" + name) if path else name)
            yield (name, st[0], 0, st[6])

    def statvfs(path: str) -> tuple:
        info = call(lfs.fs_stat)
        used = call(lambda: lfs.used_block_count)
        total = info.block_count
        return (info.block_size, info.block_size, total, total - used, total - used, 0, 0, 0, 0, info.name_max)

    mod.stat = stat
    mod.ilistdir = ilistdir
    mod.listdir = lambda path="": [e[0] for e in ilistdir(path)]
    mod.remove = lambda path: call(lfs.remove, path)
    mod.rename = lambda src, dst: call(lfs.rename, src, dst)
    mod.mkdir = lambda path: call(lfs.mkdir, path)
    mod.rmdir = lambda path: call(lfs.rmdir, path)
    mod.statvfs = statvfs
    mod.urandom = _os.urandom
    mod.uname = lambda: ("esp32", "twitchlog-virtual", "1.27.0", "virtual", hw.profile["chip"])
    mod.sep = "/"
    return mod


def _open(fs: LfsFS) -> Callable:
    def open_(path: str, mode: str = "r", *args: Any, **kwargs: Any) -> _File:
        raw_mode = mode if "b" in mode else mode + "b"
        try:
            return _File(fs.open(path, raw_mode), text="b" not in mode)
        except OSError as e:
            if e.errno in (errno.ENOENT, 2) or isinstance(e, FileNotFoundError):
                raise OSError(errno.ENOENT, path) from None
            raise

    return open_


def _machine_module(hw: Hardware) -> types.ModuleType:
    m = types.ModuleType("machine")
    clock = hw.clock
    led_pin = hw.profile["led"]["pin"]

    class Pin:
        IN, OUT, OPEN_DRAIN = 1, 3, 7
        PULL_UP, PULL_DOWN = 2, 1
        IRQ_RISING, IRQ_FALLING = 1, 2
        WAKE_LOW, WAKE_HIGH = 4, 5

        def __init__(self, id: int, mode: int = -1, pull: int = -1, *, value: int | None = None) -> None:
            self.id = id
            if value is not None:
                self.value(value)

        def value(self, v: int | None = None) -> int | None:
            hw.check_power()
            if v is None:
                if self.id == led_pin:
                    return int(hw.led == bool(hw.profile["led"]["active"]))
                return hw.pin_level(self.id)
            if self.id == led_pin:
                lit = bool(v) == bool(hw.profile["led"]["active"])
                if lit != hw.led:
                    hw.led_changes += 1
                hw.led = lit
            return None

        def irq(self, handler: Callable | None = None, trigger: int = 3, *, wake: Any = None) -> None:
            if self.id == hw.profile["button"]["pin"]:
                hw.button_handler = None if handler is None else (lambda _pin: handler(self))
                hw.fw_loop = _asyncio.get_running_loop() if handler else None

        def __call__(self, v: int | None = None) -> int | None:
            return self.value(v)

    class ADC:
        ATTN_0DB, ATTN_2_5DB, ATTN_6DB, ATTN_11DB = 0, 1, 2, 3

        def __init__(self, pin: Any, *, atten: int | None = None) -> None:
            self.pin = pin

        def atten(self, value: int) -> None:
            pass

        def read_uv(self) -> int:
            return int(hw.battery_mv * 1000 / hw.profile["battery"]["divider"])

    class RTC:
        def datetime(self, value: tuple | None = None) -> tuple | None:
            hw.check_power()
            if value is None:
                t = _time.gmtime(int(hw.rtc_seconds()) + UNIX_AT_2000)
                return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_wday, t.tm_hour, t.tm_min, t.tm_sec, 0)
            y, mo, d, _wd, h, mi, s = value[:7]
            target = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) - UNIX_AT_2000
            hw.rtc_offset = target - clock.now()
            return None

        def memory(self, data: Any = None) -> bytes | None:
            if data is None:
                return hw.rtc_memory
            hw.rtc_memory = bytes(data)
            return None

    class WDT:
        def __init__(self, id: int = 0, timeout: int = 5000) -> None:
            self._timeout = timeout / 1000
            self.feed()

        def feed(self) -> None:
            hw.wdt_deadline = clock.now() + self._timeout

    def deepsleep(ms: int = 0) -> None:
        if ms:
            raise NotImplementedError("timer wake is not used by this firmware")
        raise DeepSleep()

    def reset() -> None:
        raise Reset(HARD_RESET)

    def soft_reset() -> None:
        raise Reset(SOFT_RESET)

    m.Pin, m.ADC, m.RTC, m.WDT = Pin, ADC, RTC, WDT
    m.deepsleep, m.reset, m.soft_reset = deepsleep, reset, soft_reset
    m.lightsleep = lambda ms=0: clock.sleep_blocking(ms / 1000)
    m.reset_cause = lambda: hw.reset_cause
    m.wake_reason = lambda: hw.wake_reason
    m.unique_id = lambda: hw.unique_id
    m.freq = lambda *a: 160_000_000
    m.idle = lambda: None
    m.PWRON_RESET, m.HARD_RESET, m.WDT_RESET = PWRON_RESET, HARD_RESET, WDT_RESET
    m.DEEPSLEEP_RESET, m.SOFT_RESET = DEEPSLEEP_RESET, SOFT_RESET
    m.PIN_WAKE = m.EXT0_WAKE = WAKE_EXT0
    m.TIMER_WAKE = WAKE_TIMER
    m.SLEEP, m.DEEPSLEEP = 2, 4
    return m


def _esp32_module(hw: Hardware) -> types.ModuleType:
    """The chip's wake sources: ext0 on the ESP32, GPIO wake on the C3."""
    e = types.ModuleType("esp32")
    e.WAKEUP_ALL_LOW, e.WAKEUP_ANY_HIGH = False, True
    chip = hw.profile["chip"]

    def wake_on_ext0(pin: Any, level: bool) -> None:
        if chip != "esp32":
            raise AttributeError("module 'esp32' has no attribute 'wake_on_ext0' on " + chip)
        hw.wake_config = ("ext0", pin.id, bool(level))

    def wake_on_gpio(pins: Any, level: bool) -> None:
        if chip == "esp32":
            raise ValueError("wake-up pin not supported")  # the ESP32 has no deep-sleep GPIO wake
        ids = [p.id for p in pins]
        hw.wake_config = ("gpio", ids[0], bool(level))

    e.wake_on_ext0 = wake_on_ext0
    e.wake_on_gpio = wake_on_gpio
    return e


def _time_module(hw: Hardware, boot_at: float) -> types.ModuleType:
    t = types.ModuleType("time")
    clock = hw.clock

    def ticks_ms() -> int:
        hw.check_power()
        return int((clock.now() - boot_at) * 1000) % TICKS_PERIOD

    def gmtime(secs: float | None = None) -> tuple:
        if secs is None:
            secs = hw.rtc_seconds()
        g = _time.gmtime(int(secs) + UNIX_AT_2000)
        return (g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, g.tm_wday, g.tm_yday)

    def sleep_ms(ms: int) -> None:
        hw.check_power()
        clock.sleep_blocking(ms / 1000)
        hw.check_power()

    t.ticks_ms = ticks_ms
    t.ticks_us = lambda: int((clock.now() - boot_at) * 1_000_000) % TICKS_PERIOD
    t.ticks_add = lambda a, b: (a + b) % TICKS_PERIOD
    t.ticks_diff = ticks_diff
    t.time = lambda: int(hw.rtc_seconds())
    t.time_ns = lambda: int(hw.rtc_seconds() * 1e9)
    t.gmtime = t.localtime = gmtime
    t.sleep_ms = sleep_ms
    t.sleep_us = lambda us: sleep_ms(us / 1000)
    t.sleep = lambda s: sleep_ms(s * 1000)
    return t


def _asyncio_module(hw: Hardware) -> types.ModuleType:
    """CPython asyncio with MicroPython's extras, sleeping on the simulated clock."""
    a = types.ModuleType("asyncio")
    for name in ("create_task", "gather", "Event", "Lock", "CancelledError", "Task", "current_task", "get_event_loop"):
        setattr(a, name, getattr(_asyncio, name))
    a.TimeoutError = _asyncio.TimeoutError
    clock = hw.clock

    async def sleep(seconds: float) -> None:
        hw.check_power()
        await clock.sleep(seconds)
        hw.check_power()

    async def wait_for(awaitable: Any, timeout: float | None) -> Any:
        task = _asyncio.ensure_future(awaitable)
        if timeout is None:
            return await task
        timer = _asyncio.ensure_future(clock.sleep(timeout))
        try:
            await _asyncio.wait((task, timer), return_when=_asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if task.done():
            return task.result()
        task.cancel()
        raise _asyncio.TimeoutError()

    class ThreadSafeFlag:
        """Set from any thread or IRQ; wait() returns once per set, then clears."""

        def __init__(self) -> None:
            self._event = _asyncio.Event()
            self._loop: _asyncio.AbstractEventLoop | None = None

        def set(self) -> None:
            loop = self._loop
            try:
                running = _asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if loop is None or loop is running:
                self._event.set()
            else:
                loop.call_soon_threadsafe(self._event.set)

        def clear(self) -> None:
            self._event.clear()

        async def wait(self) -> None:
            self._loop = _asyncio.get_running_loop()
            await self._event.wait()
            self._event.clear()

    def run(main: Any) -> Any:
        async def guarded() -> Any:
            # Tasks still running when the chip stops end with PowerCut or
            # Reset; asyncio would log each with a traceback, formatted in
            # this thread (see device._format), so collect them quietly.
            _asyncio.get_running_loop().set_exception_handler(
                lambda loop, context: hw.orphan_errors.append(context.get("exception"))
            )
            return await main

        return _asyncio.run(guarded())

    a.run = run
    a.sleep = sleep
    a.sleep_ms = lambda ms: sleep(ms / 1000)
    a.wait_for = wait_for
    a.wait_for_ms = lambda aw, ms: wait_for(aw, ms / 1000)
    a.ThreadSafeFlag = ThreadSafeFlag
    return a


def _micropython_module() -> types.ModuleType:
    mp = types.ModuleType("micropython")
    mp.const = lambda x: x
    mp.alloc_emergency_exception_buf = lambda n: None
    mp.schedule = lambda fn, arg: fn(arg)
    mp.opt_level = lambda *a: 0
    return mp


def boot_modules(hw: Hardware, print_line: Callable[[str], None]) -> tuple[dict[str, types.ModuleType], dict[str, Any]]:
    """The hardware modules for one boot, and the builtins the firmware sees."""
    fs = LfsFS(mount(hw.image), hw.image)
    modules = {
        "machine": _machine_module(hw),
        "esp32": _esp32_module(hw),
        "micropython": _micropython_module(),
        "time": _time_module(hw, hw.clock.now()),
        "asyncio": _asyncio_module(hw),
        "os": _os_module(fs, hw),
    }

    def print_(*args: Any, sep: str = " ", end: str = "\n", file: Any = None) -> None:
        if file is not None:
            builtins.print(*args, sep=sep, end=end, file=file)
            return
        print_line(sep.join(str(a) for a in args))

    extra = {"open": _open(fs), "print": print_}
    return modules, extra


__all__ = ["Hardware", "DeepSleep", "Reset", "PowerCut", "boot_modules", "SimClock"]
