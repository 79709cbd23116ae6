"""Symptoms against magnesium intake: the daily series, the count model, and what it can and cannot say.

Entry points:

- `daily_frame(dates, events, tracked, supp_mg, diet_mg)` builds the input
  from plain lists.
- `analyze(daily, plan=None) -> Result`, called once per symptom kind.

The model, exposure unit and standard errors are described in `effects`, the
randomization test in `randomization`, and the whole method with its
calibration in docs/statistics.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from twitchlog.magnesium import UPPER_LEVEL_MG
from twitchlog.stats import effects, trial
from twitchlog.stats import verdict as verdicts
from twitchlog.stats.randomization import randomization_test
from twitchlog.stats.result import LagTerm, Result
from twitchlog.stats.sufficiency import MIN_FIT_DAYS, check, deliberate_switches, wording

COLUMNS = ("events", "tracked", "supp_mg", "diet_mg")
LAG_TERMS = ("lag 0", "lag 1", "lag 2", "lag 3", "14-day mean")


def daily_frame(
    dates: Sequence[Any],
    events: Sequence[int],
    tracked: Sequence[bool] | None = None,
    supp_mg: Sequence[float] | None = None,
    diet_mg: Sequence[float | None] | None = None,
) -> pd.DataFrame:
    """The analysis input from plain lists, one entry per date.

    Missing calendar dates are filled in as untracked days with no supplement
    and unknown diet. `diet_mg` entries of None mean unknown.
    """
    n = len(dates)
    idx = pd.DatetimeIndex(pd.to_datetime(list(dates))).normalize()
    df = pd.DataFrame(
        {
            "events": np.asarray(events, dtype="int64"),
            "tracked": np.ones(n, dtype=bool) if tracked is None else np.asarray(tracked, dtype=bool),
            "supp_mg": np.zeros(n) if supp_mg is None else np.asarray(supp_mg, dtype=float),
            "diet_mg": np.full(n, np.nan)
            if diet_mg is None
            else np.array([np.nan if v is None else v for v in diet_mg], dtype=float),
        },
        index=idx,
    )
    return _complete(df)[0]


def _complete(daily: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Sorted, one row per calendar day; gaps become untracked days without supplement."""
    notes = []
    missing = [c for c in COLUMNS if c not in daily.columns]
    if missing:
        raise ValueError(f"daily frame lacks columns {missing}")
    df = daily.loc[:, list(COLUMNS)].copy()
    df.index = pd.DatetimeIndex(df.index).normalize()
    if df.index.has_duplicates:
        raise ValueError("daily frame has more than one row for a date")
    df = df.sort_index()
    if len(df):
        full = pd.date_range(df.index[0], df.index[-1], freq="D")
        if len(full) != len(df):
            notes.append(
                f"{len(full) - len(df)} calendar days missing from the series were treated as untracked, no supplement."
            )
            df = df.reindex(full)
    df["tracked"] = df["tracked"].fillna(False).astype(bool)
    df["supp_mg"] = df["supp_mg"].fillna(0.0).astype(float)
    df["diet_mg"] = df["diet_mg"].astype(float)
    bad = df["tracked"] & df["events"].isna()
    if bad.any():
        notes.append(f"{int(bad.sum())} tracked days had no event count and were treated as untracked.")
        df.loc[bad, "tracked"] = False
    df["events"] = df["events"].fillna(0).astype("int64")
    return df, notes


def _rr(x: float | None) -> float | None:
    if x is None or math.isnan(x):
        return None
    return float(math.exp(min(x, 700.0)))


