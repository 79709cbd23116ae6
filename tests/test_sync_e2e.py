"""Sync end to end: the companion's bleak code on the Bumble backend, the unmodified firmware on the virtual device.

Truth comes from the simulation: each `recorded` event carries the true
(simulated) time of the press, and the device's log can be read from its
flash while it sleeps.
"""

from __future__ import annotations

import pytest
from bumble.device import Device
from bumble.gatt import Characteristic, Service
from bumble.hci import Address

from twitchlog.ble import devicectl
from twitchlog.ble import sync as sync_mod
from twitchlog.ble.backends import bumble as bumble_bleak
from twitchlog.ble.gattclient import find_device
from twitchlog.errors import UserError
from twitchlog.firmware import protocol as P
from twitchlog.firmware.clock import UNIX_AT_2000
from twitchlog.sim.virtual import VirtualDevice
from twitchlog.sim.virtual.controller import VirtualController
from twitchlog.store.db import Store

pytestmark = pytest.mark.e2e


def assert_times(rig, pressed, tolerance):
    """Every pressed event is in the store once, at its true UTC time within tolerance."""
    events = rig.store.events()
    assert [e.seq for e in events] == [p["seq"] for p in pressed]
    for e, p in zip(events, pressed, strict=True):
        assert e.utc is not None, e
        assert abs(e.utc - (p["time"] + UNIX_AT_2000)) <= tolerance, (e, p)
    return events


# ---------------------------------------------------------------- times
def test_clock_never_set_before_the_first_sync(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path)
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

    sim.run(body())


def test_rtc_reset_by_power_loss_between_syncs(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path)
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

    sim.run(body())


def test_five_percent_deep_sleep_drift_is_corrected_within_a_minute_over_a_day(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path)
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

    sim.run(body())


# ---------------------------------------------------------------- faults
def test_link_dropped_at_twenty_points_of_a_2000_record_sync(tmp_path, monkeypatch, sim, runtime):
    # At the minimum MTU each notification carries one record, so the drops
    # can land at any record, not only every 15th; and commits come every 45.
    monkeypatch.setattr(bumble_bleak, "WANTED_MTU", 23)
    monkeypatch.setattr(sync_mod, "BATCH", 45)

    async def body():
        rig = await sim.sync_rig(tmp_path, preload=2000, runtime=runtime)
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
        result = await rig.sync(max_stalled=4)
        assert len(drops) >= 20 and drops[-1] >= 2000, drops
        assert result.attempts == len(drops) + 1
        stored = rig.stored()
        assert stored[: len(before)] == before  # every record, once, intact
        assert [r[0] for r in stored] == list(range(1, len(stored) + 1))  # no hole, no duplicate

    sim.run(body())


def test_device_reboot_mid_sync_then_resume(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path, preload=1500)
        pressed = [await rig.press("double")]
        before = rig.device.read_log()
        await rig.pair()

        commit = rig.store.add_records
        rebooted = []

        def commit_then_reboot_once(device_id, records):
            added = commit(device_id, records)
            if not rebooted:
                rebooted.append(rig.store.last_seq(device_id))
                rig.device.reboot()  # the EN button, right after the first committed batch
            return added

        rig.store.add_records = commit_then_reboot_once
        with pytest.raises(UserError, match="not advertising.*records up to seq"):
            await rig.sync()
        rig.store.add_records = commit
        saved = rig.store.last_seq(1)
        assert 0 < saved < len(before)
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

    sim.run(body())


# ---------------------------------------------------------------- clear messages
def test_missing_bond_is_one_clear_line(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path)
        pressed = await rig.press("click")
        await rig.window()  # the sync window, not pairing mode
        with pytest.raises(UserError) as exc:
            await rig.sync()
        assert "no bond" in str(exc.value) and "pairing mode" in str(exc.value) and "\n" not in str(exc.value)
        assert rig.store.events() == [] and rig.store.devices() == []  # not registered as ours
        await rig.device.advance(200)
        await rig.device.wait_asleep()
        assert [r[0] for r in rig.device.read_log()] == [pressed["seq"]]  # nothing deleted, nothing anchored

    sim.run(body())


def test_device_out_of_range_is_one_clear_line(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path)
        await rig.pair()
        await rig.device.advance(200)
        await rig.device.wait_asleep()  # not advertising: asleep, or out of range
        with pytest.raises(UserError, match="no twitchlog device is advertising") as exc:
            await rig.sync()
        assert "\n" not in str(exc.value)
        with pytest.raises(UserError, match="is not advertising: out of range"):
            await rig.sync(target=str(rig.device.address))

    sim.run(body())


