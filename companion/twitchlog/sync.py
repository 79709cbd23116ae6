"""Lossless incremental sync over bleak's public API.

One session: read status -> write the Current Time (the device anchors its
clock) -> RACP "report number >= last+1" -> "report >= last+1", committing
every batch as it arrives -> RACP "delete <= committed".  The database is
keyed on (device, seq) and records are only deleted on the device once they
are committed, so a session can die at any point (dropped link, device
reboot, companion killed) and the next one picks up where the commit left
off, with nothing lost and nothing doubled.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bleak import BleakClient
from bleak.exc import BleakError

from .adapter import Adapter
from .errors import UserError
from .firmware import clock
from .firmware import protocol as P
from .gattclient import (
    CONTROL_UUID,
    CURRENT_TIME_UUID,
    PAIRING_HINT,
    RECORDS_UUID,
    find_device,
    is_security_refusal,
    read_status,
    require_twitchlog,
)
from .store import Store

BATCH = 512  # records per database transaction
IDLE_TIMEOUT = 10.0  # seconds without a notification before the link is presumed dead
Progress = Callable[[int, int], None]  # (records done, total)


class LinkLost(Exception):
    """The session ended early; what was committed stays committed."""


@dataclass
class SyncResult:
    address: str
    device_id: int
    received: int = 0
    new: int = 0
    acked_seq: int = 0
    time_set_utc: int | None = None
    attempts: int = 1
    seconds: float = 0.0
    status: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Link:
    """What the bleak callbacks tell the session: something arrived, or the link dropped."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.lost = asyncio.Event()

    def drop(self, _client: Any = None) -> None:
        self.lost.set()
        self.wake.set()


