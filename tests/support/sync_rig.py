"""The companion's real sync path (bleak API -> Bumble backend) against the virtual device on one LocalLink.

runtime="cpython" (the default) runs the firmware on CPython in simulated
time; runtime="micropython" on the real interpreter with NimBLE, in real
time, with its windows shortened through the settings file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bumble.link import LocalLink

from support.ble_central import preload_log
from twitchlog.ble import devicectl
from twitchlog.ble import sync as sync_mod
from twitchlog.ble.adapter import Adapter
from twitchlog.ble.backends.bumble import BumbleHost
from twitchlog.firmware import protocol as P
from twitchlog.firmware.clock import UNIX_AT_2000
from twitchlog.sim.virtual import SimClock, VirtualDevice
from twitchlog.sim.virtual.controller import VirtualController, VirtualLink
from twitchlog.store.db import Store

T0 = 847_000_000  # simulated true time, seconds since 2000 (Nov 2026)


@dataclass
class Rig:
    link: LocalLink
    clock: SimClock | None  # None on the real runtime, which runs in real time
    device: Any  # VirtualDevice or MicroPythonDevice
    radio: VirtualController  # the companion's controller
    adapter: Adapter
    store: Store

    def now(self) -> float:
        """The companion's wall clock: true simulated time, as Unix seconds."""
        if self.clock is None:
            return time.time()
        return self.clock.now() + UNIX_AT_2000

    async def window(self, pairing: bool = False) -> None:
        """Hold the button into the sync window (or pairing mode) and wait until it advertises."""
        mark = self.device.mark()
        await self.device.hold(6.5 if pairing else 2.0)
        await self.device.wait_for("pairing" if pairing else "advertising", since=mark)

    async def pair(self) -> dict:
        await self.window(pairing=True)
        return await devicectl.pair(self.adapter, self.store, scan_timeout=2)

    async def sync(self, **kwargs) -> sync_mod.SyncResult:
        kwargs.setdefault("scan_timeout", 2)
        return await sync_mod.sync(self.adapter, self.store, now=self.now, **kwargs)

    async def press(self, kind: str = "click") -> dict:
        """A press from deep sleep; returns the device's `recorded` event (its `time` is the true time)."""
        mark = self.device.mark()
        await getattr(self.device, kind)()
        recorded = await self.device.wait_for("recorded", since=mark)
        await self.device.advance(30)  # past the event window
        await self.device.wait_asleep()
        return recorded

    def stored(self) -> list[tuple]:
        """(seq, time, arg, boot, kind) of every record in the database, in seq order."""
        return [
            tuple(r)
            for r in self.store.db.execute(
                "SELECT seq, device_time, arg, boot_id, kind FROM events WHERE seq IS NOT NULL ORDER BY seq"
            )
        ]

    async def usb_sync(self, **kwargs: Any) -> Any:
        """`sync --port` on the device's USB serial line (blocking pyserial: on a thread, with its own Store)."""
        import asyncio

        from twitchlog.usb.sync import sync_port

        def run() -> Any:
            with Store(self.store.path) as store:
                return sync_port(self.device.usb.path, store, **kwargs)

        return await asyncio.to_thread(run)

    async def close(self) -> None:
        """Release the adapter, the device and the database, each even if an earlier one fails.

        Whether the firmware crashed is the caller's check (support.sim_session
        makes it after every test), so that a failing close cannot hide it.
        """
        try:
            await self.adapter.__aexit__(None, None, None)
        finally:
            try:
                await self.device.stop()
            finally:
                self.store.close()


# The real runtime runs in real time: windows as short as the settings allow.
QUICK_SETTINGS = dict(P.DEFAULT_SETTINGS, sync_window_s=10, pair_window_s=10)


async def make_rig(
    tmp_path: Path,
    *,
    speed: float = 20,
    preload: int = 0,
    unique_id: bytes = b"\x0a\x0b\x0c\x0d\x0e\x0f",
    runtime: str = "cpython",
    heap_bytes: int | None = None,
    usb: bool = False,
    settings: dict[str, int] | None = None,
) -> Rig:
    link = VirtualLink()
    clock: SimClock | None
    if runtime == "micropython":
        from twitchlog.sim.unixport.runtime import MicroPythonDevice

        clock = None
        options: dict[str, Any] = {} if heap_bytes is None else {"heap_bytes": heap_bytes}
        if usb:
            from twitchlog.sim.unixport.usb import UsbSerial

            options["usb"] = UsbSerial(tmp_path / "ttyUSB0")  # the cable, its port at a fixed path
        device: Any = MicroPythonDevice.on_link(
            link,
            unique_id=unique_id,
            state_dir=tmp_path / "device",
            settings={**QUICK_SETTINGS, **(settings or {})},
            **options,
        )
    else:
        clock = SimClock(T0, speed=speed)
        device = VirtualDevice.on_link(link, clock=clock, unique_id=unique_id)
        if preload:
            preload_log(device, preload)
    try:
        await device.start()
        await device.advance(1)
        await device.wait_asleep()
    except BaseException:
        await device.stop()  # e.g. a heap too small to boot: no interpreter left behind
        raise
    if preload and runtime == "micropython":
        preload_log(device, preload)  # its flash exists from start() on: written at rest
    radio = VirtualController("companion", link=link)
    adapter = await Adapter.on_host(BumbleHost(radio, radio, tmp_path / "keys.json")).__aenter__()
    return Rig(link, clock, device, radio, adapter, Store(tmp_path / "twitchlog.db"))


def symptom_kinds() -> dict[str, int]:
    return {"click": P.KIND_TWITCH, "double": P.KIND_CRAMP}
