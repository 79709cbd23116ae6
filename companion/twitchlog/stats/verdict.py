"""The answer a user can act on: a posterior over the effect, a verdict and one plain sentence.

The effect is ``theta``, the log rate ratio of daily symptom events at the
user's dose (the plan's dose, else the median dose taken) against none, over
the same and the previous three days: ``theta = b03 * log2(1 + dose/100)``.

Prior (sceptical, centred at no effect): ``theta ~ Normal(0, PRIOR_SD**2)``
with ``PRIOR_SD = 0.35``. Why that width (docs/statistics.md has the detail):

- The Cochrane review of magnesium for muscle cramps (Garrison et al. 2020)
  puts the typical effect at about -10% (95% CI -23% to +4%). We centre at 0,
  not at -10%: the prior gives magnesium no credit in advance.
- Individuals differ around that average, so the prior is wider than the
  review's CI: a 20% or larger reduction has prior probability 0.26, a
  halving or more 0.024 (about 1 user in 40), and the review's -23% lies at
  0.75 prior sd.

Likelihood: the normal approximation on the log rate ratio, centred at the
count model's estimate, with its autocorrelation-robust (EWC) standard error
widened for the few effective degrees of freedom of a short, autocorrelated
series: ``se * t_{0.975}(nu) / z_{0.975}`` with the Satterthwaite ``nu``, so
that the likelihood's 95% range is the model's 95% CI. (A Student-t
likelihood was tried first: its heavy tails let the sceptical prior
overrule strong data, so a true 70% reduction was held at P(benefit) 0.98
after 24 weeks.) The posterior is computed on a fine grid.

Verdicts, from the posterior alone, so they cannot contradict its numbers
(the interval shown is the 90% credible interval, CREDIBLE):

- ``likely_helps``: P(benefit) >= LIKELY (0.95), i.e. the whole interval is
  on the "fewer" side;
- ``likely_no_meaningful_effect``: P(a reduction of at least
  MEANINGFUL_THRESHOLD) <= 1 - LIKELY, i.e. the interval's "fewer" end is
  short of 20% fewer;
- ``inconclusive``: neither; then the interval runs from at least 20% fewer
  to no change or more;
- ``not_enough_data`` and ``cannot_estimate`` are decided by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

PRIOR_SD = 0.35
MEANINGFUL_THRESHOLD = 0.20  # "meaningful": at least 20% fewer events
LIKELY = 0.95
CREDIBLE = 0.90
VERDICTS = ("likely_helps", "likely_no_meaningful_effect", "inconclusive", "not_enough_data", "cannot_estimate")
PRIOR_TEXT = (
    f"sceptical prior centred at no effect: log rate ratio at your dose ~ Normal(0, {PRIOR_SD}^2), i.e. a 20% or "
    "larger reduction has prior probability 0.26 and a halving 0.02 (Cochrane 2020: typical effect on cramps about "
    "-10%, 95% CI -23% to +4%)"
)

_GRID = np.linspace(-6.0, 6.0, 24001)  # log rate ratio; step 0.0005


@dataclass
class Posterior:
    """Posterior of theta (log rate ratio at `dose_mg`) on a grid."""

    dose_mg: float
    theta_hat: float
    se: float
    dof: float
    grid: np.ndarray
    density: np.ndarray  # normalised: sum(density) * step == 1
    cdf: np.ndarray

    def prob_below(self, theta: float) -> float:
        return float(np.clip(np.interp(theta, self.grid, self.cdf), 0.0, 1.0))

    def quantile(self, q: float) -> float:
        return float(np.interp(q, self.cdf, self.grid))

    @property
    def probability_of_benefit(self) -> float:
        return self.prob_below(0.0)

    def probability_of_reduction(self, fraction: float) -> float:
        """P(at least `fraction` fewer events), e.g. 0.2 -> P(theta <= log 0.8)."""
        return self.prob_below(math.log1p(-fraction))

    def percent(self, q: float) -> float:
        """The q-quantile of the percent change in events (negative: fewer)."""
        return 100.0 * math.expm1(self.quantile(q))


def likelihood_sd(se: float, dof: float) -> float:
    """The EWC standard error widened so that +-1.96 of it spans the model's t(dof) 95% CI."""
    return se * float(stats.t.ppf(0.975, dof) / stats.norm.ppf(0.975))


def posterior(theta_hat: float, se: float, dof: float, dose_mg: float, prior_sd: float = PRIOR_SD) -> Posterior:
    """Normal(0, prior_sd) prior times a normal likelihood N(theta_hat, likelihood_sd(se, dof))."""
    if not (math.isfinite(theta_hat) and math.isfinite(se) and se > 0 and dof > 0):
        raise ValueError(f"no posterior from theta_hat={theta_hat}, se={se}, dof={dof}")
    step = _GRID[1] - _GRID[0]
    sd = likelihood_sd(se, dof)
    log_post = stats.norm.logpdf(_GRID, 0.0, prior_sd) + stats.norm.logpdf(theta_hat, _GRID, sd)
    dens = np.exp(log_post - log_post.max())
    dens /= dens.sum() * step
    cdf = np.cumsum(dens) * step
    cdf = np.concatenate([[0.0], (cdf[1:] + cdf[:-1]) / 2])  # trapezoid: cdf(grid[0]) = 0
    cdf /= cdf[-1]
    return Posterior(dose_mg, theta_hat, se, dof, _GRID, dens, cdf)


