"""Cronometer's servings export: one row per food or supplement, `Magnesium (mg)` elemental."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from twitchlog import magnesium
from twitchlog.errors import InputError
from twitchlog.intake.importers.common import Keys, Parsed, csv_rows, number, past, row

# Cronometer (servings export)
CRONO_REQUIRED = ("Day", "Food Name", "Magnesium (mg)")
CRONO_SUPPLEMENT = {"supplement", "supplements"}  # Category or Group
CRONO_DEFAULT_TIME = "12:00"  # entries logged without a time
CRONO_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p")


def parse_cronometer(path: Path) -> Parsed:
    """A Cronometer servings export: one row per food or supplement logged, `Magnesium (mg)` elemental."""
    parsed = Parsed("cronometer", [])
    keys = Keys("cronometer")
    rows = csv_rows(path)
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

        cell = {name: values.get(key, "") if key else "" for name, key in col.items()}
        if not any(values.values()):
            continue
        if not cell["Mg"]:  # Cronometer leaves it blank when the food has no magnesium data: unknown, not 0
            parsed.skipped += 1
            continue
        mg = number(cell["Mg"], "Magnesium (mg)", path, line)
        when = cell["Time"] or CRONO_DEFAULT_TIME
        try:
            day = datetime.strptime(cell["Day"], "%Y-%m-%d").date()
        except ValueError:
            raise InputError(
                f"Day {cell['Day']!r} is not a date like 2026-11-20",
                source=str(path),
                line=line,
            ) from None
        clock = None
        for fmt in CRONO_TIME_FORMATS:
            try:
                clock = datetime.strptime(when.upper(), fmt).time()
                break
            except ValueError:
                continue
        if clock is None:
            raise InputError(f"Time {when!r} is not a time like 08:15 or 8:15 AM", source=str(path), line=line)
        utc = past(int(datetime.combine(day, clock).astimezone().timestamp()), path, line)  # local, as shown
        group, category, name = cell["Group"], cell["Category"], cell["Food Name"]
        supplement = category.lower() in CRONO_SUPPLEMENT or group.lower() in CRONO_SUPPLEMENT
        source = "supplement" if supplement else "diet"
        if mg > magnesium.MAX_ENTRY_MG:
            raise InputError(f"{mg:g} mg of magnesium in one entry looks wrong", source=str(path), line=line)
        note = f"{name} ({cell['Amount']})" if cell["Amount"] else name
        key = keys(cell["Day"], cell["Time"], group, name, cell["Amount"], mg)
        form = magnesium.form_in_name(name) if supplement else None
        parsed.rows.append(row(utc, source, mg, key, "cronometer", form=form, note=note or None))
        parsed.by_source[group or "(no group)"] += 1
    return parsed


# ------------------------------------------------------------ generic CSV
