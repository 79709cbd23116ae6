"""The MicroPython modules the firmware imports, rebuilt for every boot.

One module here per MicroPython module: ``machine``, ``esp32``, ``time``,
``asyncio``, ``os`` (with the ``open`` builtin), ``micropython`` and
``bluetooth``.  Each is a ``types.ModuleType`` subclass built on the boot's
``Hardware`` (and radio); device.py's import hook hands the instances out
by name, so ``import machine`` in the firmware gets ``Machine(hw)``.

Inside these files ``import time``, ``import os`` and ``import asyncio`` are
CPython's own modules: imports are absolute.
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Callable
from typing import Any

from twitchlog.hw.flash import LfsFS, mount
from twitchlog.sim.virtual.hardware import Hardware
from twitchlog.sim.virtual.mp.asyncio import Asyncio
from twitchlog.sim.virtual.mp.bluetooth import Bluetooth
from twitchlog.sim.virtual.mp.esp32 import Esp32
from twitchlog.sim.virtual.mp.machine import Machine
from twitchlog.sim.virtual.mp.micropython import MicroPython
from twitchlog.sim.virtual.mp.os import Os, opener
from twitchlog.sim.virtual.mp.time import Time
from twitchlog.sim.virtual.radio import BLE


def boot_modules(
    hw: Hardware, ble: BLE, print_line: Callable[[str], None]
) -> tuple[dict[str, types.ModuleType], dict[str, Any]]:
    """The modules for one boot by import name, and the builtins the firmware sees."""
    fs = LfsFS(mount(hw.image), hw.image)
    modules: dict[str, types.ModuleType] = {
        "machine": Machine(hw),
        "esp32": Esp32(hw),
        "micropython": MicroPython(),
        "time": Time(hw, boot_at=hw.clock.now()),
        "asyncio": Asyncio(hw),
        "os": Os(fs, hw),
        "bluetooth": Bluetooth(ble),
    }

    def print_(*args: Any, sep: str = " ", end: str = "\n", file: Any = None) -> None:
        if file is not None:
            builtins.print(*args, sep=sep, end=end, file=file)
            return
        print_line(sep.join(str(a) for a in args))  # a line per call: device.py parses the console by lines

    return modules, {"open": opener(fs), "print": print_}


__all__ = ["boot_modules", "Machine", "Esp32", "MicroPython", "Time", "Asyncio", "Os", "Bluetooth"]