@dataclass
class Verdict:
    verdict: str
    probability_of_benefit: float | None = None
    probability_of_meaningful_benefit: float | None = None
    meaningful_threshold: float = MEANINGFUL_THRESHOLD
    percent_change: float | None = None  # posterior median, % (negative: fewer events)
    percent_change_low: float | None = None  # CREDIBLE interval, the "most benefit" end
    percent_change_high: float | None = None
    dose_mg: float | None = None
    credible_level: float = CREDIBLE
    reason: str | None = None  # not_enough_data / cannot_estimate: why, and what is needed
    prior: str = PRIOR_TEXT

    def to_dict(self) -> dict:
        return dict(vars(self))


def decide(post: Posterior) -> Verdict:
    """The verdict and its figures from a posterior (never contradicting one another)."""
    tail = (1 - CREDIBLE) / 2
    p_benefit = post.probability_of_benefit
    p_meaningful = post.probability_of_reduction(MEANINGFUL_THRESHOLD)
    if p_benefit >= LIKELY:
        verdict = "likely_helps"
    elif p_meaningful <= 1 - LIKELY:
        verdict = "likely_no_meaningful_effect"
    else:
        verdict = "inconclusive"
    return Verdict(
        verdict=verdict,
        probability_of_benefit=p_benefit,
        probability_of_meaningful_benefit=p_meaningful,
        percent_change=post.percent(0.5),
        percent_change_low=post.percent(tail),
        percent_change_high=post.percent(1 - tail),
        dose_mg=post.dose_mg,
    )


# -- words ------------------------------------------------------------------------------
def change_words(pct: float, what: str = "") -> str:
    """-35.2 -> '35% fewer'; 12 -> '12% more'; beyond +300% as 'N times as many'."""
    noun = f" {what}" if what else ""
    if pct > 300:
        return f"{1 + pct / 100:.0f} times as many{noun}"
    if round(pct) == 0:
        return f"about as many{noun}" if what else "no change"
    return f"{abs(pct):.0f}% {'fewer' if pct < 0 else 'more'}{noun}"


def chance_words(p: float) -> str:
    """0.9995 -> 'over 99%' (never a rounded 100% or 0%), 0.42 -> '42%'."""
    pct = 100 * p
    if pct > 99:
        return "over 99%"
    if pct < 1:
        return "under 1%"
    return f"{pct:.0f}%"


def sentence(v: Verdict, what: str = "symptom events", *, randomized: bool = False) -> str:
    """The plain-language verdict, design and open-label caveat included."""
    if randomized:
        design = (
            " (Randomized on/off self-trial. It is open label: knowing when you took magnesium can still "
            "colour what you log.)"
        )
    else:
        design = (
            " (Observational: you chose when to take magnesium, so anything that changed at the same time can "
            "look like an effect; a randomized plan, `twitchlog trial plan`, answers properly.)"
        )
    if v.verdict == "not_enough_data":
        return f"Not enough data yet to say whether magnesium changes your {what}. {v.reason or ''}".strip() + design
    if v.verdict == "cannot_estimate":
        return f"Cannot estimate the effect on your {what} yet: {v.reason}" + design
    assert v.percent_change is not None and v.percent_change_low is not None and v.percent_change_high is not None
    assert v.probability_of_benefit is not None and v.probability_of_meaningful_benefit is not None
    dose = f"{v.dose_mg:.0f} mg/day" if v.dose_mg else "magnesium"
    level = f"{v.credible_level:.0%}"
    threshold = f"{v.meaningful_threshold:.0%}"
    chances = (
        f"Chance that magnesium reduced your {what}: {chance_words(v.probability_of_benefit)}; "
        f"that it cut them by at least {threshold}: {chance_words(v.probability_of_meaningful_benefit)}."
    )
    span = f"{change_words(v.percent_change_low)} to {change_words(v.percent_change_high)}"
    if v.verdict == "likely_helps":
        head = (
            f"Likely helps: on magnesium ({dose}) you logged about {change_words(v.percent_change, what)} "
            f"(likely between {change_words(v.percent_change_high)} and {change_words(v.percent_change_low)}; "
            f"{level} interval)."
        )
    elif v.verdict == "likely_no_meaningful_effect":
        head = (
            f"Likely no meaningful effect: at {dose} your {what} changed by {change_words(v.percent_change)} "
            f"(likely from {span}; {level} interval), short of a {threshold} reduction."
        )
    else:
        head = (
            f"Inconclusive so far: the effect of {dose} on your {what} is likely somewhere from {span} "
            f"({level} interval)."
        )
    return f"{head} {chances}{design}"
