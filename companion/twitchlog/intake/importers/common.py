"""`intake import`: Cronometer servings CSV, Apple Health export.xml (see `intakehealth`), generic CSV.

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
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import intake
from .errors import InputError, UserError
from .store import Store
from .timefmt import parse_when

FORMATS = ("cronometer", "apple-health", "csv")

# Cronometer (servings export)
CRONO_REQUIRED = ("Day", "Food Name", "Magnesium (mg)")
CRONO_SUPPLEMENT = {"supplement", "supplements"}  # Category or Group
CRONO_DEFAULT_TIME = "12:00"  # entries logged without a time
CRONO_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p")

# Generic CSV
CSV_REQUIRED = ("time", "mg", "source")
CSV_OPTIONAL = ("form", "compound", "note")
CSV_SOURCES = {"supplement": "supplement", "supplements": "supplement", "diet": "diet", "food": "diet"}
CSV_TRUE = {"1", "yes", "true", "y"}
CSV_FALSE = {"", "0", "no", "false", "n"}


@dataclass
class Parsed:
    """A whole file, parsed and checked: rows ready for `intake.insert_entries`."""

    format: str
    rows: list[dict]
    by_source: Counter = field(default_factory=Counter)  # where the rows came from (app, group)
    skipped: int = 0  # rows without a magnesium value, or other record types


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


class Keys:
    """Import keys from row content plus the occurrence number among identical rows."""

    def __init__(self, origin: str):
        self.origin = origin
        self.seen: Counter = Counter()

    def __call__(self, *parts: object) -> str:
        digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:24]
        self.seen[digest] += 1
        return f"{self.origin}:{digest}:{self.seen[digest]}"


def row(utc: int, source: str, mg: float, key: str, origin: str, **extra: object) -> dict:
    return {"utc": int(utc), "source": source, "elemental_mg": float(mg), "origin": origin, "import_key": key, **extra}


# ------------------------------------------------------------ detection and reading
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


def _csv_rows(path: Path) -> Iterator[tuple[csv.DictReader, dict]]:
    """The rows of a UTF-8 CSV with the reader (for its line number); errors name the line."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", source=str(path)) from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            if reader.fieldnames is None:
                raise InputError("the file is empty (a header row is needed)", source=str(path), line=1)
            reader.fieldnames = [h.strip() for h in reader.fieldnames]
            yield reader, {}
            for raw in reader:
                if None in raw:
                    raise InputError("more fields than the header has", source=str(path), line=reader.line_num)
                yield reader, {k: (v or "").strip() for k, v in raw.items()}
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", source=str(path), line=reader.line_num + 1) from None
        except csv.Error as e:
            raise InputError(f"not valid CSV: {e}", source=str(path), line=reader.line_num) from None


def _number(text: str, what: str, path: Path, line: int) -> float:
    try:
        value = float(text) if text else float("nan")
    except ValueError:
        raise InputError(f"{what} {text!r} is not a number", source=str(path), line=line) from None
    if not value >= 0 or value == float("inf"):
        raise InputError(f"{what} {text!r} must be a number of at least 0", source=str(path), line=line)
    return value


