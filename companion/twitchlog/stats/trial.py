"""Randomized N-of-1 trial plans: on/off blocks in pairs, and adherence.

A plan is `pairs` pairs of `block_days`-day blocks. Within each pair one
block is "on" (take `dose_mg` of elemental magnesium every day) and one is
"off" (no supplement); which comes first is a fair coin per pair, drawn from
`seed`. The pairing balances slow trends (each pair has one of each), and the
coin flips are what the randomization test re-draws (`assignments`).

Pure: no store, no clock. The store keeps `plan.to_json()`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twitchlog.stats.plan_defaults import WELL_POWERED_DAYS
from twitchlog.stats.stopping import StoppingRule

#: An "on" day counts as adherent from this fraction of the planned dose.
ON_FRACTION = 0.8
#: The plan counts as followed when at least this fraction of its elapsed days were adherent.
FOLLOWED_FRACTION = 0.8
#: Enumerate every assignment up to this many; sample beyond it.
MAX_EXACT_ASSIGNMENTS = 4096


@dataclass(frozen=True)
class Plan:
    start: dt.date
    block_days: int
    pairs: int
    dose_mg: float
    form: str
    seed: int
    blocks: list[bool] = field(default_factory=list)  # on/off per block, 2 * pairs entries
    # The pre-specified stopping rule (stopping.StoppingRule as a dict), stored with the plan.
    stopping: dict = field(default_factory=lambda: StoppingRule().to_dict())

    def __post_init__(self) -> None:
        if self.block_days < 1 or self.pairs < 1:
            raise ValueError("a plan needs at least one pair of blocks of at least one day")
        if self.dose_mg <= 0:
            raise ValueError("the dose must be positive")
        if len(self.blocks) != 2 * self.pairs:
            raise ValueError(f"{self.pairs} pairs need {2 * self.pairs} blocks, got {len(self.blocks)}")
        for i in range(self.pairs):
            if self.blocks[2 * i] == self.blocks[2 * i + 1]:
                raise ValueError(f"pair {i + 1} must have one on and one off block")

    # -- calendar -----------------------------------------------------------
    @property
    def days(self) -> int:
        return 2 * self.pairs * self.block_days

    @property
    def end(self) -> dt.date:
        """The last day of the plan (inclusive)."""
        return self.start + dt.timedelta(days=self.days - 1)

    @property
    def first_on(self) -> list[bool]:
        """Per pair: is the first block the "on" one? (The coin flips.)"""
        return [bool(self.blocks[2 * i]) for i in range(self.pairs)]

    def block_of(self, day: dt.date) -> int | None:
        """Index of the block holding `day`, or None outside the plan."""
        offset = (day - self.start).days
        if offset < 0 or offset >= self.days:
            return None
        return offset // self.block_days

    def schedule(self) -> pd.DataFrame:
        """One row per plan day: date index, `block`, `pair`, `on`, `planned_mg`."""
        dates = pd.date_range(pd.Timestamp(self.start), periods=self.days, freq="D")
        block = np.arange(self.days) // self.block_days
        on = np.asarray(self.blocks, dtype=bool)[block]
        return pd.DataFrame(
            {"block": block, "pair": block // 2, "on": on, "planned_mg": np.where(on, float(self.dose_mg), 0.0)},
            index=dates,
        )

    def block_rows(self) -> list[dict]:
        """One dict per block: number and pair (from 1), on/off, first and last day (ISO), dose."""
        rows = []
        for index, on in enumerate(self.blocks):
            first = self.start + dt.timedelta(days=index * self.block_days)
            last = first + dt.timedelta(days=self.block_days - 1)
            rows.append(
                {
                    "block": index + 1,
                    "pair": index // 2 + 1,
                    "on": bool(on),
                    "start": first.isoformat(),
                    "end": last.isoformat(),
                    "dose_mg": self.dose_mg if on else 0.0,
                }
            )
        return rows

    @property
    def rule(self) -> StoppingRule:
        return StoppingRule.from_dict(self.stopping)

    def power_note(self) -> str | None:
        """What a short plan can detect, or None for a plan of the recommended size."""
        if self.days >= WELL_POWERED_DAYS and self.block_days >= 7:
            return None
        return (
            f"{self.days} days of {self.block_days}-day blocks can only detect large effects: at 3 events/day a 30% "
            "reduction per 100 mg is found about 1 time in 4 with 84 days of 4-day blocks, 7 in 10 with 168 days of "
            "7-day blocks (docs/statistics.md)"
        )

    def blocks_for(self, first_on: np.ndarray) -> np.ndarray:
        """Block on/off flags for per-pair coin flips `first_on` (shape (..., pairs))."""
        first_on = np.asarray(first_on, dtype=bool)
        return np.stack([first_on, ~first_on], axis=-1).reshape(*first_on.shape[:-1], 2 * self.pairs)

    # -- storage ------------------------------------------------------------
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["start"] = self.start.isoformat()
        d["blocks"] = [bool(b) for b in self.blocks]
        return d

    def describe(self) -> dict:
        """`to_dict` plus the length, last day and block schedule: what `trial plan --json` prints."""
        return {**self.to_dict(), "days": self.days, "end": self.end.isoformat(), "schedule": self.block_rows()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> Plan:
        return cls(
            start=dt.date.fromisoformat(str(d["start"])),
            block_days=int(d["block_days"]),
            pairs=int(d["pairs"]),
            dose_mg=float(d["dose_mg"]),
            form=str(d["form"]),
            seed=int(d["seed"]),
            blocks=[bool(b) for b in d["blocks"]],
            stopping=StoppingRule.from_dict(d.get("stopping")).to_dict(),
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return cls.from_dict(json.loads(text))


def make_plan(
    start: dt.date,
    pairs: int = 6,
    block_days: int = 4,
    dose_mg: float = 200.0,
    form: str = "glycinate",
    seed: int | None = None,
) -> Plan:
    """A new plan; `seed=None` draws one (and stores it, so the plan can be re-derived)."""
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31))
    rng = np.random.default_rng(seed)
    first_on = rng.integers(0, 2, size=pairs).astype(bool)
    blocks = [bool(b) for b in np.stack([first_on, ~first_on], axis=1).ravel()]
    return Plan(
        start=start, block_days=block_days, pairs=pairs, dose_mg=float(dose_mg), form=form, seed=seed, blocks=blocks
    )


def assignments(pairs: int, rng: np.random.Generator | None = None, n: int = 1999) -> tuple[np.ndarray, bool]:
    """Per-pair coin flips to re-randomize over: all 2**pairs when few enough (exact), else `n` random draws.

    Returns (array of shape (N, pairs), exact).
    """
    if 2**pairs <= MAX_EXACT_ASSIGNMENTS:
        return np.array(list(itertools.product([False, True], repeat=pairs)), dtype=bool).reshape(-1, pairs), True
    rng = rng if rng is not None else np.random.default_rng(0)
    return rng.integers(0, 2, size=(n, pairs)).astype(bool), False


# -- adherence ----------------------------------------------------------------
@dataclass
class BlockAdherence:
    block: int
    pair: int
    on: bool
    start: dt.date
    end: dt.date
    days_elapsed: int  # plan days present in the daily data
    days_adherent: int
    mean_supp_mg: float | None

    @property
    def fraction(self) -> float | None:
        return self.days_adherent / self.days_elapsed if self.days_elapsed else None

    @property
    def status(self) -> str:
        if self.days_elapsed == 0:
            return "upcoming"
        return "complete" if self.days_elapsed == (self.end - self.start).days + 1 else "in progress"


@dataclass
class Adherence:
    blocks: list[BlockAdherence]
    days_elapsed: int
    days_adherent: int
    on_days: int
    on_adherent: int
    off_days: int
    off_adherent: int

    @property
    def overall(self) -> float | None:
        return self.days_adherent / self.days_elapsed if self.days_elapsed else None

    @property
    def followed(self) -> bool:
        return self.days_elapsed > 0 and (self.overall or 0.0) >= FOLLOWED_FRACTION

    def to_dict(self) -> dict:
        return {
            "overall": self.overall,
            "followed": self.followed,
            "days_elapsed": self.days_elapsed,
            "days_adherent": self.days_adherent,
            "on_days": self.on_days,
            "on_adherent": self.on_adherent,
            "off_days": self.off_days,
            "off_adherent": self.off_adherent,
            "blocks": [
                {
                    "block": b.block + 1,
                    "pair": b.pair + 1,
                    "on": b.on,
                    "start": b.start.isoformat(),
                    "end": b.end.isoformat(),
                    "days_elapsed": b.days_elapsed,
                    "days_adherent": b.days_adherent,
                    "fraction": b.fraction,
                    "mean_supp_mg": b.mean_supp_mg,
                    "status": b.status,
                }
                for b in self.blocks
            ],
        }


def adherence(plan: Plan, daily: pd.DataFrame) -> Adherence:
    """Per-block and overall adherence of `daily` (see `analysis.daily_frame`) to `plan`.

    Only plan days present in `daily` count (days still to come are "upcoming").
    """
    idx = pd.DatetimeIndex(daily.index).normalize()
    offset = (idx - pd.Timestamp(plan.start)).days.to_numpy()
    inside = (offset >= 0) & (offset < plan.days)
    offset = offset[inside]
    supp = daily["supp_mg"].to_numpy(dtype=float)[inside]
    supp = np.where(np.isnan(supp), 0.0, supp)
    block = offset // plan.block_days
    on = np.asarray(plan.blocks, dtype=bool)[block]
    ok = np.where(on, supp >= ON_FRACTION * plan.dose_mg, supp <= 0)
    blocks = []
    for b in range(2 * plan.pairs):
        sel = block == b
        start = plan.start + dt.timedelta(days=b * plan.block_days)
        blocks.append(
            BlockAdherence(
                block=b,
                pair=b // 2,
                on=bool(plan.blocks[b]),
                start=start,
                end=start + dt.timedelta(days=plan.block_days - 1),
                days_elapsed=int(sel.sum()),
                days_adherent=int(ok[sel].sum()),
                mean_supp_mg=float(supp[sel].mean()) if sel.any() else None,
            )
        )
    return Adherence(
        blocks=blocks,
        days_elapsed=int(len(ok)),
        days_adherent=int(ok.sum()),
        on_days=int(on.sum()),
        on_adherent=int((ok & on).sum()),
        off_days=int((~on).sum()),
        off_adherent=int((ok & ~on).sum()),
    )


def methods_text(plan: Plan) -> list[str]:
    """CENT 2015 items that a self-run plan can state (design, periods, randomization, blinding)."""
    return [
        f"Design (CENT 5a): N-of-1 trial, {plan.pairs} pairs of {plan.block_days}-day periods, "
        f"{plan.days} days from {plan.start.isoformat()} to {plan.end.isoformat()}.",
        f"Intervention (CENT 5): {plan.dose_mg:g} mg elemental magnesium ({plan.form}) daily in 'on' periods, "
        "no supplemental magnesium in 'off' periods. No washout periods; carry-over is modelled by lagged exposure "
        "(lags 0-3 and a 14-day mean).",
        f"Randomization (CENT 8-10): within each pair the order on/off was a fair coin flip from seed {plan.seed} "
        "(numpy default_rng), generated before the trial and stored with the plan.",
        "Blinding (CENT 11): none; open label, self-assessed outcome (button presses).",
        "Outcome (CENT 6a): daily count of logged symptom events per kind; days marked not tracked excluded.",
        "Analysis (CENT 12): negative-binomial regression, autocorrelation-robust CI; p-value from re-randomizing "
        "the same pair design (intention to treat, planned dose).",
    ]
