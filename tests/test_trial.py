"""N-of-1 plans: randomization, storage, adherence; and the demo's simulated trial."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from twitchlog.stats import analysis, simulate, trial

START = dt.date(2026, 3, 2)


def test_plan_pairs_have_one_on_and_one_off_block_and_are_reproducible():
    plan = trial.make_plan(START, pairs=6, block_days=4, dose_mg=200, form="glycinate", seed=11)
    assert len(plan.blocks) == 12
    assert all(plan.blocks[2 * i] != plan.blocks[2 * i + 1] for i in range(6))
    assert plan == trial.make_plan(START, 6, 4, 200, "glycinate", 11)
    assert plan.days == 48 and plan.end == START + dt.timedelta(days=47)
    # Different seeds give different orders (for these two seeds, at least).
    assert plan.blocks != trial.make_plan(START, 6, 4, 200, "glycinate", 12).blocks


def test_plan_orders_are_fair_coin_flips():
    first = np.array([trial.make_plan(START, 8, 4, 200, "x", s).first_on for s in range(500)])
    assert abs(first.mean() - 0.5) < 0.03


def test_plan_json_round_trip():
    plan = trial.make_plan(START, 3, 5, 150, "citrate", 4)
    text = plan.to_json()
    assert trial.Plan.from_json(text) == plan
    assert '"start": "2026-03-02"' in text


@pytest.mark.parametrize(
    "blocks, pairs",
    [([True, True], 1), ([True, False, False], 2), ([True, False], 2)],
)
def test_plan_rejects_unbalanced_blocks(blocks, pairs):
    with pytest.raises(ValueError):
        trial.Plan(START, 4, pairs, 200.0, "x", 0, blocks)


def test_schedule_follows_blocks():
    plan = trial.Plan(START, 2, 2, 100.0, "x", 0, [False, True, True, False])
    s = plan.schedule()
    assert list(s["planned_mg"]) == [0, 0, 100, 100, 100, 100, 0, 0]
    assert list(s["pair"]) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert s.index[0] == pd.Timestamp(START)
    assert plan.block_of(START + dt.timedelta(days=3)) == 1
    assert plan.block_of(START - dt.timedelta(days=1)) is None


def _daily(plan, supp, extra_days=0):
    n = len(supp)
    dates = [plan.start + dt.timedelta(days=i) for i in range(n)]
    return analysis.daily_frame(dates, [0] * n, supp_mg=supp)


def test_adherence_counts_80_percent_of_dose_on_and_zero_off():
    plan = trial.Plan(START, 2, 2, 200.0, "x", 0, [True, False, False, True])
    # on: 160 ok (80%), 150 not; off: 0 ok, 50 not; then pair 2 half done.
    daily = _daily(plan, [160, 150, 0, 50, 0, 0])
    a = trial.adherence(plan, daily)
    assert a.days_elapsed == 6 and a.days_adherent == 4
    assert (a.on_days, a.on_adherent, a.off_days, a.off_adherent) == (2, 1, 4, 3)
    assert [b.status for b in a.blocks] == ["complete", "complete", "complete", "upcoming"]
    assert a.blocks[0].fraction == 0.5 and a.blocks[3].fraction is None
    assert a.overall == pytest.approx(4 / 6)
    assert not a.followed
    d = a.to_dict()
    assert d["blocks"][0]["pair"] == 1 and d["blocks"][3]["status"] == "upcoming"


def test_adherence_perfect_plan_is_followed():
    plan = trial.make_plan(START, 4, 3, 200, "x", 3)
    daily = _daily(plan, plan.schedule()["planned_mg"].tolist())
    a = trial.adherence(plan, daily)
    assert a.overall == 1.0 and a.followed
    assert all(b.status == "complete" for b in a.blocks)


def test_assignments_enumerate_or_sample():
    A, exact = trial.assignments(6)
    assert exact and A.shape == (64, 6) and len({tuple(r) for r in A}) == 64
    A, exact = trial.assignments(13, np.random.default_rng(0), n=500)
    assert not exact and A.shape == (500, 13)


def test_methods_text_names_cent_items():
    text = " ".join(trial.methods_text(trial.make_plan(START, 6, 4, 200, "glycinate", 5)))
    for item in ("CENT 5a", "CENT 8", "CENT 11", "seed 5", "6 pairs of 4-day periods"):
        assert item in text


# -- the demo's simulated trial -----------------------------------------------------------
def test_demo_trial_is_deterministic_and_follows_its_plan():
    a, b = simulate.demo_trial(seed=3), simulate.demo_trial(seed=3)
    assert a.plan == b.plan and a.days == b.days
    assert len(a.days) == 56 and a.plan.pairs == 7
    planned = a.plan.schedule()["planned_mg"].to_numpy()
    taken = np.array([sum(mg for _, mg, _ in d.supplements) for d in a.days])
    assert ((taken == planned) | (taken == 0)).all() and (taken != planned).sum() == 1  # one missed dose
    assert all(not d.events for d in a.days if not d.tracked) and sum(not d.tracked for d in a.days) == 2
    for d in a.days:
        assert all(t.date() == d.date for t, _ in d.events)
        assert [t for t, _ in d.events] == sorted(t for t, _ in d.events)


def test_demo_trial_has_its_built_in_effect_and_hour_profiles():
    demo = simulate.demo_trial(seed=7)
    tw = np.array(demo.counts("twitch"), dtype=float)
    sched = demo.plan.schedule()
    on = sched["on"].to_numpy()
    late = (np.arange(len(on)) % demo.plan.block_days) >= 2  # the effect builds over lags 0-3
    tracked = np.array([d.tracked for d in demo.days])
    assert tw[on & late & tracked].mean() < 0.7 * tw[~on & late & tracked].mean()
    cramp_hours = [t.hour for d in demo.days for t, k in d.events if k == "cramp"]
    assert np.mean([h < 7 or h >= 23 for h in cramp_hours]) > 0.7
    daily = analysis.daily_frame(
        [d.date for d in demo.days],
        demo.counts("twitch"),
        tracked,
        [sum(mg for _, mg, _ in d.supplements) for d in demo.days],
        [d.diet_mg for d in demo.days],
    )
    r = analysis.analyze(daily, demo.plan)
    assert r.randomized and r.n_rerandomizations == 128
    assert r.p_value < 0.05 and r.ci_high < 1 and r.ci_low < demo.rr_per_100mg < r.ci_high
    assert r.adherence["on_adherent"] == r.adherence["on_days"] - 1
