"""The `twitchlog` command line: a thin layer over the library modules.

Every command parses its arguments, calls one library function and prints.
A UserError from the library becomes one line on stderr and exit status 1.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click
from bleak.exc import BleakError
from rich.table import Table

from . import __version__
from .cli_common import Settings, default_db, err, out, print_json, run_ble
from .errors import UserError

class TwitchlogGroup(click.Group):
    """Turns UserError into one line and a non-zero exit, with no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as e:
            err.print(f"[bold red]twitchlog:[/] {e}", highlight=False, markup=True, soft_wrap=True)
            ctx.exit(e.exit_code)
        except BleakError as e:
            # The OS Bluetooth stack is missing, off or refused us (its OSErrors
            # are turned into UserError by run_ble in the BLE commands).
            err.print(f"[bold red]twitchlog:[/] Bluetooth: {e or type(e).__name__} (is Bluetooth on? without an OS stack use --adapter bumble:usb:0)", highlight=False, soft_wrap=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            err.print("twitchlog: interrupted")
            ctx.exit(130)


@click.group(cls=TwitchlogGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="twitchlog")
@click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), envvar="TWITCHLOG_DB", default=default_db,
    show_default="the user data folder", help="SQLite database (also TWITCHLOG_DB)",
)
@click.option(
    "--adapter", "adapter_spec", default="os", show_default=True, envvar="TWITCHLOG_ADAPTER", metavar="os|bumble:SPEC",
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


# ---------------------------------------------------------------- BLE
@main.command()
@click.option("--timeout", type=click.FloatRange(0.5, 120), default=5.0, show_default=True, help="seconds to listen")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def scan(settings: Settings, timeout: float, as_json: bool) -> None:
    """List twitchlog devices that are advertising now."""
    from bleak import BleakScanner

    from .gattclient import SERVICE_UUID

    async def body() -> list[dict]:
        async with settings.adapter() as adapter:
            found = await BleakScanner.discover(timeout=timeout, return_adv=True, **adapter.scanner_kwargs(service_uuids=[SERVICE_UUID]))
        with settings.store() as store:
            known = {d.address for d in store.devices()}
        return [
            {"address": dev.address, "name": adv.local_name, "rssi": adv.rssi, "paired": dev.address in known}
            for dev, adv in found.values()
        ]

    with out.status(f"scanning for {timeout:g} s…") if not as_json else contextlib.nullcontext():
        devices = run_ble(body())
    if as_json:
        return print_json(devices)
    if not devices:
        raise UserError("no twitchlog device is advertising: press or hold its button to wake it, and keep it within range")
    table = Table("address", "name", "RSSI", "paired")
    for d in devices:
        table.add_row(d["address"], d["name"] or "-", str(d["rssi"]), "yes" if d["paired"] else "no")
    out.print(table)


@main.command()
@click.argument("address", required=False)
@click.option("--timeout", type=click.FloatRange(0.5, 120), default=10.0, show_default=True, help="seconds to look for the device")
@click.pass_obj
def pair(settings: Settings, address: str | None, timeout: float) -> None:
    """Bond with a device in pairing mode (hold its button 6 s until the LED pulses fast).

    Without ADDRESS, pairs with the only twitchlog device advertising.
    """
    from . import devicectl

    async def body() -> dict:
        async with settings.adapter() as adapter:
            with settings.store() as store:
                return await devicectl.pair(adapter, store, address, scan_timeout=timeout)

    with out.status("pairing…"):
        info = run_ble(body())
    out.print(f"paired with [bold]{info.get('name') or info['address']}[/] ({info['address']}), serial {info.get('serial', '?')}, firmware {info.get('firmware', '?')}")


@main.command()
@click.argument("address", required=False)
@click.option("--watch", is_flag=True, help="keep running: sync whenever a paired device advertises (Ctrl-C stops)")
@click.option("--timeout", type=click.FloatRange(0.5, 120), default=10.0, show_default=True, help="seconds to look for the device")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.pass_obj
def sync(settings: Settings, address: str | None, watch: bool, timeout: float, as_json: bool) -> None:
    """Fetch new events from the device, set its clock, and free its memory.

    Hold the device's button 2 s first (its LED pulses slowly while it waits).
    A dropped link resumes where it stopped; nothing is lost or doubled.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from . import sync as sync_mod

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task("syncing", total=None, rate="")
        started = [0.0]

        def show(done: int, total: int) -> None:
            import time

            if done == 0 or not started[0]:
                started[0] = time.monotonic()
            elapsed = time.monotonic() - started[0]
            rate = f"{done / elapsed:,.0f} rec/s" if elapsed > 0.2 and done else ""
            progress.update(task, completed=done, total=total, rate=rate)

        if watch:
            from .watch import watch as watch_loop

            if address or as_json:
                raise UserError("--watch syncs every paired device and prints a log: it takes no ADDRESS or --json")

            def log(line: str) -> None:
                progress.console.log(line)

            async def watching() -> None:
                async with settings.adapter() as adapter:
                    with settings.store() as store:
                        await watch_loop(adapter, store, log, progress=show)

            try:
                run_ble(watching())
            except KeyboardInterrupt:
                progress.console.log("stopped")
            return

        async def body() -> sync_mod.SyncResult:
            async with settings.adapter() as adapter:
                with settings.store() as store:
                    return await sync_mod.sync(adapter, store, address, progress=show, scan_timeout=timeout)

        result = run_ble(body())
    if as_json:
        return print_json(result.to_dict())
    retry = f" after {result.attempts} attempts" if result.attempts > 1 else ""
    out.print(
        f"synced {result.address}{retry}: {result.new} new record(s) in {result.seconds:.1f} s; "
        f"device clock set; acknowledged up to seq {result.acked_seq}"
    )


# ---------------------------------------------------------------- device
@main.group()
def device() -> None:
    """Device information, settings and firmware deployment."""


@device.command("info")
@click.argument("address", required=False)
@click.option("--port", help="read it over USB (serial port) instead of BLE")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def device_info(settings: Settings, address: str | None, port: str | None, as_json: bool) -> None:
    """Show firmware, battery, log status and settings of a paired device."""
    if port:
        from .hwcli import show_usb_info
        from .deploy import usb_info

        if as_json:
            return print_json(usb_info(port))
        show_usb_info(port, out)
        return
    from . import devicectl

    async def body() -> dict:
        async with settings.adapter() as adapter:
            with settings.store() as store:
                return await devicectl.device_info(adapter, store, address)

    info = run_ble(body())
    if as_json:
        return print_json(info)
    table = Table("field", "value", show_header=False)
    for key in ("address", "name", "model", "serial", "firmware", "battery_percent"):
        table.add_row(key, str(info.get(key, "-")))
    for key, value in info["status"].items():
        table.add_row(key, str(value))
    for key, value in info["settings"].items():
        table.add_row(key, str(value))
    out.print(table)


@device.command("settings")
@click.argument("address", required=False)
@click.option("--set", "changes", multiple=True, metavar="KEY=VALUE", help="change a setting, e.g. --set event_window_s=5 or --set click1=eyelid (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def device_settings(settings: Settings, address: str | None, changes: tuple[str, ...], as_json: bool) -> None:
    """Show or change the gesture map and window lengths."""
    from . import devicectl

    wanted = dict(devicectl.parse_setting(c) for c in changes)

    async def body() -> dict:
        async with settings.adapter() as adapter:
            with settings.store() as store:
                return await devicectl.settings(adapter, store, address, wanted)

    values = run_ble(body())
    if as_json:
        return print_json(values)
    table = Table("setting", "value")
    for key, value in values.items():
        table.add_row(key, str(value))
    out.print(table)


def _register_hardware_commands() -> None:
    from .hwcli import deploy_command, power_command

    main.add_command(power_command)
    device.add_command(deploy_command, "deploy")


_register_hardware_commands()

from .cli_events import events  # noqa: E402
from .cli_export import export  # noqa: E402
from .cli_intake import intake  # noqa: E402
from .cli_trial import trial  # noqa: E402
from .cli_report import report  # noqa: E402
from .cli_virtual import core_demo, demo, virtual_device, virtual_link  # noqa: E402

main.add_command(events)
main.add_command(intake)
main.add_command(trial)
main.add_command(export)
main.add_command(report)
main.add_command(demo)
main.add_command(core_demo)
main.add_command(virtual_device)
main.add_command(virtual_link)


if __name__ == "__main__":
    sys.exit(main())
