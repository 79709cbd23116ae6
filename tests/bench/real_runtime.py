"""The firmware on the real runtime (MicroPython 1.25, 32-bit, NimBLE): heap and awake time.

Real time, so the windows are the shortest the settings allow (sync and
pairing 10 s).  Figures:

- the app's live heap (after a collection, as `heap` on the chip shim
  reports it) when it wakes and with the radio up;
- a 10,000-record sync by the companion's own code with the ESP32-C3's
  64 KB, and whether the same sync completes with 56 KB and 48 KB (the
  margin: what the sync's peak needs).  Sampling the heap during the sync
  is not done: a collection from the shim's thread every 50 ms stalled the
  transfer, which no real chip would see;
- seconds awake per press and per daily sync, measured by the driver from
  process start to deep sleep (the interpreter's own start-up included,
  which on a chip is the ROM boot; see hardware/POWER.md).

    .venv/bin/python tests/bench/real_runtime.py
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.sync_rig import make_rig
from twitchlog.sim.unixport.runtime import HEAP_BYTES

SYNC_RECORDS = 10_000
MARGIN_RECORDS = SYNC_RECORDS
PRESSES = 5


async def _measure(folder: Path) -> dict:
    rig = await make_rig(folder / "sync", preload=SYNC_RECORDS, runtime="micropython")
    try:
        device = rig.device
        await rig.pair()
        await device.wait_asleep(timeout=60)

        # The heap at wake and with the radio up (a hold opens the sync window).
        mark = device.mark()
        pressed_at = time.monotonic()
        device.set_button(True)  # a 2 s hold from deep sleep
        await device.wait_for("wake", since=mark)
        at_wake = (await device.heap())["alloc"]
        await asyncio.sleep(max(0.0, pressed_at + 2.0 - time.monotonic()))
        device.set_button(False)
        await device.wait_for("advertising", since=mark)
        with_radio = (await device.heap())["alloc"]

        started = time.monotonic()
        result = await rig.sync()
        sync_s = time.monotonic() - started
        await device.wait_asleep(timeout=60)
        sync_asleep = [e for e in device.events[mark:] if e["event"] == "asleep"][-1]
        closed_by_sync = any(e["event"] == "synced" for e in device.events[mark:])

        press_awake = []
        for _ in range(PRESSES):
            mark = device.mark()
            await device.click()
            await device.wait_for("asleep", since=mark, timeout=30)
            press_awake.append([e for e in device.events[mark:] if e["event"] == "asleep"][-1]["awake_s"])
        crashes = device.crashes + device.irq_errors
    finally:
        await rig.close()

    margin = {}
    for heap in (48 * 1024, 56 * 1024):
        margin[heap] = await _margin(folder / f"heap{heap}", heap)
    return {
        "heap_bytes": HEAP_BYTES,
        "heap_at_wake": at_wake,
        "heap_with_radio": with_radio,
        "sync_records": result.received,  # type: ignore[attr-defined]
        "sync_s": round(sync_s, 1),
        "sync_awake_s": sync_asleep["awake_s"],
        "sync_closed_by": "synced" if closed_by_sync else "window end",
        "press_awake_s": round(sum(press_awake) / len(press_awake), 2),
        "press_awake_range_s": [min(press_awake), max(press_awake)],
        "margin": margin,
        "crashes": crashes,
    }


async def _margin(folder: Path, heap: int) -> str:
    """'ok' if pairing and a MARGIN_RECORDS sync complete with this heap, else what stopped them."""
    try:
        rig = await make_rig(folder, preload=MARGIN_RECORDS, runtime="micropython", heap_bytes=heap)
    except Exception as e:  # too small to boot is a figure too
        return f"fails at boot: {type(e).__name__}"
    try:
        await rig.pair()
        await rig.device.wait_asleep(timeout=60)
        await rig.window()
        result = await rig.sync()
        problems = rig.device.crashes + rig.device.irq_errors
        if problems:
            return "crashed: " + problems[0].splitlines()[-1][:60]
        return "ok" if result.received >= MARGIN_RECORDS else f"short: {result.received}"
    except Exception as e:  # a failed pairing or sync is the figure here
        crashes = rig.device.crashes
        return f"failed: {type(e).__name__}" + (f" ({crashes[0].splitlines()[-1][:60]})" if crashes else "")
    finally:
        await rig.close()


def measure() -> dict:
    with tempfile.TemporaryDirectory(prefix="twitchlog-bench-") as tmp:
        return asyncio.run(asyncio.wait_for(_measure(Path(tmp)), 900))


def real_runtime_figures() -> list[tuple[str, str, str]]:
    from twitchlog.hw import power

    m = measure()
    kb = 1024
    heap = m["heap_bytes"]
    return [
        ("Live heap at wake", f"{m['heap_at_wake'] / kb:.1f} KB", f"of the ESP32-C3's {heap // kb} KB GC heap"),
        ("Live heap with the radio up", f"{m['heap_with_radio'] / kb:.1f} KB", "NimBLE active, sync window open"),
        (
            f"{SYNC_RECORDS:,}-record sync with the 64 KB heap",
            f"{m['sync_s']} s",
            f"{m['sync_records']:,} records (with the time anchor), bleak API on Bumble, MTU 247",
        ),
        (
            f"{SYNC_RECORDS:,}-record sync with a 48 KB / 56 KB heap",
            f"{m['margin'][48 * kb]} / {m['margin'][56 * kb]}",
            "how much room 64 KB leaves",
        ),
        (
            "Awake per press, real runtime",
            f"{m['press_awake_s']:.2f} s",
            f"range {m['press_awake_range_s']}; power.py uses {power.MEASURED_EVENT_AWAKE_S} s (power_bench.py --real)",
        ),
        (
            "Awake per daily sync, real runtime",
            f"{m['sync_awake_s']:.2f} s",
            f"window closed by: {m['sync_closed_by']}; a {SYNC_RECORDS:,}-record sync: power.py models a day's 21 "
            f"records in {power.MEASURED_SYNC_AWAKE_S:.2f} s",
        ),
        ("Firmware crashes or IRQ errors", str(len(m["crashes"])), "; ".join(m["crashes"])[:80] or "none"),
    ]


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
