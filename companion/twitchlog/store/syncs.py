"""What one sync did, and the rule every sync applies first, over BLE or USB."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from twitchlog.errors import UserError
from twitchlog.store.db import Store

BATCH = 512  # records per database transaction, whatever the link


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
    doses: dict[str, Any] = field(default_factory=dict)  # intake.doses.DoseCounts of the button doses

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def refuse_restarted_log(store: Store, device_id: int, name: str, device_last_seq: int, remedy: str) -> None:
    """A log that ends below what we hold was erased or belongs to another unit.

    Acknowledging "<= held" there would destroy records we never saw, so the
    sync stops before it sets the clock or deletes anything.
    """
    held = store.last_seq(device_id)
    if device_last_seq < held:
        raise UserError(
            f"{name}: its log ends at seq {device_last_seq} but we already hold up to {held}; "
            f"the device was erased or replaced. Nothing was deleted. {remedy}"
        )


def end_session(store: Store, sync_id: int, result: SyncResult) -> None:
    """What every session does at its end, finished or cut short: record the attempt, place the times."""
    store.update_sync(sync_id, records=result.new, acked_seq=result.acked_seq or None, finished_utc=int(time.time()))
    store.place_times(result.device_id)
