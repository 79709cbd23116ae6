"""The analysis: estimates, intervals, p-values, sufficiency and wording, on simulated data with fixed seeds."""

import datetime as dt
import json
import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from twitchlog.stats import analysis, effects, simulate, trial
from twitchlog.stats.randomization import randomization_test

START = dt.date(2026, 1, 5)


def _dates(n, start=START):
    return [start + dt.timedelta(days=i) for i in range(n)]


def _randomized(seed, *, days=84, base=4.0, rr=1.0, dose=200.0, block_days=4, **kw):
    plan, run_in = simulate.plan_for_days(days, block_days, dose, seed=seed, start=START)
    supp = simulate.plan_dosing(plan, run_in)
    rng = np.random.default_rng(seed)
    y = simulate.counts(simulate.rate(supp, base, rr), rng, **kw)
    return analysis.daily_frame(_dates(days), y, supp_mg=supp), plan


def _observational(seed, *, days=84, base=3.0, rr=1.0, dose=200.0):
    rng = np.random.default_rng(seed)
    supp = simulate.observational_dosing(days, dose, rng)
    y = simulate.counts(simulate.rate(supp, base, rr), rng)
    return analysis.daily_frame(_dates(days), y, supp_mg=supp)


# -- exposure ---------------------------------------------------------------------------
def test_exposure_unit_is_log1p_scaled_to_100mg():
    assert effects.units(100) == pytest.approx(1.0)
    assert effects.units(200) == pytest.approx(math.log(3) / math.log(2))
    assert effects.units(0) == 0
    assert effects.units_to_mg(effects.units(250)) == pytest.approx(250)


def test_rolling_means_count_days_before_the_series_as_none():
    u = np.array([1.0, 1, 1, 1, 1, 0, 0, 0, 0])
    assert list(effects.rolling_mean(u, 4)) == [0.25, 0.5, 0.75, 1, 1, 0.75, 0.5, 0.25, 0]
    assert effects.rolling_mean(np.ones(20), 14)[13] == 1.0 and effects.rolling_mean(np.ones(20), 14)[6] == 0.5
    assert list(effects.lagged(u, 2)[:4]) == [0, 0, 1, 1]


# -- effects, nulls, intervals ----------------------------------------------------------
def test_strong_randomized_effect_is_detected_and_covered():
    daily, plan = _randomized(seed=21, rr=0.5)
    r = analysis.analyze(daily, plan)
    assert r.randomized and r.design.startswith("randomized")
    assert r.model == "NB2"
    assert r.ci_high < 1.0 and r.ci_low < 0.5 < r.ci_high
    assert r.p_value == r.p_randomization < 0.05 and r.p_model < 0.01
    assert r.p_method.startswith("randomization test over all 1024 re-randomizations")
    assert r.reports_effect and "fewer symptom events" in r.wording
    assert "observational" not in r.wording.lower()
    # RR at the planned dose: RR ** log2(1 + 200/100)
    assert r.rr_at_dose["rate_ratio"] == pytest.approx(r.rate_ratio_per_100mg ** effects.units(200))


def test_null_observational_series_reports_no_effect():
    r = analysis.analyze(_observational(seed=5))
    assert r.p_value > 0.2 and r.p_value == r.p_model
    assert r.ci_low < 1 < r.ci_high
    assert not r.randomized and r.design == "observational"
    assert not r.reports_effect and "compatible with no effect" in r.wording
    assert "observational" in r.wording and "28%" in r.wording


def test_null_randomized_series_has_large_randomization_p():
    daily, plan = _randomized(seed=8)
    r = analysis.analyze(daily, plan)
    assert r.p_randomization > 0.2 and not r.reports_effect


