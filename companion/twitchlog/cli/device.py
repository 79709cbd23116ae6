"""`twitchlog device info|settings|deploy`: what a device reports, its settings, putting firmware on it."""

from __future__ import annotations

import click
from rich.table import Table

from twitchlog.cli.common import Settings, out, print_json, run_ble
from twitchlog.cli.hw import deploy_command


@click.group()
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
        from twitchlog.cli.hw import show_usb_info
        from twitchlog.hw.deploy import usb_info

        if as_json:
            return print_json(usb_info(port))
        show_usb_info(port, out)
        return
    from twitchlog.ble import devicectl

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
        table.add_row(key, devicectl.describe_setting(key, value))
    out.print(table)


@device.command("settings")
@click.argument("address", required=False)
@click.option(
    "--set",
    "changes",
    multiple=True,
    metavar="KEY=VALUE",
    help="change a setting, e.g. --set event_window_s=5, --set click1=eyelid or --set click2=dose (repeatable)",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def device_settings(settings: Settings, address: str | None, changes: tuple[str, ...], as_json: bool) -> None:
    """Show or change the gesture map and window lengths."""
    from twitchlog.ble import devicectl

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
        table.add_row(key, devicectl.describe_setting(key, value))
    out.print(table)


device.add_command(deploy_command, "deploy")
