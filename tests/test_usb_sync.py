"""`sync --port` end to end: the firmware on the real MicroPython runtime, its REPL on a pty.

The companion's code is the product's (twitchlog.usb.sync over mpremote's
SerialTransport); the board is the real interpreter running the deployed
.mpy files, stopped with a real KeyboardInterrupt and soft-reset by its
REPL.  What is checked is read back from the database and the flash.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from twitchlog.errors import UserError
from twitchlog.firmware import eventlog
from twitchlog.firmware import protocol as P
from twitchlog.hw import deploy as dp
from twitchlog.hw.flash import LfsFS, mount
from twitchlog.intake import entries as intake
from twitchlog.intake.doses import set_default_product
from twitchlog.sim.virtual.hardware import SOFT_RESET, WDT_RESET
from twitchlog.store.db import Store

pytestmark = [pytest.mark.realruntime, pytest.mark.e2e]


def device_log(rig) -> eventlog.EventLog:
    with rig.device.flash() as image:
        log = eventlog.EventLog(LfsFS(mount(image), image), "log", 240)
        log.open()
        return log


def assert_exactly_once(rig, upto: int) -> None:
    seqs = [row[0] for row in rig.stored()]
    assert seqs == list(range(1, upto + 1)), (seqs[:5], seqs[-5:], len(seqs))


async def awake_for_sync(rig) -> None:
    """The wearer holds the button: the app is awake (its sync window), so its REPL answers."""
    await rig.window()


def test_usb_sync_takes_the_log_sets_the_clock_and_the_app_sleeps_again(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime="micropython", usb=True, preload=300)
        await rig.press("click")
        await rig.press("double")
        await awake_for_sync(rig)
        mark = rig.device.mark()
        before = time.time()
        result = await rig.usb_sync()
        # 300 + 2 presses + the anchor the clock set wrote
        assert (result.new, result.received, result.acked_seq) == (303, 303, 303)
        assert result.address.startswith("usb:") and result.address[4:] == rig.device.unique_id.hex()
        assert_exactly_once(rig, 303)
        anchor = rig.stored()[-1]
        assert anchor[4] == P.KIND_ANCHOR and abs(anchor[2] - (before - 946684800)) < 5
        # The app ran again: the soft reset into the friendly REPL runs main.py, which goes to sleep.
        reset = await rig.device.wait_for("reset", since=mark, timeout=20)
        assert reset["cause"] == SOFT_RESET
        await rig.device.wait_asleep()
        log = device_log(rig)
        assert (log.acked, log.last_seq) == (303, 303)
        kinds = [r[4] for r in rig.stored()[300:302]]
        assert kinds == [P.KIND_TWITCH, P.KIND_CRAMP]
        placed = rig.store.db.execute("SELECT COUNT(*) FROM events WHERE seq > 300 AND utc IS NOT NULL").fetchone()[0]
        assert placed == 3  # the presses are placed in true time from the anchor

        # Again: only what is new.
        await rig.press("click")
        await awake_for_sync(rig)
        again = await rig.usb_sync()
        assert (again.new, again.acked_seq) == (2, 305)
        assert_exactly_once(rig, 305)

    sim.run(body())


def test_one_device_one_log_over_ble_and_usb(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime="micropython", usb=True)
        # First met over USB: stored under its serial.
        await rig.press("click")
        await awake_for_sync(rig)
        first = await rig.usb_sync()
        await rig.device.wait_asleep()
        # Paired over BLE: the same row, now under its BLE address.
        info = await rig.pair()
        assert info["serial"] == rig.device.unique_id.hex()
        devices = rig.store.devices()
        assert [d.id for d in devices] == [first.device_id]
        assert devices[0].address == info["address"]
        await rig.device.wait_asleep()
        await rig.press("double")
        await rig.window()
        over_ble = await rig.sync()
        assert over_ble.device_id == first.device_id
        await rig.device.wait_asleep()
        await rig.press("click")
        await awake_for_sync(rig)
        over_usb = await rig.usb_sync()
        assert over_usb.device_id == first.device_id and over_usb.address == info["address"]
        last = over_usb.acked_seq
        assert_exactly_once(rig, last)
        kinds = [r[4] for r in rig.stored() if r[4] <= P.KIND_SYMPTOM_MAX]
        assert kinds == [P.KIND_TWITCH, P.KIND_CRAMP, P.KIND_TWITCH]

    sim.run(body())


def test_cable_pulled_mid_sync_loses_and_doubles_nothing_and_the_watchdog_sends_it_to_sleep(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime="micropython", usb=True, preload=2000)
        await awake_for_sync(rig)
        loop = asyncio.get_running_loop()
        pulled = []

        def pull_after_600(done: int, total: int) -> None:
            if done >= 600 and not pulled:
                pulled.append(done)
                loop.call_soon_threadsafe(rig.device.usb.unplug)

        mark = rig.device.mark()
        with pytest.raises(UserError, match="stopped answering.*records up to seq \\d+ are saved"):
            await rig.usb_sync(progress=pull_after_600)
        saved = rig.stored()
        assert 512 <= len(saved) < 2001  # at least one batch committed before the pull
        # Nobody is left to restart the app: the watchdog usbsync armed resets the chip, and the app sleeps.
        await rig.device.wait_for("reset", since=mark, timeout=45, cause=WDT_RESET)
        await rig.device.wait_asleep()
        assert device_log(rig).acked == 0  # nothing acknowledged without a finished commit
        rig.device.usb.plug()
        await awake_for_sync(rig)
        result = await rig.usb_sync()
        # The rest: 2000 records, the first sync's anchor (written before the pull) and this one's.
        assert result.new == 2002 - len(saved)
        assert_exactly_once(rig, 2002)

    sim.run(body())


def test_companion_killed_mid_sync_loses_and_doubles_nothing(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime="micropython", usb=True, preload=3000)
        await awake_for_sync(rig)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        companion = subprocess.Popen(
            [sys.executable, "-m", "twitchlog.cli", "--db", str(rig.store.path), "sync", "--port", rig.device.usb.path],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while len(rig.stored()) < 1024 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            companion.send_signal(signal.SIGKILL)
        finally:
            companion.wait()
        saved = len(rig.stored())
        assert 1024 <= saved < 3001, saved
        # The chip is still in its REPL (nobody said to resume): the next sync's Ctrl-C finds it there.
        result = await rig.usb_sync()
        assert result.new == 3002 - saved  # the rest, the killed sync's anchor and this one's
        assert_exactly_once(rig, 3002)
        await rig.device.wait_asleep()
        assert device_log(rig).acked == 3002

    sim.run(body())


def test_ctrl_c_in_the_middle_of_an_append_is_a_power_cut_for_the_log(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime="micropython", usb=True, preload=50)
        await awake_for_sync(rig)
        await asyncio.sleep(0.5)  # a press right on the hold's release would be its bounce
        mark = rig.device.mark()
        rig.device.stall(1)  # the press's append stops before its first flash write
        await rig.device.click()
        await rig.device.wait_for("stalled", since=mark, timeout=10)
        result = await rig.usb_sync()  # its Ctrl-C lands mid-append
        assert (await rig.device.wait_for("interrupted", since=mark))["event"] == "interrupted"
        stored = rig.stored()
        assert [r[0] for r in stored[:50]] == list(range(1, 51))  # everything committed before survives
        interrupted = [r for r in stored if r[0] > 50 and r[4] == P.KIND_TWITCH]
        assert len(interrupted) <= 1  # the record being written: whole or gone, never torn
        assert stored[-1][4] == P.KIND_ANCHOR and result.acked_seq == stored[-1][0]
        await rig.device.wait_asleep()
        # The log goes on: the next press gets the next seq, and syncs.
        recorded = await rig.press("click")
        assert recorded["seq"] > stored[-1][0]
        await awake_for_sync(rig)
        again = await rig.usb_sync()
        assert again.new == 2 and rig.stored()[-2][0] == recorded["seq"]

    sim.run(body())


def test_a_sync_started_before_the_wearer_wakes_the_device_waits_for_it(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime="micropython", usb=True, preload=10)
        assert rig.device.state == "asleep"
        told = []
        syncing = asyncio.ensure_future(rig.usb_sync(wait_s=30, on_wait=lambda: told.append(time.monotonic())))
        await asyncio.sleep(3)  # the companion looks, finds nothing answering, says so and keeps looking
        assert told and not syncing.done()
        await awake_for_sync(rig)
        result = await asyncio.wait_for(syncing, 30)
        assert result.new == 11 and len(told) == 1

    sim.run(body())


def test_a_sleeping_device_is_one_clear_line(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime="micropython", usb=True)
        assert rig.device.state == "asleep"
        with pytest.raises(UserError, match="hold its button"):
            await rig.usb_sync(repl_timeout=2)
        assert rig.stored() == [] and Store(rig.store.path).devices() == []

    sim.run(body())


def test_a_crashed_app_leaves_its_repl_on_the_serial_line(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime="micropython", usb=True)
        with rig.device.flash() as image:  # a profile the app cannot read: Board() raises at boot
            f = LfsFS(mount(image), image).open("board.json", "wb")
            f.write(b"{not json")
            f.close()
        mark = rig.device.mark()
        rig.device.set_button(True)  # a press wakes it; the app never gets to say "wake"
        await asyncio.sleep(0.1)
        rig.device.set_button(False)
        crash = await rig.device.wait_for("crash", since=mark, timeout=20)
        assert "ValueError" in crash["error"] and rig.device.state == "halted"
        assert any("ValueError" in c for c in rig.device.crashes)

        def ask_the_repl() -> bytes:
            from mpremote.transport_serial import SerialTransport

            t = SerialTransport(rig.device.usb.path, timeout=1)
            try:
                t.enter_raw_repl(soft_reset=False)
                return t.exec("import sys\nprint(sys.implementation._machine, 6 * 7)")
            finally:
                t.close()

        answer = await asyncio.to_thread(ask_the_repl)
        assert answer.split()[-1] == b"42" and answer.startswith(b"linux")
        rig.device.crashes.clear()  # the crash this test caused, checked above

    sim.run(body())


def test_device_info_over_usb_reads_the_log_and_the_app_runs_again(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime="micropython", usb=True, preload=40)
        await awake_for_sync(rig)
        mark = rig.device.mark()
        info = await asyncio.to_thread(dp.usb_info, rig.device.usb.path)
        assert info["log"]["count"] == 40 and info["board"] == "esp32-devkit"
        assert info["firmware_version"] == dp.firmware_version()
        # Ctrl-C, the soft reset into the raw REPL, then the one back into main.py
        await rig.device.wait_for("reset", since=mark, timeout=20, repl="friendly")
        await rig.device.wait_asleep()

    sim.run(body())


def test_a_dose_pressed_and_synced_over_usb_becomes_intake(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime="micropython", usb=True, settings={"click2": P.ACTION_DOSE})
        intake.add_product(rig.store, "Glycinate 200", "glycinate", 200)
        set_default_product(rig.store, "Glycinate 200")
        pressed_at = time.time()
        mark = rig.device.mark()
        await rig.device.double()  # not rig.press: its `advance` would move the RTC ahead of true time
        recorded = await rig.device.wait_for("recorded", since=mark)
        assert recorded["kind"] == "dose"
        await rig.device.wait_asleep()
        await awake_for_sync(rig)
        result = await rig.usb_sync()
        assert result.doses["added"] == 1
        (entry,) = intake.entries(rig.store)
        assert (entry.origin, entry.elemental_mg, entry.product) == ("button", 200.0, "Glycinate 200")
        assert abs(entry.utc - pressed_at) <= 3  # the press's true time, placed from the sync's anchor

    sim.run(body())
