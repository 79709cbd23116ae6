"""The documented generic CSV: `time,mg,source[,form][,compound][,note]` (docs/intake.md)."""

from __future__ import annotations

from pathlib import Path

from twitchlog import magnesium
from twitchlog.errors import InputError, UserError
from twitchlog.intake.importers.common import Keys, Parsed, csv_rows, past, row
from twitchlog.timefmt import parse_when

# Generic CSV
CSV_REQUIRED = ("time", "mg", "source")
CSV_OPTIONAL = ("form", "compound", "note")
CSV_SOURCES = {"supplement": "supplement", "supplements": "supplement", "diet": "diet", "food": "diet"}
CSV_TRUE = {"1", "yes", "true", "y"}
CSV_FALSE = {"", "0", "no", "false", "n"}


def parse_generic_csv(path: Path) -> Parsed:
    """The documented generic CSV: time,mg,source[,form][,compound][,note]."""
    parsed = Parsed("csv", [])
    keys = Keys("csv")
    rows = csv_rows(path)
    reader, _ = next(rows)
    header = [h.lower() for h in reader.fieldnames or []]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise InputError(
            f"header must have columns {', '.join(CSV_REQUIRED)} (missing {', '.join(missing)})",
            source=str(path),
            line=1,
        )
    unknown = [h for h in header if h not in CSV_REQUIRED + CSV_OPTIONAL]
    if unknown:
        raise InputError(
            f"unknown column(s) {', '.join(unknown)}; allowed: {', '.join(CSV_REQUIRED + CSV_OPTIONAL)}",
            source=str(path),
            line=1,
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
            mg = magnesium.parse_amount(values["mg"])
        except UserError as e:
            raise InputError(str(e), source=str(path), line=line) from None
        past(utc, path, line)
        source = CSV_SOURCES.get(values["source"].lower())
        if source is None:
            raise InputError(f"source {values['source']!r}: expected supplement or diet", source=str(path), line=line)
        flag = values.get("compound", "").lower()
        if flag not in CSV_TRUE | CSV_FALSE:
            raise InputError(f"compound {values['compound']!r}: expected yes/no (or 1/0)", source=str(path), line=line)
        compound = flag in CSV_TRUE
        form = values.get("form") or None
        extra: dict = {"form": magnesium.normal_form(form), "note": values.get("note") or None}
        if compound:
            if source == "diet":
                raise InputError(
                    "compound weight is for supplements; food amounts are elemental", source=str(path), line=line
                )
            try:
                elemental = magnesium.elemental_from_compound(mg, form)
            except UserError as e:
                raise InputError(str(e), source=str(path), line=line) from None
            extra.update(compound_mg=mg, estimated=1)
        else:
            elemental = mg
        if elemental > magnesium.MAX_ENTRY_MG:
            raise InputError(f"{elemental:g} mg elemental in one entry looks wrong", source=str(path), line=line)
        key = keys(utc, source, mg, extra["form"], compound)
        parsed.rows.append(row(utc, source, elemental, key, "csv", **extra))
        parsed.by_source[source] += 1
    return parsed
