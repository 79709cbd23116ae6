"""Awake times for the power model, measured on the virtual device.

The unmodified firmware runs on the virtual device with a simulated clock
(speed 20); every figure is simulated device seconds from wake to deep sleep,
as the device reports them ("asleep" events), so they follow the firmware's
real windows and gesture timing.  Host-side boot is not in them (the simulated
clock holds while the host loads the firmware): `twitchlog.hw.power` adds a
boot time per wake separately.

- per event: a click from deep sleep, nothing connects (firmware default
  event_window_s=0: BLE stays off);
- per sync: the daily sync as a user does it: hold 2 s (sync window), a
  bonded central connects, re-encrypts, sets the time, reads the day's
  records (RACP report all), acknowledges them (RACP delete <= last),
  disconnects; the firmware closes the window at that disconnect.  The
  figure is split into the hold until the window opens, the advertising
  before the central connects, the connection, and the rest after it;
- per pairing (once per phone/computer): hold 6.5 s, pair, disconnect; the
  device stays up until the 60 s pairing window ends.

`measure_real_awake_times()` measures the same day on the real runtime (real
time); twitchlog.hw.power takes its figures from there.

The device is left to go to sleep by itself with the simulated clock running:
stepping the clock forward while the firmware is about to sleep would move
its sleep to the end of the step (a 1 s step made a 0.43 s click read 1.43 s).
What the host does in real time still costs simulated time at speed 20: the
test central takes ~0.25-0.5 real s to connect on the virtual link (Bumble's
controller advertises on a real-time timer), each real ms worth 20 device
ms, so the advertising before it connects (~10 s) and the connected time
are upper bounds for a central that is already scanning.

    .venv/bin/python tests/bench/power_bench.py [BOARD]     # the CPython runtime
    .venv/bin/python tests/bench/power_bench.py --real      # the real runtime (make micropython first)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

# tests/, whose package `support` holds the rigs these figures share with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from support.ble_central import CURRENT_TIME, bonded_central, protocol
from twitchlog.sim.virtual import SimClock, VirtualDevice
from twitchlog.sim.virtual.controller import VirtualLink

EVENTS_PER_DAY = 20  # the day's records the daily sync moves
EVENT_SAMPLES = 5
IDLE_TIMEOUT_S = 30.0  # real seconds: the 60 s pairing window is 3 s at speed 20


async def _idle_out(device: VirtualDevice, since: int) -> dict:
    """The device's own "asleep" event, with the simulated clock running: no steps to overshoot."""
    return await device.wait_for("asleep", since=since, timeout=IDLE_TIMEOUT_S)


def _connected_s(events: list[dict]) -> float:
    start = None
    total = 0.0
    for event in events:
        if event["event"] == "connected":
            start = event["time"]
        elif event["event"] in ("disconnected", "dropped") and start is not None:
            total += event["time"] - start
            start = None
    return total


def _first(events: list[dict], name: str) -> float:
    return next(e["time"] for e in events if e["event"] == name)


def _last(events: list[dict], name: str) -> float:
    return [e["time"] for e in events if e["event"] == name][-1]


