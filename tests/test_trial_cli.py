"""`twitchlog trial plan/status/cancel` through the real command line (CliRunner, --db in tmp_path)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner

from twitchlog.cli import main
from twitchlog.cli.trial import DEFAULT_BLOCK_DAYS, DEFAULT_DOSE_MG, DEFAULT_FORM, DEFAULT_PAIRS, trial
from twitchlog.intake import entries as intake
from twitchlog.report.trial_status import current_plan
from twitchlog.stats.trial import Plan
from twitchlog.store.db import Store

if "trial" not in main.commands:  # until cli.py registers it
    main.add_command(trial)

START = date(2026, 11, 2)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "trial.db"


def run(db, *args: str, today: date | None = None):  # noqa: ANN201
    env = {"TWITCHLOG_TODAY": today.isoformat()} if today else {}
    if args[:1] == ("plan",):
        args = (*args, "--no-size")  # sizing simulates for 10-30 s; tests/test_sizing.py covers it
    return CliRunner().invoke(main, ["--db", str(db), "trial", *args], env=env, catch_exceptions=False)


def plan_json(db, *args: str) -> dict:
    r = run(
        db, "plan", "--start", START.isoformat(), "--pairs", "3", "--block-days", "4", "--seed", "7", "--json", *args
    )
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def local_utc(day: date, hour: int = 9) -> int:
    """Unix seconds of `hour` o'clock local time on `day` (the CLI's local days)."""
    return int(datetime(day.year, day.month, day.day, hour).timestamp())


def test_plan_is_stored_and_shown_as_a_table_of_blocks(db):
    r = run(
        db,
        "plan",
        "--start",
        START.isoformat(),
        "--pairs",
        "3",
        "--block-days",
        "4",
        "--dose",
        "250mg",
        "--form",
        "Magnesium Citrate",
        "--seed",
        "7",
    )
    assert r.exit_code == 0, r.output
    with Store(db) as store:
        plan = current_plan(store)
    assert plan is not None
    assert (plan.start, plan.pairs, plan.block_days, plan.dose_mg, plan.form, plan.seed) == (
        START,
        3,
        4,
        250.0,
        "citrate",
        7,
    )
    assert plan.end == START + timedelta(days=23)
    # Every block appears with its dates and on/off, in plan order.
    for b, on in enumerate(plan.blocks):
        first = START + timedelta(days=4 * b)
        line = next(ln for ln in r.output.splitlines() if f"{first:%Y-%m-%d} – {first + timedelta(days=3):%m-%d}" in ln)
        assert ("ON 250 mg" in line) == on and ("off" in line) != on, line
    assert "plan 1 stored: 3 pairs of 4-day blocks, 24 days from 2026-11-02 to 2026-11-25, seed 7" in r.output
    assert "can only detect large effects" in r.output  # a short plan says what it costs


def test_plan_json_matches_the_stored_plan_and_the_seed_reproduces_it(db, tmp_path):
    shown = plan_json(db)
    with Store(db) as store:
        stored = current_plan(store)
    assert stored is not None and Plan.from_dict(shown) == stored
    assert [s["on"] for s in shown["schedule"]] == stored.blocks
    assert shown["schedule"][-1]["end"] == shown["end"] == "2026-11-25"
    again = plan_json(tmp_path / "other.db")  # same seed, same schedule
    assert again["blocks"] == shown["blocks"]


def test_defaults_are_the_well_powered_design(db):
    today = date(2026, 11, 20)
    r = run(db, "plan", "--json", today=today)
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert (
        (shown["pairs"], shown["block_days"], shown["dose_mg"], shown["form"])
        == (DEFAULT_PAIRS, DEFAULT_BLOCK_DAYS, DEFAULT_DOSE_MG, DEFAULT_FORM)
        == (12, 7, 200.0, "glycinate")
    )
    assert shown["start"] == "2026-11-21"  # tomorrow: randomized before the first trial day
    assert shown["days"] == 168
    r = run(db, "plan", "--replace", today=today)
    assert "can only detect large effects" not in r.output


def test_a_second_plan_is_refused_without_replace(db):
    first = plan_json(db)
    r = run(db, "plan", "--seed", "8")
    assert r.exit_code == 1
    assert r.output.count("\n") == 1 and "a plan is already current (2026-11-02 to 2026-11-25)" in r.output
    assert "--replace" in r.output
    with Store(db) as store:
        assert current_plan(store) == Plan.from_dict(first)  # untouched
    r = run(db, "plan", "--start", "2026-12-01", "--seed", "8", "--replace")
    assert r.exit_code == 0, r.output
    assert "replaced the plan from 2026-11-02" in r.output
    with Store(db) as store:
        plan = current_plan(store)
        assert plan is not None and plan.start == date(2026, 12, 1) and plan.seed == 8
        assert store.db.execute("SELECT COUNT(*) FROM trial_plans WHERE cancelled_utc IS NOT NULL").fetchone()[0] == 1


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--pairs", "0"], 2, "Invalid value for '--pairs'"),
        (["--block-days", "0"], 2, "Invalid value for '--block-days'"),
        (["--seed", "-1"], 2, "Invalid value for '--seed'"),
        (["--dose", "-200"], 1, "--dose -200: the dose must be above 0 mg"),
        (["--dose", "0"], 1, "--dose 0: the dose must be above 0 mg"),
        (["--dose", "lots"], 1, "--dose 'lots': expected elemental mg"),
        (["--dose", "9000"], 1, "looks wrong"),
        (["--form", "unobtainium"], 1, "--form 'unobtainium': unknown magnesium form; known: oxide"),
        (["--start", "next week"], 1, "--start 'next week': expected a date"),
    ],
)
def test_bad_arguments_are_refused_and_nothing_is_stored(db, args, code, message):
    r = run(db, "plan", *args)
    assert r.exit_code == code, r.output
    assert message in r.output
    if code == 1:
        assert r.output.count("\n") == 1, r.output  # one line, no traceback
    with Store(db) as store:
        assert current_plan(store) is None


def status(db, today: date) -> dict:
    r = run(db, "status", "--json", today=today)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_status_on_an_on_day_and_an_off_day(db):
    plan = Plan.from_dict(plan_json(db))
    on_block = plan.blocks.index(True)
    off_block = plan.blocks.index(False)
    on_day = plan.start + timedelta(days=4 * on_block + 1)
    off_day = plan.start + timedelta(days=4 * off_block + 2)

    s = status(db, on_day)
    assert (s["phase"], s["block"], s["pair"], s["on"], s["take"], s["dose_mg"], s["form"]) == (
        "running",
        on_block + 1,
        on_block // 2 + 1,
        True,
        True,
        200.0,
        "glycinate",
    )
    assert s["days_left"] == (plan.end - on_day).days + 1
    r = run(db, "status", today=on_day)
    assert r.exit_code == 0 and "TAKE 200 mg elemental magnesium (glycinate)" in r.output
    assert f"days left: {s['days_left']} (today included), until 2026-11-25" in r.output

    s = status(db, off_day)
    assert (s["on"], s["take"], s["dose_mg"]) == (False, False, 0.0)
    r = run(db, "status", today=off_day)
    assert "DON'T TAKE magnesium supplements" in r.output and "TAKE 200" not in r.output


def test_status_before_and_after_the_plan(db):
    plan = Plan.from_dict(plan_json(db))
    s = status(db, plan.start - timedelta(days=2))
    assert (s["phase"], s["block"], s["take"], s["starts_in_days"], s["days_left"]) == (
        "not started",
        None,
        None,
        2,
        24,
    )
    assert s["adherence"]["days_elapsed"] == 0
    r = run(db, "status", today=plan.start - timedelta(days=2))
    assert "the plan starts 2026-11-02 (in 2 day(s))" in r.output and "no completed plan days yet" in r.output
    s = status(db, plan.end + timedelta(days=5))
    assert (s["phase"], s["days_left"]) == ("finished", 0)
    assert s["adherence"]["days_elapsed"] == plan.days  # days after the plan do not count


def test_adherence_comes_from_the_logged_intake(db):
    plan = Plan.from_dict(plan_json(db))
    # Follow the plan for the first two pairs (16 days) except: one on day with
    # too little (100 of 200 mg), one off day with a supplement, and diet on
    # every day (food never counts against an off day).
    short_day = plan.start + timedelta(days=4 * plan.blocks.index(True) + 1)
    slip_day = plan.start + timedelta(days=4 * plan.blocks.index(False))
    with Store(db) as store:
        for offset in range(16):
            day = plan.start + timedelta(days=offset)
            on = plan.blocks[offset // 4]
            intake.add_intake(store, 150.0, utc=local_utc(day, 19), diet=True)
            if on:
                intake.add_intake(store, 100.0 if day == short_day else 200.0, form="glycinate", utc=local_utc(day))
            elif day == slip_day:
                intake.add_intake(store, 50.0, form="citrate", utc=local_utc(day))
        # Today (day 16, the first day of pair 3) is not over: it is not counted yet.
        today = plan.start + timedelta(days=16)
        intake.add_intake(store, 200.0, form="glycinate", utc=local_utc(today, 8))

    s = status(db, today)
    adh = s["adherence"]
    assert (adh["days_elapsed"], adh["days_adherent"]) == (16, 14)
    assert (adh["on_days"], adh["on_adherent"], adh["off_days"], adh["off_adherent"]) == (8, 7, 8, 7)
    assert adh["overall"] == pytest.approx(14 / 16) and adh["followed"] is True
    blocks = {b["block"]: b for b in adh["blocks"]}
    assert blocks[plan.blocks.index(True) + 1]["days_adherent"] == 3
    assert blocks[plan.blocks.index(False) + 1]["days_adherent"] == 3
    assert [blocks[b]["status"] for b in (1, 4, 5, 6)] == ["complete", "complete", "upcoming", "upcoming"]
    assert s["taken_today_mg"] == 200.0
    r = run(db, "status", today=today)
    assert "adherence so far: 14/16 days (88%, followed); on days 7/8, off days 7/8" in r.output
    if plan.blocks[4]:
        assert "logged so far today: 200 mg, by hand (enough)" in r.output
        assert s["dose_logged_today"] is True and s["taken_today_by"] == {"manual": 200.0}
    else:
        assert "200 mg logged today, by hand: an off day should have none" in r.output
        assert s["dose_logged_today"] is None


def test_low_adherence_is_called_out(db):
    plan = Plan.from_dict(plan_json(db))
    s = status(db, plan.start + timedelta(days=8))  # nothing logged: every on day missed
    adh = s["adherence"]
    assert adh["days_elapsed"] == 8 and adh["on_adherent"] == 0 and adh["off_adherent"] == 4
    assert adh["followed"] is False
    r = run(db, "status", today=plan.start + timedelta(days=8))
    assert "4/8 days (50%, below 80%: non-adherence dilutes the effect toward none)" in r.output


def test_cancel_and_status_without_a_plan(db):
    r = run(db, "status")
    assert r.exit_code == 1 and "no current trial plan; make one with `twitchlog trial plan`" in r.output
    r = run(db, "cancel")
    assert r.exit_code == 1 and "no current trial plan to cancel" in r.output
    plan_json(db)
    r = run(db, "cancel")
    assert r.exit_code == 0 and "cancelled the plan 2026-11-02 to 2026-11-25" in r.output
    with Store(db) as store:
        assert current_plan(store) is None
        assert store.db.execute("SELECT COUNT(*) FROM trial_plans").fetchone()[0] == 1  # kept, marked cancelled
    assert run(db, "plan", "--seed", "1").exit_code == 0  # no --replace needed after a cancel


def test_a_bad_today_override_is_one_line(db):
    plan_json(db)
    r = run(db, "status", "--today", "someday")
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "expected an ISO date" in r.output
