"""Sync end to end: the companion's bleak code on the Bumble backend, the unmodified firmware on the virtual device.

Truth comes from the simulation: each `recorded` event carries the true
(simulated) time of the press, and the device's log can be read from its
flash while it sleeps.
"""

from __future__ import annotations

import asyncio

import pytest
from bumble.device import Device
from bumble.gatt import Characteristic, Service
from bumble.hci import Address

from sync_rig import make_rig
from twitchlog import bumble_bleak, devicectl
from twitchlog import sync as sync_mod
from twitchlog.errors import UserError
from twitchlog.firmware import protocol as P
from twitchlog.firmware.clock import UNIX_AT_2000
from twitchlog.virtual.controller import VirtualController


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 240))


def assert_times(rig, pressed, tolerance):
    """Every pressed event is in the store once, at its true UTC time within tolerance."""
    events = rig.store.events()
    assert [e.seq for e in events] == [p["seq"] for p in pressed]
    for e, p in zip(events, pressed):
        assert e.utc is not None, e
        assert abs(e.utc - (p["time"] + UNIX_AT_2000)) <= tolerance, (e, p)
    return events


# ---------------------------------------------------------------- times
def test_clock_never_set_before_the_first_sync(tmp_path):
    async def body():
        rig = await make_rig(tmp_path)
        pressed = []
        for kind in ("click", "double", "click"):
            pressed.append(await rig.press(kind))
            await rig.device.advance(3 * 3600)
        assert rig.device.hw.rtc_seconds() < 86400  # the RTC still counts from power-on (year 2000)
        await rig.pair()
        result = await rig.sync()
        assert result.new == 4  # three events and the anchor of the time just set
        events = assert_times(rig, pressed, tolerance=2)
        assert {e.time_quality for e in events} == {"backdated"}
        assert [e.kind for e in events] == [P.KIND_TWITCH, P.KIND_CRAMP, P.KIND_TWITCH]
        await rig.close()

    run(body())


def test_rtc_reset_by_power_loss_between_syncs(tmp_path):
    async def body():
        rig = await make_rig(tmp_path)
        await rig.pair()
        await rig.sync()
        pressed = [await rig.press("click")]
        await rig.device.advance(7200)
        rig.device.powercut()  # the battery is pulled while it sleeps: the RTC restarts from 2000
        await rig.device.wait_for("powercut")
        await rig.device.wait_asleep()
        await rig.device.advance(3600)
        pressed.append(await rig.press("double"))
        await rig.window()
        await rig.sync()
        events = assert_times(rig, pressed, tolerance=2)
        boots = {row[0]: row[1] for row in rig.store.db.execute("SELECT seq, boot_id FROM events")}
        assert boots[events[0].seq] != boots[events[1].seq]  # two boots, each placed from its own anchor
        await rig.close()

    run(body())


def test_five_percent_deep_sleep_drift_is_corrected_within_a_minute_over_a_day(tmp_path):
    async def body():
        rig = await make_rig(tmp_path)
        await rig.pair()
        await rig.sync()
        await rig.device.advance(150)  # the sync window closes
        await rig.device.wait_asleep()
        rig.device.hw.rtc_drift = 0.05  # the RC oscillator runs 5% fast in deep sleep
        pressed = []
        for _ in range(12):
            await rig.device.advance(7000)
            pressed.append(await rig.press("click"))
        await rig.device.advance(3000)
        await rig.window()
        result = await rig.sync()
        device_minus_true = result.status["device_time"] - (rig.clock.now())
        assert device_minus_true > 3600  # about 70 minutes fast before the sync set it
        events = assert_times(rig, pressed, tolerance=60)
        assert {e.time_quality for e in events} == {"anchored"}
        await rig.close()

    run(body())


# ---------------------------------------------------------------- faults
def test_link_dropped_at_twenty_points_of_a_2000_record_sync(tmp_path, monkeypatch):
    # At the minimum MTU each notification carries one record, so the drops
    # can land at any record, not only every 15th; and commits come every 45.
    monkeypatch.setattr(bumble_bleak, "WANTED_MTU", 23)
    monkeypatch.setattr(sync_mod, "BATCH", 45)

    async def body():
        rig = await make_rig(tmp_path, preload=2000)
        await rig.pair()
        await devicectl.settings(rig.adapter, rig.store, None, {"sync_window_s": 900}, scan_timeout=2)
        await rig.device.advance(120)
        await rig.device.wait_asleep()
        before = rig.device.read_log()
        assert len(before) >= 2000
        await rig.window()
        drops = []
        receive = sync_mod._Session.on_records

        def receive_then_maybe_lose_link(session, char, data):
            """Lose the radio link each time the transfer passes another hundred records."""
            receive(session, char, data)
            if session.expected_seq > 100 * (len(drops) + 1) and rig.radio.le_connections:
                drops.append(session.expected_seq - 1)
                rig.radio.lose_links()  # out of range: both sides see a supervision timeout

        monkeypatch.setattr(sync_mod._Session, "on_records", receive_then_maybe_lose_link)
        result = await rig.sync(attempts=40)
        assert len(drops) >= 20 and drops[-1] >= 2000, drops
        assert result.attempts == len(drops) + 1
        stored = rig.stored()
        assert stored[: len(before)] == before  # every record, once, intact
        assert [r[0] for r in stored] == list(range(1, len(stored) + 1))  # no hole, no duplicate
        await rig.close()

    run(body())


