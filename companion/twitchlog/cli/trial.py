"""`twitchlog trial ...`: plan a randomized N-of-1 trial, follow it, cancel it.

The defaults, and why they are what they are, live in `twitchlog.stats.plan_defaults`.
`--pairs` and `--block-days` shorten a plan; the command then says what that
costs.  "Today" is the system date; the hidden `--today` option (or the
`TWITCHLOG_TODAY` variable), an ISO date, overrides it, for tests only.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import click
from rich.table import Table
from rich.text import Text

from twitchlog.cli.common import Settings, err, out, print_json, styled
from twitchlog.errors import UserError
from twitchlog.stats.plan_defaults import DEFAULT_BLOCK_DAYS, DEFAULT_DOSE_MG, DEFAULT_FORM, DEFAULT_PAIRS

if TYPE_CHECKING:
    from twitchlog.stats.trial import Adherence, Plan

_today_option = click.option(
    "--today",
    "today_text",
    hidden=True,
    envvar="TWITCHLOG_TODAY",
    metavar="DATE",
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
    from twitchlog.magnesium import MAX_ENTRY_MG, parse_amount

    if text.strip().startswith("-"):
        raise UserError(f"--dose {text}: the dose must be above 0 mg")
    try:
        mg = parse_amount(text)
    except UserError:
        raise UserError(f"--dose {text!r}: expected elemental mg, e.g. 200 or 200mg") from None
    if not mg > 0:
        raise UserError(f"--dose {text}: the dose must be above 0 mg")
    if mg > MAX_ENTRY_MG:
        raise UserError(
            f"--dose {text}: {mg:g} mg elemental a day looks wrong (give elemental mg, as US labels state it)"
        )
    return mg


def _form(text: str) -> str:
    from twitchlog.magnesium import KNOWN_FORMS_HELP, canonical_form

    form = canonical_form(text)
    if form is None:
        raise UserError(f"--form {text!r}: unknown magnesium form; known: {KNOWN_FORMS_HELP}")
    return form


def _mg(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _span(start: dt.date, end: dt.date) -> str:
    return f"{start:%Y-%m-%d} – {end:%m-%d}" if start.year == end.year else f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


@click.group()
def trial() -> None:
    """Randomized N-of-1 trial: magnesium on and off in random order, then an exact test."""


@trial.command("plan")
@click.option("--start", metavar="DATE", help="first day (ISO date, 'today' or 'tomorrow')  [default: tomorrow]")
@click.option(
    "--pairs",
    type=click.IntRange(1, 100),
    default=DEFAULT_PAIRS,
    show_default=True,
    help="pairs of blocks; each pair has one on and one off block, in random order",
)
@click.option(
    "--block-days", type=click.IntRange(1, 60), default=DEFAULT_BLOCK_DAYS, show_default=True, help="days per block"
)
@click.option(
    "--dose",
    "dose_text",
    default=_mg(DEFAULT_DOSE_MG),
    show_default=True,
    metavar="MG",
    help="elemental magnesium per 'on' day, e.g. 200 or 200mg",
)
@click.option(
    "--form", "form_text", default=DEFAULT_FORM, show_default=True, help="supplement form, e.g. glycinate, citrate"
)
@click.option(
    "--seed", type=click.IntRange(min=0), help="random seed (default: drawn; stored with the plan either way)"
)
@click.option("--replace", is_flag=True, help="replace the current plan (it is kept, marked cancelled)")
@click.option(
    "--size/--no-size",
    default=True,
    show_default=True,
    help="size the trial to your own rate and variability (simulates 3-, 4- and 7-day blocks; about 10-30 s) "
    "and pick the block length and pairs unless you gave them; --no-size keeps the defaults below",
)
@click.option("--json", "as_json", is_flag=True, help="print the plan as JSON")
@_today_option
@click.pass_obj
def plan_command(
    settings: Settings,
    start: str | None,
    pairs: int,
    block_days: int,
    dose_text: str,
    form_text: str,
    seed: int | None,
    replace: bool,
    size: bool,
    as_json: bool,
    today_text: str | None,
) -> None:
    """Make and store a randomized on/off schedule (the current plan).

    \b
    It first simulates your own event rate and day-to-day variability (from
    your tracked days; typical values if you have none) to pick the block
    length and the number of pairs most likely to give an answer, and shows
    the chance of one week by week. Without sizing (--no-size): 12 pairs of
    7-day blocks (24 weeks). 200 mg elemental magnesium as glycinate on 'on'
    days, starting tomorrow (docs/statistics.md has the power tables).
    Examples:
      twitchlog trial plan
      twitchlog trial plan --pairs 6 --block-days 4 --dose 200 --form glycinate
      twitchlog trial plan --no-size
    """
    from twitchlog.magnesium import UPPER_LEVEL_MG
    from twitchlog.report.trial_status import current_plan, size_for_user
    from twitchlog.stats.trial import make_plan
    from twitchlog.store.trials import save_plan

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
        sizing = None
        if size:
            ctx = click.get_current_context()
            err.print("sizing the trial from your tracked days (simulating 3-, 4- and 7-day blocks) ...")
            sizing = size_for_user(store, dose)
            explicit = {
                name
                for name in ("pairs", "block_days")
                if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
            }
            if "block_days" not in explicit:
                block_days = sizing.best_block_days
            if "pairs" not in explicit:
                weeks = sizing.weeks_to(block_days, 0.3) or sizing.weeks[-1]
                pairs = max(1, -(-weeks * 7 // (2 * block_days)))
        plan = make_plan(first, pairs=pairs, block_days=block_days, dose_mg=dose, form=form, seed=seed)
        plan_id = save_plan(store, plan.to_json())
    if as_json:
        extra = {"sizing": sizing.to_dict()} if sizing is not None else {}
        return print_json({"id": plan_id, **plan.describe(), **extra})
    if sizing is not None:
        _print_sizing(sizing)
    _print_schedule(plan)
    out.print(
        f"plan {plan_id} stored: {plan.pairs} pairs of {plan.block_days}-day blocks, {plan.days} days "
        f"from {plan.start} to {plan.end}, seed {plan.seed}"
        + (f" (replaced the plan from {existing.start})" if existing is not None else ""),
        highlight=False,
    )
    out.print(
        "log every dose with `twitchlog intake add` (or the button: `twitchlog intake default`); "
        "`twitchlog trial status` tells you what to do each day",
        highlight=False,
    )
    if plan.start < today:
        days = (today - plan.start).days
        err.print(
            styled("[yellow]warning:[/] the plan started {days} day(s) ago: only randomize before you start", days=days)
        )
    if dose > UPPER_LEVEL_MG:
        err.print(
            styled(
                "[yellow]warning:[/] {dose} mg/day is above the {ul} mg/day supplemental upper level for adults",
                dose=_mg(dose),
                ul=UPPER_LEVEL_MG,
            )
        )
    note = plan.power_note()
    if note:
        err.print(styled("[yellow]note:[/] {note}", note=note))


def _print_sizing(sizing) -> None:  # noqa: ANN001 - a stats.sizing.Sizing
    source = (
        f"your {sizing.tracked_days} tracked days: {sizing.rate:.1f} events/day"
        if sizing.from_user
        else f"defaults ({sizing.rate:g} events/day)"
    )
    table = Table(title=f"Chance of a conclusive answer at {_mg(sizing.dose_mg)} mg/day, sized from {source}")
    table.add_column("weeks")
    for block in sizing.chance:
        for reduction in sizing.chance[block]:
            table.add_column(f"{block}-day blocks, {reduction:.0%} fewer", justify="right")
    for i, week in enumerate(sizing.weeks):
        if week % 4:
            continue
        cells = [str(week)]
        for per in sizing.chance.values():
            cells += [f"{chances[i]:.0%}" for chances in per.values()]
        table.add_row(*cells)
    out.print(table)
    for note in sizing.notes:
        out.print(styled("[yellow]note:[/] {note}", note=note))
    best = sizing.best_block_days
    reach = sizing.weeks_to(best, 0.3)
    out.print(
        f"most likely to give an answer: {best}-day blocks; a 30% reduction is found "
        + (f"by week {reach} in 8 of 10 trials" if reach else "in fewer than 8 of 10 trials even after 36 weeks"),
        highlight=False,
    )


def _print_schedule(plan: Plan, adh: Adherence | None = None, today: dt.date | None = None) -> None:
    table = Table(title=f"N-of-1 plan: {_mg(plan.dose_mg)} mg {plan.form} on 'on' days")
    for name in ("block", "pair", "dates", "magnesium") + (("adherent", "status") if adh is not None else ()):
        table.add_column(name, no_wrap=name in ("dates", "magnesium", "status"))
    for row in plan.block_rows():
        start, end = dt.date.fromisoformat(row["start"]), dt.date.fromisoformat(row["end"])
        what = styled("[green]ON[/] {mg} mg", mg=_mg(plan.dose_mg)) if row["on"] else styled("[dim]off[/]")
        cells: list[str | Text] = [str(row["block"]), str(row["pair"]), _span(start, end), what]
        if adh is not None:
            b = adh.blocks[row["block"] - 1]
            cells.append(f"{b.days_adherent}/{b.days_elapsed}" if b.days_elapsed else "–")
            today_mark = "[bold]◀ today[/] " if today is not None and start <= today <= end else ""
            cells.append(styled(today_mark + "{status}", status=b.status))
        table.add_row(*cells)
    out.print(table)


@trial.command("status")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@_today_option
@click.pass_obj
def status_command(settings: Settings, as_json: bool, today_text: str | None) -> None:
    """Today's assignment (take or not), adherence per block and overall, days left.

    A day counts as adherent when an 'on' day has at least 80% of the dose
    logged (with `intake add`, or pressed on the device: see `intake
    default`) and an 'off' day has no supplemental magnesium. Adherence
    covers the days before today; today is not over. Today's line says
    whether the dose is logged yet, and how.
    """
    from twitchlog.report.trial_status import current_plan, stopping_look, trial_status
    from twitchlog.stats.trial import FOLLOWED_FRACTION, ON_FRACTION

    today = _today(today_text)
    with settings.store() as store:
        plan = current_plan(store)
        if plan is None:
            raise UserError("no current trial plan; make one with `twitchlog trial plan`")
        status = trial_status(store, plan, today)
        stop = stopping_look(store, plan, today) if status.phase != "not started" else None
    adh = status.adherence
    if as_json:
        return print_json(
            {"plan": plan.describe(), **status.to_dict(plan), "stopping": stop.to_dict() if stop else None}
        )
    _print_schedule(plan, adh, today)
    taken = status.taken_today_mg
    if status.phase == "not started":
        first = "ON: take" if plan.blocks[0] else "off: no"
        out.print(
            f"the plan starts {plan.start} (in {status.starts_in_days} day(s)); its first block is {first} magnesium",
            highlight=False,
        )
    elif status.phase == "finished":
        out.print(f"the plan finished on {plan.end}; `twitchlog report` analyses it", highlight=False)
    elif status.on:
        need = ON_FRACTION * plan.dose_mg
        done = f"logged so far today: {_mg(taken)} mg{_by(status.taken_today_by)}" + (
            " (enough)" if status.dose_logged_today(plan) else f" (log at least {_mg(need)} mg)"
        )
        out.print(
            styled(
                "today {today} (block {block}, pair {pair}): [bold green]TAKE[/] {mg} mg "
                "elemental magnesium ({form}); {done}",
                today=today,
                block=status.block,
                pair=status.pair,
                mg=_mg(plan.dose_mg),
                form=plan.form,
                done=done,
            )
        )
    else:
        warn = "; [yellow]{taken} mg logged today{by}: an off day should have none[/]" if taken > 0 else ""
        out.print(
            styled(
                "today {today} (block {block}, pair {pair}): [bold]DON'T TAKE[/] magnesium supplements (food is fine)"
                + warn,
                today=today,
                block=status.block,
                pair=status.pair,
                taken=_mg(taken),
                by=_by(status.taken_today_by),
            )
        )
    if status.pending_doses:
        err.print(
            styled(
                "[yellow]note:[/] {n} dose(s) pressed on the device are not counted yet: no default product; "
                "run `twitchlog intake default PRODUCT`",
                n=status.pending_doses,
            )
        )
    if adh.days_elapsed:
        overall = adh.overall or 0.0
        verdict = (
            "followed"
            if adh.followed
            else f"below {FOLLOWED_FRACTION:.0%}: non-adherence dilutes the effect toward none"
        )
        out.print(
            f"adherence so far: {adh.days_adherent}/{adh.days_elapsed} days ({overall:.0%}, {verdict}); "
            f"on days {adh.on_adherent}/{adh.on_days}, off days {adh.off_adherent}/{adh.off_days}",
            highlight=False,
        )
    else:
        out.print("adherence so far: no completed plan days yet", highlight=False)
    if status.phase == "running":
        out.print(f"days left: {status.days_left} (today included), until {plan.end}", highlight=False)
    if stop is not None:
        words = {
            "continue": "[bold]continue[/]",
            "stop_likely_helps": "[bold green]stop: likely helps[/]",
            "stop_unlikely_to_help": "[bold]stop: unlikely to help meaningfully[/]",
        }[stop.decision]
        out.print(
            styled(
                "stopping rule after {pairs} complete pair(s), through {through}: " + words + " ({reason})",
                pairs=stop.pairs_done,
                through=stop.through,
                reason=stop.reason,
            )
        )


_ORIGIN_WORDS = {"button": "with the button", "manual": "by hand"}


def _by(by_origin: dict[str, float]) -> str:
    """ ", with the button" / ", by hand" / ", 100 mg with the button and 100 mg by hand"; "" when nothing."""
    words = [_ORIGIN_WORDS.get(origin, f"from the {origin} import") for origin in by_origin]
    if not words:
        return ""
    if len(words) == 1:
        return ", " + words[0]
    return ", " + " and ".join(f"{_mg(mg)} mg {w}" for mg, w in zip(by_origin.values(), words, strict=True))


@trial.command("cancel")
@click.pass_obj
def cancel_command(settings: Settings) -> None:
    """Stop following the current plan (it stays stored, marked cancelled)."""
    from twitchlog.report.trial_status import current_plan
    from twitchlog.store.trials import cancel_plan

    with settings.store() as store:
        plan = current_plan(store)
        if plan is None or not cancel_plan(store):
            raise UserError("no current trial plan to cancel")
    out.print(f"cancelled the plan {plan.start} to {plan.end}; `twitchlog trial plan` makes a new one", highlight=False)
