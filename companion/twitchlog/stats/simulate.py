"""Simulated symptom counts and intake: the ADEMP calibration's data and the demo's 8 weeks.

Data-generating model (per day t)::

    mu_t = base * trend_t * RR100 ** (acute * mean(u_{t-3..t}) + (1 - acute) * mean(u_{t-13..t})) * exp(e_t)
    e_t  = AR(1) latent noise, phi, marginal sd, centred so E[exp(e_t)] = 1
    y_t  ~ negative binomial (gamma-Poisson) with mean mu_t and NB2 dispersion alpha

with ``u = log2(1 + mg/100)`` (100 mg/day = 1 unit, see `effects`). Under a
steady dose d the rate ratio is ``RR100 ** u(d)`` whatever `acute` is.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from twitchlog.stats import effects, trial


def latent_ar1(n: int, rng: np.random.Generator, phi: float = 0.6, sd: float = 0.3) -> np.ndarray:
    """Stationary AR(1) with marginal sd `sd`, shifted so exp() has mean 1."""
    e = np.empty(n)
    innov = rng.normal(0.0, sd * math.sqrt(1 - phi * phi), n)
    e[0] = rng.normal(0.0, sd)
    for t in range(1, n):
        e[t] = phi * e[t - 1] + innov[t]
    return e - sd * sd / 2


def rate(
    supp_mg: np.ndarray,
    base_rate: float,
    rr_per_100mg: float = 1.0,
    *,
    acute: float = 1.0,
    log_trend: np.ndarray | None = None,
    same_day: bool = False,
) -> np.ndarray:
    """Expected daily count before latent noise.

    The acute part acts through the mean of lags 0-3 (the analysis model's
    shape) or, with `same_day`, through the same day's dose only.
    """
    u = effects.units(supp_mg)
    z = effects.exposure_columns(u)
    acute_z = u if same_day else z[:, 0]
    lp = math.log(base_rate) + math.log(rr_per_100mg) * (acute * acute_z + (1 - acute) * z[:, 1])
    if log_trend is not None:
        lp = lp + log_trend
    return np.exp(lp)


def counts(
    mu: np.ndarray, rng: np.random.Generator, *, alpha: float = 0.3, phi: float = 0.6, latent_sd: float = 0.3
) -> np.ndarray:
    """NB2 counts with AR(1) latent noise around `mu`."""
    m = mu * np.exp(latent_ar1(len(mu), rng, phi, latent_sd))
    lam = rng.gamma(1.0 / alpha, alpha * m) if alpha > 0 else m
    return rng.poisson(lam)


# -- dosing patterns --------------------------------------------------------------
def observational_dosing(
    n_days: int, dose_mg: float, rng: np.random.Generator, p_start: float = 0.15, p_stop: float = 0.15
) -> np.ndarray:
    """Self-chosen, persistent dosing: a two-state Markov chain (runs of ~1/p days)."""
    on = np.empty(n_days, dtype=bool)
    on[0] = rng.random() < p_start / (p_start + p_stop)
    for t in range(1, n_days):
        on[t] = (rng.random() >= p_stop) if on[t - 1] else (rng.random() < p_start)
    return np.where(on, float(dose_mg), 0.0)


def step_dosing(n_days: int, start_day: int, dose_mg: float) -> np.ndarray:
    """None, then `dose_mg` every day from `start_day` on (a typical unplanned start)."""
    out = np.zeros(n_days)
    out[start_day:] = dose_mg
    return out


def plan_for_days(
    n_days: int, block_days: int, dose_mg: float, seed: int, start: dt.date = dt.date(2026, 1, 1)
) -> tuple[trial.Plan, int]:
    """A randomized plan filling `n_days` (as many whole pairs as fit) after a supplement-free run-in.

    Returns (plan, run_in_days); the series starts `run_in_days` before `plan.start`.
    """
    pairs = n_days // (2 * block_days)
    run_in = n_days - pairs * 2 * block_days
    plan = trial.make_plan(start + dt.timedelta(days=run_in), pairs, block_days, dose_mg, "glycinate", seed)
    return plan, run_in


def plan_dosing(plan: trial.Plan, run_in: int) -> np.ndarray:
    """Daily supplemental mg when the plan is followed exactly, after a run-in without supplement."""
    return np.concatenate([np.zeros(run_in), plan.schedule()["planned_mg"].to_numpy()])


# -- the demo's 8 weeks --------------------------------------------------------------
#: Built-in effect of the demo: rate ratio per 100 mg/day (so 0.5**1.585 = 0.33 at 200 mg).
DEMO_RR_PER_100MG = 0.5
DEMO_BASE_RATES = {"twitch": 4.0, "cramp": 0.7}
# Hour-of-day profiles: twitches peak in the evening, cramps at night.
_HOUR_PEAK = {"twitch": (18.0, 3.5), "cramp": (3.0, 1.5)}


@dataclass
class DemoDay:
    date: dt.date
    tracked: bool
    events: list[tuple[dt.datetime, str]] = field(default_factory=list)  # (local time, kind); empty when not tracked
    supplements: list[tuple[dt.datetime, float, str]] = field(default_factory=list)  # (local time, elemental mg, form)
    diet_mg: float | None = None


@dataclass
class DemoTrial:
    plan: trial.Plan
    days: list[DemoDay]
    rr_per_100mg: float
    base_rates: dict[str, float]

    def counts(self, kind: str) -> list[int]:
        return [sum(1 for _, k in d.events if k == kind) for d in self.days]


def demo_trial(
    start: dt.date = dt.date(2026, 1, 5),
    seed: int = 7,
    *,
    weeks: int = 8,
    block_days: int = 4,
    dose_mg: float = 200.0,
    form: str = "glycinate",
    rr_per_100mg: float = DEMO_RR_PER_100MG,
    base_rates: dict[str, float] | None = None,
    untracked: int = 2,
    missed_doses: int = 1,
) -> DemoTrial:
    """`weeks` of days following a randomized plan (`weeks*7 // (2*block_days)` pairs) with a built-in effect.

    Seeded and deterministic. Each day: symptom events with local times of day
    (none on the `untracked` not-wearing days, which still take their doses),
    the supplement dose at 08:00 on "on" days (except `missed_doses` of them),
    and a dietary magnesium estimate (unknown on some days).
    """
    base_rates = dict(base_rates or DEMO_BASE_RATES)
    rng = np.random.default_rng(seed)
    pairs = weeks * 7 // (2 * block_days)
    plan = trial.make_plan(start, pairs, block_days, dose_mg, form, seed)
    n = plan.days
    planned = plan.schedule()["planned_mg"].to_numpy()
    taken = planned.copy()
    on_idx = np.flatnonzero(planned > 0)
    if missed_doses and len(on_idx):
        taken[rng.choice(on_idx, size=min(missed_doses, len(on_idx)), replace=False)] = 0.0
    untracked_idx = set(rng.choice(np.arange(n), size=min(untracked, n), replace=False).tolist())
    shared = latent_ar1(n, rng, 0.6, 0.25)  # a bad week is bad for every kind
    per_kind = {}
    for kind, base in base_rates.items():
        mu = rate(taken, base, rr_per_100mg) * np.exp(shared)
        per_kind[kind] = rng.poisson(rng.gamma(1 / 0.2, 0.2 * mu))
    days = []
    for i in range(n):
        day = start + dt.timedelta(days=i)
        midnight = dt.datetime.combine(day, dt.time())
        tracked = i not in untracked_idx
        events: list[tuple[dt.datetime, str]] = []
        if tracked:
            for kind, ys in per_kind.items():
                peak, sd = _HOUR_PEAK.get(kind, (14.0, 5.0))
                hours = (rng.normal(peak, sd, ys[i]) % 24.0) if ys[i] else []
                events += [(midnight + dt.timedelta(seconds=int(h * 3600)), kind) for h in hours]
            events.sort()
        supps = [(midnight + dt.timedelta(hours=8), float(taken[i]), form)] if taken[i] > 0 else []
        diet = None if rng.random() < 0.25 else float(round(rng.normal(300, 60)))
        days.append(DemoDay(day, tracked, events, supps, diet))
    return DemoTrial(plan, days, rr_per_100mg, base_rates)
