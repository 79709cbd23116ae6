"""Likely days without the device: runs of zero-press days that the user's own rate makes improbable.

A day with no presses counts as a day without symptoms only if the device was
worn. Twelve unmarked days without it (zero presses at a usual 3/day) gave a
median rate ratio of 0.77 under no effect in the issue's reproduction: a bias
toward "benefit" when those days fall on magnesium. We cannot tell a day off
the wrist from a good day, so we name the suspicious runs and ask the user to
mark them (`twitchlog events gap`); they are not dropped silently.

The test: from the tracked days, the daily rate ``m`` and the dispersion
``a`` (moments: var = m + a m^2) give a negative-binomial chance of a zero
day, ``p0 = (1 + a m)^(-1/a)``. A run of ``k`` zero days has chance ``p0^k``
if days were independent. Because bad and good spells cluster, that is too
small; we therefore flag a run only when even ``p0^k`` times the number of
places such a run could start stays below FLAG_CHANCE. The rate comes from
all tracked days, the suspect ones included, which makes ``p0`` larger and
the test conservative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

FLAG_CHANCE = 0.01  # flag a run whose chance anywhere in the series is below 1%
MIN_RUN_DAYS = 2
MAX_DISPERSION = 5.0


@dataclass
class ZeroRun:
    first: str  # ISO dates, inclusive
    last: str
    days: int
    chance: float  # p0**days times the number of places it could start

    def to_dict(self) -> dict:
        return vars(self).copy()


def zero_day_chance(counts: np.ndarray) -> float:
    """Chance of a day with no events at this rate and dispersion (negative binomial by moments)."""
    counts = np.asarray(counts, dtype=float)
    if len(counts) < 2:
        return 1.0
    m = float(counts.mean())
    if m <= 0:
        return 1.0
    a = min(max((float(counts.var(ddof=1)) - m) / (m * m), 0.0), MAX_DISPERSION)
    return math.exp(-m) if a < 1e-9 else (1.0 + a * m) ** (-1.0 / a)


def likely_unworn(daily: pd.DataFrame) -> list[ZeroRun]:
    """Runs of tracked zero-event days improbable at the user's rate (all kinds combined: `events`, `tracked`)."""
    tracked = daily["tracked"].to_numpy(dtype=bool)
    y = daily["events"].to_numpy()
    n = int(tracked.sum())
    p0 = zero_day_chance(y[tracked])
    if n < 7 or p0 >= 1.0:
        return []
    runs = []
    start = None
    dates = pd.DatetimeIndex(daily.index)
    for i in range(len(y) + 1):
        zero = i < len(y) and tracked[i] and y[i] == 0
        if zero and start is None:
            start = i
        elif not zero and start is not None:
            k = i - start
            chance = min(1.0, p0**k * max(n - k + 1, 1))
            if k >= MIN_RUN_DAYS and chance < FLAG_CHANCE:
                runs.append(ZeroRun(str(dates[start].date()), str(dates[i - 1].date()), k, chance))
            start = None
    return runs


def hint(runs: list[ZeroRun]) -> str:
    """One sentence naming the runs and the command that marks them."""
    if not runs:
        return ""
    shown = ", ".join(r.first if r.days == 1 else f"{r.first} to {r.last}" for r in runs[:4])
    more = f" and {len(runs) - 4} more" if len(runs) > 4 else ""
    days = sum(r.days for r in runs)
    example = runs[0]
    return (
        f"{days} day(s) without a single press, unlikely at your usual rate: {shown}{more}. If you were not wearing "
        f"the device, mark them, e.g. `twitchlog events gap {example.first} {example.last}`; otherwise they count as "
        "symptom-free days."
    )