class _Session:
    """One connected sync session: RACP requests and the record stream."""

    def __init__(self, client: BleakClient, store: Store, device_id: int, link: Link, progress: Progress | None):
        self.client = client
        self.store = store
        self.device_id = device_id
        self.link = link
        self.progress = progress
        self.pending: list[tuple] = []
        self.answers: list[tuple] = []
        self.expected_seq = store.last_seq(device_id) + 1
        self.bad_packet: str | None = None
        self.received = 0
        self.new = 0

    def on_records(self, _char: Any, data: bytearray) -> None:
        self.link.wake.set()
        if self.bad_packet:
            return
        try:
            records = P.unpack_notification(bytes(data))
        except P.ProtocolError as e:
            self.bad_packet = str(e)  # keep what came before; the rest is fetched again
            return
        self.received += len(records)
        for record in records:
            if record[0] < self.expected_seq:
                continue  # already stored: a replay after a resume
            if record[0] != self.expected_seq:
                # A hole: never commit past it (the next session asks again).
                self.bad_packet = f"expected seq {self.expected_seq}, got {record[0]}"
                return
            self.pending.append(record)
            self.expected_seq += 1

    def on_control(self, _char: Any, data: bytearray) -> None:
        self.link.wake.set()
        try:
            self.answers.append(P.parse_racp_response(bytes(data)))
        except P.ProtocolError as e:
            self.answers.append(("bad", str(e)))

    def commit(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.new += self.store.add_records(self.device_id, batch)

    async def _wait(self, timeout: float, what: str) -> None:
        if self.link.lost.is_set():
            raise LinkLost(f"the link dropped {what}")
        self.link.wake.clear()
        try:
            await asyncio.wait_for(self.link.wake.wait(), timeout)
        except asyncio.TimeoutError:
            raise LinkLost(f"no answer for {timeout:.0f} s {what}") from None

    async def request(self, op: int, operator: int, lo: int | None = None, hi: int | None = None) -> tuple:
        self.answers.clear()
        await self.client.write_gatt_char(CONTROL_UUID, P.racp_request(op, operator, lo, hi), response=True)
        while not self.answers:
            await self._wait(IDLE_TIMEOUT, "waiting for the RACP answer")
        return self.answers.pop(0)

    async def stream(self, total: int) -> None:
        """Report >= expected, committing per batch until the device says done."""
        self.answers.clear()
        await self.client.write_gatt_char(CONTROL_UUID, P.racp_request(P.OP_REPORT, P.OPR_GE, lo=self.expected_seq), response=True)
        while True:
            if len(self.pending) >= BATCH:
                self.commit()
            if self.bad_packet:
                raise LinkLost(f"bad data in the record stream ({self.bad_packet})")
            if self.answers:
                answer = self.answers.pop(0)
                if answer in (("code", P.OP_REPORT, P.RSP_SUCCESS), ("code", P.OP_REPORT, P.RSP_NO_RECORDS)):
                    return
                raise LinkLost(f"the device ended the report with {answer}")
            if self.progress:
                self.progress(min(self.received, total), total)
            await self._wait(IDLE_TIMEOUT, "during the transfer")


async def sync_session(
    client: BleakClient,
    store: Store,
    device_id: int,
    address: str,
    link: Link,
    *,
    now: Callable[[], float] = time.time,
    progress: Progress | None = None,
) -> SyncResult:
    """One session on a connected, bonded client.  Raises LinkLost if it ends early."""
    require_twitchlog(client, address)
    result = SyncResult(address, device_id)
    sync_id = store.begin_sync(device_id)
    session = _Session(client, store, device_id, link, progress)
    try:
        result.status = await read_status(client, address)
        store.set_device_status(device_id, json.dumps(result.status))
        utc = now()
        device_time = int(utc) - clock.UNIX_AT_2000
        cts = P.pack_current_time(device_time, int((utc % 1) * 256), P.ADJUST_EXTERNAL_REF)
        await client.write_gatt_char(CURRENT_TIME_UUID, cts, response=True)
        result.time_set_utc = device_time + clock.UNIX_AT_2000
        store.update_sync(sync_id, time_set_utc=result.time_set_utc)

        await client.start_notify(RECORDS_UUID, session.on_records)
        await client.start_notify(CONTROL_UUID, session.on_control)
        answer = await session.request(P.OP_REPORT_NUMBER, P.OPR_GE, lo=session.expected_seq)
        total = answer[1] if answer[0] == "number" else 0
        if progress:
            progress(0, total)
        if total:
            await session.stream(total)
        session.commit()  # before the acknowledge, always
        if progress:
            progress(total, total)
        acked = store.last_seq(device_id)
        if acked:
            answer = await session.request(P.OP_DELETE, P.OPR_LE, hi=acked)
            if answer not in (("code", P.OP_DELETE, P.RSP_SUCCESS), ("code", P.OP_DELETE, P.RSP_NO_RECORDS)):
                raise LinkLost(f"the device did not confirm the delete: {answer}")
        result.acked_seq = acked
    except BleakError as e:
        raise LinkLost(str(e)) from e
    finally:
        session.commit()
        result.received, result.new = session.received, session.new
        store.update_sync(sync_id, records=session.new, acked_seq=result.acked_seq or None, finished_utc=int(time.time()))
        store.place_times(device_id)
    store.update_sync(sync_id, outcome="ok")
    return result


async def sync(
    adapter: Adapter,
    store: Store,
    address: str | None = None,
    *,
    now: Callable[[], float] = time.time,
    progress: Progress | None = None,
    attempts: int = 8,
    scan_timeout: float = 10.0,
    connect_timeout: float = 10.0,
) -> SyncResult:
    """Find, connect and sync, resuming after dropped links (backoff between attempts)."""
    started = time.monotonic()
    target = await find_device(adapter, address, store, scan_timeout)
    device_id = store.device_id(target.address, target.name)
    last_error = ""
    stalled = 0  # attempts in a row that saved nothing: only those back off
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            await asyncio.sleep(min(0.25 * 2 ** (stalled - 1), 4.0) if stalled else 0.05)
            try:  # still there?  (its window may have closed meanwhile)
                target = await find_device(adapter, target.address, store, scan_timeout)
            except UserError as e:
                saved = store.last_seq(device_id)
                raise UserError(f"{e} (the link dropped: {last_error}; records up to seq {saved} are saved)") from None
        link = Link()
        client = adapter.client(target, timeout=connect_timeout, disconnected_callback=link.drop)
        saved_before = store.last_seq(device_id)
        try:
            try:
                await client.connect()
            except (BleakError, asyncio.TimeoutError) as e:
                if is_security_refusal(e):
                    raise UserError(f"{target.address} no longer accepts our bond (factory reset?): {PAIRING_HINT}") from None
                raise LinkLost(f"could not connect: {e}") from e
            result = await sync_session(client, store, device_id, target.address, link, now=now, progress=progress)
            result.attempts = attempt
            result.seconds = time.monotonic() - started
            return result
        except LinkLost as e:
            last_error = str(e)
            stalled = 0 if store.last_seq(device_id) > saved_before else stalled + 1
        finally:
            try:
                await client.disconnect()
            except BleakError:
                pass
    saved = store.last_seq(device_id)
    raise UserError(f"sync with {target.address} failed {attempts} times (last: {last_error}); records up to seq {saved} are saved, run sync again")