def _design(df: pd.DataFrame, used: np.ndarray, n_used: int, notes: list[str]):
    """Nuisance columns for the used rows: intercept, trend, day of week, diet."""
    T = len(df)
    pos = np.flatnonzero(used)
    trend, trend_df = effects.trend_basis(pos, T)
    dow, dow_desc = effects.dow_basis(pd.DatetimeIndex(df.index).day_of_week.to_numpy()[pos], n_used)
    cols = [np.ones((len(pos), 1)), trend, dow]
    diet = df["diet_mg"].to_numpy()[pos]
    known = np.isfinite(diet)
    if known.sum() >= max(14, 0.5 * len(pos)) and np.nanstd(diet) > 0:
        centred = np.where(known, (diet - np.nanmean(diet)) / 100.0, 0.0)
        cols.append(centred[:, None])
        if not known.all():
            cols.append((~known).astype(float)[:, None])
            notes.append(
                f"Dietary Mg unknown on {int((~known).sum())} of {len(pos)} days: "
                "adjusted with a missing-diet indicator."
            )
        diet_desc = "diet (per 100 mg, centred)" + (" + unknown-diet indicator" if not known.all() else "")
    else:
        diet_desc = "not adjusted"
        if known.any():
            notes.append(
                f"Dietary Mg known on only {int(known.sum())} of {len(pos)} days: not adjusted for "
                "(need half the days and 14)."
            )
        else:
            notes.append("No dietary Mg records: the model is not adjusted for diet.")
    X0 = np.hstack(cols)
    desc = f"trend ({'linear' if trend_df == 1 else f'natural spline, {trend_df} df'}), {dow_desc}, diet: {diet_desc}"
    return X0, pos, desc


