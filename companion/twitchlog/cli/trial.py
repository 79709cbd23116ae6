"""`twitchlog trial ...`: plan a randomized N-of-1 trial, follow it, cancel it.

Defaults: 12 pairs of 7-day blocks (168 days), 200 mg elemental magnesium
as glycinate, starting tomorrow.  Why (docs/statistics.md, power table at
3 events/day, true rate ratio 0.70 per 100 mg):

- 6 pairs of 4-day blocks (48 days), the brief's example, detect only large
  effects (power about 0.2 even at 84 days of 4-day blocks);
- 168 days of 7-day blocks reach 0.71, the only design measured near the
  0.75 bar; a 7-day block also holds each weekday exactly once, so on and
  off periods are balanced for day-of-week habits, and a longer block gives
  the lagged (0-3 day) effect time to build up before the switch;
- 200 mg is a common label dose and stays below the 350 mg/day supplemental
  upper level;
- starting tomorrow keeps the randomization before the first trial day
  (CENT 2015 item 8) and spares today's intake from counting against it.

`--pairs` and `--block-days` shorten it; the command then says what that
costs.  "Today" is the system date; the hidden `--today` option (or the
`TWITCHLOG_TODAY` variable), an ISO date, overrides it, for tests only.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click
from rich.table import Table

from .cli_common import Settings, err, out, print_json
from .errors import UserError

if TYPE_CHECKING:
    from .store import Store
    from .trial import Adherence, Plan

DEFAULT_PAIRS = 12
DEFAULT_BLOCK_DAYS = 7
DEFAULT_DOSE_MG = 200.0
DEFAULT_FORM = "glycinate"
#: Below this many days, or with blocks shorter than a week, the plan prints the power caveat.
WELL_POWERED_DAYS = 168

_today_option = click.option(
    "--today", "today_text", hidden=True, envvar="TWITCHLOG_TODAY", metavar="DATE",
    help="for tests: pretend today is DATE (ISO)",
)


def _today(text: str | None) -> dt.date:
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"TWITCHLOG_TODAY/--today {text!r}: expected an ISO date like 2026-11-20") from None


def _start_date(text: str | None, today: dt.date) -> dt.date:
    if text is None:
        return today + dt.timedelta(days=1)
    key = text.strip().lower()
    relative = {"today": 0, "tomorrow": 1}
    if key in relative:
        return today + dt.timedelta(days=relative[key])
    try:
        return dt.date.fromisoformat(key)
    except ValueError:
        raise UserError(f"--start {text!r}: expected a date like 2026-11-23, 'today' or 'tomorrow'") from None


def _dose(text: str) -> float:
    from .intake import MAX_ENTRY_MG, parse_amount

    if text.strip().startswith("-"):
        raise UserError(f"--dose {text}: the dose must be above 0 mg")
    try:
        mg = parse_amount(text)
    except UserError:
        raise UserError(f"--dose {text!r}: expected elemental mg, e.g. 200 or 200mg") from None
    if not mg > 0:
        raise UserError(f"--dose {text}: the dose must be above 0 mg")
    if mg > MAX_ENTRY_MG:
        raise UserError(f"--dose {text}: {mg:g} mg elemental a day looks wrong (give elemental mg, as US labels state it)")
    return mg


def _form(text: str) -> str:
    from .intake import KNOWN_FORMS_HELP, canonical_form

    form = canonical_form(text)
    if form is None:
        raise UserError(f"--form {text!r}: unknown magnesium form; known: {KNOWN_FORMS_HELP}")
    return form


def _mg(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _span(start: dt.date, end: dt.date) -> str:
    return f"{start:%Y-%m-%d} – {end:%m-%d}" if start.year == end.year else f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


def _blocks(plan: Plan) -> list[dict]:
    rows = []
    for b, on in enumerate(plan.blocks):
        start = plan.start + dt.timedelta(days=b * plan.block_days)
        rows.append(
            {
                "block": b + 1,
                "pair": b // 2 + 1,
                "on": bool(on),
                "start": start.isoformat(),
                "end": (start + dt.timedelta(days=plan.block_days - 1)).isoformat(),
                "dose_mg": plan.dose_mg if on else 0.0,
            }
        )
    return rows


def _plan_dict(plan: Plan) -> dict:
    return {**plan.to_dict(), "days": plan.days, "end": plan.end.isoformat(), "schedule": _blocks(plan)}


def _power_note(plan: Plan) -> str | None:
    if plan.days >= WELL_POWERED_DAYS and plan.block_days >= 7:
        return None
    return (
        f"{plan.days} days of {plan.block_days}-day blocks can only detect large effects: at 3 events/day a 30% "
        "reduction per 100 mg is found about 1 time in 4 with 84 days of 4-day blocks, 7 in 10 with 168 days of "
        "7-day blocks (docs/statistics.md)"
    )


@click.group()
def trial() -> None:
    """Randomized N-of-1 trial: magnesium on and off in random order, then an exact test."""


@trial.command("plan")
@click.option("--start", metavar="DATE", help="first day (ISO date, 'today' or 'tomorrow')  [default: tomorrow]")
@click.option("--pairs", type=click.IntRange(1, 100), default=DEFAULT_PAIRS, show_default=True,
              help="pairs of blocks; each pair has one on and one off block, in random order")
@click.option("--block-days", type=click.IntRange(1, 60), default=DEFAULT_BLOCK_DAYS, show_default=True,
              help="days per block")
@click.option("--dose", "dose_text", default=_mg(DEFAULT_DOSE_MG), show_default=True, metavar="MG",
              help="elemental magnesium per 'on' day, e.g. 200 or 200mg")
@click.option("--form", "form_text", default=DEFAULT_FORM, show_default=True, help="supplement form, e.g. glycinate, citrate")
@click.option("--seed", type=click.IntRange(min=0), help="random seed (default: drawn; stored with the plan either way)")
@click.option("--replace", is_flag=True, help="replace the current plan (it is kept, marked cancelled)")
@click.option("--json", "as_json", is_flag=True, help="print the plan as JSON")
@_today_option
@click.pass_obj
def plan_command(
    settings: Settings, start: str | None, pairs: int, block_days: int, dose_text: str, form_text: str,
    seed: int | None, replace: bool, as_json: bool, today_text: str | None,
) -> None:
    """Make and store a randomized on/off schedule (the current plan).

    \b
    Defaults: 12 pairs of 7-day blocks (24 weeks), 200 mg elemental
    magnesium as glycinate on 'on' days, starting tomorrow. Shorter plans
    only detect large effects (docs/statistics.md has the power table).
    Examples:
      twitchlog trial plan
      twitchlog trial plan --pairs 6 --block-days 4 --dose 200 --form glycinate
    """
    from .intake import UPPER_LEVEL_MG
    from .trial import make_plan
    from .trialstore import current_plan, save_plan

    today = _today(today_text)
    first = _start_date(start, today)
    dose = _dose(dose_text)
    form = _form(form_text)
    with settings.store() as store:
        existing = current_plan(store)
        if existing is not None and not replace:
            raise UserError(
                f"a plan is already current ({existing.start} to {existing.end}); see `twitchlog trial status`, "
                "or give --replace to replace it (or `twitchlog trial cancel`)"
            )
        plan = make_plan(first, pairs=pairs, block_days=block_days, dose_mg=dose, form=form, seed=seed)
        plan_id = save_plan(store, plan)
    if as_json:
        return print_json({"id": plan_id, **_plan_dict(plan)})
    _print_schedule(plan)
    out.print(
        f"plan {plan_id} stored: {plan.pairs} pairs of {plan.block_days}-day blocks, {plan.days} days "
        f"from {plan.start} to {plan.end}, seed {plan.seed}"
        + (f" (replaced the plan from {existing.start})" if existing is not None else ""),
        highlight=False,
    )
    out.print("log every dose with `twitchlog intake add`; `twitchlog trial status` tells you what to do each day", highlight=False)
    if plan.start < today:
        err.print(f"[yellow]warning:[/] the plan started {(today - plan.start).days} day(s) ago: only randomize before you start", highlight=False)
    if dose > UPPER_LEVEL_MG:
        err.print(f"[yellow]warning:[/] {_mg(dose)} mg/day is above the {UPPER_LEVEL_MG} mg/day supplemental upper level for adults", highlight=False)
    note = _power_note(plan)
    if note:
        err.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)


def _print_schedule(plan: Plan, adh: Adherence | None = None, today: dt.date | None = None) -> None:
    table = Table(title=f"N-of-1 plan: {_mg(plan.dose_mg)} mg {plan.form} on 'on' days")
    for name in ("block", "pair", "dates", "magnesium") + (("adherent", "status") if adh is not None else ()):
        table.add_column(name, no_wrap=name in ("dates", "magnesium", "status"))
    for row in _blocks(plan):
        start, end = dt.date.fromisoformat(row["start"]), dt.date.fromisoformat(row["end"])
        what = f"[green]ON[/] {_mg(plan.dose_mg)} mg" if row["on"] else "[dim]off[/]"
        cells = [str(row["block"]), str(row["pair"]), _span(start, end), what]
        if adh is not None:
            b = adh.blocks[row["block"] - 1]
            cells.append(f"{b.days_adherent}/{b.days_elapsed}" if b.days_elapsed else "–")
            status = b.status
            if today is not None and start <= today <= end:
                status = f"[bold]◀ today[/] {status}"
            cells.append(status)
        table.add_row(*cells)
    out.print(table)


def _status(store: Store, plan: Plan, today: dt.date) -> dict:
    """Where the plan is on `today`, with adherence over the completed days (today is not over yet)."""
    import pandas as pd

    from .intake import daily_intake, supplement_total
    from .trial import adherence

    last_done = min(today - dt.timedelta(days=1), plan.end)
    if last_done >= plan.start:
        daily = daily_intake(store, plan.start, last_done)
    else:
        daily = pd.DataFrame({"supp_mg": pd.Series([], dtype=float)}, index=pd.DatetimeIndex([], name="date"))
    adh = adherence(plan, daily)
    block = plan.block_of(today)
    taken = supplement_total(store, today)
    if today < plan.start:
        phase, days_left = "not started", plan.days
    elif today > plan.end:
        phase, days_left = "finished", 0
    else:
        phase, days_left = "running", (plan.end - today).days + 1
    on = None if block is None else bool(plan.blocks[block])
    return {
        "today": today.isoformat(),
        "phase": phase,
        "block": None if block is None else block + 1,
        "pair": None if block is None else block // 2 + 1,
        "on": on,
        "take": on,
        "dose_mg": (plan.dose_mg if on else 0.0) if on is not None else None,
        "form": plan.form,
        "taken_today_mg": taken,
        "days_left": days_left,
        "starts_in_days": (plan.start - today).days if phase == "not started" else 0,
        "adherence": adh.to_dict(),
        "_adh": adh,
    }


@trial.command("status")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@_today_option
@click.pass_obj
def status_command(settings: Settings, as_json: bool, today_text: str | None) -> None:
    """Today's assignment (take or not), adherence per block and overall, days left.

    A day counts as adherent when an 'on' day has at least 80% of the dose
    logged with `intake add` and an 'off' day has no supplemental
    magnesium. Adherence covers the days before today; today is not over.
    """
    from .trial import FOLLOWED_FRACTION, ON_FRACTION
    from .trialstore import current_plan

    today = _today(today_text)
    with settings.store() as store:
        plan = current_plan(store)
        if plan is None:
            raise UserError("no current trial plan; make one with `twitchlog trial plan`")
        state = _status(store, plan, today)
    adh: Adherence = state.pop("_adh")
    if as_json:
        return print_json({"plan": _plan_dict(plan), **state})
    _print_schedule(plan, adh, today)
    taken = state["taken_today_mg"]
    if state["phase"] == "not started":
        first = "ON: take" if plan.blocks[0] else "off: no"
        out.print(f"the plan starts {plan.start} (in {state['starts_in_days']} day(s)); its first block is {first} magnesium", highlight=False)
    elif state["phase"] == "finished":
        out.print(f"the plan finished on {plan.end}; `twitchlog report` analyses it", highlight=False)
    elif state["on"]:
        need = ON_FRACTION * plan.dose_mg
        done = f"logged so far today: {_mg(taken)} mg" + (" (enough)" if taken >= need else f" (log at least {_mg(need)} mg)")
        out.print(
            f"today {today} (block {state['block']}, pair {state['pair']}): [bold green]TAKE[/] {_mg(plan.dose_mg)} mg "
            f"elemental magnesium ({plan.form}); {done}",
            highlight=False,
        )
    else:
        warn = f"; [yellow]{_mg(taken)} mg logged today: an off day should have none[/]" if taken > 0 else ""
        out.print(
            f"today {today} (block {state['block']}, pair {state['pair']}): [bold]DON'T TAKE[/] magnesium supplements "
            f"(food is fine){warn}",
            highlight=False,
        )
    if adh.days_elapsed:
        overall = adh.overall or 0.0
        verdict = "followed" if adh.followed else f"below {FOLLOWED_FRACTION:.0%}: non-adherence dilutes the effect toward none"
        out.print(
            f"adherence so far: {adh.days_adherent}/{adh.days_elapsed} days ({overall:.0%}, {verdict}); "
            f"on days {adh.on_adherent}/{adh.on_days}, off days {adh.off_adherent}/{adh.off_days}",
            highlight=False,
        )
    else:
        out.print("adherence so far: no completed plan days yet", highlight=False)
    if state["phase"] == "running":
        out.print(f"days left: {state['days_left']} (today included), until {plan.end}", highlight=False)


@trial.command("cancel")
@click.pass_obj
def cancel_command(settings: Settings) -> None:
    """Stop following the current plan (it stays stored, marked cancelled)."""
    from .trialstore import cancel_plan, current_plan

    with settings.store() as store:
        plan = current_plan(store)
        if plan is None or not cancel_plan(store):
            raise UserError("no current trial plan to cancel")
    out.print(f"cancelled the plan {plan.start} to {plan.end}; `twitchlog trial plan` makes a new one", highlight=False)