def test_single_start_while_symptoms_fall_is_not_reported_as_an_effect():
    days = 84
    supp = simulate.step_dosing(days, 42, 200.0)
    mu = simulate.rate(supp, 3.0, 1.0, log_trend=np.linspace(0, math.log(0.4), days))
    y = simulate.counts(mu, np.random.default_rng(2))
    daily = analysis.daily_frame(_dates(days), y, supp_mg=supp)
    # A plain before/after comparison sees a big fall...
    assert y[42:].mean() < 0.75 * y[:42].mean()
    r = analysis.analyze(daily)
    assert not r.reports_effect and not r.sufficient
    assert any(s.what == "dose changes" and s.blocking for s in r.sufficiency)
    assert "No effect can be claimed" in r.wording and "before/after" in r.wording


# -- tracking gaps ----------------------------------------------------------------------
def test_untracked_days_are_excluded_from_the_outcome():
    daily, plan = _randomized(seed=3, rr=0.6)
    gap = daily.index[30:37]
    a = daily.copy()
    a.loc[gap, "tracked"] = False
    b = a.copy()
    b.loc[gap, "events"] = 500  # whatever was (not) counted on those days must not matter
    ra, rb = analysis.analyze(a, plan), analysis.analyze(b, plan)
    assert ra.days_used == rb.days_used == 84 - 7 and ra.days_untracked == 7
    assert ra.events == rb.events == int(daily["events"].sum() - daily.loc[gap, "events"].sum())
    assert ra.rate_ratio_per_100mg == pytest.approx(rb.rate_ratio_per_100mg, rel=1e-9)
    assert ra.p_randomization == rb.p_randomization
    assert not ra.series.loc[gap, "used"].any() and ra.series.loc[gap, "fitted"].isna().all()
    assert any("7 untracked days" in n for n in ra.notes)


def test_untracked_days_still_feed_the_lags():
    supp = np.zeros(30)
    supp[10:14] = 200
    daily = analysis.daily_frame(_dates(30), [1] * 30, [i not in (10, 11) for i in range(30)], supp)
    r = analysis.analyze(daily, lag_profile=False)
    assert r.series["exposure_lag03"].iloc[13] == pytest.approx(effects.units(200))


def test_daily_frame_fills_missing_dates_as_untracked():
    df = analysis.daily_frame([START, START + dt.timedelta(days=3)], [2, 5], supp_mg=[100, 0], diet_mg=[None, 250])
    assert len(df) == 4
    assert list(df["tracked"]) == [True, False, False, True]
    assert list(df["supp_mg"]) == [100, 0, 0, 0]
    assert math.isnan(df["diet_mg"].iloc[0]) and df["diet_mg"].iloc[3] == 250


# -- sufficiency ------------------------------------------------------------------------
def test_too_little_data_says_what_more_is_needed():
    r = analysis.analyze(analysis.daily_frame(_dates(10), [0, 1] * 5, supp_mg=[0, 200] * 5))
    assert r.rate_ratio_per_100mg is None and r.model is None and not r.sufficient
    what = {s.what: s for s in r.sufficiency}
    assert what["days"].blocking and "18 more" in what["days"].message
    assert what["events"].blocking and "15 more" in what["events"].message
    assert what["dose contrast"].blocking
    assert r.wording.startswith("Not enough data yet")
    json.dumps(r.to_dict(), allow_nan=False)


def test_no_supplement_days_means_no_contrast():
    r = analysis.analyze(analysis.daily_frame(_dates(40), [3] * 40))
    assert r.rate_ratio_per_100mg is None
    assert any(s.what == "dose contrast" and "0 tracked days with supplement" in s.message for s in r.sufficiency)


def test_precision_message_sizes_events_for_a_30_percent_reduction():
    r = analysis.analyze(_observational(seed=1, base=0.6), lag_profile=False)
    prec = [s for s in r.sufficiency if s.what == "precision"]
    assert prec and not prec[0].blocking and prec[0].need == 247 and "30% reduction" in prec[0].message


def test_too_few_completed_pairs_for_a_randomization_test():
    daily, plan = _randomized(seed=4, days=28, rr=0.5)  # 3 pairs: smallest p is 1/8
    r = analysis.analyze(daily, plan)
    assert r.n_rerandomizations == 8 and r.p_randomization >= 1 / 8
    s = [s for s in r.sufficiency if s.what == "randomization"][0]
    assert s.blocking and "0.125" in s.message and not r.reports_effect


