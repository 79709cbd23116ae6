"""What a virtual device did (JSON-ready events) and what its flash holds, for both runtimes.

The firmware prints "EVT name key=value ..." lines on its console (they show
in `mpremote repl` on hardware); both the CPython and the MicroPython runtime
turn them into dicts here and add their own (wake, asleep, crash, ...).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from twitchlog.firmware import eventlog, protocol
from twitchlog.hw.flash import FlashImage, LfsFS, mount
from twitchlog.kinds import kind_name


def parse_console(line: str) -> dict | None:
    """'EVT recorded seq=3 kind=1' -> {"event": "recorded", "seq": 3, "kind": "twitch"}."""
    parts = line.split()
    if len(parts) < 2 or parts[0] != "EVT":
        return None
    event: dict[str, Any] = {"event": parts[1]}
    for part in parts[2:]:
        key, _, raw = part.partition("=")
        try:
            value: Any = int(raw)
        except ValueError:
            value = raw
        if key == "kind" and isinstance(value, int):
            value = kind_name(value)  # the companion's names: one list for device and database
        event[key] = value
    return event


class EventStream:
    """The events a device emitted, with waiting on them by name, and what a wearer does to the button.

    A runtime gives press(seconds), sleep(seconds) (time passing, simulated
    or real) and its `state`; the gestures are built from them here.
    """

    state: str

    def __init__(self, on_event: Callable[[dict], None] | None = None) -> None:
        self.events: list[dict] = []
        self._listeners: list[Callable[[dict], None]] = [on_event] if on_event else []
        self._event_signal = asyncio.Event()

    def event_time(self) -> float:
        raise NotImplementedError

    def emit(self, event: dict) -> None:
        event.setdefault("time", round(self.event_time(), 3))
        self.events.append(event)
        for listener in self._listeners:
            listener(event)
        self._event_signal.set()

    async def wait_for(self, name: str, timeout: float = 10.0, since: int = 0, **match: Any) -> dict:
        """The first event `name` (with fields `match`) at index >= since.  Real-time timeout."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for event in self.events[since:]:
                if event["event"] == name and all(event.get(k) == v for k, v in match.items()):
                    return event
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(
                    "virtual device: no %r event %s within %.1fs; last: %s"
                    % (name, match or "", timeout, self.events[-5:])
                )
            self._event_signal.clear()
            try:
                await asyncio.wait_for(self._event_signal.wait(), remaining)
            except TimeoutError:
                pass

    def mark(self) -> int:
        """An index for wait_for(since=...): only events after this point."""
        return len(self.events)

    # ------------------------------------------------------------ the wearer
    async def press(self, seconds: float) -> None:
        raise NotImplementedError

    async def sleep(self, seconds: float) -> None:
        raise NotImplementedError

    async def _clicks(self, n: int) -> None:
        mark = self.mark()
        for i in range(n):
            if i:
                await self.sleep(0.15)
            await self.press(0.08)
        await self._decoded(mark)

    async def _decoded(self, mark: int) -> None:
        """Wait until the firmware has decoded the gesture.

        Without this, a following advance() could jump the clock before the
        firmware saw the release, turning a click into a long hold.
        """
        if self.state != "off":
            await self.wait_for("gesture", since=mark)

    async def click(self) -> None:
        await self._clicks(1)

    async def double(self) -> None:
        await self._clicks(2)

    async def triple(self) -> None:
        await self._clicks(3)

    async def hold(self, seconds: float) -> None:
        mark = self.mark()
        await self.press(seconds)
        await self._decoded(mark)


def read_records(image: FlashImage) -> list[tuple]:
    """Every record in a device's flash image, decoded with the firmware's own log reader."""
    fs = LfsFS(mount(image, format_if_blank=False))
    log = eventlog.EventLog(fs, "log", 240)
    log.open()
    reader = log.reader()
    buf = bytearray(protocol.RECORD_SIZE * 64)
    out = []
    while n := reader.readinto(buf):
        out.extend(protocol.unpack_notification(bytes(buf[:n])))
    reader.close()
    return out
