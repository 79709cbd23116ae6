"""`twitchlog virtual-device` in its own process, reached over a Bumble TCP controller pair."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time

import pytest
from bumble.hci import Address
from bumble.transport import open_transport

from support.ble_central import STATUS, Central, protocol
from twitchlog.sim.virtual.console import CommandError, parse_command

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class _Proc:
    """A virtual-device process: commands in, JSON events out."""

    def __init__(self, port, state):
        self.p = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "twitchlog.cli",
                "virtual-device",
                "--transport",
                f"tcp-client:127.0.0.1:{port}",
                "--state",
                str(state),
                "--speed",
                "10",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.events = []

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    async def expect(self, name, timeout=30, **match):
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = await asyncio.wait_for(loop.run_in_executor(None, self.p.stdout.readline), timeout)
            if not line:
                break
            event = json.loads(line)
            self.events.append(event)
            if event["event"] == name and all(event.get(k) == v for k, v in match.items()):
                return event
        raise AssertionError("no %s event; got %s" % (name, self.events[-8:]))

    def close(self):
        if self.p.poll() is None:
            try:
                self.send("quit")
                self.p.wait(20)
            except Exception:
                self.p.kill()


async def _central_on(port):
    transport = await open_transport(f"tcp-client:127.0.0.1:{port}")
    return transport, await Central(transport.source, transport.sink).start()


def test_command_parsing_names_the_problem():
    assert parse_command("hold 2.5") == ("hold", 2.5)
    assert parse_command("CLICK") == ("click", None)
    for bad, words in (
        ("hold", "needs SECONDS"),
        ("hold x", "not a number"),
        ("jump", "unknown command"),
        ("click 3", "no argument"),
        ("advance -1", "between"),
    ):
        with pytest.raises(CommandError, match=words):
            parse_command(bad)


def test_virtual_device_in_another_process_pairs_and_keeps_flash_and_bonds(tmp_path):
    p1, p2 = _free_ports(2)
    controllers = subprocess.Popen(
        [sys.executable, "-m", "twitchlog.cli", "virtual-link", f"tcp-server:_:{p1}", f"tcp-server:_:{p2}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state = tmp_path / "state"

    async def body():
        transport, central = await _central_on(p2)
        dev = _Proc(p1, state)
        try:
            started = await dev.expect("started")
            address = Address(started["address"])
            await dev.expect("wake")
            dev.send("click")
            recorded = await dev.expect("recorded", kind="twitch")
            dev.send("hold 6.5")
            await dev.expect("pairing")
            await central.connect(address)
            await central.pair()
            await dev.expect("bonded")
            assert protocol.unpack_status(await central.read(STATUS))["last_seq"] == recorded["seq"]
            await central.disconnect()
        finally:
            dev.close()

        dev = _Proc(p1, state)  # same flash, new process: the log and the bond are still there
        try:
            await dev.expect("wake")
            dev.send("bogus")
            assert "unknown command" in (await dev.expect("error"))["message"]
            dev.send("hold 2")
            await dev.expect("advertising")
            await central.connect(address)
            await central.encrypt()
            await dev.expect("bonded")
            st = protocol.unpack_status(await central.read(STATUS))
            assert st["last_seq"] >= recorded["seq"] and st["count"] >= 1
            await central.disconnect()
        finally:
            dev.close()
            await transport.close()

    try:
        for _ in range(50):  # the controllers take a moment to listen
            try:
                socket.create_connection(("127.0.0.1", p1), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(asyncio.wait_for(body(), 120))
    finally:
        controllers.kill()
