"""`sync --watch`: sync every paired device whenever it advertises.

A device advertises for a while after each press (and for two minutes after
a hold), so one successful sync is followed by a cool-down instead of a sync
per advertisement.  Failures back off exponentially per device.  Cancelling
the coroutine (Ctrl-C) stops it between steps; committed records stay
committed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bleak import BleakScanner
from bleak.exc import BleakError

from twitchlog.ble.adapter import Adapter
from twitchlog.ble.gattclient import SERVICE_UUID
from twitchlog.ble.sync import SyncResult, sync
from twitchlog.errors import UserError
from twitchlog.intake.doses import DoseCounts
from twitchlog.store.db import Store

Log = Callable[[str], None]


async def _next_advertiser(adapter: Adapter, ready: Callable[[str], bool]) -> Any:
    """The first advertising device for which ready(address) holds."""
    found: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_advertisement(device: Any, _adv: Any) -> None:
        if not found.done() and ready(device.address):
            found.set_result(device)

    async with BleakScanner(on_advertisement, **adapter.scanner_kwargs(service_uuids=[SERVICE_UUID])):
        return await found


async def watch(
    adapter: Adapter,
    store: Store,
    log: Log,
    *,
    now: Callable[[], float] = time.time,
    cooldown: float = 150.0,
    backoff: tuple[float, float] = (5.0, 300.0),
    progress: Any = None,
    on_sync: Callable[[SyncResult], None] | None = None,
) -> None:
    """Run until cancelled."""
    if not store.devices():
        raise UserError("no paired device yet: run `twitchlog pair` first")
    not_before: dict[str, float] = {}
    failures: dict[str, int] = {}
    known = {d.address for d in store.devices()}
    log(f"watching for {len(known)} paired device(s); Ctrl-C stops")

    def ready(address: str) -> bool:
        return address in known and time.monotonic() >= not_before.get(address, 0.0)

    scanner_failures = 0
    while True:
        try:
            device = await _next_advertiser(adapter, ready)
        except (BleakError, OSError) as e:  # adapter switched off, stack restarted
            scanner_failures += 1
            wait = min(backoff[0] * 2 ** (scanner_failures - 1), backoff[1])
            log(f"scanning failed ({e}); trying again in {wait:.0f} s")
            await asyncio.sleep(wait)
            continue
        scanner_failures = 0
        log(f"{device.address} is advertising: syncing")
        try:
            result = await sync(adapter, store, device, now=now, progress=progress, scan_timeout=5.0)
        except (UserError, BleakError, OSError) as e:
            failures[device.address] = failures.get(device.address, 0) + 1
            wait = min(backoff[0] * 2 ** (failures[device.address] - 1), backoff[1])
            not_before[device.address] = time.monotonic() + wait
            log(f"{device.address}: {e}; next try in {wait:.0f} s")
            continue
        failures.pop(device.address, None)
        not_before[device.address] = time.monotonic() + cooldown
        log(f"{device.address}: {result.new} new record(s), acknowledged up to seq {result.acked_seq}")
        for line in DoseCounts(**result.doses).lines() if result.doses else ():
            log(f"{device.address}: {line}")
        if on_sync is not None:
            on_sync(result)
