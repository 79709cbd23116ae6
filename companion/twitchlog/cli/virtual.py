"""Commands that run without hardware: the demo, the virtual device and its simulated radio link."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from twitchlog.errors import UserError


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="folder for the demo database and the report",
)
@click.option("--weeks", type=click.IntRange(2, 52), default=8, show_default=True, help="weeks of the simulated trial")
@click.option("--seed", type=int, default=7, show_default=True, help="random seed for the trial and its presses")
@click.option(
    "--speed",
    type=click.FloatRange(1, 200),
    default=20,
    show_default=True,
    help="simulated seconds per real second while the device is awake",
)
@click.option("--open", "open_it", is_flag=True, help="open the report in the web browser")
def demo(out_dir: Path, weeks: int, seed: int, speed: float, open_it: bool) -> None:
    """The whole product without hardware: eight weeks of a randomized magnesium trial, end to end.

    The unmodified firmware runs on the virtual device; a scripted wearer presses
    its button following a randomized on/off plan with a built-in effect and holds
    it weekly to sync; the companion pairs and syncs over the real BLE stack
    (bleak API on Bumble), logs the intake, marks the days without the device, and
    writes the report.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from twitchlog.cli.common import out
    from twitchlog.cli.report import print_summary
    from twitchlog.sim import demo as demo_mod

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=out
    ) as progress:
        task = progress.add_task("starting the virtual device", total=None)

        def step(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=total)

        result = asyncio.run(demo_mod.run(out_dir, weeks=weeks, seed=seed, speed=speed, step=step))
    out.print(
        f"{result.pressed} presses, {result.stored} events synced over BLE in {result.syncs} syncs; "
        f"largest clock error after correction {result.max_time_error_s:.1f} s (3% RTC drift)"
    )
    analysis, report_path = result.analysis, result.report
    assert analysis is not None and report_path is not None, "the demo returned without its report"
    print_summary(analysis, report_path)
    out.print(f"database: {result.db}")
    if open_it:
        import webbrowser

        webbrowser.open(report_path.resolve().as_uri())


@click.command("core-demo")
@click.option("--weeks", type=click.IntRange(1, 520), default=8, show_default=True, help="weeks of presses to replay")
@click.option("--seed", type=int, default=7, show_default=True, help="random seed for the press script")
def core_demo(weeks: int, seed: int) -> None:
    """The firmware core alone on a simulated flash chip (no BLE).

    Replays scripted button presses through the real gesture decoder, the
    power-cut-safe event log on LittleFS and the clock anchors, cuts the power
    mid-write, recovers, streams the log in BLE-sized notifications and places
    every record in UTC.
    """
    from twitchlog.sim.core_demo import run

    raise SystemExit(run(weeks=weeks, seed=seed))


@click.command("virtual-device")
@click.option("--transport", required=True, metavar="SPEC", help="Bumble HCI transport, e.g. tcp-client:127.0.0.1:9001")
@click.option(
    "--state",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="folder keeping the flash image (log, bonds, settings) across runs",
)
@click.option("--board", default="esp32-devkit", show_default=True, help="board profile from firmware/boards")
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="simulated seconds per real second (cpython runtime only)",
)
@click.option(
    "--runtime",
    type=click.Choice(["cpython", "micropython"]),
    default="cpython",
    show_default=True,
    help="cpython: the firmware on CPython with a Bumble host, in simulated time; "
    "micropython: on MicroPython's unix port with NimBLE, in real time (build it with `make micropython`)",
)
@click.option(
    "--usb",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PTY_PATH",
    help="plug in a USB cable: the chip's serial line (its REPL) as a pty, with a symlink at PTY_PATH "
    "for `sync --port`, `device info --port` or `mpremote connect` (micropython runtime only)",
)
def virtual_device(transport: str, state: Path, board: str, speed: float, runtime: str, usb: Path | None) -> None:
    """Run the real firmware on a simulated ESP32 with a real BLE stack.

    Its radio is a controller on `twitchlog virtual-link`, so any BLE central
    (`twitchlog --adapter bumble:...`) can scan, pair and sync with it.
    Commands are read on stdin, one a line: click, double, triple,
    hold SECONDS, wait SECONDS, advance SECONDS, reboot, powercut, quit.
    Each thing the device does is printed as one JSON object a line.
    """
    from twitchlog.sim.virtual import console

    if runtime == "micropython" and speed != 1.0:
        raise UserError("virtual-device: --speed is for --runtime cpython; MicroPython runs in real time")
    if usb is not None and runtime != "micropython":
        raise UserError("virtual-device: --usb needs --runtime micropython (the REPL is the real interpreter's)")
    try:
        raise SystemExit(asyncio.run(console.run(transport, state, board, speed, runtime=runtime, usb=usb)))
    except (OSError, ValueError, RuntimeError) as e:
        raise UserError(f"virtual-device: {e}") from None


@click.command("virtual-link")
@click.argument("transports", nargs=-1, required=True, metavar="SPEC SPEC...")
def virtual_link(transports: tuple[str, ...]) -> None:
    """Run a simulated radio link: one BLE controller per HCI transport, all in range of each other.

    \b
    Example:  twitchlog virtual-link tcp-server:_:9001 tcp-server:_:9002
    then      twitchlog virtual-device --transport tcp-client:127.0.0.1:9001 --state DIR
    and       twitchlog --adapter bumble:tcp-client:127.0.0.1:9002 scan
    Runs until Ctrl-C.
    """
    from twitchlog.sim.virtual.controller import serve_link

    if len(transports) < 2:
        raise UserError("virtual-link needs at least two transports (the device's and the companion's)")
    try:
        asyncio.run(
            serve_link(list(transports), ready=lambda: click.echo(f"link up: {', '.join(transports)}", err=True))
        )
    except KeyboardInterrupt:
        pass
    except OSError as e:
        raise UserError(f"virtual-link: {e}") from None
