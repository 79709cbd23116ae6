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

The device is left to go to sleep by itself with the simulated clock running:
stepping the clock forward while the firmware is about to sleep would move
its sleep to the end of the step (a 1 s step made a 0.43 s click read 1.43 s).
What the host does in real time still costs simulated time at speed 20: the
test central takes ~0.25-0.5 real s to connect on the virtual link (Bumble's
controller advertises on a real-time timer), each real ms worth 20 device
ms, so the advertising before it connects (~10 s) and the connected time
are upper bounds for a central that is already scanning.

    .venv/bin/python tests/bench/power_bench.py [BOARD]
"""

from __future__ import annotations

import asyncio
import json
import sys
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


def measure_awake_times(board: str = "xiao-esp32c3") -> dict:
    """Simulated seconds awake per event, per daily sync and per pairing, from the virtual device."""
    return asyncio.run(asyncio.wait_for(_measure(board), 600))


def power_figures(board: str = "xiao-esp32c3") -> list[tuple[str, str, str]]:
    """Rows (what, value, note) for the bench table: measured awake times and the modelled life."""
    from twitchlog.hw import power

    m = measure_awake_times(board)
    budget = power.budget(power.Usage(board=board))
    same = abs(m["event_awake_s"] - power.MEASURED_EVENT_AWAKE_S) < 0.25
    same = same and abs(m["sync_awake_s"] - power.MEASURED_SYNC_AWAKE_S) < 5
    same = same and m["sync_closed_by"] == "synced"
    dominant = budget.dominant
    share = 100 * dominant.mah_per_day / budget.mah_per_day
    return [
        ("Awake per event, measured", f"{m['event_awake_s']:.2f} s", f"{board}; event_window_s 0: BLE stays off"),
        (
            "Awake per daily sync, measured",
            f"{m['sync_awake_s']:.2f} s",
            f"hold {m['sync_hold_s']:.2f} s + advertising {m['sync_advertising_s']:.2f} s (upper bound: host latency)"
            f" + connected {m['sync_connected_s']:.2f} s; window closed by: {m['sync_closed_by']}",
        ),
        ("power.py defaults match the measurement", "yes" if same else "NO", "tests/test_power.py checks it too"),
        (
            "Battery life, 400 mAh, 20 events + 1 sync a day",
            f"{budget.days:.0f} days ({budget.months:.1f} months)",
            f"goal 12 months; {dominant.name} {share:.0f}% of it; see hardware/POWER.md",
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(measure_awake_times(*sys.argv[1:2]), indent=2))