def analyze(
    daily: pd.DataFrame,
    plan: trial.Plan | None = None,
    *,
    lag_profile: bool = True,
    n_rerandomizations: int = 1999,
    seed: int = 0,
    what: str = "symptom events",
) -> Result:
    """Rate ratio per 100 mg/day with a 95% CI, p-value, lag profile and sufficiency messages.

    `daily`: see module docstring / `daily_frame`. With a `plan`, the p-value
    comes from re-randomizing that plan (all 2**pairs assignments up to 4096
    of them, else `n_rerandomizations` draws). `what` names the events in the
    verdict's sentence ("twitches", "cramps"; default "symptom events").
    """
    df, notes = _complete(daily)
    T = len(df)
    tracked = df["tracked"].to_numpy()
    y_all = df["events"].to_numpy()
    supp = df["supp_mg"].to_numpy()
    used = tracked.copy()
    n_used = int(used.sum())
    events = int(y_all[used].sum())
    u = effects.units(supp)
    Z_all = effects.exposure_columns(u)

    if T and supp[0] > 0:
        notes.append(
            f"Supplement already taken on the first day ({df.index[0].date()}); intake before it is taken as none, "
            "which misstates the build-up term for the first two weeks."
        )
    over = int((supp > UPPER_LEVEL_MG).sum())
    if over:
        notes.append(f"{over} days above the {UPPER_LEVEL_MG} mg/day supplemental upper level.")
    if T - n_used:
        notes.append(
            f"{T - n_used} untracked days excluded from the outcome (their intake still counts toward the lags)."
        )

    on_days = int(((supp > 0) & used).sum())
    off_days = int(((supp <= 0) & used).sum())
    doses = supp[(supp > 0) & used]
    contrast = {
        "days_on": on_days,
        "days_off": off_days,
        "median_mg_on": float(np.median(doses)) if len(doses) else None,
        "max_mg": float(supp.max()) if T else None,
        "exposure_sd": float(np.std(Z_all[used, 0])) if n_used else None,
    }

    adh = trial.adherence(plan, df) if plan is not None else None
    switches, lapses = deliberate_switches(supp > 0)
    contrast["switches"] = switches
    contrast["lapses"] = lapses
    if lapses and plan is None:
        notes.append(
            f"{lapses} on/off stretch(es) of 1-2 days (a forgotten or an extra dose) are not counted as deliberate "
            "on/off changes."
        )
    suff = check(n_used, events, on_days, off_days, plan, adh, switches)
    series = df.copy()
    series["used"] = used
    series["exposure_lag03"] = Z_all[:, 0]
    series["exposure_mean14"] = Z_all[:, 1]
    series["fitted"] = np.nan
    if plan is not None:
        sched = plan.schedule()
        series["planned_mg"] = sched["planned_mg"].reindex(series.index)

    fit = None
    fit_problem = None
    can_fit = n_used >= MIN_FIT_DAYS and on_days >= 3 and off_days >= 3 and events >= 5
    if can_fit:
        X0, pos, design_desc = _design(df, used, n_used, notes)
        X = np.hstack([X0[:, :1], Z_all[pos], X0[:, 1:]])
        y = y_all[pos]
        try:
            fit = effects.fit_counts(y, X, pos, T)
        except effects.FitError as e:
            fit_problem = f"the count model could not be fitted ({e})" + _separation(y, Z_all[pos, 0])
            notes.append(
                f"The count model could not be fitted: {e}. Typically no events at all in one stretch of days."
            )
        else:
            notes.extend(fit.notes)
            notes.append(f"Adjusted for {design_desc}.")
            series.loc[series.index[pos], "fitted"] = fit.mu
    res = Result(
        rate_ratio_per_100mg=None,
        ci_low=None,
        ci_high=None,
        p_value=None,
        p_method=None,
        p_model=None,
        p_randomization=None,
        n_rerandomizations=None,
        model=None,
        t_dof=None,
        nb_alpha=None,
        se_method=None,
        randomized=False,
        design="observational",
        wording="",
        days_total=T,
        days_used=n_used,
        days_untracked=T - n_used,
        events=events,
        dose_contrast=contrast,
        rr_at_dose=None,
        buildup=None,
        steady_state=None,
        sufficient=not any(s.blocking for s in suff),
        reports_effect=False,
        sufficiency=suff,
        lag_profile=[],
        notes=notes,
        adherence=adh.to_dict() if adh else None,
        series=series,
        what=what,
    )
    if fit is None:
        if not can_fit:
            notes.append("No model fitted: too few tracked days, events, or days on and off supplement.")
        _finish(res, None, fit_problem, planned=plan is not None)
        return res

    c = np.zeros(X.shape[1])
    c[1] = 1.0
    est, se, lo, hi, p = fit.contrast(c)
    problem = effects.degenerate(est, se, lo, hi, fit.dof(c), math.sqrt(max(float(c @ fit.cov_model @ c), 0.0)))
    if problem:
        problem += _separation(y, Z_all[pos, 0])
        notes.append(f"The fit is degenerate and is not reported: {problem}.")
        res.model = fit.model
        _finish(res, None, problem, planned=plan is not None)
        return res
    for attr, cols in (("buildup", [2]), ("steady_state", [1, 2])):
        cc = np.zeros(X.shape[1])
        cc[cols] = 1.0
        e2, _, lo2, hi2, p2 = fit.contrast(cc)
        setattr(res, attr, {"rate_ratio": _rr(e2), "ci_low": _rr(lo2), "ci_high": _rr(hi2), "p_model": p2})
    res.rate_ratio_per_100mg, res.ci_low, res.ci_high = _rr(est), _rr(lo), _rr(hi)
    res.p_model = p
    res.p_value = p
    nu = fit.dof(c)
    res.t_dof = nu
    res.p_method = f"Wald test with EWC autocorrelation-robust SE, t({nu:.1f}) reference"
    res.model = fit.model
    res.nb_alpha = fit.alpha if fit.model == "NB2" else None
    res.se_method = (
        f"equal-weighted cosine (EWC) long-run variance, B = {fit.B} cosines, HC3-type leverage correction, "
        f"t critical values with Satterthwaite degrees of freedom ({nu:.1f}, at most B)"
    )
    dose = plan.dose_mg if plan is not None else contrast["median_mg_on"]
    if dose:
        k = float(effects.units(dose))
        res.rr_at_dose = {"dose_mg": dose, "rate_ratio": _rr(k * est), "ci_low": _rr(k * lo), "ci_high": _rr(k * hi)}

    if plan is not None:
        rt = None
        try:
            rt = randomization_test(
                plan, pd.DatetimeIndex(df.index), supp, pos, y, X0, fit.alpha, n_samples=n_rerandomizations, seed=seed
            )
            if rt is None:
                notes.append("The stored plan does not overlap the analysed days; analysed as observational.")
        except effects.FitError as e:
            notes.append(f"Randomization test not computed ({e}); the p-value is the model's.")
        if rt is not None:
            res.p_randomization = rt.p
            res.n_rerandomizations = rt.n
            res.p_value = rt.p
            res.p_method = rt.method
            res.randomized = True
            res.design = "randomized N-of-1 (intention to treat)"
            if adh is not None and not adh.followed:
                notes.append(
                    f"Plan adherence {adh.overall:.0%} (below {trial.FOLLOWED_FRACTION:.0%}): the randomization test "
                    "compares the planned schedules, so non-adherence dilutes any effect toward none."
                )

    # A claim needs the p-value and the interval to agree on the direction.
    ci_excludes_one = (res.ci_high is not None and res.ci_high < 1) or (res.ci_low is not None and res.ci_low > 1)
    res.reports_effect = bool(res.sufficient and res.p_value is not None and res.p_value < 0.05 and ci_excludes_one)
    if lag_profile:
        res.lag_profile = _lag_profile(u, pos, y, X0, fit.alpha, T)
    post = None
    if dose:
        k = float(effects.units(dose))
        post = verdicts.posterior(k * est, k * se, nu, float(dose))
    _finish(res, post, None)
    return res


