"""esp32: the chip's deep-sleep wake sources, ext0 on the ESP32 and GPIO wake on the C3."""

from __future__ import annotations

import types
from collections.abc import Iterable

from twitchlog.sim.virtual.hardware import Hardware
from twitchlog.sim.virtual.mp.machine import Pin


class Esp32(types.ModuleType):
    """The esp32 module of one boot."""

    WAKEUP_ALL_LOW, WAKEUP_ANY_HIGH = False, True

    def __init__(self, hw: Hardware) -> None:
        super().__init__("esp32", __doc__)
        self._hw = hw

    def wake_on_ext0(self, pin: Pin, level: bool) -> None:
        chip = self._hw.profile["chip"]
        if chip != "esp32":
            raise AttributeError("module 'esp32' has no attribute 'wake_on_ext0' on " + chip)
        self._hw.wake_config = ("ext0", pin.id, bool(level))

    def wake_on_gpio(self, pins: Iterable[Pin], level: bool) -> None:
        if self._hw.profile["chip"] == "esp32":
            raise ValueError("wake-up pin not supported")  # the ESP32 has no deep-sleep GPIO wake
        ids = [p.id for p in pins]
        self._hw.wake_config = ("gpio", ids[0], bool(level))
