"""`twitchlog demo`: eight weeks of a randomized magnesium trial, end to end, without hardware.

The unmodified firmware runs on the virtual device; its radio shares a
simulated link with the companion's own Bumble host.  A scripted wearer
(simulate.demo_trial: a randomized on/off plan, a built-in effect, two days
without the device, one missed dose) presses the button at the planned
moments, holds it weekly to sync, and the companion syncs over the real BLE
path (bleak API, Bumble backend, RACP), logs the intake, marks the gaps,
and writes the report.  The device's RTC drifts 3% in deep sleep, as a
cheap ESP32 oscillator would; the clock anchors correct it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twitchlog.ble import devicectl
from twitchlog.ble import sync as sync_mod
from twitchlog.ble.adapter import Adapter
from twitchlog.ble.backends.bumble import BumbleHost
from twitchlog.errors import UserError
from twitchlog.firmware.clock import UNIX_AT_2000
from twitchlog.intake import entries as intake
from twitchlog.report import html as report
from twitchlog.report.html import Report
from twitchlog.sim.virtual import SimClock, VirtualDevice
from twitchlog.sim.virtual.controller import VirtualController, VirtualLink
from twitchlog.stats import simulate
from twitchlog.store import trials as trialstore
from twitchlog.store.db import Store

SYNC_EVERY_DAYS = 7
RTC_DRIFT = 0.03
Step = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class DemoResult:
    db: Path
    pressed: int
    stored: int
    syncs: int
    max_time_error_s: float
    report: Path | None = None  # run() fills both or raises
    analysis: Report | None = None


def _utc(local: dt.datetime) -> float:
    return local.astimezone().timestamp()  # naive = the machine's local time, as the report uses


async def run(out: Path, *, weeks: int = 8, seed: int = 7, speed: float = 20.0, step: Step | None = None) -> DemoResult:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out {out}: {e.strerror}") from None
    db = out / "twitchlog.db"
    for old in out.glob("twitchlog.db*"):
        old.unlink()  # the demo starts from nothing each time
    days_ahead = simulate.demo_trial(start=dt.date.today() - dt.timedelta(days=weeks * 7), seed=seed, weeks=weeks)
    first = _utc(dt.datetime.combine(days_ahead.days[0].date, dt.time(7, 0)))
    clock = SimClock(first - UNIX_AT_2000, speed=speed)
    link = VirtualLink()
    state = Path(tempfile.mkdtemp(prefix="twitchlog-demo-device-"))
    device = VirtualDevice.on_link(link, clock=clock, state_dir=state)
    radio = VirtualController("companion", link=link)
    store = Store(db)
    result = DemoResult(db, 0, 0, 0, 0.0)
    truth: dict[int, float] = {}  # device seq -> true UTC of the press
    try:
        await device.start()
        await device.advance(1)
        await device.wait_asleep()
        async with Adapter.on_host(BumbleHost(radio, radio, out / "twitchlog.bumble-keys.json")) as adapter:

            def now() -> float:
                return clock.now() + UNIX_AT_2000

            async def hold(seconds: float, wanted: str) -> None:
                mark = device.mark()
                await device.hold(seconds)
                await device.wait_for(wanted, since=mark)

            async def sync() -> None:
                await hold(2.0, "advertising")
                await sync_mod.sync(adapter, store, now=now, scan_timeout=3)
                result.syncs += 1
                await device.wait_asleep(timeout=60)

            await hold(6.5, "pairing")
            await devicectl.pair(adapter, store, scan_timeout=3)
            await device.advance(120)
            await device.wait_asleep()
            trialstore.save_plan(store, days_ahead.plan.to_json())
            device.hw.rtc_drift = RTC_DRIFT
            total = len(days_ahead.days)
            for number, day in enumerate(days_ahead.days, 1):
                if step:
                    step(f"day {number} of {total}", number - 1, total)
                for when, mg, form in day.supplements:
                    intake.add_intake(store, mg, form=form, utc=int(_utc(when)))
                if day.diet_mg is not None:
                    intake.add_intake(
                        store, day.diet_mg, diet=True, utc=int(_utc(dt.datetime.combine(day.date, dt.time(19, 0))))
                    )
                if not day.tracked:
                    start = _utc(dt.datetime.combine(day.date, dt.time()))
                    store.add_gap(int(start), int(start + 86400), "demo: device left at home")
                for when, kind in day.events:
                    target = _utc(when) - UNIX_AT_2000
                    if target > clock.now():
                        await device.advance(target - clock.now())
                    mark = device.mark()
                    await (device.double() if kind == "cramp" else device.click())
                    recorded = await device.wait_for("recorded", since=mark)
                    truth[recorded["seq"]] = recorded["time"] + UNIX_AT_2000
                    await device.wait_asleep()
                    result.pressed += 1
                if number % SYNC_EVERY_DAYS == 0 or number == total:
                    evening = _utc(dt.datetime.combine(day.date, dt.time(21, 30))) - UNIX_AT_2000
                    if evening > clock.now():
                        await device.advance(evening - clock.now())
                    await sync()
            if step:
                step("synced", total, total)
        events = store.events()
        result.stored = len(events)
        errors = [abs(e.utc - truth[e.seq]) for e in events if e.seq in truth and e.utc is not None]
        result.max_time_error_s = max(errors) if errors else 0.0
        if step:
            step("analysing and writing the report", total, total)
        result.analysis = report.build(store, now=clock.now() + UNIX_AT_2000)
        result.report = report.write(result.analysis, out / "twitchlog-report.html")
    finally:
        store.close()
        await device.stop()
        shutil.rmtree(state, ignore_errors=True)
    return result
