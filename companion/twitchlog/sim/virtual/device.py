"""The virtual device: the unmodified firmware on a virtual chip and a Bumble radio.

Each boot gets fresh module objects (RAM), a fresh Bumble host on the same
controller (the radio resets), and the same flash, RTC and bonds.  Deep
sleep ends the firmware's thread; a button press that matches the wake pin
the firmware armed starts the next boot.

    link = LocalLink()
    device = VirtualDevice.on_link(link)
    await device.start()
    await device.click()
"""

from __future__ import annotations

import asyncio

# The stdlib modules the firmware imports, loaded here: CPython 3.11 can fail
# ("AST constructor recursion depth mismatch") when the firmware thread
# compiles a module while the main thread compiles another.
import binascii  # noqa: F401
import builtins
import contextlib
import errno  # noqa: F401
import gc  # noqa: F401
import json
import mmap
import os
import struct  # noqa: F401
import traceback
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bumble.device import Device
from bumble.link import LocalLink

from twitchlog.hw.flash import FlashImage, LfsFS, PowerCut, mount
from twitchlog.resources import firmware_dir
from twitchlog.sim.virtual import radio
from twitchlog.sim.virtual.controller import VirtualController
from twitchlog.sim.virtual.events import EventStream, parse_console, read_records
from twitchlog.sim.virtual.hardware import HARD_RESET, WAKE_EXT0, WAKE_GPIO, DeepSleep, Hardware, Reset
from twitchlog.sim.virtual.mp import boot_modules
from twitchlog.sim.virtual.simclock import SimClock

FIRMWARE_DIR = firmware_dir()

FLASH_SIZE = 1 << 20
START_UTC_2000 = 847_000_000  # 2026-11-03: a plausible "now" for a fresh simulation
BOOT_LATENCY_S = 0.15  # wake to Python running on an ESP32


def _load_firmware(directory: Path) -> dict[str, types.CodeType]:
    """Compile every firmware module once; each boot executes them afresh."""
    return {
        p.stem: compile(p.read_text(), str(p), "exec") for p in sorted(directory.glob("*.py")) if p.stem != "__init__"
    }


def _format(error: BaseException) -> str:
    """Format a traceback on the main thread only.

    CPython 3.11's traceback module parses source lines with ast, and two
    threads doing that at once corrupt the ast module's recursion counter
    (gh-106905) for the rest of the process.
    """
    return "".join(traceback.format_exception(error))


