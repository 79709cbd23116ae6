"""Companion figures: a 10,000-record sync end to end, and SQLite time per 10,000 records.

The sync is the real path: bleak's API on the Bumble backend, the unmodified
firmware on the virtual device, RACP report, per-batch commits, delete.
Wall time is a host figure for the virtual link, not a radio's.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

# tests/, whose package `support` holds the rigs these figures share with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.sync_rig import make_rig
from twitchlog.firmware import protocol as P
from twitchlog.store.db import Store

RECORDS = 10_000


async def _sync_10k(folder: Path) -> dict:
    rig = await make_rig(folder, preload=RECORDS)
    await rig.pair()
    store_time = [0.0]
    commit = rig.store.add_records

    def timed_commit(device_id, records):
        start = time.perf_counter()
        try:
            return commit(device_id, records)
        finally:
            store_time[0] += time.perf_counter() - start

    rig.store.add_records = timed_commit
    start = time.perf_counter()
    result = await rig.sync(scan_timeout=2)
    wall = time.perf_counter() - start
    place = time.perf_counter()
    rig.store.place_times(1)
    place = time.perf_counter() - place
    await rig.close()
    assert rig.device.crashes == [] and rig.device.irq_errors == []  # close() leaves this check to its caller
    assert result.new == RECORDS + 1, result
    return {"wall": wall, "commit": store_time[0], "place": place, "attempts": result.attempts}


def _store_only(folder: Path) -> tuple[float, float]:
    records = [(i, 1000 + 60 * i, 0, 1, P.KIND_TWITCH) for i in range(1, RECORDS + 1)]
    with Store(folder / "bench.db") as store:
        device = store.device_id("AA:BB:CC:DD:EE:FF")
        start = time.perf_counter()
        for at in range(0, RECORDS, 512):
            store.add_records(device, records[at : at + 512])
        insert = time.perf_counter() - start
        start = time.perf_counter()
        store.place_times(device)
        place = time.perf_counter() - start
    return insert, place


def companion_figures() -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        sync = asyncio.run(_sync_10k(Path(tmp) / "sync"))
    with tempfile.TemporaryDirectory() as tmp:
        insert, place = _store_only(Path(tmp))
    return [
        (
            "10,000-record sync end to end (virtual link)",
            f"{sync['wall']:.2f} s",
            f"{RECORDS / sync['wall']:,.0f} records/s incl. scan, connect, encrypt, time set, delete",
        ),
        ("  of which SQLite commits during that sync", f"{sync['commit'] * 1000:.0f} ms", "bar < 1 s of database time"),
        (
            "SQLite insert of 10,000 records (512 a batch)",
            f"{insert * 1000:.0f} ms",
            f"{RECORDS / insert:,.0f} records/s, WAL, one transaction a batch",
        ),
        ("UTC placement of 10,000 records (place_times + update)", f"{place * 1000:.0f} ms", "re-run after every sync"),
    ]


if __name__ == "__main__":
    for row in companion_figures():
        print(" | ".join(row))
