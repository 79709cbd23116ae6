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
    return CliRunner().invoke(cli.main, ["--db", str(db), *map(str, args)])


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


# -- one stray date cannot stretch the window ----------------------------------------------
def _trial_store(path, *, stray=None, seed=3):
    """84 days of a randomized plan (7-day blocks, 200 mg, true halving at 200 mg), stored as a user would."""
    import numpy as np

    from twitchlog.intake.entries import add_intake
    from twitchlog.stats import simulate
    from twitchlog.store.trials import save_plan

    start = datetime(2026, 6, 1).date()
    plan = simulate.trial.make_plan(start, 6, 7, 200.0, "glycinate", seed)
    supp = simulate.plan_dosing(plan, 0)
    rng = np.random.default_rng(seed)
    y = simulate.counts(simulate.rate(supp, 3.0, 0.5 ** (1 / 1.585)), rng)
    store = Store(path)
    for i, (n, mg) in enumerate(zip(y, supp, strict=True)):
        noon = datetime.combine(start + timedelta(days=i), datetime.min.time()).astimezone() + timedelta(hours=12)
        for j in range(int(n)):
            store.add_event(int(noon.timestamp()) + 60 * j, 1)
        if mg:
            add_intake(store, mg, form="glycinate", utc=int(noon.timestamp()) - 4 * 3600)
    if stray is not None:
        store.add_event(int(stray.timestamp()), 1)  # bypasses the CLI's check, as an old database or a device might
    save_plan(store, plan.to_json())
    return store, plan


@pytest.mark.parametrize("stray", [datetime(2062, 6, 20, 9, 0), datetime(2025, 2, 20, 9, 0)])
def test_a_stray_date_neither_stretches_the_window_nor_breaks_the_fit(tmp_path, stray):
    from twitchlog.report import html as report

    now = datetime(2026, 8, 25, 12, 0).astimezone().timestamp()
    store, plan = _trial_store(tmp_path / "t.db", stray=stray.astimezone())
    with store:
        rep = report.build(store, now=now, n_rerandomizations=199)
    assert rep.data.days == 84 + 0 and rep.data.first == plan.start  # not 621 or 3,721 days
    note = " ".join(rep.data.notes)
    assert stray.strftime("%Y-%m-%d") in note or "future" in note
    m = rep.main
    assert m.randomized  # the plan still covers the window
    assert m.verdict.verdict != "cannot_estimate"
    assert 0.2 < m.ci_low < m.ci_high < 1.2 and m.ci_high / m.ci_low > 1.1  # a real interval, not 0.998910-0.998911


def test_stray_days_only_at_the_ends_and_only_small_clusters():
    from datetime import date

    from twitchlog.report.dataset import stray_days

    body = [date(2026, 6, 1) + timedelta(days=i) for i in range(84) for _ in range(3)]
    early, late = date(2024, 6, 1), date(2027, 1, 1)
    assert stray_days(body + [early]) == {early}
    assert stray_days(body + [early, late, late]) == {early, late}
    # A break of two months in the middle, or a real earlier stretch of tracking, is no stray.
    before = [date(2026, 1, 1) + timedelta(days=i) for i in range(20)]
    assert stray_days(body + before) == set()
    assert stray_days([early]) == set()  # nothing to compare with


# -- degenerate fits ----------------------------------------------------------------------------
def test_the_issues_broken_fits_are_degenerate():
    import math

    from twitchlog.stats.effects import degenerate

    # RR 0.99891, CI 0.998910-0.998911 (a mistyped year).
    est, lo, hi = math.log(0.99891), math.log(0.998910), math.log(0.998911)
    assert "narrow" in degenerate(est, (hi - lo) / 4, lo, hi, 40.0)
    # Remission: RR 1e-22, CI 0 to 1e+304.
    assert "boundary" in degenerate(math.log(1e-22), 150.0, -700.0, math.log(1e304), 5.0)
    assert "degrees of freedom" in degenerate(-0.3, 0.2, -1.2, 0.6, 1.4)
    assert "collapsed" in degenerate(-0.3, 0.01, -0.33, -0.27, 8.0, se_model=0.4)
    assert degenerate(-0.3, 0.2, -0.72, 0.12, 8.0, se_model=0.18) is None


def _dates(n):
    start = datetime(2026, 1, 5).date()
    return [start + timedelta(days=i) for i in range(n)]


def test_no_events_on_magnesium_is_cannot_estimate_with_a_readable_reason():
    import re

    import numpy as np

    from twitchlog.stats import analysis, effects, simulate

    plan, run_in = simulate.plan_for_days(84, 7, 200.0, seed=3)
    supp = simulate.plan_dosing(plan, run_in)
    y = simulate.counts(simulate.rate(supp, 3.0), np.random.default_rng(1))
    y[effects.exposure_columns(effects.units(supp))[:, 0] > 0] = 0  # nothing at all while on magnesium
    r = analysis.analyze(analysis.daily_frame(_dates(84), y, supp_mg=supp), plan, lag_profile=False)
    assert r.verdict.verdict == "cannot_estimate" and not r.reports_effect
    assert r.rate_ratio_per_100mg is None and "no events on the" in r.headline
    assert "Randomized" in r.headline
    d = r.to_dict()
    assert d["verdict"] == "cannot_estimate" and d["probability_of_benefit"] is None
    text = json.dumps(d, allow_nan=False) + r.headline + r.wording
    assert not re.search(r"\de[+-]?\d\d", text)  # no 1e-22 or 1e+304 anywhere


