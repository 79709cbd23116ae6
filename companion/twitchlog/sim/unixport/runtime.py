"""The virtual device on the real runtime: the firmware on MicroPython with NimBLE.

Each boot is one process of the interpreter built by build.sh (32-bit,
single-precision floats, the NimBLE host, a heap the size of an ESP32-C3's).
It mounts the flash image as LittleFS, imports main.py, and runs in real
time; deep sleep ends the process and a button press that matches the wake
pin starts the next one.  Flash, the RTC (seconds since 2000, carried across
boots by this driver), RTC memory and the bonds (in flash) survive.

    device = MicroPythonDevice.on_link(link, state_dir=...)
    await device.start()
    await device.click()

The events, and the world's actions (click, hold, advance, reboot, powercut),
are those of the CPython runtime's VirtualDevice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mmap
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from twitchlog.firmware import protocol
from twitchlog.firmware.clock import UNIX_AT_2000
from twitchlog.hw import deploy
from twitchlog.hw.flash import FlashImage
from twitchlog.resources import firmware_dir
from twitchlog.sim.unixport.uart import HciUart
from twitchlog.sim.unixport.usb import UsbSerial
from twitchlog.sim.virtual.controller import VirtualController, stable_public_address
from twitchlog.sim.virtual.events import EventStream, parse_console, read_records
from twitchlog.sim.virtual.hardware import (
    DEEPSLEEP_RESET,
    HARD_RESET,
    PWRON_RESET,
    SOFT_RESET,
    WAKE_EXT0,
    WAKE_GPIO,
    WDT_RESET,
)

FLASH_SIZE = 1 << 20  # as the CPython runtime's image: 256 sectors of 4 KB
# The GC heap of MicroPython on an ESP32-C3 (ports/esp32/mpconfigport.h,
# MICROPY_GC_INITIAL_HEAP_SIZE = 64 KB since v1.21).  The port can grow it
# into ESP-IDF's heap, but with BLE active that heap is what NimBLE lives
# on, and growing it there has crashed ble.active(True) (micropython#14293).
# docs/virtual-device.md says more.
HEAP_BYTES = 64 * 1024
BOOT_TIMEOUT_S = 20.0
BINARY_ENV = "TWITCHLOG_MICROPYTHON"


def repo_build_dir() -> Path:
    """Where `make micropython` puts the interpreter in a source checkout."""
    return firmware_dir().resolve().parent / ".cache" / "micropython"


def find_binary() -> Path:
    """The built interpreter: $TWITCHLOG_MICROPYTHON, or the checkout's build."""
    chosen = os.environ.get(BINARY_ENV)
    path = Path(chosen) if chosen else repo_build_dir() / "micropython"
    if not path.is_file():
        raise FileNotFoundError(
            f"no MicroPython runtime at {path}: build it with `make micropython` "
            f"(or point {BINARY_ENV} at one built by companion/twitchlog/sim/unixport/build.sh)"
        )
    return path


