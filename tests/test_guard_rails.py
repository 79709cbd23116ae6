"""Bad input never becomes a finding: future dates, foreign databases (issue 13, part 1).

Each test starts from a reproduction in the issue: a mistyped year (2062) in
an import, `events add` in the future, `--db someone-elses.db`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from twitchlog import cli
from twitchlog.errors import InputError
from twitchlog.intake.importers import import_intake
from twitchlog.store.db import Store
from twitchlog.timefmt import FUTURE_TOLERANCE_S, future_problem


def _cli(db, *args):
    return CliRunner().invoke(cli.main, ["--db", str(db), *args])


# -- future dates ------------------------------------------------------------------------
def test_future_problem_has_a_small_tolerance_and_names_the_date():
    now = datetime(2026, 11, 20, 12, 0).astimezone().timestamp()
    assert future_problem(now - 86400 * 400, now=now) is None
    assert future_problem(now + FUTURE_TOLERANCE_S - 1, now=now) is None
    problem = future_problem(now + 2 * FUTURE_TOLERANCE_S, now=now)
    assert problem and "future" in problem and "2 hours" in problem
    year_2062 = datetime(2062, 11, 20, 8, 0).astimezone().timestamp()
    assert "2062-11-20" in (future_problem(year_2062, now=now) or "")
    # Intake: today's later meals may be logged ahead, tomorrow's may not.
    tonight = datetime(2026, 11, 20, 22, 0).astimezone().timestamp()
    assert future_problem(tonight, now=now, whole_day=True) is None
    assert future_problem(tonight, now=now) is not None
    assert future_problem(tonight + 86400, now=now, whole_day=True) is not None


def test_events_add_refuses_a_future_date(tmp_path):
    db = tmp_path / "t.db"
    result = _cli(db, "events", "add", "twitch", "--at", "2062-11-20 08:00")
    assert result.exit_code == 1
    assert "--at" in result.output and "2062-11-20" in result.output and "future" in result.output
    listed = json.loads(_cli(db, "events", "list", "--json").output)
    assert listed == []
    ok = _cli(db, "events", "add", "twitch", "--at", (datetime.now() - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"))
    assert ok.exit_code == 0, ok.output


def test_events_import_refuses_a_mistyped_year_naming_the_line_and_imports_nothing(tmp_path):
    db = tmp_path / "t.db"
    rows = ["time,kind"] + [f"2026-11-{d:02d} 08:00,twitch" for d in range(1, 10)]
    rows[5] = "2062-11-05 08:00,twitch"  # line 6 of the file
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n")
    result = _cli(db, "events", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}:6:" in result.output and "future" in result.output
    assert json.loads(_cli(db, "events", "list", "--json").output) == []


def _cronometer(day: str) -> str:
    return (
        "Day,Time,Group,Food Name,Amount,Magnesium (mg),Category\n"
        "2026-11-01,8:00 AM,Breakfast,Oats,80 g,110.4,Breakfast Cereals\n"
        f"{day},8:00 AM,Supplements,Magnesium Glycinate,1 capsule,200,Supplements\n"
    )


def _apple(start: str) -> str:
    rec = (
        '<Record type="HKQuantityTypeIdentifierDietaryMagnesium" sourceName="Supplement Tracker" unit="mg" '
        'startDate="{}" endDate="{}" value="200"/>'
    )
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<HealthData locale="en_DE">',
            rec.format("2026-11-01 08:00:00 +0100", "2026-11-01 08:00:00 +0100"),
            rec.format(start, start),
            "</HealthData>",
            "",
        ]
    )


@pytest.mark.parametrize(
    "name, text, line",
    [
        ("cronometer.csv", _cronometer("2062-11-02"), 3),
        ("generic.csv", "time,mg,source\n2026-11-01 08:00,200,supplement\n2062-11-02 08:00,200,supplement\n", 3),
        ("export.xml", _apple("2062-11-02 08:00:00 +0100"), 4),
    ],
)
def test_intake_importers_refuse_future_dates_naming_the_line(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text)
    with Store(tmp_path / "t.db") as store:
        with pytest.raises(InputError, match="future") as caught:
            import_intake(store, path)
        assert caught.value.source == str(path) and caught.value.line == line
        assert store.db.execute("SELECT COUNT(*) FROM intake").fetchone()[0] == 0  # nothing half-imported
    fixed = text.replace("2062-11-02", "2026-11-02")
    path.write_text(fixed)
    with Store(tmp_path / "t.db") as store:
        assert import_intake(store, path).added == 2


def test_intake_add_refuses_tomorrow(tmp_path):
    tomorrow = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%d 08:00")
    result = _cli(tmp_path / "t.db", "intake", "add", "200mg", "--at", tomorrow)
    assert result.exit_code == 1 and "future" in result.output


# -- a database that is not ours -----------------------------------------------------------
def _foreign(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    con.execute("INSERT INTO contacts VALUES ('Ada', '123')")
    con.commit()
    con.close()
    os.chmod(path, 0o644)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    return path.read_bytes()


@pytest.mark.parametrize(
    "args",
    [
        ["events", "list"],
        ["events", "add", "twitch", "--at", "2026-01-01 08:00"],
        ["events", "gap", "--list"],
        ["intake", "list"],
        ["report", "--json"],
        ["trial", "status"],
        ["export", "--format", "json"],
    ],
)
def test_a_foreign_sqlite_file_is_refused_untouched_by_every_command(tmp_path, monkeypatch, args):
    (tmp_path / "db").mkdir()
    path = tmp_path / "db" / "someone-elses.db"
    before = _foreign(path)
    monkeypatch.chdir(tmp_path)  # where `export` writes
    result = _cli(path, *args)
    assert result.exit_code == 1, result.output
    assert "someone-elses.db" in result.output and "another program" in result.output
    assert path.read_bytes() == before
    st = os.stat(path)
    assert st.st_mtime == 1_700_000_000 and stat.S_IMODE(st.st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["someone-elses.db"]  # no -wal, -shm, report


def test_an_empty_file_or_an_empty_sqlite_file_becomes_ours(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    Store(empty).close()
    fresh = tmp_path / "fresh.db"
    sqlite3.connect(fresh).execute("PRAGMA user_version = 0").connection.close()
    with Store(fresh) as store:
        assert store.schema_version >= 1