def test_remission_gives_finite_readable_output():
    import math
    import re

    import numpy as np

    from twitchlog.stats import analysis, simulate

    rng = np.random.default_rng(4)
    supp = simulate.observational_dosing(84, 200.0, rng)
    y = simulate.counts(simulate.rate(supp, 3.0), rng)
    y[35:] = 0  # symptoms stop for seven weeks
    r = analysis.analyze(analysis.daily_frame(_dates(84), y, supp_mg=supp))
    text = r.headline + " " + r.wording + " " + " ".join(r.notes)
    assert not re.search(r"\d{7,}", text)  # no 305-digit numbers
    json.dumps(r.to_dict(), allow_nan=False)
    for term in r.lag_profile:  # a degenerate lag term is left blank, not 1e-22 with a CI to 1e+304
        assert math.isnan(term.rate_ratio) or 1e-3 < term.ci_low <= term.ci_high < 1e3
    assert r.verdict.verdict in ("cannot_estimate", "inconclusive", "not_enough_data", "likely_no_meaningful_effect")


# -- forgotten doses are not switches --------------------------------------------------------
def test_forgotten_doses_do_not_count_as_on_off_changes():
    import math

    import numpy as np

    from twitchlog.stats import analysis, simulate
    from twitchlog.stats.sufficiency import deliberate_switches

    assert deliberate_switches(np.array([0, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1], bool)) == (1, 2)
    assert deliberate_switches(np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1], bool)) == (3, 0)
    days = 84
    supp = simulate.step_dosing(days, 42, 200.0)
    supp[[55, 70]] = 0  # two forgotten doses
    fall = np.linspace(0, math.log(0.4), days)  # symptoms falling by themselves
    hits = 0
    for seed in range(8):
        y = simulate.counts(simulate.rate(supp, 3.0, 1.0, log_trend=fall), np.random.default_rng(seed))
        r = analysis.analyze(analysis.daily_frame(_dates(days), y, supp_mg=supp), lag_profile=False)
        assert r.dose_contrast["switches"] == 1 and r.dose_contrast["lapses"] == 2
        assert any(s.what == "dose changes" and s.blocking for s in r.sufficiency)
        hits += r.reports_effect or r.verdict.verdict == "likely_helps"
    assert hits == 0


# -- likely days without the device ---------------------------------------------------------
def test_unmarked_days_without_the_device_are_named_with_the_gap_hint():
    import numpy as np

    from twitchlog.stats import analysis, simulate, wear

    rng = np.random.default_rng(12)
    y = simulate.counts(np.full(84, 3.0), rng)
    y[30:42] = 0  # twelve days off the wrist
    daily = analysis.daily_frame(_dates(84), y)
    runs = wear.likely_unworn(daily)
    assert [(r.first, r.last) for r in runs] == [(str(_dates(84)[30]), str(_dates(84)[41]))]
    assert "twitchlog events gap 2026-02-04 2026-02-15" in wear.hint(runs)
    # At the same rate without the gap, or at a low rate where empty days are common, nothing is flagged.
    flagged = sum(
        bool(wear.likely_unworn(analysis.daily_frame(_dates(84), simulate.counts(np.full(84, b), rng))))
        for b in (3.0, 0.6)
        for _ in range(50)
    )
    assert flagged <= 3


@pytest.mark.slow  # the whole report, twice (about 3 s)
def test_report_and_terminal_name_the_unworn_days(tmp_path):
    from twitchlog.report import html as report

    now = datetime(2026, 8, 25, 12, 0).astimezone().timestamp()
    store, _ = _trial_store(tmp_path / "t.db")
    with store:
        # Delete twelve days of presses: the device stayed at home.
        lo = int(datetime(2026, 7, 1).astimezone().timestamp())
        hi = int(datetime(2026, 7, 13).astimezone().timestamp())
        store.db.execute("DELETE FROM events WHERE utc >= ? AND utc < ?", (lo, hi))
        rep = report.build(store, now=now, n_rerandomizations=99)
    assert len(rep.unworn) == 1
    run = rep.unworn[0]  # the twelve days, perhaps with a naturally empty day next to them
    assert run.first <= "2026-07-01" and run.last >= "2026-07-12" and run.days <= 14
    page = report.render(rep)
    assert f"events gap {run.first} {run.last}" in page
    assert page.index(f"events gap {run.first}") < page.index('id="effect"')  # in the summary, first
    assert report.summary(rep)["likely_unworn"][0]["days"] == run.days
    terminal = _cli(tmp_path / "t.db", "report", "--out", tmp_path / "r.html")
    assert terminal.exit_code == 0, terminal.output
    lines = terminal.output.splitlines()
    assert lines[0].startswith("all kinds: ") or lines[0].startswith("twitch: ")  # the verdict comes first
    assert f"events gap {run.first} {run.last}" in " ".join(lines)


def test_events_import_flags_a_date_far_from_all_the_others(tmp_path):
    db = tmp_path / "t.db"
    rows = ["time,kind"] + [f"2026-10-{d:02d} 08:00,twitch" for d in range(1, 29)] + ["2024-10-05 08:00,twitch"]
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n")
    result = _cli(db, "events", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "29 event(s) imported" in result.output  # in the past, so imported; but flagged
    assert "warning:" in result.output and "2024-10-05" in result.output and "mistyped" in result.output
    clean = _cli(tmp_path / "u.db", "events", "add", "twitch", "--at", "2026-10-01 09:00")
    assert "warning" not in clean.output