async def _measure(board: str) -> dict:
    link = VirtualLink()
    device = VirtualDevice.on_link(link, clock=SimClock(847_000_000, speed=20), board=board)
    # Pairing, once.
    central, mark = await bonded_central(link, device)
    await central.disconnect()
    pair_awake = (await _idle_out(device, mark))["awake_s"]

    # A day of clicks, each from deep sleep.
    event_awake = []
    for i in range(EVENTS_PER_DAY):
        mark = device.mark()
        await device.click()
        await device.wait_for("recorded", since=mark)
        asleep = await _idle_out(device, mark)
        if i < EVENT_SAMPLES:
            event_awake.append(asleep["awake_s"])
        await device.advance(600)

    # The daily sync.
    mark = device.mark()
    await device.hold(2.0)
    await device.wait_for("advertising", since=mark)
    await central.connect(device.address)
    await central.encrypt()
    await device.wait_for("bonded", since=mark)
    await central.subscribe_log()
    now = int(device.clock.now())
    await central.write(CURRENT_TIME, protocol.pack_current_time(now, adjust_reason=protocol.ADJUST_MANUAL))
    report = await central.racp(protocol.racp_request(protocol.OP_REPORT, protocol.OPR_ALL))
    records = central.received_records()
    last = records[-1][0]
    ack = await central.racp(protocol.racp_request(protocol.OP_DELETE, protocol.OPR_LE, hi=last))
    await central.disconnect()
    sync = await _idle_out(device, mark)
    sync_events = device.events[mark:]
    woke = _first(sync_events, "wake")
    advertising = _first(sync_events, "advertising")
    connected = _first(sync_events, "connected")
    left = _last(sync_events, "disconnected")
    await device.stop()
    assert report == ("code", protocol.OP_REPORT, protocol.RSP_SUCCESS)
    assert sum(r[4] == protocol.KIND_TWITCH for r in records) == EVENTS_PER_DAY, records
    assert ack == ("code", protocol.OP_DELETE, protocol.RSP_SUCCESS)
    assert device.crashes == [] and device.irq_errors == []
    return {
        "board": board,
        "event_awake_s": round(sum(event_awake) / len(event_awake), 2),
        "event_awake_range_s": [round(min(event_awake), 2), round(max(event_awake), 2)],
        "sync_awake_s": round(sync["awake_s"], 2),
        "sync_hold_s": round(advertising - woke, 2),  # wake until the sync window opens (the hold gesture)
        "sync_advertising_s": round(connected - advertising, 2),  # until the central connected (host latency x 20)
        "sync_connected_s": round(_connected_s(sync_events), 2),
        "sync_after_s": round(sync["time"] - left, 2),  # the acknowledged disconnect until deep sleep
        "sync_closed_by": "synced" if any(e["event"] == "synced" for e in sync_events) else "window end",
        "sync_records": len(records),
        "sync_notifications": len(central.notifications),
        "pair_awake_s": round(pair_awake, 2),
    }


async def _measure_real(folder: Path, presses: int) -> dict:
    """The same day on the real runtime (MicroPython 1.25 + NimBLE), in real time.

    Each figure runs from the interpreter's process start to deep sleep: it
    includes MicroPython's own start-up and the LittleFS mount, which on a chip
    are part of the boot that the power model also counts (`boot_s`), so
    using these figures counts that part twice (~0.04 s a wake): on the safe side.
    The daily sync is `twitchlog sync --watch`'s case: the companion is
    already scanning when the wearer holds the button, so the advertising
    before it connects is the companion's own scan-and-connect latency.
    """
    from support.sync_rig import make_rig

    rig = await make_rig(folder, runtime="micropython")
    try:
        device = rig.device
        await rig.pair()
        await device.wait_asleep(timeout=60)
        event_awake = []
        for _ in range(presses):
            mark = device.mark()
            await device.click()
            await device.wait_for("recorded", since=mark, timeout=30)
            event_awake.append((await device.wait_for("asleep", since=mark, timeout=30))["awake_s"])
        # The device's own event times are its RTC, which the sync sets: stamp arrivals on the host.
        seen: list[dict] = []
        device._listeners.append(lambda e: seen.append({**e, "time": time.monotonic()}))
        syncing = asyncio.ensure_future(rig.sync(scan_timeout=15))
        await device.press(2.0)  # the hold that opens the sync window
        result = await syncing
        await device.wait_asleep(timeout=60)
        crashes = device.crashes + device.irq_errors
    finally:
        await rig.close()
    asleep = next(e for e in seen if e["event"] == "asleep")
    events = seen[: seen.index(asleep) + 1]
    started = asleep["time"] - asleep["awake_s"]  # process start: the wake as the chip sees it
    advertising = _first(events, "advertising")
    connected = _first(events, "connected")
    left = _last(events, "disconnected")
    return {
        "runtime": "micropython",
        "event_awake_s": round(sum(event_awake) / len(event_awake), 3),
        "event_awake_range_s": [round(min(event_awake), 3), round(max(event_awake), 3)],
        "sync_awake_s": round(asleep["awake_s"], 2),
        "sync_hold_s": round(advertising - started, 2),
        "sync_advertising_s": round(connected - advertising, 2),
        "sync_connected_s": round(_connected_s(events), 2),
        "sync_after_s": round(asleep["time"] - left, 2),
        "sync_closed_by": "synced" if any(e["event"] == "synced" for e in events) else "window end",
        "sync_records": result.received,
        "crashes": crashes,
    }


