"""The `twitchlog` command line: a thin layer over the library modules."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def _cmd_demo(args: argparse.Namespace) -> int:
    from .core_demo import run

    return run(weeks=args.weeks, seed=args.seed)


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
