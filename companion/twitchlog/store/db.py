"""The companion's SQLite store: devices, events, clock anchors, syncs, annotations, gaps.

Device records are kept raw and whole (every kind, including undo
tombstones and clock anchors), keyed on (device, seq), so a re-sync can
never duplicate and nothing the device sent is lost.  UTC times are derived
from the raw device times with the firmware's own ``clock.place_times`` and
re-derived whenever new anchors arrive.

The file is WAL-mode SQLite with mode 0600 (symptoms are health data).
Schema changes are numbered migrations tracked in ``PRAGMA user_version``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from twitchlog.errors import UserError
from twitchlog.firmware import clock
from twitchlog.firmware import protocol as P
from twitchlog.store.schema import MIGRATIONS, SCHEMA_VERSION

_SYMPTOM_SQL = "e.kind BETWEEN 1 AND %d" % P.KIND_SYMPTOM_MAX
_PRESS_SQL = "(e.kind BETWEEN 1 AND %d OR e.kind = %d)" % (P.KIND_SYMPTOM_MAX, P.KIND_DOSE)
# A symptom or dose is undone by a tombstone record of the same device naming its seq.
_NOT_UNDONE_SQL = (
    "NOT EXISTS (SELECT 1 FROM events t WHERE t.device_id = e.device_id AND t.kind = %d AND t.arg = e.seq)"
    % P.KIND_TOMBSTONE
)


@dataclass
class Event:
    id: int
    kind: int
    utc: int | None
    time_quality: str
    source: str
    device_id: int | None
    seq: int | None
    device_time: int | None
    severity: int | None = None
    body_site: str | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Device:
    id: int
    address: str
    name: str | None
    serial: str | None
    model: str | None
    firmware: str | None
    last_seq: int
    status_json: str | None
    status_utc: int | None


SQLITE_MAGIC = b"SQLite format 3\x00"
OUR_TABLES = frozenset({"events", "devices", "gaps"})  # in every version of our schema (migration 1)


def refuse_foreign(path: Path) -> None:
    """UserError, touching nothing, when `path` holds data that is not a twitchlog database.

    A missing or empty file is ours to create. Anything else must be SQLite
    with either our tables or no tables at all (a fresh file); it is opened
    read-only to look, so a foreign file keeps its bytes, mode and mtime.
    """
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as e:
        raise UserError(f"{path}: cannot open the database: {e.strerror}") from None
    if not head:
        return
    if head != SQLITE_MAGIC:
        raise UserError(f"{path}: not a twitchlog database (not an SQLite file); left untouched")
    try:
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = probe.execute("PRAGMA user_version").fetchone()[0]
        finally:
            probe.close()
    except sqlite3.Error as e:
        raise UserError(f"{path}: not a twitchlog database ({e}); left untouched") from None
    if tables and not OUR_TABLES <= tables:
        shown = ", ".join(sorted(tables)[:5]) + (" ..." if len(tables) > 5 else "")
        raise UserError(
            f"{path}: an SQLite database of another program (tables {shown}; schema version {version}), "
            "not twitchlog's; left untouched. Give another --db path."
        )


def _now() -> int:
    return int(time.time())


class Store:
    """One open database.  Use as a context manager, or call close()."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        refuse_foreign(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Create it 0600 before SQLite does (SQLite gives its -wal and -shm
            # files the database file's permissions).
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            os.chmod(self.path, 0o600)  # also an older file made with the umask
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            self.db.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as e:
            raise UserError(f"{self.path}: cannot open the database: {e}") from None
        self.db.execute("PRAGMA foreign_keys=ON")
        # FULL: a batch is on disk before the device is told to delete it
        # (NORMAL could roll the last commits back after an OS crash).
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.row_factory = sqlite3.Row
        self._migrate()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise UserError(f"{self.path}: {e} (is another twitchlog writing to it?)") from None
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise UserError(f"{self.path}: not a twitchlog database ({e})") from None
        if version > SCHEMA_VERSION:
            raise UserError(
                f"{self.path}: database schema {version} is newer than this twitchlog ({SCHEMA_VERSION}); "
                "upgrade twitchlog"
            )
        for number in range(version, SCHEMA_VERSION):
            with self.transaction() as db:
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    # ------------------------------------------------------------ devices
    def known_device(self, address: str) -> int | None:
        row = self.db.execute("SELECT id FROM devices WHERE address = ?", (address,)).fetchone()
        return None if row is None else row[0]

    def known_serial(self, serial: str) -> int | None:
        """The device with this serial (its chip's unique id), however it was first reached."""
        row = self.db.execute(
            "SELECT id FROM devices WHERE serial = ? AND address NOT LIKE '%(retired #%' ORDER BY id DESC", (serial,)
        ).fetchone()
        return None if row is None else row[0]

    def device_address(self, device_id: int) -> str:
        return str(self.db.execute("SELECT address FROM devices WHERE id = ?", (device_id,)).fetchone()[0])

    def readdress(self, device_id: int, address: str) -> None:
        """A device first met over USB (address usb:SERIAL) gets its BLE address when it pairs."""
        self.db.execute("UPDATE devices SET address = ? WHERE id = ?", (address, device_id))

    def retire_device(self, device_id: int) -> None:
        """Keep a device's records but free its address for a new log (an erased or replaced unit)."""
        self.db.execute("UPDATE devices SET address = address || ' (retired #' || id || ')' WHERE id = ?", (device_id,))

    def device_id(self, address: str, name: str | None = None) -> int:
        """The id of the device at this address, added if new."""
        known = self.known_device(address)
        if known is not None:
            if name:
                self.db.execute("UPDATE devices SET name = ? WHERE id = ?", (name, known))
            return known
        cur = self.db.execute(
            "INSERT INTO devices (address, name, added_utc) VALUES (?, ?, ?)", (address, name, _now())
        )
        return int(cur.lastrowid or 0)

    def set_device_info(self, device_id: int, **info: str | None) -> None:
        fields = {k: v for k, v in info.items() if k in ("name", "serial", "model", "firmware") and v is not None}
        if fields:
            sets = ", ".join(f"{k} = ?" for k in fields)
            self.db.execute(f"UPDATE devices SET {sets} WHERE id = ?", (*fields.values(), device_id))

    def set_device_status(self, device_id: int, status_json: str) -> None:
        self.db.execute(
            "UPDATE devices SET status_json = ?, status_utc = ? WHERE id = ?", (status_json, _now(), device_id)
        )

    def devices(self) -> list[Device]:
        rows = self.db.execute(
            "SELECT d.*, (SELECT MAX(seq) FROM events e WHERE e.device_id = d.id) AS last_seq "
            "FROM devices d ORDER BY d.id"
        ).fetchall()
        return [
            Device(
                r["id"],
                r["address"],
                r["name"],
                r["serial"],
                r["model"],
                r["firmware"],
                r["last_seq"] or 0,
                r["status_json"],
                r["status_utc"],
            )
            for r in rows
        ]

    # ------------------------------------------------------------ device records
    def last_seq(self, device_id: int) -> int:
        """The highest seq stored for the device (0: none)."""
        return self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE device_id = ?", (device_id,)).fetchone()[
            0
        ]

    def add_records(self, device_id: int, records: Sequence[tuple]) -> int:
        """Store raw (seq, time, arg, boot, kind) records in one transaction.

        Records already stored are ignored, so a replayed batch is harmless.
        Returns how many were new.  Times are placed by place_times().
        """
        added = _now()
        rows = [(device_id, r[0], r[4], r[1], r[3], r[2], clock.TIME_UNKNOWN, added) for r in records]
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO events (device_id, seq, kind, device_time, boot_id, arg, time_quality, source, added_utc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'device', ?) ON CONFLICT (device_id, seq) DO NOTHING",
                rows,
            )
            return db.total_changes - before

    def place_times(self, device_id: int) -> int:
        """(Re)derive UTC for all of a device's records from its anchors; returns rows changed."""
        rows = self.db.execute(
            "SELECT seq, device_time, arg, boot_id, kind, utc, time_quality FROM events "
            "WHERE device_id = ? ORDER BY seq",
            (device_id,),
        ).fetchall()
        placed = clock.place_times([tuple(r)[:5] for r in rows])
        changes = [
            (None if utc is None else int(round(utc)), quality, device_id, seq)
            for row, (seq, utc, quality) in zip(rows, placed, strict=True)
            if (row[5], row[6]) != (None if utc is None else int(round(utc)), quality)
        ]
        with self.transaction() as db:
            db.executemany("UPDATE events SET utc = ?, time_quality = ? WHERE device_id = ? AND seq = ?", changes)
        return len(changes)

    # ------------------------------------------------------------ syncs
    def begin_sync(self, device_id: int) -> int:
        cur = self.db.execute("INSERT INTO syncs (device_id, started_utc) VALUES (?, ?)", (device_id, _now()))
        return int(cur.lastrowid or 0)

    def update_sync(self, sync_id: int, **fields: int | str | None) -> None:
        allowed = ("finished_utc", "time_set_utc", "anchor_seq", "records", "acked_seq", "outcome")
        fields = {k: v for k, v in fields.items() if k in allowed}
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(f"UPDATE syncs SET {sets} WHERE id = ?", (*fields.values(), sync_id))

    def syncs(self, device_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM syncs WHERE device_id = ? ORDER BY id", (device_id,)).fetchall()

    # ------------------------------------------------------------ events
    def add_event(
        self,
        utc: int,
        kind: int,
        *,
        source: str = "manual",
        severity: int | None = None,
        body_site: str | None = None,
        note: str | None = None,
        import_key: str | None = None,
    ) -> int | None:
        """Add an event felt while the device was off; returns its id (None: import_key already stored)."""
        if not 1 <= kind <= P.KIND_SYMPTOM_MAX:
            raise UserError(f"kind {kind} is not a symptom kind (1..{P.KIND_SYMPTOM_MAX})")
        cur = self.db.execute(
            "INSERT INTO events (kind, utc, time_quality, source, import_key, added_utc) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (import_key) DO NOTHING",
            (kind, int(utc), clock.TIME_ANCHORED, source, import_key, _now()),
        )
        if cur.rowcount == 0:
            return None
        event_id = int(cur.lastrowid or 0)
        if severity is not None or body_site or note:
            self.annotate(event_id, severity=severity, body_site=body_site, note=note)
        return event_id

    def annotate(
        self, event_id: int, *, severity: int | None = None, body_site: str | None = None, note: str | None = None
    ) -> None:
        """Set (or change) an event's severity 1-5, body site and note; None leaves a field as it was."""
        if severity is not None and not 1 <= severity <= 5:
            raise UserError(f"severity {severity} is not 1..5")
        row = self.db.execute(f"SELECT kind FROM events e WHERE id = ? AND {_SYMPTOM_SQL}", (event_id,)).fetchone()
        if row is None:
            raise UserError(f"no symptom event with id {event_id} (see `twitchlog events list`)")
        self.db.execute(
            "INSERT INTO annotations (event_id, severity, body_site, note, updated_utc) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (event_id) DO UPDATE SET severity = COALESCE(excluded.severity, severity),"
            " body_site = COALESCE(excluded.body_site, body_site), note = COALESCE(excluded.note, note),"
            " updated_utc = excluded.updated_utc",
            (event_id, severity, body_site, note, _now()),
        )

    def events(
        self,
        *,
        since: int | None = None,
        until: int | None = None,
        kinds: Iterable[int] | None = None,
        include_unknown_time: bool = True,
        doses: bool = False,
    ) -> list[Event]:
        """Symptom events (undone ones left out), oldest first; events with an unknown time last.

        `doses` adds the doses logged with the button (kind KIND_DOSE): for
        listing what the wearer pressed, never for counting symptoms.
        """
        where = [_PRESS_SQL if doses else _SYMPTOM_SQL, _NOT_UNDONE_SQL]
        params: list[object] = []
        if since is not None:
            where.append("e.utc >= ?")
            params.append(since)
        if until is not None:
            where.append("e.utc < ?")
            params.append(until)
        if not include_unknown_time or since is not None or until is not None:
            where.append("e.utc IS NOT NULL")
        kinds = list(kinds or [])
        if kinds:
            where.append("e.kind IN (%s)" % ",".join("?" * len(kinds)))
            params.extend(kinds)
        rows = self.db.execute(
            "SELECT e.*, a.severity, a.body_site, a.note FROM events e LEFT JOIN annotations a ON a.event_id = e.id"
            f" WHERE {' AND '.join(where)} ORDER BY e.utc IS NULL, e.utc, e.device_id, e.seq, e.id",
            params,
        ).fetchall()
        return [
            Event(
                r["id"],
                r["kind"],
                r["utc"],
                clock.TIME_QUALITY_NAMES[r["time_quality"]],
                r["source"],
                r["device_id"],
                r["seq"],
                r["device_time"],
                r["severity"],
                r["body_site"],
                r["note"],
            )
            for r in rows
        ]

    def dose_records(self, device_id: int | None = None) -> list[sqlite3.Row]:
        """Every dose record from the button (of one device, or all): device_id, seq, utc, undone; in seq order.

        utc is None while the record's time cannot be placed; undone is 1 once
        a tombstone of the same device names its seq.
        """
        where = "e.kind = ?" + ("" if device_id is None else " AND e.device_id = ?")
        params: tuple = (P.KIND_DOSE,) if device_id is None else (P.KIND_DOSE, device_id)
        return self.db.execute(
            f"SELECT e.device_id, e.seq, e.utc, NOT {_NOT_UNDONE_SQL} AS undone FROM events e"
            f" WHERE {where} AND e.seq IS NOT NULL ORDER BY e.device_id, e.seq",
            params,
        ).fetchall()

    # ------------------------------------------------------------ gaps
    def add_gap(self, start_utc: int, end_utc: int, note: str | None = None) -> int:
        if end_utc <= start_utc:
            raise UserError("a tracking gap must end after it starts")
        cur = self.db.execute(
            "INSERT INTO gaps (start_utc, end_utc, note) VALUES (?, ?, ?)", (start_utc, end_utc, note)
        )
        return int(cur.lastrowid or 0)

    def gaps(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM gaps ORDER BY start_utc").fetchall()
