"""Randomization test for a randomized on/off plan (intention to treat).

Under the sharp null (magnesium changes nothing on any day) the daily counts
would have been the same whichever coin flips the plan had drawn. So the
statistic is recomputed for every re-drawn assignment of the *same design*
(each pair's order flipped or not), and p is the share of assignments whose
statistic is at least as extreme as the one actually drawn. This is exact
whatever the count model gets wrong (autocorrelation, dispersion, trend):
only the randomization is assumed.

Statistic: the one-step (score) estimate of ``b03`` (the reported effect, lags
0-3 combined, adjusted for the 14-day mean) from the null model
(trend, day of week, diet; no exposure), with the exposure built from the
*planned* dose on plan days (intention to treat) and actual intake outside
the plan. Linear in the assignment, so all 2**pairs assignments cost one
batched 2x2 solve each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twitchlog.stats import effects, trial


@dataclass
class RandomizationTest:
    p: float
    n: int  # assignments compared (including the one drawn)
    exact: bool  # all assignments enumerated (else Monte Carlo)
    pairs: int  # pairs whose flip changes any analysed day
    statistic: float
    min_p: float  # smallest p this design can give

    @property
    def method(self) -> str:
        how = "all" if self.exact else "a Monte Carlo sample of"
        return (
            f"randomization test over {how} {self.n} re-randomizations of the stored plan "
            f"({self.pairs} pairs, two-sided, intention to treat)"
        )


def randomization_test(
    plan: trial.Plan,
    dates: pd.DatetimeIndex,
    supp_mg: np.ndarray,
    pos: np.ndarray,
    y: np.ndarray,
    X0: np.ndarray,
    alpha: float,
    *,
    n_samples: int = 1999,
    seed: int = 0,
) -> RandomizationTest | None:
    """None when the plan does not overlap the analysed days."""
    T = len(dates)
    start = (pd.Timestamp(plan.start) - dates[0]).days
    offsets = start + np.arange(plan.days)  # calendar position of each plan day
    inside = (offsets >= 0) & (offsets < T)
    block_of_day = np.arange(plan.days) // plan.block_days
    # Pairs with at least one plan day inside the series; only their flips matter.
    active = sorted({int(b // 2) for b in block_of_day[inside]})
    if not active:
        return None

    u = effects.units(supp_mg).copy()
    u[offsets[inside]] = 0.0  # plan days get the planned dose below
    z_base = effects.exposure_columns(u)[pos]
    u_dose = float(effects.units(plan.dose_mg))
    parts = []  # per active block: exposure it contributes when "on"
    for pair in active:
        for b in (2 * pair, 2 * pair + 1):
            ind = np.zeros(T)
            days = offsets[(block_of_day == b) & inside]
            ind[days] = u_dose
            parts.append(effects.exposure_columns(ind)[pos])
    F = np.stack(parts)  # (2k, n, 2)

    rng = np.random.default_rng(seed)
    A, exact = trial.assignments(len(active), rng, n_samples)
    drawn = np.array(plan.first_on, dtype=bool)[active]
    if not exact:
        A = np.vstack([drawn[None, :], A])
    on = np.stack([A, ~A], axis=-1).reshape(len(A), -1).astype(float)  # (N, 2k)
    coef = np.hstack([np.ones((len(A), 1)), on])  # exposure = z_base + sum of "on" blocks' F

    null = effects.fit_counts(y, X0, pos, T, alpha=alpha)
    mu0 = null.mu
    w = mu0 / (1.0 + alpha * mu0)
    r = (y - mu0) / (1.0 + alpha * mu0)
    # Residualize every piece on the null model's columns (weighted), once.
    pieces = np.concatenate([z_base[None], F]).transpose(1, 0, 2).reshape(len(y), -1)  # (n, 2(2k+1))
    G = np.linalg.pinv(X0.T @ (X0 * w[:, None]))
    pieces = pieces - X0 @ (G @ (X0.T @ (pieces * w[:, None])))
    m = F.shape[0] + 1
    U_pieces = (r @ pieces).reshape(m, 2)
    gram = (pieces.T @ (pieces * w[:, None])).reshape(m, 2, m, 2)
    U = coef @ U_pieces
    g = gram.transpose(0, 2, 1, 3).reshape(m, m * 4)  # [i, (j, k, l)]
    info = ((coef @ g).reshape(len(coef), m, 4) * coef[:, :, None]).sum(axis=1).reshape(-1, 2, 2)
    info += 1e-9 * np.trace(info, axis1=1, axis2=2)[:, None, None] * np.eye(2)
    delta = np.linalg.solve(info, U[..., None])[..., 0]
    stat = delta[:, 0]

    if exact:
        idx = int(np.flatnonzero((A == drawn).all(axis=1))[0])
    else:
        idx = 0
    t_obs = abs(stat[idx])
    extreme = np.abs(stat) >= t_obs * (1 - 1e-9) - 1e-12
    p = float(extreme.mean())
    n = len(A)
    # Smallest attainable p: the drawn assignment alone, plus exact ties in |stat|.
    return RandomizationTest(p=p, n=n, exact=exact, pairs=len(active), statistic=float(stat[idx]), min_p=1.0 / n)