def test_device_reboot_mid_sync_then_resume(tmp_path):
    async def body():
        rig = await make_rig(tmp_path, preload=1500)
        pressed = [await rig.press("double")]
        before = rig.device.read_log()
        await rig.pair()

        async def reboot_mid_transfer():
            while rig.store.last_seq(1) < 500:
                await asyncio.sleep(0.002)
            rig.device.reboot()

        rebooter = asyncio.ensure_future(reboot_mid_transfer())
        with pytest.raises(UserError, match="not advertising.*records up to seq"):
            await rig.sync()
        assert rebooter.done()
        saved = rig.store.last_seq(1)
        assert 500 <= saved < len(before)
        await rig.device.wait_asleep()
        pressed.append(await rig.press("click"))  # after the reboot: a new boot, clock unset
        await rig.window()
        await rig.sync()
        stored = rig.stored()
        assert stored[: len(before)] == before
        assert [r[0] for r in stored] == list(range(1, len(stored) + 1))
        placed = {e.seq: e for e in rig.store.events()}
        for p in pressed:
            assert abs(placed[p["seq"]].utc - (p["time"] + UNIX_AT_2000)) <= 2
        await rig.close()

    run(body())


# ---------------------------------------------------------------- clear messages
def test_missing_bond_is_one_clear_line(tmp_path):
    async def body():
        rig = await make_rig(tmp_path)
        await rig.press("click")
        await rig.window()  # the sync window, not pairing mode
        with pytest.raises(UserError) as exc:
            await rig.sync()
        assert "no bond" in str(exc.value) and "pairing mode" in str(exc.value) and "\n" not in str(exc.value)
        assert rig.store.events() == []
        assert len(rig.device.read_log() if rig.device.state == "asleep" else []) in (0, 1, 2)
        await rig.close()

    run(body())


def test_device_out_of_range_is_one_clear_line(tmp_path):
    async def body():
        rig = await make_rig(tmp_path)
        await rig.pair()
        await rig.device.advance(200)
        await rig.device.wait_asleep()  # not advertising: asleep, or out of range
        with pytest.raises(UserError, match="no twitchlog device is advertising") as exc:
            await rig.sync()
        assert "\n" not in str(exc.value)
        with pytest.raises(UserError, match="is not advertising: out of range"):
            await rig.sync(address=str(rig.device.address))
        await rig.close()

    run(body())


def test_wrong_device_is_one_clear_line(tmp_path):
    async def body():
        rig = await make_rig(tmp_path)
        other_radio = VirtualController("heart-rate-strap", link=rig.link)
        other = Device.with_hci("HRM", Address("D0:11:22:33:44:55"), other_radio, other_radio)
        other.add_service(Service("180D", [Characteristic("2A37", Characteristic.Properties.READ, Characteristic.READABLE, b"\x00\x48")]))
        await other.power_on()
        await other.start_advertising(auto_restart=True)
        with pytest.raises(UserError, match="D0:11:22:33:44:55 is not a twitchlog device") as exc:
            await rig.sync(address="D0:11:22:33:44:55")
        assert "\n" not in str(exc.value)
        with pytest.raises(UserError, match="not a twitchlog device"):
            await devicectl.pair(rig.adapter, rig.store, "D0:11:22:33:44:55", scan_timeout=2)
        await other.stop_advertising()
        await rig.close()

    run(body())


def test_second_sync_changes_nothing_and_settings_round_trip(tmp_path):
    async def body():
        rig = await make_rig(tmp_path)
        pressed = [await rig.press("click"), await rig.press("double")]
        await rig.pair()
        first = await rig.sync()
        rows = rig.store.events()
        await rig.window()
        second = await rig.sync()
        assert (first.new, second.new) == (3, 1)  # the second brings only its own clock anchor
        assert rig.store.events() == rows and len(rows) == len(pressed)
        await rig.window()
        changed = await devicectl.settings(rig.adapter, rig.store, None, {"event_window_s": 5, "click1": P.KIND_EYELID}, scan_timeout=2)
        assert (changed["event_window_s"], changed["click1"]) == (5, P.KIND_EYELID)
        with pytest.raises(UserError, match="settings not changed: event_window_s"):
            await devicectl.settings(rig.adapter, rig.store, None, {"event_window_s": 5000}, scan_timeout=2)
        await rig.close()

    run(body())
