"""What the statistics return: the per-kind result, its lag profile and its sufficiency notes.

Plain data with a JSON form, shared by `analysis` (which fills them), `sufficiency`
(which words them) and the report (which shows them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from twitchlog.stats.verdict import Posterior, Verdict


@dataclass
class Sufficiency:
    what: str  # "days", "events", "dose contrast", "randomization", "precision"
    have: float
    need: float
    message: str
    blocking: bool  # True: the estimate is not worth reading yet

    def to_dict(self) -> dict:
        return {
            "what": self.what,
            "have": self.have,
            "need": self.need,
            "message": self.message,
            "blocking": self.blocking,
        }


@dataclass
class LagTerm:
    term: str
    rate_ratio: float
    ci_low: float
    ci_high: float
    p: float
    p_holm: float
    p_bh: float


@dataclass
class Result:
    """Everything the report needs. Rate ratios are per 100 mg/day of supplemental elemental Mg (see `estimand`)."""

    rate_ratio_per_100mg: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_method: str | None
    p_model: float | None  # the model's EWC-robust p, always reported
    p_randomization: float | None
    n_rerandomizations: int | None
    model: str | None  # "NB2", "quasi-Poisson" or None (no fit)
    t_dof: float | None  # degrees of freedom of the t reference for the CI and model p
    nb_alpha: float | None
    se_method: str | None
    randomized: bool
    design: str  # "randomized N-of-1 (intention to treat)" or "observational"
    wording: str
    days_total: int
    days_used: int
    days_untracked: int
    events: int
    dose_contrast: dict
    rr_at_dose: dict | None
    buildup: dict | None  # 14-day-mean term: extra rate ratio per 100 mg/day sustained over two weeks
    steady_state: dict | None  # exp(b03 + b14): 100 mg/day taken every day for two weeks or more
    sufficient: bool
    reports_effect: bool  # p < 0.05 and enough data: the only case the wording claims an effect
    sufficiency: list[Sufficiency]
    lag_profile: list[LagTerm]
    notes: list[str]
    adherence: dict | None
    series: pd.DataFrame = field(repr=False)
    what: str = "symptom events"  # the events' name in the verdict's sentence
    verdict: Verdict = field(default_factory=lambda: Verdict("not_enough_data"))
    headline: str = ""  # the plain-language verdict: the report's first sentence
    posterior: Posterior | None = field(default=None, repr=False)
    estimand: str = (
        "rate ratio of daily symptom events per 100 mg/day of supplemental elemental magnesium over the same and "
        "previous 3 days (lags 0-3 combined), adjusted for the 14-day mean intake; exposure log2(1 + mg/100), so "
        "the ratio at dose d mg/day is RR ** log2(1 + d/100) (200 mg: RR ** 1.585)"
    )

    def to_dict(self, include_series: bool = False) -> dict:
        d = {
            k: getattr(self, k)
            for k in (
                "rate_ratio_per_100mg",
                "ci_low",
                "ci_high",
                "p_value",
                "p_method",
                "p_model",
                "p_randomization",
                "n_rerandomizations",
                "model",
                "t_dof",
                "nb_alpha",
                "se_method",
                "randomized",
                "design",
                "wording",
                "days_total",
                "days_used",
                "days_untracked",
                "events",
                "dose_contrast",
                "rr_at_dose",
                "buildup",
                "steady_state",
                "sufficient",
                "reports_effect",
                "notes",
                "adherence",
                "estimand",
            )
        }
        v = self.verdict.to_dict()
        d["verdict"] = v.pop("verdict")
        d["headline"] = self.headline
        d["verdict_reason"] = v.pop("reason")
        d["verdict_dose_mg"] = v.pop("dose_mg")
        d.update(v)  # probability_of_benefit, ..._meaningful_benefit, meaningful_threshold, percent_change[_low/_high]
        d["sufficiency"] = [s.to_dict() for s in self.sufficiency]
        d["lag_profile"] = [vars(t).copy() for t in self.lag_profile]
        if include_series:
            s = self.series.reset_index(names="date")
            s["date"] = s["date"].dt.strftime("%Y-%m-%d")
            d["series"] = s.to_dict(orient="records")
        return _jsonable(d)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    return x
