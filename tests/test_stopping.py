"""The trial's pre-specified stopping rule: stored with the plan, applied after each complete pair."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from twitchlog import cli
from twitchlog.intake.entries import add_intake
from twitchlog.stats import analysis, effects, simulate
from twitchlog.stats.sequential import look
from twitchlog.stats.stopping import CONTINUE, STOP_FUTILE, STOP_HELPS, StoppingRule
from twitchlog.stats.trial import Plan, make_plan
from twitchlog.store.db import Store
from twitchlog.store.trials import save_plan

START = dt.date(2026, 3, 2)


def test_rule_decides_only_from_its_first_look_and_on_its_bars():
    rule = StoppingRule(stop_benefit=0.99, stop_futility=0.05, min_pairs=3)
    assert rule.decide(2, 0.999, 0.9) == CONTINUE  # too early to look
    assert rule.decide(3, 0.995, 0.9) == STOP_HELPS
    assert rule.decide(3, 0.98, 0.5) == CONTINUE
    assert rule.decide(4, 0.4, 0.04) == STOP_FUTILE
    assert rule.decide(4, None, None) == CONTINUE


def test_the_rule_is_stored_with_the_plan_and_old_plans_get_the_default():
    plan = make_plan(START, 12, 7, 200.0, "glycinate", seed=5)
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.rule == StoppingRule()
    old = json.loads(plan.to_json())
    del old["stopping"]
    assert Plan.from_dict(old).rule == StoppingRule()
    custom = Plan.from_dict({**old, "stopping": {"stop_benefit": 0.995, "stop_futility": 0.01, "min_pairs": 4}})
    assert custom.rule.min_pairs == 4 and Plan.from_json(custom.to_json()).rule.stop_benefit == 0.995


def _trial(rr_at_dose: float, seed: int, base: float = 3.0) -> tuple[Plan, object]:
    plan = make_plan(START, 12, 7, 200.0, "glycinate", seed=seed)
    supp = simulate.plan_dosing(plan, 0)
    rr100 = math.exp(math.log(rr_at_dose) / float(effects.units(200.0)))
    y = simulate.counts(simulate.rate(supp, base, rr100), np.random.default_rng(seed))
    days = [START + dt.timedelta(days=i) for i in range(plan.days)]
    return plan, analysis.daily_frame(days, y, supp_mg=supp)


def test_a_look_uses_only_the_days_up_to_the_end_of_the_pair():
    plan, daily = _trial(0.3, seed=2)
    early = look(plan, daily, 2)
    assert early.decision == CONTINUE and "after 3 complete pairs" in early.reason
    lk = look(plan, daily, 4)
    assert lk.through == START + dt.timedelta(days=4 * 14 - 1)
    spoiled = daily.copy()
    spoiled.loc[spoiled.index > str(lk.through), "events"] = 0  # later days must not matter
    assert look(plan, spoiled, 4).probability_of_benefit == lk.probability_of_benefit


@pytest.mark.slow  # 80 analyses (about 3 s)
def test_a_large_effect_stops_early_and_no_effect_does_not_stop_for_benefit():
    stops = []
    for seed in range(4):
        plan, daily = _trial(0.3, seed=seed)
        decisions = [look(plan, daily, k).decision for k in range(3, plan.pairs + 1)]
        stops.append(STOP_HELPS in decisions)
        assert STOP_FUTILE not in decisions[: decisions.index(STOP_HELPS)] if STOP_HELPS in decisions else True
    assert sum(stops) >= 3
    for seed in range(4):
        plan, daily = _trial(1.0, seed=100 + seed)
        assert all(look(plan, daily, k).decision != STOP_HELPS for k in range(3, plan.pairs + 1))


def test_trial_status_prints_the_rules_decision(tmp_path):
    db = tmp_path / "t.db"
    plan, daily = _trial(0.3, seed=1)
    with Store(db) as store:
        for day, row in daily.iterrows():
            noon = dt.datetime.combine(day.date(), dt.time(12)).astimezone()
            for j in range(int(row["events"])):
                store.add_event(int(noon.timestamp()) + 60 * j, 1)
            if row["supp_mg"]:
                add_intake(store, row["supp_mg"], form="glycinate", utc=int(noon.timestamp()) - 3600)
        save_plan(store, plan.to_json())
    today = START + dt.timedelta(days=5 * 14 + 2)  # five pairs done
    runner = CliRunner()
    text = runner.invoke(cli.main, ["--db", str(db), "trial", "status", "--today", str(today)])
    assert text.exit_code == 0, text.output
    assert "stopping rule after 5 complete pair(s)" in text.output
    as_json = runner.invoke(cli.main, ["--db", str(db), "trial", "status", "--today", str(today), "--json"])
    stop = json.loads(as_json.output)["stopping"]
    assert stop["pairs_done"] == 5 and stop["decision"] in (CONTINUE, STOP_HELPS)
    assert stop["through"] == str(START + dt.timedelta(days=5 * 14 - 1))
