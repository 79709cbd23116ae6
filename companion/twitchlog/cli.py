"""The `twitchlog` command line: a thin layer over the library modules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__


def _cmd_demo(args: argparse.Namespace) -> int:
    from .core_demo import run

    return run(weeks=args.weeks, seed=args.seed)


def _cmd_virtual_device(args: argparse.Namespace) -> int:
    import asyncio

    from .virtual import console

    if args.speed <= 0:
        print("twitchlog: --speed must be positive", file=sys.stderr)
        return 2
    try:
        return asyncio.run(console.run(args.transport, Path(args.state), args.board, args.speed))
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as e:
        print(f"twitchlog: virtual-device: {e}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twitchlog",
        description="Log muscle twitches and cramps with a one-button wearable and "
        "see, with honest statistics, whether magnesium helps.",
    )
    parser.add_argument("--version", action="version", version=f"twitchlog {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the firmware core end to end on a simulated flash chip",
        description="Replay scripted button presses through the real firmware core "
        "(gesture decoder, power-cut-safe event log on LittleFS, clock anchors), cut "
        "the power mid-write, recover, stream the log in BLE-sized notifications and "
        "place every record in UTC. The BLE sync and report demo comes later.",
    )
    demo.add_argument("--weeks", type=int, default=8, help="weeks of presses to replay (default: 8)")
    demo.add_argument("--seed", type=int, default=7, help="random seed for the press script (default: 7)")
    demo.set_defaults(func=_cmd_demo)

    vdev = commands.add_parser(
        "virtual-device",
        help="run the real firmware on a simulated ESP32 with a real (Bumble) BLE stack",
        description="Run the unmodified firmware on a virtual chip whose radio is a Bumble "
        "controller reached through an HCI transport, so any BLE central in another process "
        "can scan, pair and sync with it. Start a controller pair first, e.g. "
        "`python -m bumble.apps.controllers tcp-server:_:9001 tcp-server:_:9002`, then give "
        "one side here and the other to the central. Commands are read on stdin, one a line: "
        "click, double, triple, hold SECONDS, wait SECONDS, advance SECONDS, reboot, powercut, "
        "quit. Each thing the device does is printed as one JSON object a line.",
    )
    vdev.add_argument("--transport", required=True, metavar="SPEC", help="Bumble HCI transport, e.g. tcp-client:127.0.0.1:9001")
    vdev.add_argument("--state", required=True, metavar="DIR", help="folder keeping the flash image (log, bonds, settings) across runs")
    vdev.add_argument("--board", default="esp32-devkit", help="board profile from firmware/boards (default: esp32-devkit)")
    vdev.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (default: 1)")
    vdev.set_defaults(func=_cmd_virtual_device)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
