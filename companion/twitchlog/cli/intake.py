"""`twitchlog intake ...`: log magnesium, saved products, imports, list."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from rich.table import Table

from twitchlog.cli.common import Settings, err, out, print_json, styled
from twitchlog.errors import UserError
from twitchlog.intake.entries import SOURCES
from twitchlog.magnesium import KNOWN_FORMS_HELP
from twitchlog.timefmt import iso_utc, local, parse_when, require_past


def _warn(text: str) -> None:
    err.print(styled("[yellow]warning:[/] {text}", text=text))


def _mg(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@click.group()
def intake() -> None:
    """Magnesium intake: log supplements and food, saved products, imports."""


@intake.command("add")
@click.argument("amount", required=False)
@click.option("--form", help=f"supplement form: {KNOWN_FORMS_HELP} (or another name, stored as typed)")
@click.option("--at", "when", default="now", show_default=True, metavar="TIME", help="local date/time taken")
@click.option("--compound", is_flag=True, help="AMOUNT is the compound's weight, not elemental Mg: convert (estimated)")
@click.option("--product", metavar="NAME", help="a saved product (see `intake product add`) instead of AMOUNT")
@click.option("--servings", type=float, help="with --product: how many servings (default 1)")
@click.option("--diet", is_flag=True, help="magnesium from food, not a supplement")
@click.option("--note", help="free text")
@click.pass_obj
def add(
    settings: Settings,
    amount: str | None,
    form: str | None,
    when: str,
    compound: bool,
    product: str | None,
    servings: float | None,
    diet: bool,
    note: str | None,
) -> None:
    """Log magnesium taken: AMOUNT in mg of elemental magnesium, e.g. 200mg.

    \b
    US labels state elemental mg ("Magnesium (as glycinate) 200 mg"): give that.
    With --compound, AMOUNT is the weight of the salt (e.g. 1000 mg of
    magnesium glycinate) and is converted with the elemental % table; the
    entry is marked estimated.
    Examples:
      twitchlog intake add 200mg --form glycinate
      twitchlog intake add 1000mg --form citrate --compound --at "2026-11-20 21:00"
      twitchlog intake add --product "Doctor's Best glycinate" --servings 2
      twitchlog intake add 120mg --diet --note "spinach and almonds"
    """
    from twitchlog.intake.entries import add_intake
    from twitchlog.magnesium import parse_amount

    mg = parse_amount(amount) if amount is not None else None
    utc = parse_when(when, what="--at")
    require_past(utc, what="--at", whole_day=True)
    with settings.store() as store:
        added = add_intake(
            store, mg, form=form, utc=utc, compound=compound, product=product, servings=servings, diet=diet, note=note
        )
    what = f"{_mg(added.elemental_mg)} mg elemental magnesium"
    if added.estimated:
        what += " (estimated from compound weight)"
    form_text = f" as {added.form}" if added.form else ""
    out.print(
        f"added intake {added.entry_id}: {what}{form_text}, {added.source}, at {local(added.utc)}", highlight=False
    )
    if added.source == "supplement":
        out.print(f"supplements that day: {_mg(added.day_supplement_mg)} mg", highlight=False)
    if added.warning:
        _warn(added.warning)


@intake.command("list")
@click.option("--since", metavar="TIME", help="from this local date/time (e.g. 2026-11-01, today)")
@click.option("--until", metavar="TIME", help="before this local date/time")
@click.option("--source", type=click.Choice(SOURCES), help="only supplements or only diet")
@click.option("--daily", is_flag=True, help="daily totals (supplement and diet apart) instead of entries")
@click.option("--json", "as_json", is_flag=True, help="print JSON (UTC times)")
@click.pass_obj
def list_intake(
    settings: Settings, since: str | None, until: str | None, source: str | None, daily: bool, as_json: bool
) -> None:
    """List intake entries, oldest first (mg are elemental; ~ marks estimated)."""
    from twitchlog.intake.entries import daily_intake, entries, local_date

    since_utc = parse_when(since, what="--since") if since else None
    until_utc = parse_when(until, what="--until") if until else None
    with settings.store() as store:
        found = entries(store, since=since_utc, until=until_utc, source=source)
        if daily:
            if not found:
                return out.print("no intake logged in that range")
            first = local_date(since_utc) if since_utc is not None else local_date(found[0].utc)
            last = local_date(until_utc - 1) if until_utc is not None else max(local_date(found[-1].utc), date.today())
            frame = daily_intake(store, first, max(first, last))
    if daily:
        return _print_daily(frame, as_json)
    if as_json:
        return print_json([{**e.to_dict(), "time": iso_utc(e.utc)} for e in found])
    table = Table("id", "time", "source", "mg", "form", "product", "origin", "note")
    for e in found:
        mg = ("~" if e.estimated else "") + _mg(e.elemental_mg)
        product = f"{e.product} x{e.servings:g}" if e.product and e.servings is not None else (e.product or "")
        table.add_row(str(e.id), local(e.utc), e.source, mg, e.form or "", product, e.origin, e.note or "")
    out.print(table)
    out.print(f"{len(found)} entr{'y' if len(found) == 1 else 'ies'}")


def _print_daily(frame, as_json: bool) -> None:  # noqa: ANN001
    import math

    from twitchlog.magnesium import UPPER_LEVEL_MG

    rows = [
        {
            "date": day.date().isoformat(),
            "supp_mg": round(float(r.supp_mg), 1),
            "diet_mg": None if math.isnan(r.diet_mg) else round(float(r.diet_mg), 1),
            "supp_estimated": bool(r.supp_estimated),
        }
        for day, r in frame.iterrows()
    ]
    if as_json:
        return print_json(rows)
    table = Table("date", "supplement mg", "diet mg")
    for r in rows:
        amount = ("~" if r["supp_estimated"] else "") + _mg(r["supp_mg"])
        supp = styled("[yellow]{amount}[/]" if r["supp_mg"] > UPPER_LEVEL_MG else "{amount}", amount=amount)
        table.add_row(r["date"], supp, "" if r["diet_mg"] is None else _mg(r["diet_mg"]))
    out.print(table)
    out.print(f"blank diet: no food data that day; yellow: above the {UPPER_LEVEL_MG} mg supplemental upper level")


@intake.group("product")
def product() -> None:
    """Saved supplement products (elemental mg per serving, as the label states)."""


@product.command("add")
@click.argument("name")
@click.option("--form", help=f"the product's form: {KNOWN_FORMS_HELP}")
@click.option("--mg-per-serving", type=float, required=True, help="elemental magnesium per serving, from the label")
@click.option("--compound", is_flag=True, help="--mg-per-serving is compound weight: convert (estimated)")
@click.pass_obj
def product_add(settings: Settings, name: str, form: str | None, mg_per_serving: float, compound: bool) -> None:
    """Save a product NAME, e.g. intake product add "Doctor's Best glycinate" --form glycinate --mg-per-serving 100."""
    from twitchlog.intake.entries import add_product

    with settings.store() as store:
        saved = add_product(store, name, form, mg_per_serving, compound=compound)
    est = " (estimated)" if saved.estimated else ""
    out.print(f"saved {saved.name!r}: {_mg(saved.mg_per_serving)} mg elemental per serving{est}", highlight=False)


@product.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def product_list(settings: Settings, as_json: bool) -> None:
    """List saved products."""
    from twitchlog.intake.entries import products

    with settings.store() as store:
        found = products(store)
    if as_json:
        return print_json([p.to_dict() for p in found])
    table = Table("name", "form", "mg per serving (elemental)")
    for p in found:
        table.add_row(p.name, p.form or "", ("~" if p.estimated else "") + _mg(p.mg_per_serving))
    out.print(table)


@intake.command("default")
@click.argument("product_name", metavar="PRODUCT", required=False)
@click.option("--clear", is_flag=True, help="no default: doses from the button wait until one is set")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def default(settings: Settings, product_name: str | None, clear: bool, as_json: bool) -> None:
    """Show or set the saved PRODUCT that a dose logged with the device's button stands for.

    
    Each "dose taken" press (a gesture set to dose, e.g.
    `twitchlog device settings --set click2=dose`) becomes one serving of
    this product at the press's time, after the next sync. Doses synced
    while no default is set wait, and are logged as soon as you set one.
    Examples:
      twitchlog intake product add "Doctor's Best glycinate" --form glycinate --mg-per-serving 200
      twitchlog intake default "Doctor's Best glycinate"
    """
    from twitchlog.intake.doses import default_product, dose_status, set_default_product

    if clear and product_name is not None:
        raise UserError("give PRODUCT or --clear, not both")
    with settings.store() as store:
        if clear or product_name is not None:
            counts = set_default_product(store, product_name)
        else:
            counts = dose_status(store)  # only looks
        current = default_product(store)
    if as_json:
        return print_json({"default": current.to_dict() if current else None, "doses": counts.to_dict()})
    if current is None:
        out.print(
            "no default product: doses from the button are not logged as intake until one is set", highlight=False
        )
    else:
        est = " (estimated)" if current.estimated else ""
        out.print(
            f"default product: {current.name!r}, {_mg(current.mg_per_serving)} mg elemental per dose{est}",
            highlight=False,
        )
    for line in counts.lines():
        out.print(line, highlight=False)
    for warning in counts.warnings:
        _warn(warning)


@intake.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cronometer", "apple-health", "csv"]),
    help="the file's format (default: told from the extension and header)",
)
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.pass_obj
def import_intake(settings: Settings, path: Path, fmt: str | None, as_json: bool) -> None:
    """Import intake from a Cronometer servings CSV, an Apple Health export.xml (or its .zip), or the generic CSV.

    \b
    Generic CSV: time,mg,source[,form][,compound][,note] (see docs/intake.md).
    The whole file is checked first; a bad row refuses it all, naming the
    line. Importing the same file (or an overlapping export) again adds
    nothing twice.
    """
    from twitchlog.intake.importers import import_intake as run_import

    with settings.store() as store:
        result = run_import(store, path, fmt)
    if as_json:
        return print_json(result.__dict__)
    out.print(
        f"{path} ({result.format}): {result.added} entr{'y' if result.added == 1 else 'ies'} imported, "
        f"{result.present} already present; {result.supplement_rows} supplement, {result.diet_rows} diet"
        + (f"; {result.skipped} skipped (no magnesium value / other records)" if result.skipped else ""),
        highlight=False,
    )
    if result.by_source:
        out.print("from: " + ", ".join(f"{k} {v}" for k, v in sorted(result.by_source.items())), highlight=False)
    for warning in result.warnings:
        _warn(warning)
