"""One look of the stopping rule (`stopping.StoppingRule`): analyse the data up to a pair's end and decide."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pandas as pd

from twitchlog.stats.analysis import analyze
from twitchlog.stats.stopping import CONTINUE, STOP_FUTILE, STOP_HELPS, StoppingRule
from twitchlog.stats.trial import Plan
from twitchlog.stats.verdict import MEANINGFUL_THRESHOLD


@dataclass
class Look:
    pairs_done: int
    through: dt.date  # the last day analysed (the end of the last complete pair)
    decision: str
    probability_of_benefit: float | None
    probability_of_meaningful_benefit: float | None
    percent_change: float | None
    reason: str

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["through"] = self.through.isoformat()
        return d


def look(plan: Plan, daily: pd.DataFrame, pairs_done: int, rule: StoppingRule | None = None) -> Look:
    """Apply the rule to `daily` (the analysis input) cut at the end of pair `pairs_done` of `plan`."""
    rule = rule or StoppingRule()
    through = plan.start + dt.timedelta(days=2 * pairs_done * plan.block_days - 1)
    if pairs_done < rule.min_pairs:
        return Look(
            pairs_done, through, CONTINUE, None, None, None, f"the first look is after {rule.min_pairs} complete pairs"
        )
    cut = daily.loc[: pd.Timestamp(through)]
    r = analyze(cut, plan, lag_profile=False, n_rerandomizations=199)
    post = r.posterior
    early = {"days", "events", "dose contrast"}
    blocked = [s.message for s in r.sufficiency if s.blocking and s.what in early]
    if post is None or blocked or r.verdict.verdict == "cannot_estimate":
        why = " ".join(blocked) or (r.verdict.reason or "no estimate yet")
        return Look(pairs_done, through, CONTINUE, None, None, None, why)
    p_b = post.probability_of_benefit
    p_m = post.probability_of_reduction(MEANINGFUL_THRESHOLD)
    decision = rule.decide(pairs_done, p_b, p_m)
    reason = {
        STOP_HELPS: f"chance of benefit {p_b:.1%} reached the plan's stopping bar of {rule.stop_benefit:.0%}",
        STOP_FUTILE: (
            f"chance of at least {MEANINGFUL_THRESHOLD:.0%} fewer events {p_m:.1%} fell to the plan's bar of "
            f"{rule.stop_futility:.0%}"
        ),
        CONTINUE: (
            f"chance of benefit {p_b:.0%} (stop at {rule.stop_benefit:.0%}), of at least "
            f"{MEANINGFUL_THRESHOLD:.0%} fewer {p_m:.0%} (stop at {rule.stop_futility:.0%} or below)"
        ),
    }[decision]
    return Look(pairs_done, through, decision, p_b, p_m, post.percent(0.5), reason)
