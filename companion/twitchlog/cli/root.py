"""The `twitchlog` command line: a thin layer over the library packages.

Every command parses its arguments, calls the library and prints.  Command
modules are imported only when their command runs (or `--help` lists them),
so `twitchlog sync` never loads the statistics.

Exit codes: 0 done; 1 a user error (one line on stderr, no traceback);
2 a usage error found by click itself (a bad option or argument: click prints
the usage and the problem); 130 interrupted.  Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from twitchlog import __version__
from twitchlog.cli.common import BLUETOOTH_HINT, Settings, default_db, err, fail
from twitchlog.errors import UserError

#: command name -> (module, attribute): the registry the root group loads from.
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("twitchlog.cli.ble", "scan"),
    "pair": ("twitchlog.cli.ble", "pair"),
    "sync": ("twitchlog.cli.ble", "sync"),
    "device": ("twitchlog.cli.device", "device"),
    "events": ("twitchlog.cli.events", "events"),
    "intake": ("twitchlog.cli.intake", "intake"),
    "trial": ("twitchlog.cli.trial", "trial"),
    "report": ("twitchlog.cli.report", "report"),
    "export": ("twitchlog.cli.export", "export"),
    "power": ("twitchlog.cli.hw", "power_command"),
    "demo": ("twitchlog.cli.virtual", "demo"),
    "core-demo": ("twitchlog.cli.virtual", "core_demo"),
    "virtual-device": ("twitchlog.cli.virtual", "virtual_device"),
    "virtual-link": ("twitchlog.cli.virtual", "virtual_link"),
}


class TwitchlogGroup(click.Group):
    """Loads commands from `COMMANDS` on demand, and is the one place errors are printed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command), f"{module_name}.{attribute} is not a click command"
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from bleak.exc import BleakError

        try:
            return super().invoke(ctx)
        except UserError as e:
            fail(str(e), e.exit_code)
        except BleakError as e:
            # The OS Bluetooth stack is missing, off or refused us (its OSErrors
            # are turned into UserError by run_ble in the BLE commands).
            fail(f"Bluetooth: {e or type(e).__name__} ({BLUETOOTH_HINT})")
        except KeyboardInterrupt:
            err.print("twitchlog: interrupted")
            ctx.exit(130)


@click.group(cls=TwitchlogGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="twitchlog")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="TWITCHLOG_DB",
    default=default_db,
    show_default="the user data folder",
    help="SQLite database (also TWITCHLOG_DB)",
)
@click.option(
    "--adapter",
    "adapter_spec",
    default="os",
    show_default=True,
    envvar="TWITCHLOG_ADAPTER",
    metavar="os|bumble:SPEC",
    help="BLE stack: the OS's (through bleak), or Bumble on an HCI transport, e.g. bumble:tcp-client:127.0.0.1:9002 "
    "(the virtual device's link) or bumble:usb:0 (a USB dongle, no OS stack)",
)
@click.pass_context
def main(ctx: click.Context, db: Path, adapter_spec: str) -> None:
    """Log muscle twitches and cramps with a one-button wearable, and see, with honest
    statistics, whether magnesium helps.

    \b
    Daily use:  twitchlog sync        (hold the device's button 2 s first)
                twitchlog events list
    First time: twitchlog scan, then twitchlog pair (device held 6 s: pairing mode)
    """
    ctx.obj = Settings(Path(db).expanduser(), adapter_spec)
