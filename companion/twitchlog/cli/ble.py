"""`twitchlog scan`, `pair` and `sync [--watch]`: finding, bonding with and syncing a device over BLE."""

from __future__ import annotations

import contextlib

import click
from rich.table import Table

from twitchlog.cli.common import Settings, err, out, print_json, run_ble, styled
from twitchlog.errors import UserError


@click.command()
@click.option("--timeout", type=click.FloatRange(0.5, 120), default=5.0, show_default=True, help="seconds to listen")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.pass_obj
def scan(settings: Settings, timeout: float, as_json: bool) -> None:
    """List twitchlog devices that are advertising now."""
    from bleak import BleakScanner

    from twitchlog.ble.gattclient import SERVICE_UUID

    async def body() -> list[dict]:
        async with settings.adapter() as adapter:
            found = await BleakScanner.discover(
                timeout=timeout, return_adv=True, **adapter.scanner_kwargs(service_uuids=[SERVICE_UUID])
            )
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
        raise UserError(
            "no twitchlog device is advertising: press or hold its button to wake it, and keep it within range"
        )
    table = Table("address", "name", "RSSI", "paired")
    for d in devices:
        table.add_row(d["address"], d["name"] or "-", str(d["rssi"]), "yes" if d["paired"] else "no")
    out.print(table)


@click.command()
@click.argument("address", required=False)
@click.option(
    "--timeout", type=click.FloatRange(0.5, 120), default=10.0, show_default=True, help="seconds to look for the device"
)
@click.pass_obj
def pair(settings: Settings, address: str | None, timeout: float) -> None:
    """Bond with a device in pairing mode (hold its button 6 s until the LED pulses fast).

    Without ADDRESS, pairs with the only twitchlog device advertising.
    """
    from twitchlog.ble import devicectl

    async def body() -> dict:
        async with settings.adapter() as adapter:
            with settings.store() as store:
                return await devicectl.pair(adapter, store, address, scan_timeout=timeout)

    with out.status("pairing…"):
        info = run_ble(body())
    out.print(
        styled(
            "paired with [bold]{name}[/] ({address}), serial {serial}, firmware {firmware}",
            name=info.get("name") or info["address"],
            address=info["address"],
            serial=info.get("serial", "?"),
            firmware=info.get("firmware", "?"),
        )
    )


@click.command()
@click.argument("address", required=False)
@click.option("--watch", is_flag=True, help="keep running: sync whenever a paired device advertises (Ctrl-C stops)")
@click.option(
    "--timeout",
    type=click.FloatRange(0.5, 120),
    default=10.0,
    show_default=True,
    help="seconds to look for the device (with --port: to wait for a sleeping one to wake)",
)
@click.option(
    "--port",
    metavar="PORT",
    help="sync over the USB cable instead of BLE: the serial port, e.g. /dev/ttyACM0, /dev/ttyUSB0 or COM3",
)
@click.option(
    "--new-log",
    is_flag=True,
    help="with --port: the device was erased or reflashed and its log restarted; keep the records "
    "held and start a new log for it (over BLE, `pair` does this)",
)
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.pass_obj
def sync(
    settings: Settings,
    address: str | None,
    watch: bool,
    timeout: float,
    port: str | None,
    new_log: bool,
    as_json: bool,
) -> None:
    """Fetch new events from the device, set its clock, and free its memory.

    Hold the device's button 2 s first (its LED pulses slowly while it waits).
    A dropped link resumes where it stopped; nothing is lost or doubled.

    With --port, the same sync runs over the USB cable (no Bluetooth needed):
    it stops the app, reads the log through the firmware's own code, and
    restarts the app when done.  A device synced over USB and over BLE is one
    device with one log.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from twitchlog.ble import sync as sync_mod

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
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

        if port is not None:
            if address or watch:
                raise UserError("--port syncs the device on that cable: it takes no ADDRESS or --watch")
            from twitchlog.usb.sync import sync_port

            def waiting() -> None:
                progress.console.print(f"waiting up to {timeout:g} s for the device on {port}: hold its button 2 s")

            with settings.store() as store:
                result = sync_port(port, store, progress=show, wait_s=timeout, on_wait=waiting, new_log=new_log)
            if as_json:
                return print_json(result.to_dict())
            out.print(
                f"synced {result.address} over {port}: {result.new} new record(s) in {result.seconds:.1f} s; "
                f"device clock set; acknowledged up to seq {result.acked_seq}; the app is running again"
            )
            _print_doses(result.doses)
            return

        if new_log:
            raise UserError("--new-log is for --port; over BLE, `twitchlog pair` starts a new log")
        if watch:
            from twitchlog.ble.watch import watch as watch_loop

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
    _print_doses(result.doses)


def _print_doses(doses: dict) -> None:
    """What became of the doses logged with the button (intake.doses.DoseCounts as a dict)."""
    from twitchlog.intake.doses import DoseCounts

    counts = DoseCounts(**doses)
    for line in counts.lines():
        out.print(line, highlight=False)
    for warning in counts.warnings:
        err.print(styled("[yellow]warning:[/] {text}", text=warning))
