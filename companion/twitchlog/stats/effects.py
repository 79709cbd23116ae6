"""Exposure definitions, the count-model fit and its autocorrelation-robust covariance.

Exposure unit: ``u = log2(1 + mg/100)`` = ``log1p(mg/100) / log(2)``. It is
``log1p(dose/100)`` rescaled so that 100 mg/day is exactly one unit:
``exp(beta)`` is the rate ratio of 100 mg/day against none, and at dose d the
rate ratio is ``RR100 ** log2(1 + d/100)`` (200 mg -> 1.585 units, 300 mg -> 2),
a saturating dose-response as absorption saturates.

Model (NB2, log link), one row per tracked day t::

    log E[y_t] = b0 + b03 * mean(u_{t-3..t}) + b14 * mean(u_{t-13..t})
                 + trend spline(t) + day of week + diet

The reported rate ratio is ``exp(b03)``: the short-term effect of 100 mg/day
over the last four days, adjusted for the 14-day level. Under a steady dose both
terms equal u, so ``exp(b03 + b14)`` is the effect of taking 100 mg every day
for two weeks or more (acute + build-up); it is reported too, but short on/off
blocks identify it poorly (the 14-day mean barely moves between 4-day blocks),
so it is not the headline. Intake before the first day of the series is taken
as none.

Standard errors: equal-weighted cosine (EWC) long-run variance of the score
contributions (Lazarus, Lewis, Stock & Watson 2018) with ``B = round(0.4 T^(2/3))``
cosines and Student-t(B) critical values (fixed-b inference), scores inflated
by ``1/(1 - h_t)`` (HC3-type, jackknife-like leverage correction) because short
series have many nuisance columns. (An HC2-type ``1/sqrt(1 - h_t)`` was tried
first: its false-positive rate was 0.10-0.13 in the observational nulls.)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import patsy
import statsmodels.api as sm
from scipy import stats
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

LOG2 = math.log(2.0)


def units(mg: np.ndarray | float) -> np.ndarray:
    """Exposure units: log2(1 + mg/100); 100 mg -> 1."""
    return np.log1p(np.asarray(mg, dtype=float) / 100.0) / LOG2


def units_to_mg(u: float) -> float:
    return 100.0 * (2.0**u - 1.0)


def rolling_mean(u: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over `window` days including today; days before the series count as 0."""
    c = np.concatenate([[0.0], np.cumsum(u)])
    idx = np.arange(1, len(u) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / window


def lagged(u: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros_like(u)
    out[k:] = u[: len(u) - k] if k else u
    return out


def exposure_columns(u: np.ndarray) -> np.ndarray:
    """(T, 2): mean over lags 0-3 and over lags 0-13."""
    return np.column_stack([rolling_mean(u, 4), rolling_mean(u, 14)])


def ewc_cosines(T: int) -> int:
    return max(2, int(round(0.4 * T ** (2.0 / 3.0))))


def trend_basis(pos: np.ndarray, T: int) -> tuple[np.ndarray, int]:
    """Trend columns over calendar positions: linear below 8 weeks, else a natural cubic spline, 1 df per 4 weeks."""
    df = max(1, T // 28)
    t = pos / max(T - 1, 1)
    if df == 1:
        return (t - 0.5)[:, None], 1
    m = patsy.dmatrix(f"cr(t, df={df}, constraints='center') - 1", {"t": t}, return_type="matrix")
    return np.asarray(m), df


def dow_basis(dow: np.ndarray, n_used: int) -> tuple[np.ndarray, str]:
    """Day-of-week columns: 6 dummies from 8 tracked weeks, a weekend indicator from 4, else none."""
    if n_used >= 56:
        return np.column_stack([(dow == d).astype(float) for d in range(1, 7)]), "6 day-of-week dummies"
    if n_used >= 28:
        return (dow >= 5).astype(float)[:, None], "weekend indicator (fewer than 8 tracked weeks)"
    return np.zeros((len(dow), 0)), "none (fewer than 4 tracked weeks)"


@dataclass
class Fit:
    params: np.ndarray
    cov: np.ndarray  # EWC sandwich
    cov_model: np.ndarray  # model-based (inverse information)
    mu: np.ndarray
    alpha: float  # NB2 dispersion; 0 for quasi-Poisson
    model: str  # "NB2" or "quasi-Poisson"
    B: int  # EWC cosines: the t degrees of freedom when every day weighs the same
    notes: list[str] = field(default_factory=list)
    dof_parts: tuple | None = field(default=None, repr=False)

    def dof(self, c: np.ndarray) -> float:
        """Satterthwaite degrees of freedom of the EWC variance of c'beta (at most B).

        Each cosine projection is a weighted sum of the days' influence
        contributions; when a few days carry most of the weight (few days on
        supplement, high leverage) the B projections are far from equally
        informative and the variance estimate is noisier than chi2(B)/B.
        Following Bell & McCaffrey and Imbens & Kolesar (2016), the day
        variances are taken from the working model: g_t = (a'x_t)^2 w_t/(1-h_t)^2,
        a = H^-1 c; M = C diag(g) C'; nu = tr(M)^2 / tr(M^2).
        """
        if self.dof_parts is None:
            return float(self.B)
        G, C, Hinv = self.dof_parts
        g = (G @ (Hinv @ c)) ** 2
        M = (C * g) @ C.T
        tr2 = float(np.sum(M * M))
        return float(min(self.B, np.trace(M) ** 2 / tr2)) if tr2 > 0 else float(self.B)

    def contrast(self, c: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float, float]:
        """(estimate, se, ci_low, ci_high, p) for c'beta on the log scale, t(dof) reference."""
        est = float(c @ self.params)
        se = float(math.sqrt(max(c @ self.cov @ c, 0.0)))
        nu = self.dof(c)
        q = float(stats.t.ppf(0.5 + level / 2, nu))
        p = float(2 * stats.t.sf(abs(est) / se, nu)) if se > 0 else float("nan")
        return est, se, est - q * se, est + q * se, p


def _ewc_cov(X, y, mu, alpha, pos, T, B):
    """(EWC covariance, inverse information, parts for the Satterthwaite dof)."""
    w = mu / (1.0 + alpha * mu)
    H = X.T @ (X * w[:, None])
    Hinv = np.linalg.pinv(H)
    h = np.einsum("ij,jk,ik->i", X, Hinv, X) * w
    lev = np.clip(1.0 - h, 0.05, 1.0)
    s = X * ((y - mu) / (1.0 + alpha * mu) / lev)[:, None]
    S = np.zeros((T, X.shape[1]))
    S[pos] = s
    j = np.arange(1, B + 1)[:, None]
    C = math.sqrt(2.0 / T) * np.cos(math.pi * j * (np.arange(T)[None, :] + 0.5) / T)
    Lam = C @ S
    omega = Lam.T @ Lam / B
    G = np.zeros((T, X.shape[1]))
    G[pos] = X * (np.sqrt(w) / lev)[:, None]
    return Hinv @ (T * omega) @ Hinv, Hinv, (G, C, Hinv)


class FitError(Exception):
    """The counts cannot support the model (e.g. no events at all on one side of a contrast)."""


def _poisson_start(y, X):
    try:
        return sm.GLM(y, X, family=sm.families.Poisson()).fit(maxiter=50)
    except (ValueError, np.linalg.LinAlgError) as e:  # NaN weights: fitted means run to zero (separation)
        raise FitError(f"the Poisson fit failed ({e})") from e


def fit_counts(y: np.ndarray, X: np.ndarray, pos: np.ndarray, T: int, *, alpha: float | None = None) -> Fit:
    """NB2 by maximum likelihood (alpha estimated), falling back to quasi-Poisson.

    With `alpha` given, fit a GLM with that fixed NB2 dispersion (fast; used for
    the lag profile and the null model). `pos` are calendar positions of the rows
    in a series of `T` days (for the EWC covariance).
    """
    B = ewc_cosines(T)
    notes: list[str] = []
    if alpha is not None:
        fam = sm.families.NegativeBinomial(alpha=alpha) if alpha > 0 else sm.families.Poisson()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                g = sm.GLM(y, X, family=fam).fit(maxiter=100)
            except (ValueError, np.linalg.LinAlgError) as e:
                raise FitError(f"the GLM fit failed ({e})") from e
        mu = np.asarray(g.mu)
        cov, Hinv, parts = _ewc_cov(X, y, mu, alpha, pos, T, B)
        return Fit(np.asarray(g.params), cov, Hinv, mu, alpha, "NB2" if alpha > 0 else "quasi-Poisson", B, notes, parts)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pois = _poisson_start(y, X)
        reason = None
        try:
            nb = NegativeBinomial(y, X, loglike_method="nb2").fit(
                start_params=np.append(pois.params, 0.1), method="newton", maxiter=100, disp=0
            )
            params = np.asarray(nb.params)
            a = float(params[-1])
            if not nb.mle_retvals.get("converged", False):
                reason = "did not converge"
            elif not np.all(np.isfinite(params)):
                reason = (
                    "gave non-finite estimates "
                    "(typically the dispersion running to zero: counts no more variable than Poisson)"
                )
            elif a < 1e-4:
                reason = f"found no overdispersion (alpha = {a:.2g})"
            elif a > 50:
                reason = f"gave an implausible dispersion (alpha = {a:.3g})"
        except (np.linalg.LinAlgError, ValueError, OverflowError) as e:
            reason = f"failed ({type(e).__name__}: {e})"
    watched = (ConvergenceWarning, HessianInversionWarning, RuntimeWarning)
    kinds = {type(w.message).__name__ for w in caught if issubclass(w.category, watched)}
    if reason is None:
        beta = params[:-1]
        mu = np.exp(np.clip(X @ beta, -30, 30))
        cov, Hinv, parts = _ewc_cov(X, y, mu, a, pos, T, B)
        return Fit(beta, cov, Hinv, mu, a, "NB2", B, notes, parts)
    notes.append(f"Negative-binomial fit {reason}; used quasi-Poisson (Poisson GLM, robust sandwich) instead.")
    if kinds:
        notes.append("statsmodels warned: " + ", ".join(sorted(kinds)) + ".")
    mu = np.asarray(pois.mu)
    cov, Hinv, parts = _ewc_cov(X, y, mu, 0.0, pos, T, B)
    return Fit(np.asarray(pois.params), cov, Hinv, mu, 0.0, "quasi-Poisson", B, notes, parts)


# A fit is degenerate (no estimate worth showing) when any of these holds.
MAX_ABS_LOG_RR = math.log(100.0)  # beyond 1/100..100 per 100 mg/day: a boundary estimate (separation)
MAX_CI_RATIO = 1e6  # upper/lower CI limit: a broken fit (merely uninformative fits are far narrower)
MIN_CI_RATIO = 1.001  # a CI under 0.1% wide is impossible for symptom counts: a broken sandwich
MIN_DOF = 2.0  # fewer effective degrees of freedom: the variance estimate is itself noise
MIN_SE_RATIO = 0.05  # robust SE below 1/20 of the model's: a collapsed long-run variance


def degenerate(est: float, se: float, lo: float, hi: float, dof: float, se_model: float | None = None) -> str | None:
    """Why an estimate (log scale) from a fit must not be reported, in words; None when it may."""
    if not all(math.isfinite(x) for x in (est, se, lo, hi, dof)) or se <= 0:
        return "the fit gave non-finite estimates or standard errors"
    if abs(est) > MAX_ABS_LOG_RR:
        side = "below 1/100" if est < 0 else "above 100"
        return (
            f"the estimate ran to a boundary (a rate ratio {side} per 100 mg/day), "
            "which happens when one side of the comparison has (almost) no events"
        )
    if hi - lo > math.log(MAX_CI_RATIO):
        return "the interval is absurdly wide (its ends more than a million-fold apart)"
    if hi - lo < math.log(MIN_CI_RATIO):
        return "the interval is implausibly narrow (under 0.1% wide): the standard error collapsed"
    if dof < MIN_DOF:
        return f"fewer than {MIN_DOF:.0f} effective degrees of freedom ({dof:.2g}) for the standard error"
    if se_model is not None and se_model > 0 and se < MIN_SE_RATIO * se_model:
        return "the autocorrelation-robust standard error collapsed (under 1/20 of the model's)"
    return None


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values."""
    from statsmodels.stats.multitest import multipletests

    return multipletests(np.asarray(p, dtype=float), method="holm")[1]


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (FDR) adjusted p-values."""
    from statsmodels.stats.multitest import multipletests

    return multipletests(np.asarray(p, dtype=float), method="fdr_bh")[1]
