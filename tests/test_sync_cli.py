"""The everyday CLI, as a user runs it: `virtual-link`, `virtual-device` and the companion in separate processes.

Includes the companion killed with SIGKILL between receive and commit and
between commit and acknowledge (tests/support/kill_during_sync.py), and `sync --watch`
stopped with Ctrl-C.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_virtual_device_cli import _free_ports

from twitchlog.store.db import Store

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]

HERE = Path(__file__).parent


class Device:
    """A virtual-device process: commands in, JSON events out (read on a thread)."""

    def __init__(self, port: int, state: Path, speed: float, runtime: str = "cpython", usb: Path | None = None):
        pace = ["--speed", str(speed)] if runtime == "cpython" else []  # MicroPython runs in real time
        cable = ["--usb", str(usb)] if usb is not None else []
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
                "--runtime",
                runtime,
                *pace,
                *cable,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict] = []
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.p.stdout:
            self._lines.put(json.loads(line))

    def send(self, command: str) -> None:
        self.p.stdin.write(command + "\n")
        self.p.stdin.flush()
        self.expect("done", command=command)

    def expect(self, name: str, timeout: float = 60, since: int | None = None, **match) -> dict:
        """The next matching event, or the first one at index >= since already seen."""
        if since is not None:
            for event in self.events[since:]:
                if event["event"] == name and all(event.get(k) == v for k, v in match.items()):
                    return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self._lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.events.append(event)
            if event["event"] == name and all(event.get(k) == v for k, v in match.items()):
                return event
        raise AssertionError(f"no {name} event; last: {self.events[-6:]}")

    def recorded(self) -> list[dict]:
        return [e for e in self.events if e["event"] == "recorded"]

    def close(self) -> None:
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.flush()
                self.p.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()


class Companion:
    """Runs `twitchlog --db DB --adapter bumble:... ARGS` as a user would."""

    def __init__(self, db: Path, port: int):
        self.base = ["--db", str(db), "--adapter", f"bumble:tcp-client:127.0.0.1:{port}"]

    def command(self, *args: str, via: list[str] | None = None) -> list[str]:
        return [sys.executable, *(via or ["-m", "twitchlog.cli"]), *self.base, *args]

    def __call__(self, *args: str, via: list[str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args, via=via), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def world(tmp_path, request):
    """A simulated radio link, a device on it, and the companion CLI on it.

    The device runs on CPython unless the test asks for another runtime
    (indirect parametrization); "micropython+usb" also plugs in its USB cable
    at tmp_path/ttyUSB0.
    """
    runtime, _, cable = getattr(request, "param", "cpython").partition("+")
    p1, p2 = _free_ports(2)
    link = subprocess.Popen(
        [sys.executable, "-m", "twitchlog.cli", "virtual-link", f"tcp-server:_:{p1}", f"tcp-server:_:{p2}"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "link up" in link.stderr.readline()
    device = Device(p1, tmp_path / "device", speed=5, runtime=runtime, usb=tmp_path / "ttyUSB0" if cable else None)
    device.expect("asleep")
    yield device, Companion(tmp_path / "twitchlog.db", p2)
    device.close()
    link.kill()
    link.wait()


def press(device: Device, *gestures: str) -> None:
    for gesture in gestures:
        device.send(gesture)
        device.send("advance 30")  # past the event window: asleep again


def listed(companion) -> list[tuple]:
    result = companion("events", "list", "--json")
    assert result.returncode == 0, result.stderr
    return [(e["seq"], e["kind"]) for e in json.loads(result.stdout)]


def pressed(device: Device) -> list[tuple]:
    return [(e["seq"], e["kind"]) for e in device.recorded()]


def pair(device: Device, companion) -> None:
    mark = len(device.events)
    device.send("hold 6.5")
    device.expect("pairing", since=mark)
    result = companion("pair")
    assert result.returncode == 0, result.stderr
    assert "paired with twitchlog-" in result.stdout


@pytest.mark.parametrize(
    "world", ["cpython", pytest.param("micropython", marks=pytest.mark.realruntime)], indirect=True
)
def test_pair_sync_list_then_a_second_sync_changes_nothing(world):
    device, companion = world
    press(device, "click", "double", "click")
    pair(device, companion)
    first = companion("sync", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["new"] == 4  # three presses and the anchor of the time set
    assert listed(companion) == pressed(device) and len(pressed(device)) == 3
    assert [k for _, k in listed(companion)] == ["twitch", "cramp", "twitch"]
    second = companion("sync", "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["new"] == 1  # its own anchor only
    assert listed(companion) == pressed(device)
    info = companion("device", "info", "--json")
    assert info.returncode == 0, info.stderr
    status = json.loads(info.stdout)["status"]
    assert status["count"] <= 1 and status["clock_state"] == 1  # acknowledged records were freed


@pytest.mark.realruntime
@pytest.mark.parametrize("world", ["micropython+usb"], indirect=True)
def test_sync_over_the_usb_cable_as_the_readme_shows_then_over_ble_one_log(world, tmp_path):
    device, companion = world
    port = device.events[0]["usb"]
    assert port == str(tmp_path / "ttyUSB0") and os.path.realpath(port).startswith("/dev/pts/")
    press(device, "click", "double")
    mark = len(device.events)
    device.send("hold 2")  # awake in its sync window: its REPL answers
    device.expect("advertising", since=mark)
    over_usb = companion("sync", "--port", port)
    assert over_usb.returncode == 0, over_usb.stderr
    assert "over " + port in over_usb.stdout and "3 new record(s)" in over_usb.stdout
    assert "the app is running again" in over_usb.stdout
    assert listed(companion) == pressed(device) and len(pressed(device)) == 2
    device.expect("asleep", since=mark)  # the app ran again, and slept
    # The same device over BLE: one device, one log.
    press(device, "click")
    pair(device, companion)
    over_ble = companion("sync", "--json")
    assert over_ble.returncode == 0, over_ble.stderr
    assert listed(companion) == pressed(device) and len(pressed(device)) == 3
    with Store(tmp_path / "twitchlog.db") as store:
        (only,) = store.devices()
    assert only.address == json.loads(over_ble.stdout)["address"] and only.serial  # met over USB, re-addressed


@pytest.mark.parametrize("moment", ["before-commit", "before-ack"])
def test_companion_killed_mid_sync_loses_and_doubles_nothing(world, moment):
    device, companion = world
    press(device, "click", "double", "double", "click")
    pair(device, companion)
    killed = companion("sync", via=[str(HERE / "support" / "kill_during_sync.py"), moment])
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    stored = listed(companion)
    if moment == "before-commit":
        assert stored == []  # received, never committed
    else:
        assert stored == pressed(device)  # committed, never acknowledged
    resumed = companion("sync", "--json")  # the next process resets the radio; the link to the dead one drops
    assert resumed.returncode == 0, resumed.stderr
    assert listed(companion) == pressed(device)
    info = json.loads(companion("device", "info", "--json").stdout)
    assert info["status"]["count"] <= 1


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sync_watch_syncs_when_the_device_advertises_and_stops_on_ctrl_c(world):
    device, companion = world
    pair(device, companion)
    # BLE stays off after a press by default (battery); a watcher wants a window.
    changed = companion("device", "settings", "--set", "event_window_s=60", "--json")
    assert changed.returncode == 0 and json.loads(changed.stdout)["event_window_s"] == 60, changed.stderr
    mark = len(device.events)
    device.send("advance 120")
    device.expect("asleep", since=mark)
    watcher = subprocess.Popen(
        companion.command("sync", "--watch"),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # SIGABRT then prints where it hangs
        # Ctrl-C as in a terminal's foreground: a test run started in the
        # background (as CI may) ignores SIGINT, and children inherit that.
        preexec_fn=_interruptible,
    )
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(iter(watcher.stderr.readline, "")), daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not any("watching for" in line for line in log) and time.monotonic() < deadline:
            time.sleep(0.1)  # the watcher is up and scanning before the press
        mark = len(device.events)
        device.send("click")  # wakes it; the 20 s event window advertises
        device.expect("disconnected", timeout=60, since=mark)  # the watcher connected, synced and left
        deadline = time.monotonic() + 30
        while listed(companion) != pressed(device) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert listed(companion) == pressed(device) and len(pressed(device)) == 1
    finally:
        watcher.send_signal(signal.SIGINT)
        try:
            watcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            watcher.send_signal(signal.SIGABRT)
            watcher.wait(timeout=10)
            time.sleep(0.5)
            pytest.fail("sync --watch did not stop within 30 s of Ctrl-C; its stderr:\n" + "".join(log))
    time.sleep(0.5)  # the reader thread takes the last lines
    err = "".join(log)
    assert watcher.returncode == 0, err
    assert "new record(s)" in err and "stopped" in err and "Traceback" not in err
