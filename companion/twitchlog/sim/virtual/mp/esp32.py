"""esp32: the chip's deep-sleep wake sources, as MicroPython's port has them on the profile's chip.

ext0 exists only on chips with RTC IO wake (ESP32, S2, S3) and takes only RTC
pins; GPIO wake takes any pin here, and `machine.deepsleep()` refuses it on a
chip or pin that cannot wake from deep sleep (twitchlog.hw.chips has the facts
and their sources).
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import Any

from twitchlog.hw.chips import chip
from twitchlog.sim.virtual.hardware import Hardware
from twitchlog.sim.virtual.mp.machine import Pin


class Esp32(types.ModuleType):
    """The esp32 module of one boot."""

    WAKEUP_ALL_LOW, WAKEUP_ANY_HIGH = False, True

    def __init__(self, hw: Hardware) -> None:
        super().__init__("esp32", __doc__)
        self._hw = hw
        self._chip = chip(hw.profile["chip"])

    def __getattr__(self, name: str) -> Any:
        # The port compiles wake_on_ext0 in only where the chip has ext0 (SOC_PM_SUPPORT_EXT0_WAKEUP).
        if name == "wake_on_ext0" and self._chip.ext0_pins:
            return self._wake_on_ext0
        raise AttributeError(f"module 'esp32' has no attribute {name!r} on {self._chip.name}")

    def _wake_on_ext0(self, pin: Pin, level: bool) -> None:
        if pin.id not in self._chip.ext0_pins:
            raise ValueError("invalid pin")
        self._hw.wake_config = ("ext0", pin.id, bool(level))

    def wake_on_gpio(self, pins: Iterable[Pin], level: bool) -> None:
        ids = [p.id for p in pins]
        self._hw.wake_config = ("gpio", ids[0], bool(level))