class VirtualDevice(EventStream):
    def __init__(
        self,
        hci_source: Any,
        hci_sink: Any,
        *,
        state_dir: Path | str | None = None,
        board: str = "esp32-devkit",
        clock: SimClock | None = None,
        unique_id: bytes | None = None,
        on_event: Callable[[dict], None] | None = None,
        firmware_dir: Path = FIRMWARE_DIR,
    ) -> None:
        self._source, self._sink = hci_source, hci_sink
        self.clock = clock or SimClock(START_UTC_2000)
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.firmware_dir = Path(firmware_dir)
        self._code = _load_firmware(self.firmware_dir)
        profile_path = self.firmware_dir / "boards" / (board + ".json")
        if not profile_path.exists():
            raise ValueError(
                "no board profile %s (have: %s)"
                % (board, ", ".join(p.stem for p in (self.firmware_dir / "boards").glob("*.json")))
            )
        self.profile_bytes = profile_path.read_bytes()
        self.profile = json.loads(self.profile_bytes)
        image, unique_id = self._open_state(unique_id)
        self.hw = Hardware(self.profile, image, self.clock, unique_id)
        self.address = radio.address_for(unique_id)
        EventStream.__init__(self, on_event)
        self._wake_signal = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._reboot_requested = False
        self._boot_held = False
        self.state = "off"  # off, awake, asleep, halted
        self.ble: radio.BLE | None = None
        self.bumble: Device | None = None
        self.boots = 0
        self.crashes: list[str] = []
        self.irq_errors: list[str] = []

    # ------------------------------------------------------------ construction
    @classmethod
    def on_link(cls, link: LocalLink, **kwargs: Any) -> VirtualDevice:
        controller = VirtualController("twitchlog-virtual", link=link)
        return cls(controller, controller, **kwargs)

    def _open_state(self, unique_id: bytes | None) -> tuple[FlashImage, bytes]:
        if self.state_dir is None:
            return FlashImage(FLASH_SIZE), unique_id or os.urandom(6)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        meta_path = self.state_dir / "device.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            unique_id = bytes.fromhex(meta["unique_id"])
        else:
            unique_id = unique_id or os.urandom(6)
            meta_path.write_text(json.dumps({"unique_id": unique_id.hex()}))
        flash_path = self.state_dir / "flash.bin"
        if not flash_path.exists():
            flash_path.write_bytes(b"\xff" * FLASH_SIZE)
        self._flash_file = open(flash_path, "r+b")
        self._flash_map = mmap.mmap(self._flash_file.fileno(), 0)
        return FlashImage(buffer=self._flash_map), unique_id  # type: ignore[arg-type]

    # ------------------------------------------------------------ events
    def event_time(self) -> float:
        return self.clock.now()

    # What tests ask of either runtime (MicroPythonDevice has the same).
    def world_time(self) -> float:
        """True time, seconds since 2000, in the simulated world."""
        return self.clock.now()

    def rtc_seconds(self) -> float:
        return self.hw.rtc_seconds()

    @property
    def led_changes(self) -> int:
        return self.hw.led_changes

    def _console(self, line: str) -> None:
        event = parse_console(line)
        if event is None:
            event = {"event": "console", "line": line}
        elif event["event"] == "wake":
            self._end_boot_hold()
        self._loop.call_soon_threadsafe(self.emit, event)

    def _end_boot_hold(self) -> None:
        if self._boot_held:
            self._boot_held = False
            self.clock.release()

    # ------------------------------------------------------------ life
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._prepare_flash()
        self._task = asyncio.create_task(self._life())
        await self.wait_for("wake", timeout=30)

    def _prepare_flash(self) -> None:
        """What `device deploy` does to a fresh board: write the board profile."""
        fs = LfsFS(mount(self.hw.image), self.hw.image)
        if fs.size("board.json") < 0:
            f = fs.open("board.json", "wb")
            f.write(self.profile_bytes)
            f.close()

    async def stop(self) -> None:
        self._stopping = True
        self._wake_signal.set()
        if self._task is not None:
            self.hw.power_lost = True  # stops a running firmware thread at its next call
            try:
                await asyncio.wait_for(self._task, 30)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self.hw.power_lost = False
            self.hw.image.powered = True
        if self.state_dir is not None:
            self._flash_map.flush()

    async def _life(self) -> None:
        while not self._stopping:
            outcome, detail = await self._boot_once()
            if self._stopping:
                break
            if outcome == "sleep":
                self.state = "asleep"
                self.hw.enter_deep_sleep()
                await self._sleep_until_woken()
            elif outcome == "powercut":
                self.emit({"event": "powercut"})
                self.hw.power_on()
            elif outcome == "reset":
                self._reboot_requested = False
                self.emit({"event": "reset", "cause": detail})
                self.hw.reset(detail)
            else:  # crash or halted: MicroPython would sit at the REPL until reset
                if outcome == "crash":
                    detail = _format(detail)
                    self.crashes.append(detail)
                self.emit({"event": outcome, "error": detail})
                self.state = "halted"
                while not (self._reboot_requested or self._stopping):
                    self._wake_signal.clear()
                    await self._wake_signal.wait()
                self._reboot_requested = False
                self.hw.reset(HARD_RESET)
        self.state = "off"

    async def _sleep_until_woken(self) -> None:
        while not self._stopping:
            self._wake_signal.clear()
            if self.hw.button_wakes():
                kind = self.hw.wake_config[0] if self.hw.wake_config else "ext0"
                self.hw.wake_up(WAKE_EXT0 if kind == "ext0" else WAKE_GPIO)
                await self.clock.sleep(BOOT_LATENCY_S)
                return
            if self._reboot_requested:
                self._reboot_requested = False
                self.hw.reset(HARD_RESET)
                return
            if self.hw.power_lost:  # the battery was pulled while asleep
                self.emit({"event": "powercut"})
                self.hw.power_on()
                return
            await self._wake_signal.wait()

    async def _boot_once(self) -> tuple[str, Any]:
        self.boots += 1
        self.hw.wdt_deadline = None
        self.clock.hold()  # until the firmware says "wake": host boot work is not device time
        self._boot_held = True
        self.bumble = Device.with_hci("twitchlog", self.address, self._source, self._sink)
        await self.bumble.power_on()
        ble = radio.BLE(self.bumble, self._loop, self._irq_error, self.clock)
        self.ble = ble
        modules, extra = boot_modules(self.hw, ble, self._console)
        self.state = "awake"
        self.booted_at = self.clock.now()
        self.hw.orphan_errors.clear()
        try:
            result = await self._loop.run_in_executor(None, self._run_firmware, modules, extra)
        finally:
            self._end_boot_hold()
            await ble._shutdown()
        for error in self.hw.orphan_errors:  # a firmware task died on its own
            if error is not None and not isinstance(error, (PowerCut, Reset, DeepSleep, asyncio.CancelledError)):
                self.crashes.append(_format(error))
                self.emit({"event": "task_crash", "error": repr(error)})
        self.emit(
            {
                "event": "halt" if result[0] != "sleep" else "asleep",
                "awake_s": round(self.clock.now() - self.booted_at, 3),
                "reason": result[0],
            }
        )
        return result

    def _irq_error(self, error: BaseException) -> None:
        """From the firmware thread: format on the main loop (see _format)."""
        self._loop.call_soon_threadsafe(self._record_irq_error, error)

    def _record_irq_error(self, error: BaseException) -> None:
        self.irq_errors.append(_format(error))
        self.emit({"event": "irq_error", "error": repr(error)})

    def _run_firmware(self, modules: dict[str, types.ModuleType], extra: dict[str, Any]) -> tuple[str, Any]:
        """The firmware thread: import main, as MicroPython does after boot."""
        loaded: dict[str, types.ModuleType] = {}
        fw_builtins = dict(builtins.__dict__)
        fw_builtins.update(extra)

        def fw_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
            if level:
                raise ImportError("attempted relative import with no known parent package")
            if name in modules:
                return modules[name]
            if name in loaded:
                return loaded[name]
            code = self._code.get(name)
            if code is None:
                return builtins.__import__(name, globals, locals, fromlist, level)
            module = types.ModuleType(name)
            module.__file__ = code.co_filename
            module.__dict__["__builtins__"] = fw_builtins
            loaded[name] = module
            try:
                exec(code, module.__dict__)
            except BaseException:
                loaded.pop(name, None)
                raise
            return module

        fw_builtins["__import__"] = fw_import
        try:
            fw_import("main")
            return ("halted", "main.py returned")
        except DeepSleep:
            return ("sleep", None)
        except Reset as e:
            return ("reset", e.cause)
        except PowerCut:
            return ("powercut", None)
        except Exception as e:
            return ("crash", e)

    # ------------------------------------------------------------ the world
    async def press(self, seconds: float) -> None:
        """Hold the button down for `seconds` of simulated time."""
        was_asleep = self.state == "asleep"
        mark = self.mark()
        self.hw.set_button(True)
        self._wake_signal.set()
        await self.clock.sleep(seconds)
        self.hw.set_button(False)
        if was_asleep:
            await self.wait_for("wake", since=mark)

    async def sleep(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass."""
        await self.clock.sleep(seconds)

    async def advance(self, seconds: float) -> None:
        """Move simulated time forward, then let the firmware catch up."""
        self.clock.advance(seconds)
        await asyncio.sleep(0.05)

    async def wait_asleep(self, timeout: float = 30.0) -> None:
        while self.state != "asleep":
            await self.wait_for("asleep", timeout=timeout, since=self.mark())

    def powercut(self, after_flash_ops: int | None = None) -> None:
        """Cut the power now, or at the given program/erase call from now."""
        if after_flash_ops is None:
            self.hw.power_lost = True
            self.hw.image.powered = False
        else:
            self.hw.image.cut_at = self.hw.image.ops + after_flash_ops
        self._wake_signal.set()

    def reboot(self) -> None:
        """Press the reset (EN) button: RAM, radio and RTC start over; flash stays."""
        self._reboot_requested = True
        self.hw.pending_reset = True
        self._wake_signal.set()

    @contextlib.contextmanager
    def flash(self) -> Iterator[FlashImage]:
        """The flash image, to read or write as a debugger would (MicroPythonDevice has the same)."""
        yield self.hw.image

    def read_log(self) -> list[tuple]:
        """Every stored record, decoded, as a debugger reading the flash would.

        Only while the device sleeps: opening the log may repair a torn tail.
        """
        if self.state not in ("asleep", "halted", "off"):
            raise RuntimeError("read the flash only while the device sleeps")
        return read_records(self.hw.image)