class MicroPythonDevice(EventStream):
    def __init__(
        self,
        uart: HciUart,
        *,
        state_dir: Path | str | None = None,
        board: str = "esp32-devkit",
        unique_id: bytes | None = None,
        on_event: Callable[[dict], None] | None = None,
        binary: Path | None = None,
        heap_bytes: int = HEAP_BYTES,
        battery_mv: int = 3900,
        settings: dict[str, int] | None = None,
        usb: UsbSerial | None = None,
    ) -> None:
        super().__init__(on_event)
        self.uart = uart
        self.usb = usb  # the chip's USB serial line (its REPL), when the world has a cable in it
        if usb is not None:
            usb.on_receive = self._usb_receive
        self.binary = binary or find_binary()
        self.heap_bytes = heap_bytes
        self.battery_mv = battery_mv
        self.board = board
        self.settings = settings  # written to the flash at install, as a settings write would
        self.profile, _ = deploy.load_board(board)
        self._tmp: tempfile.TemporaryDirectory | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="twitchlog-mp-")
            state_dir = self._tmp.name
        self.state_dir = Path(state_dir)
        self.unique_id = self._open_state(unique_id)
        self.flash_path = self.state_dir / "flash.bin"
        self.state = "off"  # off, awake, asleep, halted
        self.boots = 0
        self.crashes: list[str] = []
        self.irq_errors: list[str] = []
        self._cut_after: int | None = None  # a power cut armed while asleep, for the next boot
        self._proc: asyncio.subprocess.Process | None = None
        self._life_task: asyncio.Task | None = None
        self._wake_signal = asyncio.Event()
        # The chip's state across boots.
        self._rtc_ms = 0  # RTC at _rtc_host (power-on: 2000-01-01)
        self._rtc_host = time.monotonic()
        self._rtc_memory = b""
        self._reset_cause = PWRON_RESET
        self._wake_reason = 0
        self._wake: tuple[int, int] | None = None  # (pin, level) armed for deep sleep
        self._pressed = False
        self._exit: tuple[str, Any] | None = None  # why the current boot ended
        self._repl_mode = ""  # after a soft reset from the raw REPL: "raw" (no main.py)
        self.in_repl = False  # main.py stopped (Ctrl-C, an error): the REPL has the serial line
        self.led = False
        self.led_changes = 0
        # NimBLE takes its controller's public address as its identity: on_link gives the controller
        # this one; over a transport, console.run asks the link's controller for its own.
        self.address = stable_public_address(self.unique_id.hex())

    @classmethod
    def on_link(cls, link: Any, **kwargs: Any) -> MicroPythonDevice:
        """A device whose controller sits on an in-process VirtualLink."""
        uart = HciUart()
        device = cls(uart, **kwargs)
        VirtualController(
            "twitchlog-mp-" + device.unique_id.hex(),
            host_source=uart,
            host_sink=uart,
            link=link,
            public_address=device.address,
        )
        return device

    def _open_state(self, unique_id: bytes | None) -> bytes:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        meta_path = self.state_dir / "device.json"
        if meta_path.exists():
            return bytes.fromhex(json.loads(meta_path.read_text())["unique_id"])
        unique_id = unique_id or os.urandom(6)
        meta_path.write_text(json.dumps({"unique_id": unique_id.hex()}))
        return unique_id

    def event_time(self) -> float:
        return self.rtc_ms() / 1000  # device time, as the CPython runtime stamps its events

    # ------------------------------------------------------------ the flash, at rest
    @contextlib.contextmanager
    def flash(self) -> Iterator[FlashImage]:
        """The flash image, to read or write as a debugger would: only while the chip is not running."""
        if self.state == "awake":
            raise RuntimeError("read the flash only while the device sleeps")
        with open(self.flash_path, "r+b") as f, mmap.mmap(f.fileno(), 0) as mapped:
            yield FlashImage(buffer=mapped)  # type: ignore[arg-type]
            mapped.flush()

    def read_log(self) -> list[tuple]:
        """Every stored record, decoded (see VirtualDevice.read_log)."""
        with self.flash() as image:
            return read_records(image)

    # ------------------------------------------------------------ the chip's clock
    def world_time(self) -> float:
        """True time, seconds since 2000, in the world the device lives in (real time here)."""
        return time.time() - UNIX_AT_2000

    def rtc_seconds(self) -> float:
        return self.rtc_ms() / 1000

    def rtc_ms(self) -> int:
        """The RTC now, in ms since 2000 (it runs whether the chip is awake or asleep)."""
        return self._rtc_ms + int((time.monotonic() - self._rtc_host) * 1000)

    def _set_rtc(self, ms: int) -> None:
        self._rtc_ms, self._rtc_host = ms, time.monotonic()

    # ------------------------------------------------------------ life
    async def start(self) -> None:
        self.uart.start()
        if self.usb is not None:
            self.usb.start()
        await self._install()
        self._life_task = asyncio.create_task(self._life())
        await self.wait_for("wake", timeout=BOOT_TIMEOUT_S)

    async def _install(self) -> None:
        """`device deploy` onto the flash image: the compiled firmware and the board profile."""
        if not self.flash_path.exists():
            self.flash_path.write_bytes(b"\xff" * FLASH_SIZE)
        # On this thread: CPython 3.11 corrupts its AST state when threads compile at once (gh-106905).
        _, artifacts = deploy.build(self.board)
        with tempfile.TemporaryDirectory(prefix="twitchlog-deploy-") as tmp:
            for artifact in artifacts:
                (Path(tmp) / artifact.name).write_bytes(artifact.data)
            if self.settings is not None:
                (Path(tmp) / "settings.bin").write_bytes(protocol.pack_settings(self.settings))
            code = "import virtual_chip; virtual_chip.install(%r, %r)" % (str(self.flash_path), tmp)
            proc = await asyncio.create_subprocess_exec(
                str(self.binary),
                "-X",
                "heapsize=%d" % self.heap_bytes,
                "-c",
                code,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await proc.communicate()
        if proc.returncode != 0 or b"CHIP installed" not in out:
            raise RuntimeError("installing the firmware on the flash image failed:\n" + out.decode(errors="replace"))

    async def stop(self) -> None:
        """Power off for good; the flash stays readable (a temporary state folder goes with this object)."""
        if self.state == "off" and self._life_task is None:
            return
        self._exit = ("stopped", None)  # not a crash: the test or the user ended it
        await self._kill()
        if self._life_task is not None:
            self._life_task.cancel()
            try:
                await self._life_task
            except asyncio.CancelledError:
                pass
            self._life_task = None
        self.uart.close()
        if self.usb is not None:
            self.usb.close()
        self.state = "off"

    async def _life(self) -> None:
        while True:
            outcome, detail = await self._boot_once()
            if outcome == "stopped":
                return
            if outcome == "sleep":
                self.state = "asleep"
                await self._sleep_until_woken()
            elif outcome == "powercut":
                self.emit({"event": "powercut"})
                self._power_on()
            elif outcome == "reset":
                self.emit({"event": "reset", "cause": detail})
                if detail == HARD_RESET:
                    self._power_on()
                self._reset_cause, self._wake_reason, self._wake = detail, 0, None
            elif outcome == "soft":  # the interpreter restarts; the RTC and its memory were handed over
                self.emit({"event": "reset", "cause": SOFT_RESET, "repl": detail})
                self._reset_cause, self._wake_reason, self._wake = SOFT_RESET, 0, None
                self._repl_mode = "raw" if detail == "raw" else ""
            else:  # crash, or main.py returned: MicroPython would sit at the REPL until reset
                if outcome == "crash":
                    self.crashes.append(detail)
                self.emit({"event": outcome, "error": detail})
                self.state = "halted"
                self._exit = None
                while self._exit is None:
                    self._wake_signal.clear()
                    await self._wake_signal.wait()
                self._power_on()
                self._reset_cause = HARD_RESET

    def _power_on(self) -> None:
        self._set_rtc(0)
        self._rtc_memory = b""
        self._reset_cause, self._wake_reason, self._wake = PWRON_RESET, 0, None

    async def _sleep_until_woken(self) -> None:
        while True:
            self._wake_signal.clear()
            if self._exit is not None:  # reset or power cut while asleep
                outcome, detail = self._exit
                self._exit = None
                if outcome == "powercut":
                    self.emit({"event": "powercut"})
                self._power_on()
                if outcome == "reset":
                    self._reset_cause = detail
                return
            if self._wake is not None and self._pin_level(self._wake[0]) == self._wake[1]:
                self._reset_cause = DEEPSLEEP_RESET
                self._wake_reason = WAKE_EXT0 if self.profile["wake"] == "ext0" else WAKE_GPIO
                self._wake = None
                return
            await self._wake_signal.wait()

    def _pin_level(self, pin: int) -> int:
        button = self.profile["button"]
        if pin == button["pin"]:
            return button["active"] if self._pressed else 1 - button["active"]
        return 0

    async def _boot_once(self) -> tuple[str, Any]:
        self.boots += 1
        self._exit = None
        button_pin = self.profile["button"]["pin"]
        env = dict(os.environ)
        env.update(
            MICROPYBTUART=self.uart.path,
            TL_RESET_CAUSE=str(self._reset_cause),
            TL_WAKE_REASON=str(self._wake_reason),
            TL_UNIQUE_ID=self.unique_id.hex(),
            # The ADC sees the cell through the board's divider.
            TL_BATTERY_UV=str(int(self.battery_mv * 1000 / self.profile["battery"]["divider"])),
            TL_RTC_MS=str(self.rtc_ms()),
            TL_RTC_MEMORY=self._rtc_memory.hex(),
            TL_PINS="%d=%d" % (button_pin, self._pin_level(button_pin)),
            TL_CUT_AFTER=str(-1 if self._cut_after is None else self._cut_after),
            TL_REPL=self._repl_mode,
        )
        self._cut_after = None
        self.in_repl = self._repl_mode == "raw"  # back from a soft reset in the raw REPL: main.py does not run
        self._repl_mode = ""
        await self.uart.attach()
        self.state = "awake"
        booted = time.monotonic()
        self._proc = await asyncio.create_subprocess_exec(
            str(self.binary),
            "-X",
            "heapsize=%d" % self.heap_bytes,
            "-c",
            "import virtual_chip; virtual_chip.boot(%r)" % str(self.flash_path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        output: list[str] = []
        try:
            await asyncio.gather(self._read_serial(self._proc, output), self._read_chip(self._proc, output))
            await self._proc.wait()
        finally:
            self.uart.detach()
            self._proc = None
        awake = time.monotonic() - booted
        if self._exit is None:
            self._exit = ("crash", "\n".join(output[-30:]))
        result, self._exit = self._exit, None
        if result[0] != "soft":  # a soft reset is not the end of the chip's run: its "reset" event follows
            self.emit(
                {"event": "asleep" if result[0] == "sleep" else "halt", "awake_s": round(awake, 3), "reason": result[0]}
            )
        return result

    async def _read_serial(self, proc: asyncio.subprocess.Process, output: list[str]) -> None:
        """stdout is the USB serial line: to the pty as it comes, and read for the firmware's EVT lines."""
        assert proc.stdout is not None
        partial = b""
        while chunk := await proc.stdout.read(65536):
            if self.usb is not None:
                await self.usb.send(chunk)
            *lines, partial = (partial + chunk).split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace").rstrip("\r")
                output.append(line)
                del output[:-30]
                self._console(line)
        if partial:
            self._console(partial.decode(errors="replace"))

    async def _read_chip(self, proc: asyncio.subprocess.Process, output: list[str]) -> None:
        """stderr: the chip's own lines to this driver ("CHIP ..."), and whatever the interpreter dies with."""
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            words = line.split()
            if words[:1] == ["CHIP"]:
                self._chip_says(words[1:], output)
            elif words:
                output.append(line)
                self._console(line)

    def _usb_receive(self, data: bytes) -> None:
        """Host -> chip on the USB line; lost while the chip sleeps or is off, as on a UART."""
        self._send("usb " + data.hex())

    def _console(self, line: str) -> None:
        if not line.strip() or self.in_repl:
            return  # the REPL's traffic (a sync's records) is not the firmware talking
        event = parse_console(line)
        if line.startswith("Unhandled exception in IRQ callback handler"):
            self.irq_errors.append(line)
        elif line.startswith("Task exception wasn't retrieved"):  # a firmware task died on its own
            self.crashes.append(line)
        self.emit(event if event is not None else {"event": "console", "line": line})

    def _chip_says(self, words: list[str], output: list[str]) -> None:
        what = words[0] if words else ""
        if what == "sleep":  # sleep RTC_MS MEMORY PIN LEVEL
            rtc_ms, memory, pin, level = words[1:5]
            self._set_rtc(int(rtc_ms))
            self._rtc_memory = b"" if memory == "-" else bytes.fromhex(memory)
            self._wake = (int(pin), int(level)) if int(pin) >= 0 else None
            self._exit = ("sleep", None)
        elif what == "pin" and int(words[1]) == self.profile["led"]["pin"]:
            lit = int(words[2]) == self.profile["led"]["active"]
            self.led_changes += lit != self.led
            self.led = lit
        elif what == "heap":  # heap ALLOC FREE, after a collection
            self.emit({"event": "heap", "alloc": int(words[1]), "free": int(words[2])})
        elif what == "stalled":  # the armed stall: held before a flash write until interrupted
            self.emit({"event": "stalled"})
        elif what == "cut":  # the armed power cut: the chip stalled at that flash operation
            self._exit = ("powercut", None)
            self._signal_kill()
        elif what == "watchdog":
            self._exit = ("reset", WDT_RESET)
            self._signal_kill()
        elif what == "reset":
            self._exit = ("reset", HARD_RESET)
        elif what == "soft":  # soft RTC_MS MEMORY REPL_MODE: the interpreter restarts, the RTC runs on
            self._set_rtc(int(words[1]))
            self._rtc_memory = b"" if words[2] == "-" else bytes.fromhex(words[2])
            self._exit = ("soft", words[3])
        elif what == "sigint":  # Ctrl-C on the serial line while code runs: the port's KeyboardInterrupt
            if self._proc is not None and self._proc.returncode is None:
                self._proc.send_signal(signal.SIGINT)
        elif what == "repl":  # main.py stopped and the REPL took the serial line
            self.in_repl = True
            if words[1] == "interrupted":
                self.emit({"event": "interrupted"})
            else:  # an error, or main.py returned: the app is halted until a reset
                error = "\n".join(output[-30:] + [" ".join(words[2:])])
                if words[1] == "crash":
                    self.crashes.append(error)
                self.state = "halted"
                self.emit({"event": words[1], "error": error})

    def _signal_kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.send_signal(signal.SIGKILL)

    async def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()

    # ------------------------------------------------------------ the world
    def _send(self, line: str) -> None:
        proc = self._proc
        if proc is not None and proc.stdin is not None and proc.returncode is None:
            try:
                proc.stdin.write((line + "\n").encode())
            except (BrokenPipeError, ConnectionResetError):
                pass

    def set_button(self, pressed: bool) -> None:
        self._pressed = pressed
        button = self.profile["button"]
        self._send("pin %d %d" % (button["pin"], self._pin_level(button["pin"])))
        self._wake_signal.set()

    async def press(self, seconds: float) -> None:
        """Hold the button down for `seconds`; a press that wakes the chip may end before Python runs."""
        was_asleep = self.state == "asleep"
        mark = self.mark()
        self.set_button(True)
        await asyncio.sleep(seconds)
        self.set_button(False)
        if was_asleep:
            await self.wait_for("wake", since=mark, timeout=BOOT_TIMEOUT_S)

    async def sleep(self, seconds: float) -> None:
        """Let time pass (real time: this runtime cannot run faster)."""
        await asyncio.sleep(seconds)

    async def advance(self, seconds: float) -> None:
        """Move the RTC forward, as if `seconds` had passed (the chip's ticks do not jump)."""
        self._set_rtc(self.rtc_ms() + int(seconds * 1000))
        if self.state == "awake":
            self._send("rtc %d" % int(seconds * 1000))
        await asyncio.sleep(0.05)

    async def heap(self) -> dict:
        """The firmware's live heap now (collected first), while awake: {"alloc": bytes, "free": bytes}."""
        mark = self.mark()
        self._send("heap")
        return await self.wait_for("heap", since=mark, timeout=5)

    async def wait_asleep(self, timeout: float = 30.0) -> None:
        while self.state != "asleep":
            await self.wait_for("asleep", timeout=timeout, since=self.mark())

    def powercut(self, after_flash_ops: int | None = None) -> None:
        """Cut the power now, or at the given program/erase call from now (while awake).

        The process dies mid-instruction; the flash keeps what was written.
        """
        if after_flash_ops is not None:
            if self.state == "awake":
                self._send("cut %d" % after_flash_ops)
            else:
                self._cut_after = after_flash_ops
            return
        self._exit = ("powercut", None)
        self._signal_kill()
        self._wake_signal.set()

    def stall(self, after_flash_ops: int) -> None:
        """Hold the chip before the Nth program/erase from now until a Ctrl-C interrupts it (while awake)."""
        self._send("stall %d" % after_flash_ops)

    def reboot(self) -> None:
        """Press the reset (EN) button: RAM, radio and RTC start over; flash stays."""
        self._exit = ("reset", HARD_RESET)
        self._signal_kill()
        self._wake_signal.set()
