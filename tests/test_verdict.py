"""The verdict: a posterior over the effect with a sceptical prior, and words that never contradict it."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from twitchlog.stats import analysis, simulate, verdict
from twitchlog.stats.verdict import MEANINGFUL_THRESHOLD, PRIOR_SD, decide, posterior, sentence


def _dates(n, start=dt.date(2026, 1, 5)):
    return [start + dt.timedelta(days=i) for i in range(n)]


KEYS = (
    "verdict",
    "probability_of_benefit",
    "probability_of_meaningful_benefit",
    "meaningful_threshold",
    "percent_change",
    "percent_change_low",
    "percent_change_high",
)


def test_posterior_matches_the_conjugate_normal_when_dof_is_large():
    se, theta_hat = 0.2, -0.5
    post = posterior(theta_hat, se, 1e6, 200.0)
    w = PRIOR_SD**2 / (PRIOR_SD**2 + se**2)
    mean, sd = w * theta_hat, math.sqrt(w) * se
    assert post.probability_of_benefit == pytest.approx(stats.norm.cdf(0, mean, sd), abs=1e-4)
    assert post.quantile(0.05) == pytest.approx(stats.norm.ppf(0.05, mean, sd), abs=1e-3)
    # Few degrees of freedom (a t likelihood) can only make the answer less sure.
    assert posterior(theta_hat, se, 3.0, 200.0).probability_of_benefit < post.probability_of_benefit


def test_the_prior_is_sceptical_as_documented():
    flat = posterior(0.0, 100.0, 1e6, 200.0)  # no information: the prior itself
    assert flat.probability_of_benefit == pytest.approx(0.5, abs=0.01)
    assert flat.probability_of_reduction(MEANINGFUL_THRESHOLD) == pytest.approx(0.26, abs=0.01)
    assert flat.probability_of_reduction(0.5) == pytest.approx(0.024, abs=0.003)
    # The Cochrane CI's lower end (-23%) is well inside it, at about 0.75 prior sd.
    assert abs(math.log(0.77)) / PRIOR_SD == pytest.approx(0.75, abs=0.01)


@settings(max_examples=150, deadline=None)
@given(
    theta_hat=st.floats(-3.0, 3.0),
    se=st.floats(0.02, 3.0),
    dof=st.floats(2.0, 200.0),
    dose=st.sampled_from([100.0, 200.0, 350.0]),
    randomized=st.booleans(),
)
def test_verdict_interval_and_probabilities_never_contradict(theta_hat, se, dof, dose, randomized):
    v = decide(posterior(theta_hat, se, dof, dose))
    pb, pm = v.probability_of_benefit, v.probability_of_meaningful_benefit
    lo, mid, hi = v.percent_change_low, v.percent_change, v.percent_change_high
    assert 0 <= pm <= pb <= 1
    assert -100 < lo <= mid <= hi
    if v.verdict == "likely_helps":
        assert pb >= verdict.LIKELY and hi <= 0.05 and mid < 0  # the whole interval is "fewer"
    elif v.verdict == "likely_no_meaningful_effect":
        assert pm <= 1 - verdict.LIKELY and lo >= -20.05  # never as much as 20% fewer
        assert pb < verdict.LIKELY
    else:
        assert v.verdict == "inconclusive"
        assert pb < verdict.LIKELY and pm > 1 - verdict.LIKELY
        assert lo < -19.95 and hi > -0.05  # from at least 20% fewer to no change or more
    text = sentence(v, "twitches", randomized=randomized)
    assert ("Randomized" in text) == randomized and ("Observational" in text) != randomized
    assert "open label" in text or not randomized
    if v.verdict == "likely_helps":
        assert text.startswith("Likely helps") and " more" not in text.split("(")[1]
    assert not any(w in text for w in ("nan", "inf", "e+", "e-"))


def test_a_halving_over_twelve_weeks_reads_as_likely_helps_with_the_json_keys():
    plan, run_in = simulate.plan_for_days(84, 7, 200.0, seed=11)
    supp = simulate.plan_dosing(plan, run_in)
    rr100 = 0.5 ** (1 / float(simulate.effects.units(200.0)))  # a halving at 200 mg
    y = simulate.counts(simulate.rate(supp, 3.0, rr100), np.random.default_rng(11))
    r = analysis.analyze(analysis.daily_frame(_dates(84), y, supp_mg=supp), plan, lag_profile=False, what="cramps")
    d = r.to_dict()
    assert set(KEYS) <= set(d) and {"rate_ratio_per_100mg", "ci_low", "wording", "reports_effect"} <= set(d)
    json.dumps(d, allow_nan=False)
    assert d["verdict"] == "likely_helps" and d["meaningful_threshold"] == 0.2
    assert d["percent_change_low"] < d["percent_change"] < d["percent_change_high"] < 0
    assert d["verdict_dose_mg"] == 200.0
    assert r.headline.startswith("Likely helps: on magnesium (200 mg/day) you logged about")
    assert "fewer cramps" in r.headline and "Randomized" in r.headline


def test_not_enough_data_says_what_is_needed_and_claims_nothing():
    r = analysis.analyze(analysis.daily_frame(_dates(10), [0, 1] * 5, supp_mg=[0, 200] * 5))
    d = r.to_dict()
    assert d["verdict"] == "not_enough_data" and d["probability_of_benefit"] is None
    assert r.headline.startswith("Not enough data yet") and "18 more" in r.headline


def test_chances_are_never_rounded_to_certainty():
    from twitchlog.stats.verdict import chance_words

    assert [chance_words(p) for p in (0.9995, 0.995, 0.42, 0.004, 0.0)] == [
        "over 99%",
        "over 99%",
        "42%",
        "under 1%",
        "under 1%",
    ]
