"""Virtual-device figures: serving 10,000 records over the Bumble link, and awake times.

Awake times are simulated device seconds, as the virtual device measures them
(wake to deep sleep); they are the power model's inputs.  Wall time and rate
are host figures for the virtual link, not a radio's.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

# tests/, whose package `support` holds the rigs these figures share with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from support.ble_central import bonded_central, preload_log, protocol
from twitchlog.sim.virtual import SimClock, VirtualDevice
from twitchlog.sim.virtual.controller import VirtualLink

RECORDS = 10_000
CONNECTION_INTERVAL_S = 0.030  # a typical phone/desktop central
PACKETS_PER_EVENT = 4  # notifications per connection event a central commonly accepts


async def _serve_10k() -> dict:
    link = VirtualLink()
    device = VirtualDevice.on_link(link, clock=SimClock(847_000_000, speed=20))
    preload_log(device, RECORDS)
    central, _ = await bonded_central(link, device)
    await central.subscribe_log()
    notes0 = device.ble.notifications
    start = time.perf_counter()
    answer = await central.racp(protocol.racp_request(protocol.OP_REPORT, protocol.OPR_ALL), timeout=300)
    wall = time.perf_counter() - start
    received = len(central.received_records())
    notifications = device.ble.notifications - notes0
    await central.disconnect()
    sync_mark = device.mark()
    asleep = await _idle_out(device, sync_mark)
    await device.stop()
    assert answer == ("code", protocol.OP_REPORT, protocol.RSP_SUCCESS) and received == RECORDS
    return {"wall": wall, "notifications": notifications, "received": received, "sync_awake": asleep["awake_s"]}


async def _idle_out(device: VirtualDevice, since: int) -> dict:
    """Step simulated time a second at a time until the device sleeps: no overshoot."""
    while True:
        for event in device.events[since:]:
            if event["event"] == "asleep":
                return event
        await device.advance(1)


async def _awake_per_event() -> float:
    link = VirtualLink()
    device = VirtualDevice.on_link(link, clock=SimClock(847_000_000, speed=20))
    await device.start()
    await device.advance(1)
    await device.wait_asleep()
    awake = []
    for _ in range(5):
        mark = device.mark()
        await device.click()
        await device.wait_for("recorded", since=mark)
        awake.append((await _idle_out(device, mark))["awake_s"])
    await device.stop()
    return sum(awake) / len(awake)


def virtual_link_figures() -> list[tuple[str, str, str]]:
    served = asyncio.run(_serve_10k())
    per_event = asyncio.run(_awake_per_event())
    per_packet = served["received"] / served["notifications"]
    modelled = served["notifications"] / PACKETS_PER_EVENT * CONNECTION_INTERVAL_S
    return [
        (
            "10,000 records served over the virtual link",
            f"{served['wall']:.2f} s",
            f"{served['received'] / served['wall']:,.0f} records/s (host, Bumble LocalLink)",
        ),
        (
            "ATT notifications for 10,000 records (MTU 247)",
            f"{served['notifications']:,}",
            f"{per_packet:.1f} records per packet = {1 / per_packet:.3f} packets per record; Glucose Profile: 1",
        ),
        (
            "Modelled time on a real link",
            f"{modelled:.1f} s",
            f"{PACKETS_PER_EVENT} notifications per {CONNECTION_INTERVAL_S * 1000:.0f} ms connection event",
        ),
        (
            "Awake per event (click from deep sleep)",
            f"{per_event:.1f} s",
            "simulated device time, wake to deep sleep; default 20 s advertising window",
        ),
        (
            "Awake per sync (hold, pair, 10k records, idle out)",
            f"{served['sync_awake']:.1f} s",
            "simulated; the 60 s pairing window dominates, not the transfer",
        ),
    ]