def measure_real_awake_times(presses: int = EVENTS_PER_DAY) -> dict:
    """Seconds awake per press and per daily sync on the real runtime (needs `make micropython`)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="twitchlog-power-") as tmp:
        return asyncio.run(asyncio.wait_for(_measure_real(Path(tmp), presses), 900))


def measure_awake_times(board: str = "xiao-esp32c3") -> dict:
    """Simulated seconds awake per event, per daily sync and per pairing, from the virtual device."""
    return asyncio.run(asyncio.wait_for(_measure(board), 600))


def power_figures() -> list[tuple[str, str, str]]:
    """Rows (what, value, note) for the bench table: the awake times both runtimes measure, and the
    modelled life on every board."""
    from twitchlog.hw import power

    sim = measure_awake_times(power.RECOMMENDED_BOARD)
    real = measure_real_awake_times()
    same = abs(real["event_awake_s"] - power.MEASURED_EVENT_AWAKE_S) < 0.08
    same = same and abs(real["sync_hold_s"] - power.MEASURED_SYNC_HOLD_S) < 0.2
    same = same and real["sync_advertising_s"] < 5 and real["sync_closed_by"] == "synced"
    rows = [
        (
            "Awake per event, real runtime",
            f"{real['event_awake_s']:.2f} s",
            f"range {real['event_awake_range_s']} over {EVENTS_PER_DAY} clicks; event_window_s 0: BLE stays off",
        ),
        (
            "Awake per daily sync, real runtime",
            f"{real['sync_awake_s']:.2f} s",
            f"hold {real['sync_hold_s']:.2f} s + advertising {real['sync_advertising_s']:.2f} s (companion already "
            f"scanning) + connected {real['sync_connected_s']:.2f} s (virtual link; the model takes "
            f"{power.SYNC_CONNECTED_S} s on a real one); window closed by: {real['sync_closed_by']}",
        ),
        (
            "Awake per event / sync, CPython runtime",
            f"{sim['event_awake_s']:.2f} s / {sim['sync_awake_s']:.2f} s",
            f"simulated time: the sync's advertising {sim['sync_advertising_s']:.2f} s is host latency x 20",
        ),
        ("power.py defaults match the real runtime", "yes" if same else "NO", "tests/test_power.py checks it too"),
    ]
    for name, b in power.every_board().items():
        dominant = b.dominant
        verdict = "meets" if b.months >= power.GOAL_MONTHS else "short of"
        rows.append(
            (
                f"Battery life, {name}" + (" (recommended)" if name == power.RECOMMENDED_BOARD else ""),
                f"{b.days:.0f} days ({b.months:.1f} months)",
                f"400 mAh, 20 events + 1 sync a day: {verdict} the {power.GOAL_MONTHS}-month goal; "
                f"{dominant.name} {100 * dominant.mah_per_day / b.mah_per_day:.0f}%; hardware/POWER.md",
            )
        )
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--real"]:
        print(json.dumps(measure_real_awake_times(), indent=2))
    else:
        print(json.dumps(measure_awake_times(*sys.argv[1:2]), indent=2))
