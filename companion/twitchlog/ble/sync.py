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
from typing import Any

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from twitchlog.ble.adapter import Adapter
from twitchlog.ble.gattclient import (
    CONTROL_UUID,
    CURRENT_TIME_UUID,
    PAIRING_HINT,
    RECORDS_UUID,
    find_device,
    is_security_refusal,
    read_status,
    require_twitchlog,
)
from twitchlog.errors import UserError
from twitchlog.firmware import clock
from twitchlog.firmware import protocol as P
from twitchlog.intake.doses import record_doses
from twitchlog.store.db import Store
from twitchlog.store.syncs import BATCH, SyncResult, end_session, refuse_restarted_log

__all__ = ["LinkLost", "SyncResult", "sync", "sync_session"]

IDLE_TIMEOUT = 10.0  # seconds without a notification before the link is presumed dead
Progress = Callable[[int, int], None]  # (records done, total)


class LinkLost(Exception):
    """The session ended early; what was committed stays committed."""


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

    def __init__(
        self, client: BleakClient, store: Store, device_id: int, link: Link, first_seq: int, progress: Progress | None
    ):
        self.client = client
        self.store = store
        self.device_id = device_id
        self.link = link
        self.progress = progress
        self.pending: list[tuple] = []
        self.answers: list[tuple] = []
        # Below the device's first stored seq there is nothing left to ask for
        # (acknowledged before, e.g. into another database).
        self.expected_seq = max(store.last_seq(device_id) + 1, first_seq)
        self.hole: tuple[int, int] | None = None  # (first missing, last missing) seen in the stream
        self.bad_packet: str | None = None
        self.received = 0  # new records received (replays not counted)
        self.new = 0

    def on_records(self, _char: Any, data: bytearray) -> None:
        self.link.wake.set()
        if self.bad_packet or self.hole:
            return  # ignore the rest of this report; it is asked for again
        try:
            records = P.unpack_notification(bytes(data))
        except P.ProtocolError as e:
            self.bad_packet = str(e)  # keep what came before; the rest is fetched again
            return
        for record in records:
            if record[0] < self.expected_seq:
                continue  # already stored: a replay after a resume
            if record[0] != self.expected_seq:
                # Never commit past a hole before the device confirms it holds
                # nothing there (the firmware skips seqs after a failed write).
                self.hole = (self.expected_seq, record[0] - 1)
                return
            self.pending.append(record)
            self.expected_seq += 1
            self.received += 1

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
        except TimeoutError:
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
        await self.client.write_gatt_char(
            CONTROL_UUID, P.racp_request(P.OP_REPORT, P.OPR_GE, lo=self.expected_seq), response=True
        )
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

    async def fetch(self) -> None:
        """Everything from expected_seq on, stepping over holes the device confirms are empty."""
        while True:
            answer = await self.request(P.OP_REPORT_NUMBER, P.OPR_GE, lo=self.expected_seq)
            total = self.received + (answer[1] if answer[0] == "number" else 0)
            if self.progress:
                self.progress(self.received, total)
            if total == self.received:
                return
            await self.stream(total)
            self.commit()
            if self.hole is None:
                return
            lo, hi = self.hole
            answer = await self.request(P.OP_REPORT_NUMBER, P.OPR_RANGE, lo=lo, hi=hi)
            if answer != ("number", 0):
                raise LinkLost(f"records {lo}..{hi} went missing in transit")
            self.hole = None
            self.expected_seq = hi + 1


def _set_time_bytes(utc: float) -> bytes:
    device_time = int(utc) - clock.UNIX_AT_2000
    return P.pack_current_time(device_time, int((utc % 1) * 256), P.ADJUST_EXTERNAL_REF)