def _separation(y: np.ndarray, exposure: np.ndarray) -> str:
    """Words for the usual cause of a broken fit: no events at all on one side of the comparison."""
    on = exposure > 0
    for side, mask, other in (("with", on, ~on), ("without", ~on, on)):
        if mask.any() and other.any() and y[mask].sum() == 0 and y[other].sum() > 0:
            return (
                f"; no events on the {int(mask.sum())} tracked days {side} magnesium in the last four days, against "
                f"{int(y[other].sum())} on the other {int(other.sum())} days ({y[other].mean():.2g}/day). "
                "That is a large difference, but its size cannot be estimated from zero events"
            )
    return ""


def _finish(res: Result, post: verdicts.Posterior | None, problem: str | None, *, planned: bool = False) -> None:
    """The verdict (not enough data / cannot estimate / from the posterior), its sentence and the details wording."""
    blocking = " ".join(s.message for s in res.sufficiency if s.blocking)
    res.posterior = post
    if blocking:
        v = verdicts.Verdict("not_enough_data", reason=blocking)
    elif problem or post is None:
        v = verdicts.Verdict(
            "cannot_estimate", reason=(problem or "no dose to evaluate the effect at") + "; see the data-quality notes."
        )
    else:
        v = verdicts.decide(post)
    res.verdict = v
    res.headline = verdicts.sentence(v, res.what, randomized=res.randomized or planned)
    res.wording = wording(res)


def _lag_profile(u, pos, y, X0, alpha, T) -> list[LagTerm]:
    cols = [effects.lagged(u, k) for k in range(4)] + [effects.rolling_mean(u, 14)]
    rows = []
    for name, col in zip(LAG_TERMS, cols, strict=True):
        z = col[pos]
        if np.std(z) == 0:
            rows.append((name, math.nan, math.nan, math.nan, math.nan))
            continue
        X = np.hstack([X0[:, :1], z[:, None], X0[:, 1:]])
        try:
            f = effects.fit_counts(y, X, pos, T, alpha=alpha)
        except effects.FitError:
            rows.append((name, math.nan, math.nan, math.nan, math.nan))
            continue
        c = np.zeros(X.shape[1])
        c[1] = 1.0
        est, se, lo, hi, p = f.contrast(c)
        if effects.degenerate(est, se, lo, hi, f.dof(c)):  # e.g. remission: RR 1e-22, CI 0 to 1e+304
            rows.append((name, math.nan, math.nan, math.nan, math.nan))
            continue
        rows.append((name, est, lo, hi, p))
    ps = np.array([r[4] for r in rows])
    ok = np.isfinite(ps)
    holm = np.full(len(ps), np.nan)
    bh = np.full(len(ps), np.nan)
    if ok.any():
        holm[ok] = effects.holm(ps[ok])
        bh[ok] = effects.benjamini_hochberg(ps[ok])
    return [
        LagTerm(name, _rr(est) or math.nan, _rr(lo) or math.nan, _rr(hi) or math.nan, p, float(h), float(b))
        for (name, est, lo, hi, p), h, b in zip(rows, holm, bh, strict=True)
    ]
