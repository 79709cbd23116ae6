"""The virtual chip: what survives a deep sleep, and the classes the firmware builds on it.

``Hardware`` holds the flash image, the RTC (which drifts while asleep and
restarts from zero on power loss), RTC memory, the button level and the
chip id.  The MicroPython modules that give the firmware its view of it,
fresh for every boot, are in twitchlog.sim.virtual.mp.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar, Self, cast

from twitchlog.hw.flash import FlashImage, PowerCut
from twitchlog.sim.virtual.simclock import SimClock

# machine.reset_cause() and machine.wake_reason() values on the ESP32 port
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
        self, profile: dict[str, Any], image: FlashImage, clock: SimClock, unique_id: bytes, battery_mv: int = 3900
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
        self.wake_config: tuple[str, int, bool] | None = None  # (kind, pin, level) armed for deep sleep
        self.slept_at: float | None = None
        self.button_handler: Callable[[Any], None] | None = None
        self.fw_loop: asyncio.AbstractEventLoop | None = None
        self.power_lost = False
        self.wdt_deadline: float | None = None
        self.pending_reset = False  # the EN button was pressed while running
        self.orphan_errors: list[BaseException | None] = []  # exceptions of firmware tasks nobody awaited

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


class OnChip:
    """A MicroPython class whose objects act on one boot's chip, such as machine.Pin.

    The firmware constructs them itself (``machine.Pin(27)``), so the chip
    cannot come in through the constructor.  Each boot's module hands out a
    subclass that carries it instead: ``Pin.on(hw)``.
    """

    hw: ClassVar[Hardware]

    @classmethod
    def on(cls, hw: Hardware) -> type[Self]:
        return cast("type[Self]", type(cls.__name__, (cls,), {"hw": hw, "__module__": cls.__module__}))


__all__ = ["Hardware", "OnChip", "DeepSleep", "Reset", "PowerCut"]
