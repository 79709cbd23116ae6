"""Times the user types and reads: local time in, local time out, UTC stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twitchlog.errors import UserError


def parse_when(text: str, *, what: str = "time", end_of_day: bool = False, relative: bool = True) -> int:
    """Unix seconds of an ISO date/time (naive means local time), `now`, `today` or `yesterday`.

    end_of_day: a date without a time means the end of that day (midnight after it).
    relative: accept now/today/yesterday (not in files, whose import keys must not change).
    """
    key = text.strip().lower()
    now = datetime.now().astimezone()
    if key in ("now", "today", "yesterday") and not relative:
        raise UserError(f"{what} {text!r}: give a date and time, not a word relative to today")
    if key == "now":
        return int(now.timestamp())
    if key in ("today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return int((midnight - timedelta(days=key == "yesterday")).timestamp())
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"{what} {text!r}: expected e.g. 2026-11-20, '2026-11-20 14:30' or 2026-11-20T14:30:00+01:00"
        ) from None
    if end_of_day and len(text.strip()) == 10:  # YYYY-MM-DD
        parsed += timedelta(days=1)
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # local time
    return int(parsed.timestamp())


#: Events may be up to this far ahead of the computer's clock (clock skew, a time typed a little ahead).
FUTURE_TOLERANCE_S = 3600


def future_problem(utc: int | float, *, now: float | None = None, whole_day: bool = False) -> str | None:
    """Why `utc` cannot be a real past time (None when it can).

    An event is refused more than FUTURE_TOLERANCE_S ahead of the clock. With
    `whole_day` (intake: diet apps log the day's meals and doses ahead), any
    time up to the end of today (local) plus the tolerance is accepted.
    """
    current = datetime.now().timestamp() if now is None else float(now)
    limit = current + FUTURE_TOLERANCE_S
    if whole_day:
        today = datetime.fromtimestamp(current).astimezone()
        midnight = today.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        limit = max(limit, midnight.timestamp() + FUTURE_TOLERANCE_S)
    if utc <= limit:
        return None
    ahead = (utc - current) / 86400
    span = f"{ahead:.0f} days" if ahead >= 2 else f"{ahead * 24:.0f} hours"
    return f"{local(utc)} is in the future ({span} from now); check the year and the date"


def require_past(utc: int | float, *, what: str = "time", now: float | None = None, whole_day: bool = False) -> None:
    """UserError when `utc` is in the future (see `future_problem`)."""
    problem = future_problem(utc, now=now, whole_day=whole_day)
    if problem:
        raise UserError(f"{what}: {problem}")


def local(utc: int | float | None) -> str:
    if utc is None:
        return "time unknown"
    return datetime.fromtimestamp(utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(utc: int | float | None) -> str | None:
    if utc is None:
        return None
    return datetime.fromtimestamp(utc, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