# -- randomization test -----------------------------------------------------------------
def test_randomization_p_comes_from_every_assignment_of_the_plan():
    daily, plan = _randomized(seed=9, days=40, rr=0.6)  # 5 pairs after an 0-day run-in -> 32 assignments
    r = analysis.analyze(daily, plan, lag_profile=False)
    assert r.n_rerandomizations == 32
    assert r.p_randomization * 32 == pytest.approx(round(r.p_randomization * 32))  # support k/32
    # Re-run the test with each of the 32 plans the coin flips could have produced, on the same data:
    # each statistic must be one of the reference set, and each p its rank among them.
    df, _ = analysis._complete(daily)
    used = df["tracked"].to_numpy()
    X0, pos, _ = analysis._design(df, used, int(used.sum()), [])
    y = df["events"].to_numpy()[pos]
    Z = effects.exposure_columns(effects.units(df["supp_mg"].to_numpy()))[pos]
    fit = effects.fit_counts(y, np.hstack([X0[:, :1], Z, X0[:, 1:]]), pos, len(df))
    stats, ps = [], []
    for flips in trial.assignments(plan.pairs)[0]:
        blocks = [bool(b) for b in plan.blocks_for(flips)]
        alt = trial.Plan(plan.start, plan.block_days, plan.pairs, plan.dose_mg, plan.form, plan.seed, blocks)
        rt = randomization_test(alt, df.index, df["supp_mg"].to_numpy(), pos, y, X0, fit.alpha)
        stats.append(rt.statistic)
        ps.append(rt.p)
    stats, ps = np.abs(stats), np.array(ps)
    assert len(set(np.round(stats, 9))) > 16
    for s, p in zip(stats, ps, strict=True):
        assert p == pytest.approx(np.mean(stats >= s * (1 - 1e-9)))
    drawn = np.flatnonzero((trial.assignments(plan.pairs)[0] == np.array(plan.first_on)).all(axis=1))[0]
    assert ps[drawn] == pytest.approx(r.p_randomization)


def test_randomization_test_samples_when_there_are_too_many_assignments():
    daily, plan = _randomized(seed=2, days=13 * 8, base=2.0)
    r = analysis.analyze(daily, plan, lag_profile=False, n_rerandomizations=499)
    assert r.n_rerandomizations == 500 and "Monte Carlo sample of 500" in r.p_method
    assert r.p_randomization >= 1 / 500


def test_randomization_p_is_uniform_enough_under_the_null():
    # 60 null trials of 6 pairs; the exact test must not reject much more than 5%.
    ps = [
        analysis.analyze(*_randomized(seed=s, days=48, base=3.0), lag_profile=False).p_randomization for s in range(60)
    ]
    assert np.mean(np.array(ps) < 0.05) <= 0.1 and np.mean(ps) > 0.35


# -- lag scan and multiplicity ----------------------------------------------------------
def test_holm_and_bh_match_hand_computed_values():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert effects.holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert effects.benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    q = np.random.default_rng(0).uniform(0, 0.2, 7)
    assert effects.holm(q) == pytest.approx(multipletests(q, method="holm")[1])
    assert effects.benjamini_hochberg(q) == pytest.approx(multipletests(q, method="fdr_bh")[1])


def test_lag_profile_reports_each_lag_with_corrected_p():
    daily, plan = _randomized(seed=21, rr=0.5)
    r = analysis.analyze(daily, plan)
    assert [t.term for t in r.lag_profile] == ["lag 0", "lag 1", "lag 2", "lag 3", "14-day mean"]
    ps = np.array([t.p for t in r.lag_profile])
    assert np.array([t.p_holm for t in r.lag_profile]) == pytest.approx(effects.holm(ps))
    assert all(t.p_bh <= t.p_holm + 1e-12 for t in r.lag_profile)
    assert all(t.ci_low < t.rate_ratio < t.ci_high for t in r.lag_profile)


