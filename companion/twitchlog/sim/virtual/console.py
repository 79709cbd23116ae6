"""`twitchlog virtual-device`: the virtual device on an HCI transport, driven from stdin.

Commands, one a line: click, double, triple, hold SECONDS, wait SECONDS,
advance SECONDS, reboot, powercut, quit.  Every thing the device does is
printed as one JSON object a line on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from twitchlog.firmware.clock import UNIX_AT_2000
from twitchlog.sim.virtual.device import VirtualDevice
from twitchlog.sim.virtual.simclock import SimClock

COMMANDS = (
    "click",
    "double",
    "triple",
    "hold SECONDS",
    "wait SECONDS",
    "advance SECONDS",
    "reboot",
    "powercut",
    "quit",
)


class CommandError(ValueError):
    pass


def parse_command(line: str) -> tuple[str, float | None]:
    words = line.split()
    if not words:
        raise CommandError("empty command")
    name, args = words[0].lower(), words[1:]
    if name in ("click", "double", "triple", "reboot", "powercut", "quit"):
        if args:
            raise CommandError("%s takes no argument" % name)
        return name, None
    if name in ("hold", "wait", "advance"):
        if len(args) != 1:
            raise CommandError("%s needs SECONDS, e.g. `%s 2`" % (name, name))
        try:
            seconds = float(args[0])
        except ValueError:
            raise CommandError("%s: %r is not a number of seconds" % (name, args[0])) from None
        if not 0 <= seconds <= 10 * 365 * 86400:
            raise CommandError("%s: seconds must be between 0 and ten years" % name)
        return name, seconds
    raise CommandError("unknown command %r; commands: %s" % (name, ", ".join(COMMANDS)))


async def run(
    transport_spec: str,
    state_dir: Path,
    board: str,
    speed: float,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    runtime: str = "cpython",
    usb: Path | None = None,
) -> int:
    from bumble.hci import Address
    from bumble.transport import open_transport

    def out(event: dict) -> None:
        stdout.write(json.dumps(event) + "\n")
        stdout.flush()

    async with await open_transport(transport_spec) as transport:
        device: Any
        if runtime == "micropython":
            from twitchlog.sim.unixport.runtime import MicroPythonDevice
            from twitchlog.sim.unixport.uart import HciUart
            from twitchlog.sim.unixport.usb import UsbSerial

            uart = HciUart()  # the NimBLE host's UART, bridged to the link's controller
            transport.source.set_packet_sink(uart)
            uart.set_packet_sink(transport.sink)
            serial = UsbSerial(usb) if usb is not None else None
            device = MicroPythonDevice(uart, state_dir=state_dir, board=board, on_event=out, usb=serial)
            device.address = Address(await uart.controller_address(), Address.PUBLIC_DEVICE_ADDRESS)
        else:
            clock = SimClock(time.time() - UNIX_AT_2000, speed=speed)
            device = VirtualDevice(
                transport.source, transport.sink, state_dir=state_dir, board=board, clock=clock, on_event=out
            )
        out(
            {
                "event": "started",
                "address": str(device.address),
                "board": board,
                "state": str(state_dir),
                "runtime": runtime,
                **({"usb": device.usb.path, "tty": device.usb.device} if getattr(device, "usb", None) else {}),
            }
        )
        await device.start()
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, stdin.readline)
                if not line:
                    break  # stdin closed: same as quit
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                try:
                    name, seconds = parse_command(line)
                except CommandError as e:
                    out({"event": "error", "message": str(e)})
                    continue
                if name == "quit":
                    break
                if name in ("click", "double", "triple"):
                    await getattr(device, name)()
                elif name == "hold":
                    await device.hold(seconds or 0)
                elif name == "wait":
                    await device.sleep(seconds or 0)
                elif name == "advance":
                    await device.advance(seconds or 0)
                elif name == "reboot":
                    device.reboot()
                elif name == "powercut":
                    device.powercut()
                out({"event": "done", "command": line.strip()})
        finally:
            await device.stop()
            out({"event": "stopped"})
    return 0