# ------------------------------------------------------------ Cronometer
def parse_cronometer(path: Path) -> Parsed:
    """A Cronometer servings export: one row per food or supplement logged, `Magnesium (mg)` elemental."""
    parsed = Parsed("cronometer", [])
    keys = Keys("cronometer")
    rows = _csv_rows(path)
    reader, _ = next(rows)
    lower = {h.lower(): h for h in reader.fieldnames or []}
    missing = [c for c in CRONO_REQUIRED if c.lower() not in lower]
    if missing:
        raise InputError(
            f"not a Cronometer servings export: no {', '.join(missing)} column(s)", source=str(path), line=1
        )
    col = {name: lower.get(name.lower()) for name in ("Day", "Time", "Group", "Food Name", "Amount", "Category")}
    col["Mg"] = lower["magnesium (mg)"]
    for reader, values in rows:
        line = reader.line_num

        def get(name: str) -> str:
            key = col.get(name)
            return values.get(key, "") if key else ""

        if not any(values.values()):
            continue
        if not get("Mg"):  # Cronometer leaves it blank when the food has no magnesium data: unknown, not 0
            parsed.skipped += 1
            continue
        mg = _number(get("Mg"), "Magnesium (mg)", path, line)
        when = get("Time") or CRONO_DEFAULT_TIME
        try:
            day = datetime.strptime(get("Day"), "%Y-%m-%d").date()
        except ValueError:
            raise InputError(f"Day {get('Day')!r} is not a date like 2026-11-20", source=str(path), line=line) from None
        clock = None
        for fmt in CRONO_TIME_FORMATS:
            try:
                clock = datetime.strptime(when.upper(), fmt).time()
                break
            except ValueError:
                continue
        if clock is None:
            raise InputError(f"Time {when!r} is not a time like 08:15 or 8:15 AM", source=str(path), line=line)
        utc = int(datetime.combine(day, clock).astimezone().timestamp())  # local time, as Cronometer shows it
        group, category, name = get("Group"), get("Category"), get("Food Name")
        supplement = category.lower() in CRONO_SUPPLEMENT or group.lower() in CRONO_SUPPLEMENT
        source = "supplement" if supplement else "diet"
        if mg > intake.MAX_ENTRY_MG:
            raise InputError(f"{mg:g} mg of magnesium in one entry looks wrong", source=str(path), line=line)
        note = f"{name} ({get('Amount')})" if get("Amount") else name
        key = keys(get("Day"), get("Time"), group, name, get("Amount"), mg)
        form = intake.form_in_name(name) if supplement else None
        parsed.rows.append(row(utc, source, mg, key, "cronometer", form=form, note=note or None))
        parsed.by_source[group or "(no group)"] += 1
    return parsed


# ------------------------------------------------------------ generic CSV
def parse_generic_csv(path: Path) -> Parsed:
    """The documented generic CSV: time,mg,source[,form][,compound][,note]."""
    parsed = Parsed("csv", [])
    keys = Keys("csv")
    rows = _csv_rows(path)
    reader, _ = next(rows)
    header = [h.lower() for h in reader.fieldnames or []]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"header must have columns {', '.join(CSV_REQUIRED)} (missing {', '.join(missing)})",
            source=str(path), line=1,
        )
    unknown = [h for h in header if h not in CSV_REQUIRED + CSV_OPTIONAL]
    if unknown:
        raise InputError(
            f"unknown column(s) {', '.join(unknown)}; allowed: {', '.join(CSV_REQUIRED + CSV_OPTIONAL)}",
            source=str(path), line=1,
        )
    reader.fieldnames = header
    for reader, values in rows:
        line = reader.line_num
        if not any(values.values()):
            continue
        if values["time"].lower() in ("now", "today", "yesterday"):  # would change on every import
            raise InputError(f"time {values['time']!r}: give a date and time", source=str(path), line=line)
        try:
            utc = parse_when(values["time"])
            mg = intake.parse_amount(values["mg"])
        except UserError as e:
            raise InputError(str(e), source=str(path), line=line) from None
        source = CSV_SOURCES.get(values["source"].lower())
        if source is None:
            raise InputError(f"source {values['source']!r}: expected supplement or diet", source=str(path), line=line)
        flag = values.get("compound", "").lower()
        if flag not in CSV_TRUE | CSV_FALSE:
            raise InputError(f"compound {values['compound']!r}: expected yes/no (or 1/0)", source=str(path), line=line)
        compound = flag in CSV_TRUE
        form = values.get("form") or None
        extra: dict = {"form": intake.normal_form(form), "note": values.get("note") or None}
        if compound:
            if source == "diet":
                raise InputError(
                    "compound weight is for supplements; food amounts are elemental", source=str(path), line=line
                )
            try:
                elemental = intake.elemental_from_compound(mg, form)
            except UserError as e:
                raise InputError(str(e), source=str(path), line=line) from None
            extra.update(compound_mg=mg, estimated=1)
        else:
            elemental = mg
        if elemental > intake.MAX_ENTRY_MG:
            raise InputError(f"{elemental:g} mg elemental in one entry looks wrong", source=str(path), line=line)
        key = keys(utc, source, mg, extra["form"], compound)
        parsed.rows.append(row(utc, source, elemental, key, "csv", **extra))
        parsed.by_source[source] += 1
    return parsed


# ------------------------------------------------------------ storing
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
        from .intakehealth import parse_apple_health

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
