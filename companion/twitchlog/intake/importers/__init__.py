"""`intake import`: Cronometer servings CSV, Apple Health export.xml, the generic CSV.

Each importer parses the whole file first, into rows of elemental mg with a
``source`` of supplement or diet; any bad row refuses the whole file with an
`InputError` naming the file and line.  Only then is everything stored, in
one transaction.  Every row carries an import key made from its content (and
its occurrence number among identical rows), so importing a file again, or a
later export that overlaps it, adds nothing twice.  docs/intake.md has the
formats and the rules.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from twitchlog.errors import InputError, UserError
from twitchlog.intake import entries as intake
from twitchlog.intake.importers.apple_health import parse_apple_health
from twitchlog.intake.importers.common import Parsed
from twitchlog.intake.importers.cronometer import parse_cronometer
from twitchlog.intake.importers.generic_csv import parse_generic_csv
from twitchlog.store.db import Store

FORMATS = ("cronometer", "apple-health", "csv")


@dataclass
class ImportResult:
    path: str
    format: str
    rows: int
    added: int
    present: int
    skipped: int
    by_source: dict[str, int]
    supplement_rows: int
    diet_rows: int
    warnings: list[str]


def detect_format(path: Path) -> str:
    """cronometer, apple-health or csv, from the extension and the header line."""
    suffix = path.suffix.lower()
    if suffix in (".xml", ".zip"):
        return "apple-health"
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            first = f.readline()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", source=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=str(path), line=1) from None
    if first.lstrip().startswith("<"):
        return "apple-health"
    header = {h.strip().lower() for h in next(csv.reader([first]), [])}
    if {"food name", "magnesium (mg)"} <= header:
        return "cronometer"
    if {"time", "mg"} <= header:
        return "csv"
    raise InputError(
        "cannot tell the format from the header; give --format cronometer|apple-health|csv", source=str(path), line=1
    )


def parse(path: Path, fmt: str | None = None) -> Parsed:
    """Parse and check a whole file (format detected when `fmt` is None); nothing is stored."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", source=str(path))
    fmt = fmt or detect_format(path)
    if fmt == "cronometer":
        return parse_cronometer(path)
    if fmt == "csv":
        return parse_generic_csv(path)
    if fmt == "apple-health":
        return parse_apple_health(path)
    raise UserError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")


def import_intake(store: Store, path: Path, fmt: str | None = None) -> ImportResult:
    """Parse the whole file, then store it in one transaction.  Idempotent; all or nothing."""
    parsed = parse(Path(path), fmt)
    with store.transaction() as db:
        new = intake.insert_entries(store, parsed.rows)
        added = len(new)
        db.execute(
            "INSERT INTO intake_imports (path, format, rows, added, utc) VALUES (?, ?, ?, ?, ?)",
            (str(Path(path).resolve()), parsed.format, len(parsed.rows), added, int(datetime.now().timestamp())),
        )
    # Warn for the days this import added supplement to (a re-import warns about nothing again).
    supp_days = {intake.local_date(r["utc"]) for r in new if r["source"] == "supplement"}
    return ImportResult(
        path=str(path),
        format=parsed.format,
        rows=len(parsed.rows),
        added=added,
        present=len(parsed.rows) - added,
        skipped=parsed.skipped,
        by_source=dict(parsed.by_source),
        supplement_rows=sum(r["source"] == "supplement" for r in parsed.rows),
        diet_rows=sum(r["source"] == "diet" for r in parsed.rows),
        warnings=intake.over_upper_level(store, supp_days),
    )
