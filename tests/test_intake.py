"""Magnesium intake: the elemental table, add/products/UL warning, daily totals, the three importers."""

from __future__ import annotations

import json
import math
import re
import sqlite3
import subprocess
import sys
import time
import tracemalloc
import xml.etree.ElementTree as ET
import zipfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from twitchlog import magnesium
from twitchlog.cli.common import Settings
from twitchlog.cli.intake import intake as intake_cli
from twitchlog.errors import InputError, UserError
from twitchlog.intake import entries as intake
from twitchlog.intake.importers import detect_format, import_intake
from twitchlog.intake.importers.apple_health import parse_apple_health
from twitchlog.store.db import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "intake"
CRONO = FIXTURES / "cronometer_servings.csv"
HEALTH = FIXTURES / "export.xml"
GENERIC = FIXTURES / "generic.csv"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def berlin(monkeypatch):
    """The system's local time is Europe/Berlin for the test (fixtures' naive times are local)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield BERLIN
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def store(tmp_path, berlin):
    with Store(tmp_path / "t.db") as s:
        yield s


def at(text: str) -> int:
    """Unix seconds of a Berlin wall-clock time."""
    return int(datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp())


def count(store: Store, table: str = "intake") -> int:
    return store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# ------------------------------------------------------------ forms and amounts
def test_elemental_table_is_the_nih_one_and_aliases_map_to_it():
    assert len(magnesium.ELEMENTAL_PERCENT) == 12
    assert magnesium.ELEMENTAL_PERCENT["oxide"] == 60.3 and magnesium.ELEMENTAL_PERCENT["orotate"] == 7.3
    for text, form in [
        ("glycinate", "glycinate"),
        ("Magnesium Bisglycinate", "glycinate"),
        ("bisglycinate chelate", "glycinate"),
        ("CITRATE", "citrate"),
        ("sulphate", "sulfate"),
        ("Epsom salt", "sulfate"),
        ("threonate", "l-threonate"),
        ("L-Threonate", "l-threonate"),
        ("magnesium_l_threonate", "l-threonate"),
        ("chloride hexahydrate", "chloride"),
    ]:
        assert magnesium.canonical_form(text) == form, text
    assert magnesium.canonical_form("buffered glycinate") is None  # glycinate + oxide: not the table's 14.1 %
    assert magnesium.canonical_form("pidolate") is None and magnesium.normal_form("Pidolate") == "pidolate"
    assert magnesium.elemental_from_compound(1000, "glycinate") == pytest.approx(141.0)
    assert magnesium.elemental_from_compound(500, "magnesium oxide") == pytest.approx(301.5)
    with pytest.raises(UserError, match="known forms: oxide, carbonate, citrate.*orotate"):
        magnesium.elemental_from_compound(500, "pidolate")
    with pytest.raises(UserError, match="--compound needs a --form"):
        magnesium.elemental_from_compound(500, None)


@pytest.mark.subprocess
def test_the_statistics_do_not_load_sqlite_and_the_cli_group_is_light():
    assert magnesium.UPPER_LEVEL_MG == 350
    probe = "import sys, twitchlog.stats.analysis, twitchlog.stats.sufficiency; print('sqlite3' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"  # the statistics are pure: no store behind them
    probe = "import sys, twitchlog.cli.intake; print('pandas' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"  # registering the group must not slow `twitchlog --help`


def test_amounts_parse_in_mg_or_g():
    assert magnesium.parse_amount("200mg") == 200 and magnesium.parse_amount("200 MG") == 200
    assert magnesium.parse_amount("200") == 200 and magnesium.parse_amount("0.5g") == 500
    for bad in ("", "200 mgs", "-5mg", "two hundred", "200mcg"):
        with pytest.raises(UserError, match="amount"):
            magnesium.parse_amount(bad)


# ------------------------------------------------------------ add, products, the upper level
def test_elemental_by_default_compound_converted_and_flagged(store):
    a = intake.add_intake(store, 200, form="glycinate", utc=at("2026-11-20 08:00"))
    assert (a.elemental_mg, a.estimated, a.form, a.source) == (200, False, "glycinate", "supplement")
    b = intake.add_intake(store, 1000, form="Magnesium Bisglycinate", compound=True, utc=at("2026-11-21 08:00"))
    assert b.elemental_mg == pytest.approx(141.0) and b.estimated and b.form == "glycinate"
    got = {e.id: e for e in intake.entries(store)}
    assert got[b.entry_id].compound_mg == 1000 and got[b.entry_id].estimated
    assert got[a.entry_id].compound_mg is None and not got[a.entry_id].estimated
    with pytest.raises(UserError, match="known forms"):
        intake.add_intake(store, 500, form="pidolate", compound=True)
    with pytest.raises(UserError, match="looks wrong.*--compound"):
        intake.add_intake(store, 6000, form="citrate")  # compound weight typed as elemental
    with pytest.raises(UserError, match="food amounts are elemental"):
        intake.add_intake(store, 100, compound=True, form="oxide", diet=True)
    assert count(store) == 2


def test_upper_level_warning_counts_supplements_of_that_local_day_only(store):
    assert intake.add_intake(store, 200, form="citrate", utc=at("2026-11-20 08:00")).warning is None
    assert intake.add_intake(store, 600, diet=True, utc=at("2026-11-20 13:00")).warning is None  # food does not count
    assert intake.add_intake(store, 150, utc=at("2026-11-20 23:59")).warning is None  # 350 is at, not above
    nextday = intake.add_intake(store, 300, utc=at("2026-11-21 00:01"))  # after local midnight: a new day
    assert nextday.warning is None and nextday.day_supplement_mg == 300
    over = intake.add_intake(store, 1, utc=at("2026-11-20 12:00"))
    assert over.day_supplement_mg == 351
    assert over.warning and "2026-11-20: 351 mg" in over.warning and "350 mg/day upper level" in over.warning


def test_products_and_servings(store):
    p = intake.add_product(store, "Doctor's Best glycinate", "glycinate", 100)
    assert (p.form, p.mg_per_serving, p.estimated) == ("glycinate", 100, False)
    with pytest.raises(UserError, match="already saved"):
        intake.add_product(store, "doctor's best GLYCINATE", "glycinate", 100)
    powder = intake.add_product(store, "Citrate powder", "citrate", 1000, compound=True)
    assert powder.mg_per_serving == pytest.approx(162.0) and powder.estimated
    two = intake.add_intake(store, product="doctor's best glycinate", servings=2, utc=at("2026-11-20 08:00"))
    assert (two.elemental_mg, two.form, two.estimated) == (200, "glycinate", False)
    one = intake.add_intake(store, product="Citrate powder", utc=at("2026-11-20 20:00"))
    assert one.elemental_mg == pytest.approx(162.0) and one.estimated and one.warning  # 362 mg that day
    listed = intake.entries(store)
    assert [(e.product, e.servings) for e in listed] == [("Doctor's Best glycinate", 2.0), ("Citrate powder", 1.0)]
    assert [x.name for x in intake.products(store)] == ["Citrate powder", "Doctor's Best glycinate"]
    with pytest.raises(UserError, match="no saved product 'Nope'.*Citrate powder"):
        intake.add_intake(store, product="Nope")
    with pytest.raises(UserError, match="not both"):
        intake.add_intake(store, 100, product="Citrate powder")
    with pytest.raises(UserError, match="--servings needs --product"):
        intake.add_intake(store, 100, servings=2)
    with pytest.raises(UserError, match="saved as glycinate"):
        intake.add_intake(store, product="Doctor's Best glycinate", form="oxide")
    assert count(store) == 2


# ------------------------------------------------------------ daily totals
def test_daily_intake_splits_at_local_midnight_and_keeps_diet_unknown_apart(store):
    intake.add_intake(store, 100, utc=at("2026-11-20 23:59:59"))
    intake.add_intake(store, 50, compound=False, utc=at("2026-11-21 00:00:00"))
    intake.add_intake(store, 1000, form="oxide", compound=True, utc=at("2026-11-21 09:00"))  # 603, estimated
    intake.add_intake(store, 80, diet=True, utc=at("2026-11-21 00:30"))
    intake.add_intake(store, 70, diet=True, utc=at("2026-11-21 19:00"))
    intake.add_intake(store, 0.5, diet=True, utc=at("2026-11-23 12:00"))
    intake.add_intake(store, 999, utc=at("2026-11-24 00:00"))  # the day after the range
    frame = intake.daily_intake(store, "2026-11-19", date(2026, 11, 23))
    assert list(frame.index.strftime("%d")) == ["19", "20", "21", "22", "23"]
    assert frame.index.name == "date" and list(frame.columns[:2]) == ["supp_mg", "diet_mg"]
    assert list(frame["supp_mg"]) == pytest.approx([0, 100, 653, 0, 0])
    diet = frame["diet_mg"].tolist()
    assert math.isnan(diet[0]) and math.isnan(diet[1]) and math.isnan(diet[3])  # no food data: unknown, not 0
    assert diet[2] == 150 and diet[4] == 0.5
    assert frame["supp_estimated"].tolist() == [False, False, True, False, False]
    # The same entries seen in UTC: 23:59:59 Berlin is 22:59:59 UTC the same day, 00:00 Berlin is the day before.
    utc = intake.daily_intake(store, "2026-11-20", "2026-11-21", tz=ZoneInfo("UTC"))
    assert list(utc["supp_mg"]) == pytest.approx([150, 603])
    explicit = intake.daily_intake(store, "2026-11-19", "2026-11-23", tz=BERLIN)
    assert explicit["supp_mg"].tolist() == frame["supp_mg"].tolist()


def test_daily_intake_feeds_the_analysis_frame(store):
    from twitchlog.stats.analysis import daily_frame

    intake.add_intake(store, 200, utc=at("2026-11-20 08:00"))
    frame = intake.daily_intake(store, "2026-11-20", "2026-11-21")
    daily = daily_frame(frame.index, [1, 2], None, frame["supp_mg"].tolist(), frame["diet_mg"].tolist())
    assert daily["supp_mg"].tolist() == [200, 0] and daily["diet_mg"].isna().all()


def test_daily_intake_of_an_empty_range(store):
    frame = intake.daily_intake(store, "2026-11-01", "2026-11-03")
    assert frame["supp_mg"].tolist() == [0, 0, 0] and frame["diet_mg"].isna().all()
    assert not frame["supp_estimated"].any() and frame["supp_mg"].dtype == float
    with pytest.raises(UserError, match="before the first"):
        intake.daily_intake(store, "2026-11-03", "2026-11-01")


def test_daily_intake_on_a_dst_day(store):
    intake.add_intake(store, 100, utc=at("2026-03-29 23:30"))  # a 23-hour day in Berlin
    intake.add_intake(store, 10, utc=at("2026-10-25 23:30"))  # a 25-hour day
    frame = intake.daily_intake(store, "2026-03-29", "2026-03-30")
    assert frame["supp_mg"].tolist() == [100, 0]
    assert intake.daily_intake(store, "2026-10-25", "2026-10-25")["supp_mg"].tolist() == [10]


# ------------------------------------------------------------ imports
def test_formats_are_detected(tmp_path):
    assert detect_format(CRONO) == "cronometer"
    assert detect_format(GENERIC) == "csv"
    assert detect_format(HEALTH) == "apple-health"
    other = tmp_path / "other.csv"
    other.write_text("date,calories\n2026-11-20,2000\n")
    with pytest.raises(InputError, match=r"other.csv:1: cannot tell the format.*--format"):
        detect_format(other)


def test_cronometer_import_tells_supplements_from_food_and_is_idempotent(store):
    result = import_intake(store, CRONO)
    assert (result.format, result.rows, result.added, result.present, result.skipped) == ("cronometer", 9, 9, 0, 1)
    assert (result.supplement_rows, result.diet_rows) == (3, 6)
    supp = intake.entries(store, source="supplement")
    # Category "Supplements", or the diary group "Supplements" (the Magtein row's category is "Custom").
    assert [(e.elemental_mg, e.form) for e in supp] == [(200, "glycinate"), (167, "citrate"), (144, "l-threonate")]
    assert all(e.origin == "cronometer" and not e.estimated for e in supp)
    frame = intake.daily_intake(store, "2026-11-20", "2026-11-21")
    assert frame["supp_mg"].tolist() == pytest.approx([200, 311])
    # Spinach without a time counts at noon; the blank-magnesium soup is skipped; identical almond rows both count.
    assert frame["diet_mg"].tolist() == pytest.approx([110.4 + 75.6 + 79.0, 68.4 + 75.6 + 75.6])
    spinach = next(e for e in intake.entries(store) if e.note and e.note.startswith("Spinach"))
    assert spinach.utc == at("2026-11-20 12:00")
    again = import_intake(store, CRONO)
    assert (again.added, again.present) == (0, 9) and count(store) == 9
    assert count(store, "intake_imports") == 2


def test_overlapping_export_adds_only_the_new_rows(store, tmp_path):
    lines = CRONO.read_text().splitlines(keepends=True)
    first = tmp_path / "first.csv"
    first.write_text("".join(lines[:5]))  # 2026-11-20 only
    assert import_intake(store, first, "cronometer").added == 4
    result = import_intake(store, CRONO)
    assert (result.added, result.present) == (5, 4) and count(store) == 9


def test_apple_health_import(store):
    result = import_intake(store, HEALTH)
    assert (result.format, result.rows, result.added, result.skipped) == ("apple-health", 5, 5, 2)
    assert result.by_source == {"Cronometer": 2, "MyFitnessPal": 1, "Supplement Tracker": 1, "Health": 1}
    got = intake.entries(store)
    assert [(e.source, e.elemental_mg, e.form) for e in got] == [
        ("diet", 110.4, None),
        ("diet", pytest.approx(75.6), None),  # unit="g"
        ("supplement", 200, "glycinate"),  # sourceName says supplement
        ("diet", 68.4, None),
        ("supplement", 150, "citrate"),  # metadata says supplement
    ]
    assert got[0].utc == at("2026-11-20 08:00") and got[0].note == "Cronometer: Oats, Rolled, Dry"
    # The chocolate's record repeated inside its food <Correlation> is not counted a second time.
    assert intake.daily_intake(store, "2026-11-21", "2026-11-21")["diet_mg"].tolist() == [68.4]
    assert import_intake(store, HEALTH).added == 0 and count(store) == 5


def test_apple_health_zip_as_exported(store, tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(HEALTH, "apple_health_export/export.xml")
        z.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>")
    assert import_intake(store, archive).added == 5
    assert import_intake(store, HEALTH).added == 0  # the same records, whichever way they came in


def test_generic_csv_import(store):
    result = import_intake(store, GENERIC)
    assert (result.format, result.added) == ("csv", 4)
    got = intake.entries(store)
    assert [(e.source, round(e.elemental_mg, 3), e.form, e.estimated, e.compound_mg) for e in got] == [
        ("supplement", 200, "glycinate", False, None),
        ("diet", 120, None, False, None),
        ("supplement", 162.0, "citrate", True, 1000),
        ("supplement", 150, "glycinate", False, None),
    ]
    assert got[1].utc == at("2026-11-20 12:30")  # with its own offset
    assert result.warnings and "2026-11-20: 362 mg" in result.warnings[0]  # 200 + 162 supplemental
    again = import_intake(store, GENERIC)
    assert again.added == 0 and again.warnings == []  # nothing new: no warning repeated


BAD_VARIANTS = [
    # (fixture, text replaced, replacement, line named, message)
    (CRONO, "Nuts and Seeds\n2026-11-20,8:00 AM", "Nuts and Seeds\n2026-11-20,8:00 AM", None, None),  # control
    (CRONO, ",200.0,", ",two hundred,", 4, r"Magnesium \(mg\) 'two hundred' is not a number"),
    (CRONO, ",167.0,", ",-167.0,", 7, "at least 0"),
    (CRONO, "2026-11-21,12:30 PM", "21/11/2026,12:30 PM", 8, "Day '21/11/2026' is not a date"),
    (CRONO, "2026-11-21,3:00 PM,Snacks", "2026-11-21,25:99,Snacks", 9, "Time '25:99'"),
    (CRONO, "Nuts and Seeds\n2026-11-20,8:00", "Nuts and Seeds,extra\n2026-11-20,8:00", 3, "more fields"),
    (CRONO, "Food Name", "Food", 1, r"cannot tell the format"),
    (GENERIC, "2026-11-21 23:30", "yesterday-ish", 5, "time 'yesterday-ish'"),
    (GENERIC, ",supplement,Magnesium Citrate,yes", ",supplement,pidolate,yes", 3, "pidolate.*known forms"),
    (GENERIC, ",diet,", ",meal,", 4, "source 'meal'"),
    (GENERIC, "2026-11-21 23:30", "today", 5, "time 'today': give a date and time"),
    (GENERIC, "bisglycinate,no", "bisglycinate,maybe", 5, "compound 'maybe'"),
    (GENERIC, "120,diet,,,", "120,diet,oxide,yes,", 4, "food amounts are elemental"),
    (GENERIC, "time,mg,source", "time,mg,source,colour", 1, "unknown column"),
    (HEALTH, 'unit="g"', 'unit="IU"', 38, "unit 'IU' is not a mass unit"),
    (HEALTH, 'value="150"', 'value="lots"', 45, "value 'lots' is not a number"),
    (HEALTH, 'startDate="2026-11-21 00:15:00 +0100"', 'startDate="21.11.2026"', 48, "startDate '21.11.2026'"),
    (
        HEALTH,
        '  <MetadataEntry key="HKFoodType" value="Magnesium Glycinate"/>\n',
        "  <MetadataEntry\n",
        44,
        "malformed XML",
    ),
    (HEALTH, "</HealthData>\n", "", 54, "malformed XML: no element found"),  # the parser's line: end of file
    (HEALTH, '<HealthData locale="en_DE">', "<Other>", 30, "not an Apple Health export"),
]


@pytest.mark.parametrize("fixture, old, new, line, message", BAD_VARIANTS, ids=range(len(BAD_VARIANTS)))
def test_malformed_files_are_refused_whole_naming_the_line(store, tmp_path, fixture, old, new, line, message):
    text = fixture.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / fixture.name
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    if line is None:  # the control: the unchanged file imports, so the failures below are the edits'
        assert import_intake(store, bad).added > 0
        return
    with pytest.raises(InputError) as caught:
        import_intake(store, bad)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{bad}:{line}: ")
    assert re.search(message, str(caught.value)), str(caught.value)
    assert count(store) == 0 and count(store, "intake_imports") == 0


def test_wrong_root_element_and_non_utf8_are_refused(store, tmp_path):
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?>\n<plist version="1.0">\n</plist>\n')
    with pytest.raises(InputError, match=r"other.xml:2: not an Apple Health export.*<plist>"):
        import_intake(store, other)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(GENERIC.read_bytes().replace(b"kitchen", b"k\xfcche"))
    with pytest.raises(InputError, match="not UTF-8"):
        import_intake(store, latin, "csv")
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(CRONO.read_text().replace("Food Name", "Food", 1))
    with pytest.raises(InputError, match=r"renamed.csv:1: not a Cronometer servings export: no Food Name column"):
        import_intake(store, renamed, "cronometer")
    with pytest.raises(InputError, match="no such file"):
        import_intake(store, tmp_path / "missing.csv")
    assert count(store) == 0


def _big_export(path: Path, records: int) -> int:
    """An export of `records` records, 1 in 100 dietary magnesium, the rest heart rate with metadata."""
    with path.open("w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n')
        for i in range(records):
            if i % 100 == 0:
                f.write(
                    ' <Record type="HKQuantityTypeIdentifierDietaryMagnesium" sourceName="Cronometer" unit="mg"'
                    ' creationDate="2026-01-01 08:00:00 +0100"'
                    f' startDate="2026-01-{1 + i // 2000:02d} 08:{i % 60:02d}:00 +0100"'
                    f' endDate="2026-01-01 08:00:00 +0100" value="{i % 300}"/>\n'
                )
            else:
                f.write(
                    ' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Apple Watch" sourceVersion="10.1"'
                    ' unit="count/min" creationDate="2026-01-01 08:00:00 +0100" startDate="2026-01-01 08:00:00 +0100"'
                    f' endDate="2026-01-01 08:00:00 +0100" value="{60 + i % 40}">\n'
                    '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n </Record>\n'
                )
        f.write("</HealthData>\n")
    return path.stat().st_size


def _peak(fn):  # noqa: ANN001, ANN202
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_apple_health_is_streamed_not_loaded_whole(tmp_path):
    path = tmp_path / "export.xml"
    size = _big_export(path, 50_000)
    assert size > 10_000_000
    parsed, streamed = _peak(lambda: parse_apple_health(path))
    assert len(parsed.rows) == 500 and parsed.skipped == 49_500
    # The measurement can tell: holding the tree takes several times the file; streaming a small fraction.
    _, whole = _peak(lambda: ET.parse(path))
    assert whole > size
    assert streamed < size / 20, (streamed, size)


def test_bad_record_deep_in_a_big_export_names_its_line(store, tmp_path):
    path = tmp_path / "export.xml"
    _big_export(path, 3_000)
    lines = path.read_text().splitlines(keepends=True)
    target = next(i for i, t in enumerate(lines) if "DietaryMagnesium" in t and 'value="0"' not in t and i > 5000)
    lines[target] = lines[target].replace('unit="mg"', 'unit="kcal"')
    path.write_text("".join(lines))
    with pytest.raises(InputError) as caught:
        import_intake(store, path)
    assert caught.value.line == target + 1 and "unit 'kcal'" in str(caught.value)
    assert count(store) == 0


# ------------------------------------------------------------ CLI
def run(tmp_path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(intake_cli, list(args), obj=Settings(tmp_path / "cli.db", "os"), catch_exceptions=True)


def test_cli_add_list_products_import(tmp_path, berlin):
    r = run(tmp_path, "add", "200mg", "--form", "glycinate", "--at", "2026-11-20 08:00")
    assert r.exit_code == 0, r.output
    assert "200 mg elemental magnesium as glycinate, supplement" in r.output
    r = run(tmp_path, "add", "1000mg", "--form", "citrate", "--compound", "--at", "2026-11-20 21:00")
    assert "162 mg elemental magnesium (estimated from compound weight)" in r.output
    assert "warning:" in r.output and "362 mg" in r.output  # CliRunner mixes stderr in
    r = run(tmp_path, "product", "add", "Doctor's Best glycinate", "--form", "glycinate", "--mg-per-serving", "100")
    assert r.exit_code == 0, r.output
    r = run(tmp_path, "add", "--product", "Doctor's Best glycinate", "--servings", "2", "--at", "2026-11-21 08:00")
    assert r.exit_code == 0 and "200 mg" in r.output and "warning" not in r.output
    r = run(tmp_path, "import", str(GENERIC))
    assert r.exit_code == 0 and "4 entries imported, 0 already present" in r.output
    rows = json.loads(run(tmp_path, "list", "--json", "--since", "2026-11-21", "--until", "2026-11-22").output)
    assert [(x["elemental_mg"], x["product"], x["servings"], x["origin"]) for x in rows] == [
        (200, "Doctor's Best glycinate", 2.0, "manual"),
        (150, None, None, "csv"),
    ]
    assert rows[0]["time"] == "2026-11-21T07:00:00Z"
    r = run(tmp_path, "list", "--daily", "--json", "--since", "2026-11-20", "--until", "2026-11-22")
    daily = json.loads(r.output)
    assert daily == [
        {"date": "2026-11-20", "supp_mg": 724.0, "diet_mg": 120.0, "supp_estimated": True},
        {"date": "2026-11-21", "supp_mg": 350.0, "diet_mg": None, "supp_estimated": False},
    ]
    assert "~162" in run(tmp_path, "list").output
    products = json.loads(run(tmp_path, "product", "list", "--json").output)
    assert products[0]["mg_per_serving"] == 100
    r = run(tmp_path, "add", "500mg", "--form", "pidolate", "--compound")
    assert isinstance(r.exception, UserError) and "known forms" in str(r.exception)


def test_every_intake_command_and_option_has_help():
    import click

    def walk(cmd, name):  # noqa: ANN001, ANN202
        yield name, cmd
        if isinstance(cmd, click.Group):
            for sub, child in cmd.commands.items():
                yield from walk(child, f"{name} {sub}")

    for name, cmd in walk(intake_cli, "intake"):
        assert (cmd.help or "").strip(), name
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.name}"


def test_a_version_1_database_is_upgraded_in_place(tmp_path):
    from twitchlog.store.schema import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    con.execute(
        "INSERT INTO events (kind, utc, time_quality, source, added_utc) VALUES (1, 1763600000, 1, 'manual', 0)"
    )
    con.commit()
    con.close()
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION >= 2
        assert len(s.events()) == 1  # kept
        intake.add_intake(s, 100, utc=1763600000)
        assert count(s) == 1
