"""Commands that run without hardware: the demo, the virtual device and its simulated radio link."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from .errors import UserError


@click.command()
@click.option("--weeks", type=click.IntRange(1, 520), default=8, show_default=True, help="weeks of presses to replay")
@click.option("--seed", type=int, default=7, show_default=True, help="random seed for the press script")
def demo(weeks: int, seed: int) -> None:
    """Run the firmware core end to end on a simulated flash chip.

    Replays scripted button presses through the real gesture decoder, the
    power-cut-safe event log on LittleFS and the clock anchors, cuts the power
    mid-write, recovers, streams the log in BLE-sized notifications and places
    every record in UTC.
    """
    from .core_demo import run

    raise SystemExit(run(weeks=weeks, seed=seed))


@click.command("virtual-device")
@click.option("--transport", required=True, metavar="SPEC", help="Bumble HCI transport, e.g. tcp-client:127.0.0.1:9001")
@click.option("--state", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR", help="folder keeping the flash image (log, bonds, settings) across runs")
@click.option("--board", default="esp32-devkit", show_default=True, help="board profile from firmware/boards")
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True, help="simulated seconds per real second")
def virtual_device(transport: str, state: Path, board: str, speed: float) -> None:
    """Run the real firmware on a simulated ESP32 with a real (Bumble) BLE stack.

    Its radio is a controller on `twitchlog virtual-link`, so any BLE central
    (`twitchlog --adapter bumble:...`) can scan, pair and sync with it.
    Commands are read on stdin, one a line: click, double, triple,
    hold SECONDS, wait SECONDS, advance SECONDS, reboot, powercut, quit.
    Each thing the device does is printed as one JSON object a line.
    """
    from .virtual import console

    try:
        raise SystemExit(asyncio.run(console.run(transport, state, board, speed)))
    except (OSError, ValueError) as e:
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
    from .virtual.controller import serve_link

    if len(transports) < 2:
        raise UserError("virtual-link needs at least two transports (the device's and the companion's)")
    try:
        asyncio.run(serve_link(list(transports), ready=lambda: click.echo(f"link up: {', '.join(transports)}", err=True)))
    except KeyboardInterrupt:
        pass
    except OSError as e:
        raise UserError(f"virtual-link: {e}") from None
