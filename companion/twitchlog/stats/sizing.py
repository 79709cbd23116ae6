"""A trial sized to the user: which block length gives an answer soonest, and the chance of one week by week.

`size_trial(counts)` takes the user's tracked daily counts (all kinds
combined; empty for a new user) and:

1. estimates the base rate and overdispersion from them (negative binomial
   by moments), or uses 3 events/day and the calibration's noise when fewer
   than MIN_DAYS days are tracked (and says so);
2. for each block length (3, 4 and 7 days) simulates `runs` randomized
   trials of up to 36 weeks at that rate and noise with no effect, the effect
   acting through lags 0-3 as the model assumes (the carry-over between
   blocks), and analyses them at checkpoints as the report does;
3. from those fits takes, per checkpoint, the spread of the estimate (its
   sampling sd) and the standard error the verdict would use, interpolates
   both over the weeks (the sd falls as 1/sqrt(weeks)), and computes the
   chance that the verdict is conclusive ("likely helps" or "likely no
   meaningful effect") at each week for a true 20%, 30% and 50% reduction
   at the dose, with the verdict's own prior and thresholds.

The chance is for one look at that week (a fixed-length trial). The stopping
rule's looks after every pair are calibrated separately (docs/statistics.md).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from twitchlog.stats import analysis, simulate, trial
from twitchlog.stats.verdict import LIKELY, MEANINGFUL_THRESHOLD, PRIOR_SD, likelihood_sd

MIN_DAYS = 14  # tracked days before the user's own rate is used
DEFAULT_RATE = 3.0
LATENT_SD = 0.3  # the calibration's day-to-day latent noise (AR(1), phi 0.6)
LATENT_PHI = 0.6
DEFAULT_ALPHA = 0.3
BLOCK_OPTIONS = (3, 4, 7)
REDUCTIONS = (0.2, 0.3, 0.5)
CHECKPOINT_WEEKS = (6, 12, 24, 36)
MAX_WEEKS = 36


@dataclass
class Sizing:
    rate: float
    alpha: float  # NB2 dispersion left after the latent noise
    from_user: bool
    tracked_days: int
    dose_mg: float
    weeks: list[int]
    # block_days -> reduction -> chance of a conclusive verdict per week in `weeks`
    chance: dict[int, dict[float, list[float]]] = field(default_factory=dict)
    best_block_days: int = 7
    notes: list[str] = field(default_factory=list)

    def weeks_to(self, block_days: int, reduction: float, share: float = 0.8) -> int | None:
        for w, c in zip(self.weeks, self.chance[block_days][reduction], strict=True):
            if c >= share:
                return w
        return None

    def to_dict(self) -> dict:
        return {
            "rate_per_day": self.rate,
            "alpha": self.alpha,
            "from_your_data": self.from_user,
            "tracked_days": self.tracked_days,
            "dose_mg": self.dose_mg,
            "weeks": self.weeks,
            "chance_of_conclusive_answer": {
                str(b): {f"{r:.0%} fewer": c for r, c in per.items()} for b, per in self.chance.items()
            },
            "best_block_days": self.best_block_days,
            "notes": self.notes,
        }


def user_noise(counts: np.ndarray) -> tuple[float, float, bool]:
    """(rate, NB2 alpha after the latent noise, from the user's data?) from tracked daily counts."""
    counts = np.asarray(counts, dtype=float)
    if len(counts) < MIN_DAYS or counts.mean() <= 0:
        return DEFAULT_RATE, DEFAULT_ALPHA, False
    m = float(counts.mean())
    total = max((float(counts.var(ddof=1)) - m) / (m * m), 0.0)  # var = m + total * m^2
    s = math.expm1(LATENT_SD**2)  # the latent noise's share: var = m + m^2 (alpha (1 + s) + s)
    alpha = min(max((total - s) / (1 + s), 0.02), 5.0)
    return m, alpha, True


def conclusive_chance(theta: float, spread: float, lik_sd: float) -> float:
    """P(verdict is likely_helps or likely_no_meaningful_effect) when the estimate ~ N(theta, spread)."""
    k = PRIOR_SD**2 / (PRIOR_SD**2 + lik_sd**2)
    post_sd = math.sqrt(k) * lik_sd
    z = float(stats.norm.ppf(LIKELY))
    helps_below = -z * post_sd / k  # posterior P(benefit) >= LIKELY
    none_above = (math.log1p(-MEANINGFUL_THRESHOLD) + z * post_sd) / k  # P(>= 20% fewer) <= 1 - LIKELY
    p = stats.norm.cdf((helps_below - theta) / spread)
    p += stats.norm.sf((max(none_above, helps_below) - theta) / spread)
    return float(min(p, 1.0))


def size_trial(
    counts: np.ndarray,
    *,
    dose_mg: float = 200.0,
    runs: int = 16,
    seed: int = 0,
    blocks: tuple[int, ...] = BLOCK_OPTIONS,
) -> Sizing:
    """Simulate the user's trial options (see module docstring); seeded and deterministic."""
    rate, alpha, from_user = user_noise(counts)
    sizing = Sizing(rate, alpha, from_user, len(counts), dose_mg, list(range(2, MAX_WEEKS + 1, 2)))
    if not from_user:
        sizing.notes.append(
            f"Fewer than {MIN_DAYS} tracked days: sized for {DEFAULT_RATE:g} events/day and typical day-to-day "
            "variation. Track a few weeks first (no supplement) for a plan sized to you."
        )
    start = dt.date(2026, 1, 5)
    for block in blocks:
        fits: dict[int, list[tuple[float, float]]] = {w: [] for w in CHECKPOINT_WEEKS}
        pairs = MAX_WEEKS * 7 // (2 * block)
        for r in range(runs):
            rng = np.random.default_rng([seed, block, r])
            plan = trial.make_plan(start, pairs, block, dose_mg, "glycinate", seed=int(rng.integers(2**31)))
            supp = simulate.plan_dosing(plan, 0)
            y = simulate.counts(simulate.rate(supp, rate), rng, alpha=alpha, phi=LATENT_PHI, latent_sd=LATENT_SD)
            for w in CHECKPOINT_WEEKS:
                n = min(7 * w // (2 * block) * 2 * block, len(y))
                days = [start + dt.timedelta(days=i) for i in range(n)]
                daily = analysis.daily_frame(days, list(y[:n]), supp_mg=list(supp[:n]))
                res = analysis.analyze(daily, lag_profile=False)
                post = res.posterior
                if post is not None and res.verdict.verdict != "cannot_estimate":
                    fits[w].append((post.theta_hat, likelihood_sd(post.se, post.dof)))
        spread, lik = [], []
        for w in CHECKPOINT_WEEKS:
            got = np.array(fits[w]) if fits[w] else np.full((1, 2), np.nan)
            spread.append(float(np.std(got[:, 0], ddof=1)) * math.sqrt(w) if len(got) > 2 else math.nan)
            lik.append(float(np.median(got[:, 1])) * math.sqrt(w))
        # Per-sqrt(week) scales, interpolated between the checkpoints (short series pay more for the
        # trend and weekday terms, so the scale is not constant).
        ok = np.isfinite(spread) & np.isfinite(lik)
        per: dict[float, list[float]] = {}
        for reduction in REDUCTIONS:
            theta = math.log1p(-reduction)
            # Fewer events on the "on" days widen the estimate: the Poisson part of its variance (a share
            # 1 / (1 + m (alpha (1 + s) + s)) of it at rate m) grows by (1/(1 - r) + 1)/2 with half the days on;
            # the overdispersion part does not.
            s_lat = math.expm1(LATENT_SD**2)
            poisson_share = 1.0 / (1.0 + rate * (alpha * (1 + s_lat) + s_lat))
            widen = math.sqrt(1.0 + poisson_share * ((1 / (1 - reduction) + 1) / 2 - 1))
            chances = []
            for w in sizing.weeks:
                if w < 4 or not ok.any():
                    chances.append(0.0)
                    continue
                at = np.array(CHECKPOINT_WEEKS)[ok]
                s_w = float(np.interp(w, at, np.array(spread)[ok]))
                l_w = float(np.interp(w, at, np.array(lik)[ok]))
                s_w, l_w = s_w * widen, l_w * widen
                chances.append(conclusive_chance(theta, max(s_w, l_w) / math.sqrt(w), l_w / math.sqrt(w)))
            per[reduction] = chances
        sizing.chance[block] = per
    # The design most likely to give an answer: highest mean chance over the weeks, for a 30% reduction.
    sizing.best_block_days = max(blocks, key=lambda b: float(np.mean(sizing.chance[b][0.3])))
    return sizing
