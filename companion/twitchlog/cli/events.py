"""`twitchlog events ...`: list, add, annotate, tracking gaps, CSV import."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from twitchlog.cli.common import Settings, out, print_json
from twitchlog.errors import UserError
from twitchlog.firmware.protocol import KIND_DOSE
from twitchlog.kinds import DOSE, KIND_CODES, kind_code, kind_name
from twitchlog.timefmt import iso_utc, local, parse_when, require_past

if TYPE_CHECKING:
    from twitchlog.store.db import Event

KINDS_HELP = ", ".join(KIND_CODES)


@click.group()
def events() -> None:
    """Symptom events: list, add, annotate, mark tracking gaps, import."""


@events.command("list")
@click.option("--since", metavar="TIME", help="from this local date/time (e.g. 2026-11-01, today, yesterday)")
@click.option("--until", metavar="TIME", help="before this local date/time")
@click.option("--kind", "kinds", multiple=True, help=f"only this kind (repeatable): {KINDS_HELP}, dose")
@click.option("--limit", type=click.IntRange(min=1), help="only the newest N")
@click.option("--json", "as_json", is_flag=True, help="print JSON (UTC times)")
@click.pass_obj
def list_events(
    settings: Settings, since: str | None, until: str | None, kinds: tuple[str, ...], limit: int | None, as_json: bool
) -> None:
    """List symptom events and doses logged with the button, oldest first (undone presses are left out).

    A dose is not a symptom: the analysis never counts it. Its note says
    which intake entry it became (see `twitchlog intake default`).
    """
    from twitchlog.intake.doses import dose_entries

    with settings.store() as store:
        found = store.events(
            since=parse_when(since, what="--since") if since else None,
            until=parse_when(until, what="--until", end_of_day=True) if until else None,
            kinds=[_kind_filter(k) for k in kinds],
            doses=True,
        )
        intake_of = dose_entries(store)
    if limit:
        placed = [e for e in found if e.utc is not None]
        found = placed[-limit:]  # the newest N with a known time
    if as_json:
        return print_json(
            [
                {**e.to_dict(), "kind": kind_name(e.kind), "time": iso_utc(e.utc), **_dose_fields(e, intake_of)}
                for e in found
            ]
        )
    table = Table("id", "time", "kind", "severity", "site", "note", "source", "time quality")
    for e in found:
        note = e.note or ""
        if e.kind == KIND_DOSE:
            entry = _dose_fields(e, intake_of).get("intake_id")
            note = f"intake #{entry}" if entry else "not intake yet (see `intake default`)"
        table.add_row(
            str(e.id),
            local(e.utc),
            kind_name(e.kind),
            str(e.severity or ""),
            e.body_site or "",
            note,
            e.source if e.seq is None else f"device #{e.seq}",
            e.time_quality,
        )
    out.print(table)
    out.print(f"{len(found)} event(s)")


def _kind_filter(name: str) -> int:
    return KIND_DOSE if name.strip().lower() == DOSE else kind_code(name)


def _dose_fields(event: Event, intake_of: dict[tuple[int, int], int]) -> dict:
    """For a dose: the intake entry it became (None: not yet, or its time is unknown)."""
    if event.kind != KIND_DOSE or event.device_id is None or event.seq is None:
        return {}
    return {"intake_id": intake_of.get((event.device_id, event.seq))}


@events.command("add")
@click.argument("kind")
@click.option("--at", "when", default="now", show_default=True, metavar="TIME", help="local date/time it happened")
@click.option("--severity", type=click.IntRange(1, 5), help="1 (mild) to 5 (severe)")
@click.option("--site", help="body site, e.g. 'left calf'")
@click.option("--note", help="free text")
@click.pass_obj
def add_event(
    settings: Settings, kind: str, when: str, severity: int | None, site: str | None, note: str | None
) -> None:
    code = kind_code(kind)
    utc = parse_when(when, what="--at")
    require_past(utc, what="--at")
    with settings.store() as store:
        event_id = store.add_event(utc, code, severity=severity, body_site=site, note=note)
        _warn_stray(store)
    out.print(f"added event {event_id}: {kind_name(code)} at {local(utc)}")


def _warn_stray(store) -> None:  # noqa: ANN001 - a Store
    """Flag events dated far from all the others (a mistyped year or month): the report leaves them out."""
    from twitchlog.cli.common import err, styled
    from twitchlog.report.dataset import STRAY_GAP_DAYS, stray_event_days

    stray = stray_event_days(store)
    if stray:
        shown = ", ".join(str(d) for d in stray[:5]) + (" ..." if len(stray) > 5 else "")
        err.print(
            styled(
                "[yellow]warning:[/] event(s) on {days} lie more than {gap} days from all the others: a mistyped "
                "date? The report leaves them out; check with `twitchlog events list`.",
                days=shown,
                gap=STRAY_GAP_DAYS,
            )
        )


add_event.help = f"Add an event felt while the device was off. KIND is one of: {KINDS_HELP}."


@events.command("note")
@click.argument("event_id", type=int)
@click.option("--severity", type=click.IntRange(1, 5), help="1 (mild) to 5 (severe)")
@click.option("--site", help="body site, e.g. 'left eyelid'")
@click.option("--note", help="free text")
@click.pass_obj
def note_event(settings: Settings, event_id: int, severity: int | None, site: str | None, note: str | None) -> None:
    """Annotate event EVENT_ID (see `events list`) with severity, body site or a note."""
    if severity is None and site is None and note is None:
        raise UserError("give at least one of --severity, --site, --note")
    with settings.store() as store:
        store.annotate(event_id, severity=severity, body_site=site, note=note)
    out.print(f"event {event_id} annotated")


@events.command("gap")
@click.argument("start", required=False)
@click.argument("end", required=False)
@click.option("--note", help="why, e.g. 'travelling, device at home'")
@click.option("--list", "show", is_flag=True, help="list the gaps instead")
@click.option("--json", "as_json", is_flag=True, help="with --list: print JSON")
@click.pass_obj
def gap(settings: Settings, start: str | None, end: str | None, note: str | None, show: bool, as_json: bool) -> None:
    """Mark START..END (local dates/times; a date alone includes that whole day) as not tracked.

    Days not tracked are left out of the analysis.

    A day without presses is only a day without symptoms if the device was worn.
    Example: twitchlog events gap 2026-11-03 2026-11-06 --note "device at home"
    """
    with settings.store() as store:
        if show:
            rows = [
                {"id": g["id"], "start": iso_utc(g["start_utc"]), "end": iso_utc(g["end_utc"]), "note": g["note"]}
                for g in store.gaps()
            ]
            if as_json:
                return print_json(rows)
            table = Table("id", "from", "to", "note")
            for g in store.gaps():
                table.add_row(str(g["id"]), local(g["start_utc"]), local(g["end_utc"]), g["note"] or "")
            out.print(table)
            return
        if not (start and end):
            raise UserError("give START and END, e.g. `twitchlog events gap 2026-11-03 2026-11-06`, or --list")
        start_utc = parse_when(start, what="START")
        end_utc = parse_when(end, what="END", end_of_day=True)  # a date alone means the whole day
        gap_id = store.add_gap(start_utc, end_utc, note)
    out.print(f"gap {gap_id} recorded: not tracked from {local(start_utc)} to {local(end_utc)}")


@events.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def import_events(settings: Settings, path: Path) -> None:
    """Import manual events from a CSV with columns time,kind[,severity][,note][,body_site].

    \b
    time: ISO date and time, local unless it has an offset
    kind: twitch, cramp, ... (see `events add --help`)
    The whole file is checked first; a bad row refuses it all, naming the
    line. Importing the same file again adds nothing.
    """
    from twitchlog.events.importer import import_events_csv

    with settings.store() as store:
        added, present = import_events_csv(store, path)
        _warn_stray(store)
    out.print(f"{path}: {added} event(s) imported, {present} already present")
