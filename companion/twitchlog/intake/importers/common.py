"""What the intake importers share: the parsed file, import keys, CSV reading with line numbers."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from twitchlog.errors import InputError
from twitchlog.timefmt import future_problem


@dataclass
class Parsed:
    """A whole file, parsed and checked: rows ready for `intake.insert_entries`."""

    format: str
    rows: list[dict]
    by_source: Counter = field(default_factory=Counter)  # where the rows came from (app, group)
    skipped: int = 0  # rows without a magnesium value, or other record types


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


def csv_rows(path: Path) -> Iterator[tuple[csv.DictReader, dict]]:
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


def number(text: str, what: str, path: Path, line: int) -> float:
    try:
        value = float(text) if text else float("nan")
    except ValueError:
        raise InputError(f"{what} {text!r} is not a number", source=str(path), line=line) from None
    if not value >= 0 or value == float("inf"):
        raise InputError(f"{what} {text!r} must be a number of at least 0", source=str(path), line=line)
    return value


def past(utc: int, path: Path, line: int) -> int:
    """`utc`, or an InputError naming the line when it is in the future (a mistyped year or date)."""
    problem = future_problem(utc, whole_day=True)
    if problem:
        raise InputError(problem, source=str(path), line=line)
    return utc
