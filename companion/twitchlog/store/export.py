"""Export the store, raw and whole, as CSV or JSON: one file per table.

Every stored row is written, none filtered: device records of every kind
(symptoms, doses from the button, undo tombstones, clock anchors) with their raw device fields
(`seq`, `device_time`, `boot_id`, `arg`), where the time came from
(`source`, `time_quality`) and the annotations; every intake entry with its
origin and import key. A few derived columns make the files readable
without the code (`kind_name`, `time_utc`, `time_quality_name`, `undone`,
`device_address`, `product`); the raw columns next to them stay as stored.

Files (`FILES`): events, intake, intake_products, gaps, devices,
trial_plans. CSV: UTF-8, a header row, RFC 4180 quoting, an empty field for
a missing value (SQL NULL). JSON: an array of objects per file, `null` for a
missing value. Existing files are never overwritten unless `force`; each
file is written to a temporary name and renamed, so a file is either old
or complete.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twitchlog.errors import UserError
from twitchlog.firmware import clock
from twitchlog.firmware import protocol as P
from twitchlog.kinds import kind_name
from twitchlog.store.db import Store

FORMATS = ("csv", "json")


def _iso(utc: Any) -> str | None:
    if utc is None:
        return None
    return datetime.fromtimestamp(utc, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _events(row: dict) -> dict:
    quality = row["time_quality"]
    out: dict[str, Any] = {}
    for key, value in row.items():
        out[key] = value
        if key == "kind":
            out["kind_name"] = kind_name(value)
        elif key == "utc":
            out["time_utc"] = _iso(value)
        elif key == "time_quality":
            names = clock.TIME_QUALITY_NAMES
            out["time_quality_name"] = names[quality] if 0 <= quality < len(names) else None
    return out


def _plain(row: dict) -> dict:
    return dict(row)


@dataclass(frozen=True)
class Table:
    name: str
    sql: str
    shape: Callable[[dict], dict] = _plain


FILES: tuple[Table, ...] = (
    Table(
        "events",
        "SELECT e.id, e.device_id, d.address AS device_address, e.seq, e.kind, e.device_time, e.boot_id, e.arg,"
        " e.utc, e.time_quality, e.source, e.import_key, e.added_utc,"
        " a.severity, a.body_site, a.note, a.updated_utc AS annotation_updated_utc,"
        " CASE WHEN (e.kind BETWEEN 1 AND %d OR e.kind = %d) AND EXISTS (SELECT 1 FROM events t"
        " WHERE t.device_id = e.device_id AND t.kind = %d AND t.arg = e.seq) THEN 1 ELSE 0 END AS undone"
        " FROM events e LEFT JOIN devices d ON d.id = e.device_id LEFT JOIN annotations a ON a.event_id = e.id"
        " ORDER BY e.id" % (P.KIND_SYMPTOM_MAX, P.KIND_DOSE, P.KIND_TOMBSTONE),
        _events,
    ),
    Table(
        "intake",
        "SELECT i.id, i.utc, i.source, i.elemental_mg, i.form, i.compound_mg, i.estimated, i.product_id,"
        " p.name AS product, i.servings, i.note, i.origin, i.import_key, i.added_utc"
        " FROM intake i LEFT JOIN intake_products p ON p.id = i.product_id ORDER BY i.id",
        lambda row: {**row, "time_utc": _iso(row["utc"])},
    ),
    Table("intake_products", "SELECT * FROM intake_products ORDER BY id"),
    Table(
        "gaps",
        "SELECT * FROM gaps ORDER BY id",
        lambda row: {**row, "start_time_utc": _iso(row["start_utc"]), "end_time_utc": _iso(row["end_utc"])},
    ),
    Table("devices", "SELECT * FROM devices ORDER BY id"),
    Table("trial_plans", "SELECT * FROM trial_plans ORDER BY id"),
)


@dataclass
class Written:
    name: str
    path: Path
    rows: int


def read_all(store: Store) -> dict[str, tuple[list[str], list[dict]]]:
    """Every exported table as (columns, rows), read in one transaction (a consistent snapshot)."""
    found: dict[str, tuple[list[str], list[dict]]] = {}
    store.db.execute("BEGIN")
    try:
        for table in FILES:
            cur = store.db.execute(table.sql)
            columns = [c[0] for c in cur.description]
            rows = [table.shape(dict(zip(columns, r, strict=True))) for r in cur.fetchall()]
            if rows:
                columns = list(rows[0])
            else:
                columns = list(table.shape(dict.fromkeys(columns, 0)))
            found[table.name] = (columns, rows)
    finally:
        store.db.execute("COMMIT")
    return found


def targets(out_dir: Path, fmt: str) -> list[Path]:
    return [out_dir / f"{table.name}.{fmt}" for table in FILES]


def _write_atomic(path: Path, write: Callable[[Any], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            write(f)
        os.chmod(tmp, 0o600)  # health data, like the database
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same float
    return value


def _write_csv(f: Any, columns: list[str], rows: list[dict]) -> None:
    w = csv.writer(f)
    w.writerow(columns)
    for row in rows:
        w.writerow([_csv_value(row[c]) for c in columns])


def _write_json(f: Any, rows: list[dict]) -> None:
    json.dump(rows, f, ensure_ascii=False, indent=1)
    f.write("\n")


def export(store: Store, out_dir: Path, fmt: str = "csv", *, force: bool = False) -> list[Written]:
    """Write every table of `FILES` to `out_dir` as `<name>.<fmt>`; refuses to overwrite unless `force`."""
    if fmt not in FORMATS:
        raise UserError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: not a folder")
    paths = targets(out_dir, fmt)
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise UserError(
            f"{out_dir}: would overwrite {', '.join(p.name for p in existing)}; give --force, or another --out folder"
        )
    data = read_all(store)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out_dir}: cannot create the folder: {e}") from None
    written = []
    for table, path in zip(FILES, paths, strict=True):
        columns, rows = data[table.name]
        if fmt == "csv":
            write = functools.partial(_write_csv, columns=columns, rows=rows)
        else:
            write = functools.partial(_write_json, rows=rows)
        try:
            _write_atomic(path, write)
        except OSError as e:
            raise UserError(f"{path}: cannot write: {e}") from None
        written.append(Written(table.name, path, len(rows)))
    return written