def test_wrong_device_is_one_clear_line(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path)
        other_radio = VirtualController("heart-rate-strap", link=rig.link)
        other = Device.with_hci("HRM", Address("D0:11:22:33:44:55"), other_radio, other_radio)
        other.add_service(
            Service(
                "180D", [Characteristic("2A37", Characteristic.Properties.READ, Characteristic.READABLE, b"\x00\x48")]
            )
        )
        await other.power_on()
        await other.start_advertising(auto_restart=True)
        with pytest.raises(UserError, match="D0:11:22:33:44:55 is not a twitchlog device") as exc:
            await rig.sync(target="D0:11:22:33:44:55")
        assert "\n" not in str(exc.value)
        with pytest.raises(UserError, match="not a twitchlog device"):
            await devicectl.pair(rig.adapter, rig.store, "D0:11:22:33:44:55", scan_timeout=2)
        await other.stop_advertising()

    sim.run(body())


def test_second_sync_changes_nothing_and_settings_round_trip(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path)
        pressed = [await rig.press("click"), await rig.press("double")]
        await rig.pair()
        first = await rig.sync()
        rows = rig.store.events()
        await rig.window()
        second = await rig.sync()
        assert (first.new, second.new) == (3, 1)  # the second brings only its own clock anchor
        assert rig.store.events() == rows and len(rows) == len(pressed)
        await rig.window()
        changed = await devicectl.settings(
            rig.adapter, rig.store, None, {"event_window_s": 5, "click1": P.KIND_EYELID}, scan_timeout=2
        )
        assert (changed["event_window_s"], changed["click1"]) == (5, P.KIND_EYELID)
        with pytest.raises(UserError, match="settings not changed: event_window_s"):
            await devicectl.settings(rig.adapter, rig.store, None, {"event_window_s": 5000}, scan_timeout=2)

    sim.run(body())


def test_a_fresh_database_syncs_a_device_that_acknowledged_into_another(tmp_path, sim):
    """The device's log starts above seq 1 (acknowledged records reclaimed): no endless "hole"."""

    async def body():
        rig = await sim.sync_rig(tmp_path)
        for kind in ("click", "double"):
            await rig.press(kind)
        await rig.pair()
        await rig.sync()  # acknowledges 1..3
        pressed = [await rig.press("click")]
        rig.store.close()
        rig.store = Store(tmp_path / "new-computer.db")
        await rig.window()
        result = await rig.sync()
        assert [e.seq for e in rig.store.events()] == [p["seq"] for p in pressed]
        assert result.acked_seq == pressed[0]["seq"] + 1  # and the new anchor

    sim.run(body())


def test_a_hole_the_device_confirms_is_stepped_over_and_never_committed_blindly(tmp_path, sim):
    """Seqs skipped by the firmware after a failed write: the device says the range is empty."""

    async def body():
        rig = await sim.sync_rig(tmp_path, preload=20)
        # Damage one record in flash: its CRC fails, the reader skips it.
        image = rig.device.hw.image
        from twitchlog.hw.flash import LfsFS, mount

        fs = LfsFS(mount(image), image)
        f = fs.open("log/00000000", "r+b")  # the first segment
        f.seek(6 * P.RECORD_SIZE + 3)  # the 7th record
        f.write(b"\xff\xff")
        f.close()
        valid = [r[0] for r in rig.device.read_log()]
        assert valid == [1, 2, 3, 4, 5, 6] + list(range(8, 21))
        await rig.pair()
        await rig.sync()
        seqs = [r[0] for r in rig.stored()]
        assert seqs[:19] == valid and 7 not in seqs

    sim.run(body())


def test_an_erased_device_at_a_known_address_is_never_acknowledged_blindly(tmp_path, sim):
    async def body():
        rig = await sim.sync_rig(tmp_path)
        for _ in range(5):
            await rig.press("click")
        await rig.pair()
        await rig.sync()  # the database now holds seqs 1..6
        erased = sim.device(rig.device)  # the rig's teardown sees only the new device: check this one too
        await erased.stop()
        # Same address, fresh flash (erased and redeployed): three new presses.
        rig.device = VirtualDevice.on_link(rig.link, clock=rig.clock, unique_id=b"\x0a\x0b\x0c\x0d\x0e\x0f")
        await rig.device.start()
        await rig.device.advance(1)
        await rig.device.wait_asleep()
        fresh = [await rig.press("click") for _ in range(3)]
        await rig.window(pairing=True)
        with pytest.raises(UserError, match="no longer accepts our bond"):  # its keys went with the flash
            await rig.sync()
        # Bonded again outside `twitchlog pair` (say, by the OS's Bluetooth settings):
        target = await find_device(rig.adapter, None, rig.store, 2)
        await rig.adapter.client(target).unpair()
        client = rig.adapter.client(target, pair=True)
        await client.connect()
        await client.disconnect()
        with pytest.raises(UserError, match="erased or replaced. Nothing was deleted"):
            await rig.sync()
        await devicectl.pair(rig.adapter, rig.store, scan_timeout=2)  # starts a new log for it
        await rig.sync()
        new_id = rig.store.known_device(str(rig.device.address))
        got = [e.seq for e in rig.store.events() if e.device_id == new_id]
        assert got == [p["seq"] for p in fresh]
        assert len(rig.store.devices()) == 2  # the old log is kept under the retired row

    sim.run(body())
