"""Apple Health `export.xml` (or the export .zip): dietary magnesium records, streamed.

Real exports run to gigabytes, nearly all of it heart rate and steps.  The
file goes through `xml.etree.ElementTree.iterparse` and every top-level
element is dropped from the tree as soon as it ends, so memory stays flat
whatever the size.  The source handed to iterparse returns one line per
read, so each element's events arrive while the parser is on a known line:
a bad record is refused naming the line its start tag ends on, and malformed
XML names the parser's own line.

A ``HKQuantityTypeIdentifierDietaryMagnesium`` record is diet unless it
clearly says supplement: the word "supplement" in its ``sourceName`` (the
app that wrote it) or in one of its ``MetadataEntry`` keys or values.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import ParseError, iterparse

from twitchlog import magnesium
from twitchlog.errors import InputError
from twitchlog.intake.importers.common import Keys, Parsed, past, row

MAGNESIUM = "HKQuantityTypeIdentifierDietaryMagnesium"
UNITS_TO_MG = {"mg": 1.0, "g": 1000.0, "mcg": 0.001, "µg": 0.001, "ug": 0.001}
DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"  # 2026-11-20 08:00:00 +0100
SUPPLEMENT = re.compile(r"supplement", re.IGNORECASE)


class LineSource:
    """A binary file that hands iterparse one line per read and knows which line that was."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.line = 0  # the line the parser was last fed (part of)
        self._next = 1

    def read(self, size: int = -1) -> bytes:
        data = self.raw.readline(size if size and size > 0 else -1)
        self.line = self._next
        if data.endswith(b"\n"):
            self._next += 1
        return data


@contextmanager
def _open_export(path: Path) -> Iterator[IO[bytes]]:
    """export.xml itself, or the export.xml inside Apple's export.zip, as a binary stream."""
    try:
        if path.suffix.lower() != ".zip":
            with path.open("rb") as f:
                yield f
            return
        with zipfile.ZipFile(path) as z:
            members = [n for n in z.namelist() if n.rsplit("/", 1)[-1] == "export.xml"]
            if not members:
                raise InputError("no export.xml inside the zip (is it Apple Health's export.zip?)", source=str(path))
            with z.open(members[0]) as f:
                yield f
    except zipfile.BadZipFile as e:
        raise InputError(f"not a readable zip: {e}", source=str(path)) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", source=str(path)) from None


def parse_apple_health(path: Path) -> Parsed:
    """Every dietary magnesium record of the export, checked; other elements are read and dropped."""
    parsed = Parsed("apple-health", [])
    keys = Keys("apple-health")
    with _open_export(path) as raw:
        source = LineSource(raw)
        depth = 0
        root = None
        start_line = 0
        try:
            for event, elem in iterparse(source, events=("start", "end")):
                if event == "start":
                    depth += 1
                    if depth == 1:
                        root = elem
                        if elem.tag != "HealthData":
                            raise InputError(
                                f"not an Apple Health export: the root element is <{elem.tag}>, not <HealthData>",
                                source=str(path),
                                line=source.line,
                            )
                    elif depth == 2:
                        start_line = source.line
                    continue
                depth -= 1
                if depth != 1:
                    continue
                # A top-level element has ended: use it if it is a magnesium record, then drop it.
                if elem.tag == "Record" and elem.get("type") == MAGNESIUM:
                    _record(elem, path, start_line, keys, parsed)
                elif elem.tag == "Record":
                    parsed.skipped += 1
                assert root is not None
                root.clear()
        except ParseError as e:
            line = e.position[0] if e.position else None
            raise InputError(f"malformed XML: {e}", source=str(path), line=line) from None
    if root is None:
        raise InputError("empty file: no <HealthData> element", source=str(path))
    return parsed


def _record(elem, path: Path, line: int, keys: Keys, parsed: Parsed) -> None:  # noqa: ANN001
    def bad(message: str) -> InputError:
        return InputError(f"magnesium record: {message}", source=str(path), line=line)

    attrs = elem.attrib
    missing = [a for a in ("unit", "startDate", "value") if not attrs.get(a)]
    if missing:
        raise bad(f"no {', '.join(missing)} attribute")
    unit = attrs["unit"].strip()
    factor = UNITS_TO_MG.get(unit) or UNITS_TO_MG.get(unit.lower())
    if factor is None:
        raise bad(f"unit {unit!r} is not a mass unit (mg, g, mcg)")
    try:
        value = float(attrs["value"])
    except ValueError:
        raise bad(f"value {attrs['value']!r} is not a number") from None
    if not 0 <= value < float("inf"):
        raise bad(f"value {attrs['value']!r} must be at least 0")
    try:
        start = datetime.strptime(attrs["startDate"].strip(), DATE_FORMAT)
    except ValueError:
        raise bad(f"startDate {attrs['startDate']!r} is not like 2026-11-20 08:00:00 +0100") from None
    past(int(start.timestamp()), path, line)
    mg = value * factor
    if mg > magnesium.MAX_ENTRY_MG:
        raise bad(f"{mg:g} mg in one record looks wrong")
    app = attrs.get("sourceName", "").strip()
    metadata = [(m.get("key") or "", m.get("value") or "") for m in elem.iter("MetadataEntry")]
    supplement = bool(SUPPLEMENT.search(app)) or any(SUPPLEMENT.search(k) or SUPPLEMENT.search(v) for k, v in metadata)
    form = None
    if supplement:
        for text in [v for _, v in metadata] + [app]:
            form = magnesium.form_in_name(text)
            if form:
                break
    key = keys(app, attrs["startDate"], attrs.get("endDate", ""), attrs.get("creationDate", ""), attrs["value"], unit)
    source = "supplement" if supplement else "diet"
    food = next((v for k, v in metadata if k == "HKFoodType" and v), None)
    note = ": ".join(t for t in (app, food) if t) or None
    parsed.rows.append(row(int(start.timestamp()), source, mg, key, "apple-health", form=form, note=note))
    parsed.by_source[app or "(no sourceName)"] += 1
