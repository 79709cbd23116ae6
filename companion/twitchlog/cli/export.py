"""`twitchlog export`: the raw store as CSV or JSON files (see `export.py`)."""

from __future__ import annotations

from pathlib import Path

import click

from twitchlog.cli.common import Settings, out, print_json
from twitchlog.store.export import FORMATS


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True, help="file format")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("twitchlog-export"),
    show_default=True,
    help="folder to write to (created if missing)",
)
@click.option("--force", is_flag=True, help="overwrite files an earlier export left there")
@click.option("--json", "as_json", is_flag=True, help="print what was written as JSON")
@click.pass_obj
def export(settings: Settings, fmt: str, out_dir: Path, force: bool, as_json: bool) -> None:
    """Write events and intake, raw and whole, one file per table.

    \b
    Files: events (every device record, undo and clock records included, with
    raw device fields, source, time quality and annotations), intake,
    intake_products, gaps, devices, trial_plans.
    CSV: UTF-8 with a header row; an empty field is a missing value.
    JSON: one array of objects per file.
    Existing files are not overwritten without --force.
    """
    from twitchlog.store.export import export as write_export

    with settings.store() as store:
        written = write_export(store, out_dir.expanduser(), fmt, force=force)
    if as_json:
        return print_json([{"table": w.name, "path": str(w.path), "rows": w.rows} for w in written])
    for w in written:
        out.print(f"{w.path}: {w.rows} row(s)", highlight=False)