async def sync_session(
    client: BleakClient,
    store: Store,
    address: str,
    link: Link,
    *,
    now: Callable[[], float] = time.time,
    progress: Progress | None = None,
) -> SyncResult:
    """One session on a connected, bonded client.  Raises LinkLost if it ends early."""
    require_twitchlog(client, address)
    try:
        status = await read_status(client, address)
    except BleakError as e:
        raise LinkLost(str(e)) from e
    # The device is ours (bonded, answering): only now does it get a row.
    device_id = store.device_id(address)
    refuse_restarted_log(
        store, device_id, address, status["last_seq"], f"Run `twitchlog pair {address}` to start a new log for it"
    )
    result = SyncResult(address, device_id, status=status)
    store.set_device_status(device_id, json.dumps(status))
    sync_id = store.begin_sync(device_id)
    session = _Session(client, store, device_id, link, status["first_seq"] if status["count"] else 0, progress)
    try:
        utc = now()
        await client.write_gatt_char(CURRENT_TIME_UUID, _set_time_bytes(utc), response=True)
        result.time_set_utc = int(utc)
        store.update_sync(sync_id, time_set_utc=result.time_set_utc)
        await client.start_notify(RECORDS_UUID, session.on_records)
        await client.start_notify(CONTROL_UUID, session.on_control)
        await session.fetch()
        session.commit()  # before the acknowledge, always
        acked = min(store.last_seq(device_id), session.expected_seq - 1)
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
        end_session(store, sync_id, result)
        # Button doses become intake once placed in time; also what a dropped link did commit.
        result.doses = record_doses(store, device_id).to_dict()
    store.update_sync(sync_id, outcome="ok")
    return result


async def sync(
    adapter: Adapter,
    store: Store,
    target: str | BLEDevice | None = None,
    *,
    now: Callable[[], float] = time.time,
    progress: Progress | None = None,
    max_stalled: int = 4,
    scan_timeout: float = 10.0,
    connect_timeout: float = 10.0,
) -> SyncResult:
    """Find, connect and sync, resuming after dropped links.

    Gives up after max_stalled attempts in a row that saved nothing (with
    backoff between them); attempts that make progress retry at once.
    """
    started = time.monotonic()
    device = target if isinstance(target, BLEDevice) else await find_device(adapter, target, store, scan_timeout)
    last_error = ""
    stalled = 0
    attempt = 0
    while stalled < max_stalled:
        attempt += 1
        if attempt > 1:
            await asyncio.sleep(min(0.25 * 2 ** (stalled - 1), 4.0) if stalled else 0.05)
            try:  # still there?  (its window may have closed meanwhile)
                device = await find_device(adapter, device.address, store, scan_timeout)
            except UserError as e:
                raise UserError(f"{e} (the link dropped: {last_error}; {_saved(store, device.address)})") from None
        link = Link()
        client = adapter.client(device, timeout=connect_timeout, disconnected_callback=link.drop)
        saved_before = _last_seq(store, device.address)
        try:
            try:
                await client.connect()
            except (TimeoutError, BleakError) as e:
                if is_security_refusal(e):
                    raise UserError(
                        f"{device.address} no longer accepts our bond (factory reset?): {PAIRING_HINT}"
                    ) from None
                raise LinkLost(f"could not connect: {e}") from e
            result = await sync_session(client, store, device.address, link, now=now, progress=progress)
            result.attempts = attempt
            result.seconds = time.monotonic() - started
            return result
        except LinkLost as e:
            last_error = str(e)
            stalled = 0 if _last_seq(store, device.address) > saved_before else stalled + 1
        finally:
            try:
                await client.disconnect()
            except BleakError:
                pass
    raise UserError(
        f"sync with {device.address} stopped after {attempt} attempts (last: {last_error}); "
        f"{_saved(store, device.address)}, run sync again"
    )


def _last_seq(store: Store, address: str) -> int:
    device_id = store.known_device(address)
    return 0 if device_id is None else store.last_seq(device_id)


def _saved(store: Store, address: str) -> str:
    return f"records up to seq {_last_seq(store, address)} are saved"
