"""From the store to the analysis: one row per local day, counts per symptom kind, intake, tracked or not.

`build(store)` returns a `Dataset`; `dataset.daily(kind)` is the input of
`analysis.analyze` for one kind (or all kinds combined).

Which days count as tracked:

- The range starts on the day of the first symptom event. Up to 13 days
  before it are added (untracked) when intake was logged then, so the 14-day
  build-up term sees the doses taken before tracking began.
- It ends on the day of the latest event or completed sync; the current day
  is left out until it is over (its count is not complete yet).
- A day overlapped by a tracking gap (`events gap`), even partly, is not
  tracked: its count is incomplete. A day with no presses inside the range
  is a tracked day with no symptoms.

Undone presses are left out (the store does that). Events whose time could
not be placed cannot be given a day; they are counted in `unknown_time`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

import pandas as pd

from twitchlog.intake.doses import dose_status
from twitchlog.intake.entries import daily_intake, day_start, local_date
from twitchlog.kinds import kind_name
from twitchlog.store.db import Store

LEAD_IN_DAYS = 13  # the 14-day mean reaches back 13 days before the day itself
# A few events this far from all the others, before or after them, are taken as mistyped dates:
# they are left out of the window instead of stretching it with empty "tracked" days.
STRAY_GAP_DAYS = 30
STRAY_MAX_EVENTS = 3
ALL = "all"


@dataclass
class Dataset:
    """Daily counts per kind joined with intake, over `first`..`last` (local dates, inclusive)."""

    first: date
    last: date
    counts: pd.DataFrame  # one column per kind name, index: every local date
    intake: pd.DataFrame  # supp_mg, diet_mg, supp_estimated (intake.daily_intake)
    tracked: pd.Series  # bool per date
    kinds: list[str]  # kind names, in code order
    hours: pd.DataFrame  # 24 rows (local hour) x kinds: events with a known time inside the range
    unknown_time: int  # symptom events whose time could not be placed
    estimated_time: int  # events placed by extrapolation or back-dating rather than between anchors
    gap_days: int  # days overlapped by a tracking gap
    lead_in_days: int  # untracked days before the first event (intake only)
    events_outside: int = 0  # events with a known time outside the range (e.g. today so far)
    notes: list[str] = field(default_factory=list)

    def daily(self, kind: str | None = None) -> pd.DataFrame:
        """The analysis input (`analysis.analyze`): events, tracked, supp_mg, diet_mg (+ supp_estimated).

        `kind`: a kind name, or None / "all" for all of this dataset's kinds combined.
        """
        if kind in (None, ALL):
            events = self.counts.sum(axis=1) if len(self.counts.columns) else pd.Series(0, index=self.counts.index)
        else:
            if kind not in self.counts.columns:
                raise KeyError(kind)
            events = self.counts[kind]
        df = pd.DataFrame({"events": events.astype("int64"), "tracked": self.tracked.astype(bool)})
        df = df.join(self.intake[["supp_mg", "diet_mg", "supp_estimated"]])
        df.index.name = "date"
        return df

    @property
    def days(self) -> int:
        return len(self.tracked)

    @property
    def untracked_days(self) -> int:
        return int((~self.tracked).sum())


def _day(utc: int, tz: tzinfo | None) -> date:
    return local_date(utc, tz)


def _hour(utc: int, tz: tzinfo | None) -> int:
    return (datetime.fromtimestamp(utc) if tz is None else datetime.fromtimestamp(utc, tz)).hour


def _table(counter: Counter, index: pd.Index, columns: list[str]) -> pd.DataFrame:
    """A (row key, column) -> count Counter as a full int table over `index` x `columns`."""
    if not counter:
        return pd.DataFrame(0, index=index, columns=columns, dtype="int64")
    keys = list(counter)
    rows = [pd.Timestamp(k[0]) if isinstance(k[0], date) else k[0] for k in keys]
    long = pd.Series(list(counter.values()), index=pd.MultiIndex.from_arrays([rows, [k[1] for k in keys]]))
    table = long.unstack(fill_value=0).reindex(index=index, columns=columns, fill_value=0).astype("int64")
    table.columns.name = None
    return table


def stray_days(days: Iterable[date]) -> set[date]:
    """Event days at either end that sit apart from the rest: likely mistyped dates.

    The event days are split where two consecutive ones are more than
    STRAY_GAP_DAYS apart. Clusters of at most STRAY_MAX_EVENTS events at the
    start or the end are stray (one stray date must not stretch the analysis
    window: 84 days became 621 in the issue's reproduction). Clusters in the
    middle cannot stretch anything and stay.
    """
    per_day = Counter(days)
    ordered = sorted(per_day)
    if not ordered:
        return set()
    clusters: list[list[date]] = [[ordered[0]]]
    for prev, day in zip(ordered, ordered[1:], strict=False):
        if (day - prev).days > STRAY_GAP_DAYS:
            clusters.append([])
        clusters[-1].append(day)
    small = [sum(per_day[d] for d in c) <= STRAY_MAX_EVENTS for c in clusters]
    if all(small):
        return set()
    stray: set[date] = set()
    for order in (range(len(clusters)), range(len(clusters) - 1, -1, -1)):
        for i in order:
            if not small[i]:
                break
            stray.update(clusters[i])
    return stray


def stray_event_days(store: Store, tz: tzinfo | None = None) -> list[date]:
    """The stored symptom events' days that `stray_days` would leave out of the analysis (for import warnings)."""
    days = [_day(e.utc, tz) for e in store.events() if e.utc is not None]
    return sorted(stray_days(days))


def _dose_notes(store: Store) -> list[str]:
    """Doses pressed on the device that the intake (the exposure) lacks: the effect would be misjudged."""
    waiting = dose_status(store)
    notes = []
    if waiting.pending:
        notes.append(
            f"{waiting.pending} dose(s) logged with the button are not in the intake: no default product is set "
            "(`twitchlog intake default PRODUCT` adds them)."
        )
    if waiting.unplaced:
        notes.append(
            f"{waiting.unplaced} dose(s) logged with the button have an unknown time and are not in the intake."
        )
    return notes


def gap_dates(gaps: Iterable[tuple[int, int]], first: date, last: date, tz: tzinfo | None = None) -> set[date]:
    """The local dates in first..last that a gap [start, end) overlaps, even partly."""
    out: set[date] = set()
    for start, end in gaps:
        day = max(first, _day(start, tz))
        stop = min(last, _day(end, tz))
        while day <= stop:
            if start < day_start(day + timedelta(days=1), tz) and end > day_start(day, tz):
                out.add(day)
            day += timedelta(days=1)
    return out


def build(
    store: Store,
    *,
    kinds: Iterable[int] | None = None,
    tz: tzinfo | None = None,
    now: int | float | None = None,
) -> Dataset:
    """The daily dataset of the symptom `kinds` (codes; None: every kind logged).

    `tz`: None is the system's local time (as the CLI shows times). `now`:
    Unix seconds, for tests (default: the clock); the current day is left out.
    Raises ValueError when there is no symptom event with a known time.
    """
    wanted = sorted(set(kinds)) if kinds is not None else None
    events = store.events(kinds=wanted)
    placed = [e for e in events if e.utc is not None]
    unknown = len(events) - len(placed)
    if not placed:
        extra = f" ({unknown} with an unknown time)" if unknown else ""
        raise ValueError("no symptom events with a known time yet" + extra)
    now = datetime.now().timestamp() if now is None else float(now)
    today = _day(int(now), tz)
    notes = []
    future = [e for e in placed if e.utc is not None and _day(e.utc, tz) > today]
    if future:
        notes.append(
            f"{len(future)} event(s) dated in the future (first: {min(_day(e.utc or 0, tz) for e in future)}) "
            "are left out: check the device clock or the date typed (`twitchlog events list`)."
        )
    past = [e for e in placed if e.utc is not None and _day(e.utc, tz) <= today] or placed
    stray = stray_days(_day(e.utc, tz) for e in past if e.utc is not None)
    if stray:
        shown = ", ".join(str(d) for d in sorted(stray)[:5]) + (" ..." if len(stray) > 5 else "")
        notes.append(
            f"{sum(_day(e.utc or 0, tz) in stray for e in past)} event(s) dated far from all the others ({shown}) "
            "are left out of the analysis window: a mistyped date? Check them with `twitchlog events list`."
        )
    inside = [e.utc for e in past if e.utc is not None and _day(e.utc, tz) not in stray]
    row = store.db.execute("SELECT MAX(finished_utc) FROM syncs WHERE outcome = 'ok'").fetchone()
    covered = max(inside + ([row[0]] if row and row[0] else []))
    first_event_day = _day(min(inside), tz)
    last = min(_day(int(covered), tz), today - timedelta(days=1))
    if last < first_event_day:
        last = first_event_day
        notes.append(f"Every event is from today ({first_event_day}); today is shown although it is not over.")
    first_intake = store.db.execute("SELECT MIN(utc) FROM intake").fetchone()[0]
    first = first_event_day
    if first_intake is not None:
        first = max(min(first, _day(first_intake, tz)), first_event_day - timedelta(days=LEAD_IN_DAYS))
    index = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D", name="date")

    names = [kind_name(k) for k in (wanted or sorted({e.kind for e in placed}))]
    per_day: Counter = Counter()
    hours: Counter = Counter()
    outside = 0
    estimated = 0
    for e in placed:
        assert e.utc is not None
        d = _day(e.utc, tz)
        if d in stray or d > today:  # noted above
            continue
        if not first <= d <= last:
            outside += 1
            continue
        name = kind_name(e.kind)
        per_day[(d, name)] += 1
        hours[(_hour(e.utc, tz), name)] += 1
        estimated += e.time_quality in ("extrapolated", "backdated")
    counts = _table(per_day, index, names)
    hour_table = _table(hours, pd.RangeIndex(24, name="hour"), names)

    gapped = gap_dates(((g["start_utc"], g["end_utc"]) for g in store.gaps()), first, last, tz)
    in_gap = index.isin(pd.DatetimeIndex([pd.Timestamp(d) for d in gapped]))
    tracked = pd.Series((index >= pd.Timestamp(first_event_day)) & ~in_gap, index=index, name="tracked")
    lead_in = (first_event_day - first).days
    intake = daily_intake(store, first, last, tz)
    intake.index.name = "date"
    if unknown:
        notes.append(f"{unknown} event(s) have an unknown time (no clock anchor) and are not in the daily counts.")
    if outside:
        notes.append(f"{outside} event(s) fall outside {first}..{last} (today's are counted once the day is over).")
    notes.extend(_dose_notes(store))
    return Dataset(
        first=first,
        last=last,
        counts=counts,
        intake=intake,
        tracked=tracked,
        kinds=names,
        hours=hour_table,
        unknown_time=unknown,
        estimated_time=estimated,
        gap_days=len(gapped),
        lead_in_days=lead_in,
        events_outside=outside,
        notes=notes,
    )
