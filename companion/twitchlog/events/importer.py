"""`events import`: the generic CSV of manual symptom events.

Format (UTF-8, comma separated, header row required)::

    time,kind,severity,note
    2026-11-20 14:30,twitch,2,left eyelid
    2026-11-20T22:05:00+01:00,cramp,,calf at night

- ``time``: ISO 8601 date and time; without an offset it is local time.
- ``kind``: twitch, cramp, spasm, tremor, tingling, restless-legs, migraine,
  anxiety, eyelid (or the device's code 1-63).
- ``severity`` (optional): 1-5.  ``note`` (optional): free text.
  A ``body_site`` column is also accepted.

The whole file is checked before anything is stored; one bad row refuses it
all, naming the line.  Importing the same file again adds nothing.
"""

from __future__ import annotations

import csv
from pathlib import Path

from twitchlog.errors import InputError, UserError
from twitchlog.kinds import kind_code
from twitchlog.store.db import Store
from twitchlog.timefmt import future_problem, parse_when

REQUIRED = ("time", "kind")
OPTIONAL = ("severity", "note", "body_site")


def read_events_csv(path: Path) -> list[dict]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", source=str(path)) from None
    try:
        with handle:
            return _parse(csv.DictReader(handle), path)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=str(path)) from None


def _parse(reader: csv.DictReader, path: Path) -> list[dict]:
    rows = []
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"header must have columns {', '.join(REQUIRED)} (missing {', '.join(missing)})", source=str(path), line=1
        )
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown:
        raise InputError(
            f"unknown column(s) {', '.join(unknown)}; allowed: {', '.join(REQUIRED + OPTIONAL)}",
            source=str(path),
            line=1,
        )
    reader.fieldnames = header
    seen: dict[tuple, int] = {}
    try:
        for raw in reader:
            line = reader.line_num
            if None in raw:
                raise InputError("more fields than the header has", source=str(path), line=line)
            values = {k: (v or "").strip() for k, v in raw.items()}
            if not any(values.values()):
                continue
            try:
                utc = parse_when(values["time"], relative=False)
                kind = kind_code(values["kind"])
                severity = int(values["severity"]) if values.get("severity") else None
            except ValueError:
                raise InputError(
                    f"severity {values['severity']!r} is not a number 1-5", source=str(path), line=line
                ) from None
            except UserError as e:
                raise InputError(str(e), source=str(path), line=line) from None
            problem = future_problem(utc)
            if problem:
                raise InputError(problem, source=str(path), line=line)
            if severity is not None and not 1 <= severity <= 5:
                raise InputError(f"severity {severity} is not 1-5", source=str(path), line=line)
            # Identical rows stay distinct events (two twitches in one minute),
            # and keep the same keys when the file is imported again.
            occurrence = seen[(utc, kind)] = seen.get((utc, kind), 0) + 1
            rows.append(
                {
                    "utc": utc,
                    "kind": kind,
                    "severity": severity,
                    "note": values.get("note") or None,
                    "body_site": values.get("body_site") or None,
                    "import_key": f"csv:{utc}:{kind}:{occurrence}",
                }
            )
    except csv.Error as e:
        raise InputError(f"not valid CSV: {e}", source=str(path), line=reader.line_num) from None
    return rows


def import_events_csv(store: Store, path: Path) -> tuple[int, int]:
    """(added, already present).  All or nothing."""
    rows = read_events_csv(path)
    added = 0
    with store.transaction():
        for row in rows:
            if store.add_event(row.pop("utc"), row.pop("kind"), source="import", **row) is not None:
                added += 1
    return added, len(rows) - added
