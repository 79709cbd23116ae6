"""`twitchlog report`: the HTML report, a short terminal summary, or the key figures as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from twitchlog.cli.common import Settings, out, print_json, styled
from twitchlog.kinds import KIND_CODES, kind_code

if TYPE_CHECKING:  # the report loads pandas and matplotlib: imported when the command runs
    from twitchlog.report.html import Report

REPORT_NAME = "twitchlog-report.html"


def default_report_path(db: Path) -> Path:
    """The report's default place: the user data folder, next to the database."""
    return db.with_name(REPORT_NAME)


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:+.0f}%"


def _chance(p: float | None) -> str:
    from twitchlog.stats.verdict import chance_words

    return "-" if p is None else chance_words(p)


def print_summary(rep: Report, path: Path) -> None:
    """The terminal's short summary: the verdict per kind first, likely days without the device, then details."""
    from twitchlog.stats.wear import hint

    m = rep.main
    out.print(styled("[bold]{name}[/]: {headline}", name=rep.main_name, headline=m.headline))
    for name, r in rep.results.items():
        if name != rep.main_name:
            out.print(styled("[bold]{name}[/]: {headline}", name=name, headline=r.headline))
    if rep.unworn:
        out.print(styled("[yellow]check:[/] {hint}", hint=hint(rep.unworn)))
    table = Table(
        "kind",
        "verdict",
        "P(benefit)",
        "P(>= 20% fewer)",
        "change (90%)",
        "RR / 100 mg (95% CI)",
        "p",
        "days",
        "events",
        title="Effect of supplemental magnesium: details",
    )
    for name, r in rep.results.items():
        v = r.verdict
        table.add_row(
            name,
            v.verdict.replace("_", " "),
            _chance(v.probability_of_benefit),
            _chance(v.probability_of_meaningful_benefit),
            f"{_pct(v.percent_change)} ({_pct(v.percent_change_low)} to {_pct(v.percent_change_high)})",
            f"{_fmt(r.rate_ratio_per_100mg)} ({_fmt(r.ci_low)} - {_fmt(r.ci_high)})",
            _fmt(r.p_value, ".3g"),
            str(r.days_used),
            str(r.events),
        )
    out.print(table)
    d = rep.data
    out.print(
        f"{d.first} to {d.last}: {d.days - d.untracked_days} tracked days, {d.untracked_days} untracked, "
        f"{d.unknown_time} event(s) with an unknown time",
        highlight=False,
    )
    out.print(f"report written to {path}", highlight=False)


@click.command()
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help=f"where to write the HTML (default: {REPORT_NAME} next to the database, in the user data folder)",
)
@click.option("--open", "open_it", is_flag=True, help="open the report in the web browser")
@click.option(
    "--pdf",
    "pdf_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="also print the report to this PDF (for your doctor), with headless Chromium",
)
@click.option(
    "--json", "as_json", is_flag=True, help="print the key figures as one JSON object (the report is still written)"
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    metavar="KIND",
    help=f"only this symptom kind (repeatable; default: all kinds combined, then each): {', '.join(KIND_CODES)}",
)
@click.pass_obj
def report(
    settings: Settings,
    out_path: Path | None,
    open_it: bool,
    pdf_path: Path | None,
    as_json: bool,
    kinds: tuple[str, ...],
) -> None:
    """Analyse symptoms against magnesium intake and write a self-contained HTML report.

    \b
    The report has the effect estimate with its 95% CI, a timeline of daily
    counts over intake, the lag profile, hour of day, each symptom kind,
    data-quality notes and the methods. The terminal gets a short summary.
    Examples: twitchlog report --open
              twitchlog report --pdf ~/magnesium-report.pdf
    """
    from twitchlog.report import html as report_mod

    codes = [kind_code(k) for k in kinds] or None
    path = (out_path or default_report_path(settings.db)).expanduser()
    with settings.store() as store:
        rep = report_mod.build(store, kinds=codes)
    path = report_mod.write(rep, path).resolve()
    pdf = None
    if pdf_path is not None:
        from twitchlog.report.pdf import print_pdf

        pdf = print_pdf(path, pdf_path)
    if as_json:
        figures = report_mod.summary(rep, path)
        if pdf is not None:
            figures["pdf"] = str(pdf)
        print_json(figures)
    else:
        print_summary(rep, path)
        if pdf is not None:
            out.print(f"PDF written to {pdf}", highlight=False)
    if open_it:
        import webbrowser

        if not webbrowser.open(path.as_uri()):
            out.print(f"could not open a browser; open {path} yourself", highlight=False)
