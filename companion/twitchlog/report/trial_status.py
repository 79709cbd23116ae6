"""The current trial plan, and where it stands on a given day: today's assignment, adherence, days left.

Adherence covers the completed days only (today is not over yet).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from twitchlog.intake.doses import dose_status
from twitchlog.intake.entries import daily_intake, supplement_by_origin
from twitchlog.stats.sequential import Look, look
from twitchlog.stats.stopping import CONTINUE
from twitchlog.stats.trial import ON_FRACTION, Adherence, Plan, adherence
from twitchlog.store.db import Store
from twitchlog.store.trials import current_plan_json


def current_plan(store: Store) -> Plan | None:
    """The plan being followed, or None."""
    text = current_plan_json(store)
    return None if text is None else Plan.from_json(text)


@dataclass
class TrialStatus:
    today: dt.date
    phase: str  # "not started", "running" or "finished"
    block: int | None  # from 1; None outside the plan
    on: bool | None  # today's assignment; None outside the plan
    taken_today_mg: float
    days_left: int  # today included
    starts_in_days: int
    adherence: Adherence
    # Today's supplement mg by origin: "button" (a dose pressed on the device), "manual" (`intake add`), an import.
    taken_today_by: dict[str, float] = field(default_factory=dict)
    pending_doses: int = 0  # button doses synced but not intake: no default product set

    @property
    def pair(self) -> int | None:
        return None if self.block is None else (self.block - 1) // 2 + 1

    def dose_logged_today(self, plan: Plan) -> bool | None:
        """On an 'on' day: is enough of the dose logged (ON_FRACTION of it) yet? None on other days."""
        if self.on is not True or self.phase != "running":
            return None
        return self.taken_today_mg >= ON_FRACTION * plan.dose_mg

    def to_dict(self, plan: Plan) -> dict:
        on = self.on
        return {
            "today": self.today.isoformat(),
            "phase": self.phase,
            "block": self.block,
            "pair": self.pair,
            "on": on,
            "take": on,
            "dose_mg": (plan.dose_mg if on else 0.0) if on is not None else None,
            "form": plan.form,
            "taken_today_mg": self.taken_today_mg,
            "taken_today_by": self.taken_today_by,
            "dose_logged_today": self.dose_logged_today(plan),
            "pending_doses": self.pending_doses,
            "days_left": self.days_left,
            "starts_in_days": self.starts_in_days,
            "adherence": self.adherence.to_dict(),
        }


def trial_status(store: Store, plan: Plan, today: dt.date) -> TrialStatus:
    last_done = min(today - dt.timedelta(days=1), plan.end)
    if last_done >= plan.start:
        daily = daily_intake(store, plan.start, last_done)
    else:
        daily = pd.DataFrame({"supp_mg": pd.Series([], dtype=float)}, index=pd.DatetimeIndex([], name="date"))
    block = plan.block_of(today)
    by_origin = supplement_by_origin(store, today)
    if today < plan.start:
        phase, days_left = "not started", plan.days
    elif today > plan.end:
        phase, days_left = "finished", 0
    else:
        phase, days_left = "running", (plan.end - today).days + 1
    return TrialStatus(
        today=today,
        phase=phase,
        block=None if block is None else block + 1,
        on=None if block is None else bool(plan.blocks[block]),
        taken_today_mg=sum(by_origin.values()),
        days_left=days_left,
        starts_in_days=(plan.start - today).days if phase == "not started" else 0,
        adherence=adherence(plan, daily),
        taken_today_by=by_origin,
        pending_doses=dose_status(store).pending,
    )


def pairs_completed(plan: Plan, today: dt.date) -> int:
    """Pairs of blocks whose last day is before `today` (the calendar, not adherence)."""
    return max(0, min(plan.pairs, (today - plan.start).days // (2 * plan.block_days)))


def stopping_look(store: Store, plan: Plan, today: dt.date, *, now: float | None = None) -> Look:
    """The plan's stopping rule applied after the last complete pair (all symptom kinds combined)."""
    from datetime import datetime

    from twitchlog.report import dataset

    done = pairs_completed(plan, today)
    through = plan.start + dt.timedelta(days=2 * done * plan.block_days - 1)
    if now is None:
        now = datetime.combine(today, dt.time(12)).astimezone().timestamp()
    try:
        data = dataset.build(store, now=now)
    except ValueError as e:
        return Look(done, through, CONTINUE, None, None, None, str(e))
    return look(plan, data.daily(None), done, plan.rule)


def size_for_user(store: Store, dose_mg: float, *, now: float | None = None, runs: int = 16):  # noqa: ANN201
    """`sizing.size_trial` on the user's tracked days so far (all kinds combined; none yet is fine)."""
    import numpy as np

    from twitchlog.report import dataset
    from twitchlog.stats.sizing import size_trial

    try:
        daily = dataset.build(store, now=now).daily(None)
        counts = daily.loc[daily["tracked"], "events"].to_numpy()
    except ValueError:  # no events yet
        counts = np.array([], dtype=float)
    return size_trial(counts, dose_mg=dose_mg, runs=runs)