# -- model fallback and robust SE -------------------------------------------------------
def test_quasi_poisson_fallback_when_counts_are_not_overdispersed():
    rng = np.random.default_rng(0)
    supp = simulate.observational_dosing(60, 200, rng)
    y = 3 + (rng.random(60) < 0.2)  # under-dispersed: NB2's alpha runs to zero
    r = analysis.analyze(analysis.daily_frame(_dates(60), y, supp_mg=supp))
    assert r.model == "quasi-Poisson" and r.nb_alpha is None
    assert any("quasi-Poisson" in n for n in r.notes)
    assert r.ci_low < r.rate_ratio_per_100mg < r.ci_high


def test_ewc_uses_t_reference_with_at_most_B_degrees_of_freedom():
    assert effects.ewc_cosines(84) == 8 and effects.ewc_cosines(28) == 4 and effects.ewc_cosines(1826) == 60
    r = analysis.analyze(_observational(seed=5), lag_profile=False)
    assert "B = 8" in r.se_method and 1 < r.t_dof <= 8 and f"t({r.t_dof:.1f})" in r.p_method
    # Exposure on only a handful of days: those days carry the variance estimate, so fewer degrees of freedom.
    daily = _observational(seed=5)
    daily["supp_mg"] = 0.0
    daily.iloc[[10, 11, 12, 13, 40, 41, 42, 43, 70, 71], daily.columns.get_loc("supp_mg")] = 200.0
    r2 = analysis.analyze(daily, lag_profile=False)
    assert r2.t_dof < r.t_dof


def test_satterthwaite_dof_equals_B_when_every_day_weighs_the_same():
    T = 84
    X = np.ones((T, 1))
    fit = effects.fit_counts(np.full(T, 3) + (np.arange(T) % 2), X, np.arange(T), T, alpha=0.0)
    assert fit.dof(np.array([1.0])) == pytest.approx(8.0, rel=1e-6)


def test_separation_gives_no_estimate_instead_of_a_crash():
    # From the calibration (step, base 0.6/d, falling): no events in the last 30 days; the Poisson GLM's
    # weights go NaN ("estimation infeasible") instead of converging.
    y = [1, 1, 0, 0, 1, 2, 1, 0, 2, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]
    y += [2, 0, 1, 5, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 2] + [0] * 30
    supp = simulate.step_dosing(84, 42, 200.0)
    diet = np.where(np.arange(84) % 5 == 0, np.nan, 300.0 + (np.arange(84) * 37) % 120)
    r = analysis.analyze(analysis.daily_frame(_dates(84), y, supp_mg=supp, diet_mg=diet))
    assert r.rate_ratio_per_100mg is None and not r.reports_effect
    assert any("could not be fitted" in n for n in r.notes)
    assert not any(s.blocking for s in r.sufficiency) or r.wording.startswith("Not enough data")
    json.dumps(r.to_dict(), allow_nan=False)


def test_diet_unknown_days_get_an_indicator_and_no_diet_is_noted():
    daily = _observational(seed=6)
    daily["diet_mg"] = np.where(np.arange(84) % 3 == 0, np.nan, 300.0 + np.arange(84))
    r = analysis.analyze(daily, lag_profile=False)
    assert any("unknown on 28 of 84 days" in n for n in r.notes)
    r = analysis.analyze(_observational(seed=6), lag_profile=False)
    assert any("not adjusted for diet" in n for n in r.notes)


# -- output -----------------------------------------------------------------------------
def test_result_is_json_serialisable_with_series():
    daily, plan = _randomized(seed=1, rr=0.7)
    d = analysis.analyze(daily, plan).to_dict(include_series=True)
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    keys = ("rate_ratio_per_100mg", "ci_low", "ci_high", "p_value", "p_method", "days_used", "randomized")
    for key in keys + ("sufficiency", "lag_profile", "estimand", "t_dof", "reports_effect", "dose_contrast"):
        assert key in back
    assert len(back["series"]) == 84 and back["series"][0]["date"] == "2026-01-05"
    assert back["adherence"]["followed"] is True
