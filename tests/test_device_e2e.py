"""End to end: the unmodified firmware on the virtual device, driven by a plain Bumble central.

Each body runs on both runtimes (the `runtime` fixture): CPython in simulated
time, and the real MicroPython interpreter with NimBLE in real time, its
windows shortened through the settings file.  Where they disagree, the real
one is right.
"""

from __future__ import annotations

import asyncio

import pytest
from bumble.att import ATT_Error

from support.ble_central import (
    BATTERY,
    CONTROL,
    CURRENT_TIME,
    LOCAL_TIME,
    SETTINGS,
    STATUS,
    Central,
    preload_log,
    protocol,
    uuid16,
)
from support.sync_rig import QUICK_SETTINGS
from twitchlog.sim.unixport.runtime import MicroPythonDevice
from twitchlog.sim.virtual import SimClock, VirtualDevice
from twitchlog.sim.virtual.controller import VirtualLink

pytestmark = pytest.mark.e2e


async def _setup(sim, runtime: str, preload: int = 0, board: str = "esp32-devkit"):
    """A device asleep after its first boot and a central on its link, both closed by `sim` after the test."""
    link = VirtualLink()
    unique_id = b"\x01\x02\x03\x04\x05\x06"
    if runtime == "micropython":
        device = MicroPythonDevice.on_link(link, board=board, unique_id=unique_id, settings=QUICK_SETTINGS)
    else:
        device = VirtualDevice.on_link(link, clock=SimClock(847_000_000, speed=20), board=board, unique_id=unique_id)
    sim.device(device)  # registered before start(): a boot that hangs is still stopped
    await device.start()
    await device.advance(1)
    await device.wait_asleep()
    if preload:
        preload_log(device, preload)  # at rest, as a debugger writing the flash would
    central = sim.central(await Central.on_link(link).start())
    return device, central


async def _open_window(device, pairing: bool = False):
    """Hold the button into the sync window (or pairing mode) and wait for advertising."""
    mark = device.mark()
    await device.hold(6.5 if pairing else 2.0)
    await device.wait_for("pairing" if pairing else "advertising", since=mark)


async def _paired(sim, runtime: str, preload: int = 0, board: str = "esp32-devkit"):
    device, central = await _setup(sim, runtime, preload, board)
    await _open_window(device, pairing=True)
    await central.connect(device.address)
    await central.pair()
    await device.wait_for("bonded")
    await central.subscribe_log()
    return device, central


async def _shut_down(device, central):
    """Disconnect and power off now, to read the flash at rest (the teardown's repeat of both is harmless)."""
    await central.disconnect()
    await device.stop()


# ---------------------------------------------------------------- standard services
def test_device_information_battery_and_current_time_are_byte_exact(sim, runtime):
    async def body():
        device, central = await _paired(sim, runtime)
        names = [await central.read(uuid16(u)) for u in (0x2A29, 0x2A24, 0x2A26, 0x2A25)]
        assert names[0] == b"twitchlog"
        assert names[1] == b"esp32-devkit"
        assert names[2].count(b".") == 2
        assert names[3] == b"010203040506"
        level = await central.read(BATTERY)
        assert len(level) == 1 and 0 <= level[0] <= 100
        assert level[0] == (3900 - 3300) * 100 // (4150 - 3300)  # the profile's linear scale at 3.9 V
        assert await central.read(LOCAL_TIME) == b"\x00\x00"

        before = await central.read(CURRENT_TIME)
        assert len(before) == 10
        device_time = protocol.unpack_current_time(before)[0]
        assert abs(device_time - device.rtc_seconds()) <= 2  # the RTC counts from power-on

        utc_now = int(device.world_time())
        value = protocol.pack_current_time(utc_now, adjust_reason=protocol.ADJUST_MANUAL)
        assert len(value) == 10
        mark = device.mark()
        await central.write(CURRENT_TIME, value)
        await device.wait_for("time_set", since=mark)
        after = protocol.unpack_current_time(await central.read(CURRENT_TIME))[0]
        assert abs(after - utc_now) <= 2
        st = protocol.unpack_status(await central.read(STATUS))
        assert st["clock_state"] == protocol.CLOCK_SET

    sim.run(body())


# ---------------------------------------------------------------- security
def test_unbonded_central_is_refused_the_log_characteristics(sim, runtime):
    async def body():
        device, central = await _setup(sim, runtime, preload=5)
        await _open_window(device)
        await central.connect(device.address)
        for uuid in (STATUS, SETTINGS):
            with pytest.raises(ATT_Error) as refused:
                await central.read(uuid)
            assert refused.value.error_code in (0x05, 0x0F)
        with pytest.raises(ATT_Error) as refused:
            await central.write(CONTROL, protocol.racp_request(protocol.OP_DELETE, protocol.OPR_ALL))
        assert refused.value.error_code in (0x05, 0x0F)
        await _shut_down(device, central)
        assert len(device.read_log()) == 5  # nothing deleted

    sim.run(body())


def test_pairing_outside_pairing_mode_leaves_no_bond_and_no_access(sim, runtime):
    async def body():
        device, central = await _setup(sim, runtime, preload=3)
        await _open_window(device)  # sync window, not pairing mode
        await central.connect(device.address)
        mark = device.mark()
        try:
            await central.pair()
        except Exception:
            pass  # refused outright is as good as dropped
        await device.wait_for("unbonded", since=mark)
        await device.wait_for("disconnected", since=mark)
        if runtime == "cpython":  # the shim's view; on NimBLE the refused reconnect below shows it
            assert len(device.ble.bonded_peers) == 0
        # Reconnect: the device stored no keys, so re-encryption fails and the log stays closed.
        await device.wait_for("advertising", since=mark)
        await central.connect(device.address)
        try:
            await central.encrypt(timeout=5)
        except Exception:
            pass
        with pytest.raises(ATT_Error):
            await central.read(STATUS)
        await _shut_down(device, central)
        assert len(device.read_log()) == 3

    sim.run(body())


def test_pairing_mode_bonds_and_bond_survives_reboot(sim, runtime):
    async def body():
        device, central = await _paired(sim, runtime, preload=4)
        assert protocol.unpack_status(await central.read(STATUS))["count"] == 4
        await central.disconnect()
        await device.advance(120)
        await device.wait_asleep()

        mark = device.mark()
        device.reboot()  # RTC, RAM and radio start over; flash (and the bond) stay
        await device.wait_for("wake", since=mark)
        await device.advance(1)
        await device.wait_asleep()
        await _open_window(device)
        await central.connect(device.address)
        await central.encrypt()
        await device.wait_for("bonded", since=mark)
        st = protocol.unpack_status(await central.read(STATUS))
        assert st["count"] == 4 and st["clock_state"] == protocol.CLOCK_UNSET

    sim.run(body())


# ---------------------------------------------------------------- RACP
def test_racp_report_number_report_ge_and_delete_le(sim, runtime):
    async def body():
        device, central = await _paired(sim, runtime, preload=40)
        assert await central.racp(protocol.racp_request(protocol.OP_REPORT_NUMBER, protocol.OPR_ALL)) == ("number", 40)
        assert await central.racp(protocol.racp_request(protocol.OP_REPORT_NUMBER, protocol.OPR_GE, lo=31)) == (
            "number",
            10,
        )

        central.notifications.clear()
        answer = await central.racp(protocol.racp_request(protocol.OP_REPORT, protocol.OPR_GE, lo=11))
        assert answer == ("code", protocol.OP_REPORT, protocol.RSP_SUCCESS)
        records = central.received_records()
        assert [r[0] for r in records] == list(range(11, 41))
        assert all(r[1] == 1000 + 60 * (r[0] - 1) for r in records)  # times as stored
        assert len(central.notifications) == -(-30 // 15)  # MTU 247: 15 records a packet

        answer = await central.racp(protocol.racp_request(protocol.OP_DELETE, protocol.OPR_LE, hi=25))
        assert answer == ("code", protocol.OP_DELETE, protocol.RSP_SUCCESS)
        assert await central.racp(protocol.racp_request(protocol.OP_REPORT_NUMBER, protocol.OPR_ALL)) == ("number", 15)
        st = protocol.unpack_status(await central.read(STATUS))
        assert (st["first_seq"], st["last_seq"], st["count"]) == (26, 40, 15)
        central.notifications.clear()
        await central.racp(protocol.racp_request(protocol.OP_REPORT, protocol.OPR_ALL))
        assert [r[0] for r in central.received_records()] == list(range(26, 41))
        assert await central.racp(protocol.racp_request(protocol.OP_REPORT, protocol.OPR_LE, hi=10)) == (
            "code",
            protocol.OP_REPORT,
            protocol.RSP_NO_RECORDS,
        )

    sim.run(body())


def test_racp_abort_stops_a_transfer_midway(sim, runtime):
    async def body():
        device, central = await _paired(sim, runtime, preload=3000)
        central.notifications.clear()
        central.indications.clear()
        await central.write(CONTROL, protocol.racp_request(protocol.OP_REPORT, protocol.OPR_ALL))
        while not central.notifications:
            await asyncio.sleep(0.001)
        answer = await central.racp(protocol.racp_request(protocol.OP_ABORT, protocol.OPR_NULL))
        assert answer == ("code", protocol.OP_ABORT, protocol.RSP_SUCCESS)
        await asyncio.sleep(0.3)
        received = central.received_records()
        assert 0 < len(received) < 3000
        assert [r[0] for r in received] == list(range(1, len(received) + 1))  # in order, no gaps
        # No "report finished" answer follows an abort, and the device still serves.
        assert all(protocol.parse_racp_response(i)[1] != protocol.OP_REPORT for i in central.indications)
        assert await central.racp(protocol.racp_request(protocol.OP_REPORT_NUMBER, protocol.OPR_ALL)) == (
            "number",
            3000,
        )

    sim.run(body())


BAD_REQUESTS = [
    (b"\x09\x01", 0x09, protocol.RSP_OP_NOT_SUPPORTED),  # unknown op code
    (b"\x05\x00", 0x05, protocol.RSP_OP_NOT_SUPPORTED),  # a response op written as a request
    (b"\x01\x00", 0x01, protocol.RSP_INVALID_OPERATOR),  # operator null on report
    (b"\x01\x07", 0x01, protocol.RSP_OPERATOR_NOT_SUPPORTED),  # operator beyond "last"
    (b"\x03\x01", 0x03, protocol.RSP_INVALID_OPERATOR),  # abort takes operator null
    (b"\x01\x03", 0x01, protocol.RSP_INVALID_OPERAND),  # >= with no operand
    (b"\x01\x03\x01\x05\x00", 0x01, protocol.RSP_INVALID_OPERAND),  # seq operand too short
    (b"\x01\x04\x01\x09\x00\x00\x00\x02\x00\x00\x00", 0x01, protocol.RSP_INVALID_OPERAND),  # range lo > hi
    (b"\x01\x03\x02\x05\x00\x00\x00", 0x01, protocol.RSP_OPERAND_NOT_SUPPORTED),  # filter type 2 (time)
    (b"\x02\x03\x01\x05\x00\x00\x00", 0x02, protocol.RSP_OPERATOR_NOT_SUPPORTED),  # delete >= : only a prefix
]


def test_racp_malformed_requests_get_the_right_response_codes(sim, runtime):
    async def body():
        device, central = await _paired(sim, runtime, preload=10)
        for request, op, code in BAD_REQUESTS:
            assert await central.racp(request) == ("code", op, code), request.hex()
        assert await central.racp(protocol.racp_request(protocol.OP_REPORT_NUMBER, protocol.OPR_ALL)) == ("number", 10)
        await _shut_down(device, central)
        assert len(device.read_log()) == 10

    sim.run(body())


# ---------------------------------------------------------------- fuzz
def test_random_bytes_to_every_writable_characteristic_never_crash_or_lose_records(sim, runtime):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    targets = [CONTROL, SETTINGS, CURRENT_TIME]

    def is_delete(target, data):
        if target is not CONTROL:
            return False
        try:
            return protocol.parse_racp_request(data)[0] == protocol.OP_DELETE
        except protocol.ProtocolError:
            return False

    async def body():
        device, central = await _paired(sim, runtime, preload=30)
        before = await _all_records(central)
        assert len(before) == 30
        loop = asyncio.get_running_loop()

        # Hypothesis drives from a worker thread; each example is one write on this loop.
        examples = 500 if runtime == "cpython" else 200  # the real runtime writes in real time

        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(st.sampled_from(targets), st.binary(min_size=0, max_size=40))
        def write_garbage(target, data):
            if is_delete(target, data):
                data = b"\x02\x03" + data[2:]  # deleting the log is a valid request, not garbage
            asyncio.run_coroutine_threadsafe(central.write(target, data), loop).result(10)

        await asyncio.to_thread(write_garbage)
        await asyncio.sleep(0.5)
        after = await _all_records(central)
        symptoms = [r for r in after if r[4] != protocol.KIND_ANCHOR]
        assert symptoms == before  # every record intact; valid time writes only add anchors
        protocol.unpack_settings(await central.read(SETTINGS))  # a valid value is in force

    sim.run(body())


async def _all_records(central):
    central.notifications.clear()
    for _ in range(20):  # a fuzzed request may still be running: wait for our own answer
        answer = await central.racp(protocol.racp_request(protocol.OP_REPORT, protocol.OPR_ALL))
        if answer == ("code", protocol.OP_REPORT, protocol.RSP_SUCCESS):
            return central.received_records()
        await asyncio.sleep(0.05)
        central.notifications.clear()
    raise AssertionError(f"the device never finished a report: last answer {answer!r}")


# ---------------------------------------------------------------- press scripts
# What differs between the boards is the wake method and the pins.  Both runtimes press on the
# DevKit (ext0) and the C3 (gpio).  The low-current XIAOs run on the CPython runtime, whose esp32
# and machine shims refuse what MicroPython refuses on each chip (ext0 only on an RTC pin of an
# ESP32/S3, deep-sleep GPIO wake only on the C3's GPIO 0-5 and the C6's LP GPIO 0-7): there a
# profile that could not wake the chip fails.  The real runtime's chip shim has no per-chip wake
# rules, so the S3 and C6 would add half a minute there and check nothing new.
PRESS_SCRIPT_CASES = [
    ("cpython", "esp32-devkit"),
    ("cpython", "xiao-esp32c3"),
    ("cpython", "xiao-esp32s3"),
    ("cpython", "xiao-esp32c6"),
    pytest.param("micropython", "esp32-devkit", marks=pytest.mark.realruntime),
    pytest.param("micropython", "xiao-esp32c3", marks=pytest.mark.realruntime),
]


@pytest.mark.parametrize(("runtime", "board"), PRESS_SCRIPT_CASES, indirect=["runtime"])
def test_press_scripts_make_the_right_records_at_the_right_times(board, sim, runtime):
    async def body():
        device, central = await _setup(sim, runtime, board=board)
        expected = []
        for gesture, kind in (("click", "twitch"), ("double", "cramp")):
            assert device.state == "asleep"
            mark = device.mark()
            rtc_at_press = int(device.rtc_seconds())
            led_changes = device.led_changes
            await getattr(device, gesture)()  # this press wakes the chip from deep sleep
            event = await device.wait_for("recorded", since=mark)
            assert event["kind"] == kind
            assert abs(event["device_time"] - rtc_at_press) <= 1
            expected.append(
                (
                    event["seq"],
                    event["device_time"],
                    protocol.ARG_AT_WAKE,
                    protocol.KIND_TWITCH if kind == "twitch" else protocol.KIND_CRAMP,
                )
            )
            asleep = await device.wait_for("asleep", since=mark)
            # BLE stays off after a press (event_window_s 0), but the confirmation
            # blinks (120 ms on, 180 ms off each) are shown in full before sleeping.
            blinks = 1 if kind == "twitch" else 2
            assert device.led_changes - led_changes == 2 * blinks
            assert asleep["awake_s"] >= 0.3 * blinks
            await device.advance(3600)
            await device.wait_asleep()

        # Triple click within a minute of a twitch undoes it with a tombstone.
        mark = device.mark()
        await device.click()
        twitch = await device.wait_for("recorded", since=mark)
        await device.advance(5)
        await device.triple()
        undone = await device.wait_for("undone", since=mark)
        assert undone["seq"] == twitch["seq"]
        # A hold opens the sync window and records nothing.
        await device.advance(30)
        await device.wait_asleep()
        mark = device.mark()
        await device.hold(2.0)
        window = QUICK_SETTINGS["sync_window_s"] if runtime == "micropython" else 120
        await device.wait_for("advertising", since=mark, seconds=window)
        await device.advance(200)
        await device.wait_asleep()
        assert not [e for e in device.events[mark:] if e["event"] == "recorded"]

        records = device.read_log()
        assert [(r[0], r[1], r[2], r[4]) for r in records[:2]] == expected
        assert records[2][4] == protocol.KIND_TWITCH
        assert records[3][4] == protocol.KIND_TOMBSTONE and records[3][2] == records[2][0]
        assert len(records) == 4

    sim.run(body())


# ---------------------------------------------------------------- power cuts
def test_power_cut_at_random_points_of_an_append_recovers(sim, runtime):
    import random

    async def body():
        rng = random.Random(7)
        device, central = await _setup(sim, runtime)
        kept = []
        cuts = 0
        for trial in range(20):
            cut_after = rng.randrange(0, 4)
            mark = device.mark()
            device.powercut(after_flash_ops=cut_after)
            await device.click()
            outcome = await _first_of(device, mark, "powercut", "recorded")
            cut = outcome["event"] == "powercut"  # else the append needed fewer flash operations
            cuts += cut
            if runtime == "cpython":
                device.hw.image.cut_at = None  # a cut armed past the append's last write stays armed
            if cut:
                await device.wait_for("wake", since=mark)  # power back: a cold boot
            else:
                kept.append(outcome["seq"])
            await device.advance(60)
            await device.wait_asleep()
            # The log opens, holds every record acknowledged as written, and takes new ones.
            seqs = [r[0] for r in device.read_log() if r[4] == protocol.KIND_TWITCH]
            assert set(kept) <= set(seqs), (trial, kept, seqs)
            assert seqs == sorted(set(seqs))
            kept = seqs
        assert cuts >= 8  # many trials really cut an append midway
        mark = device.mark()
        await device.click()
        last = await device.wait_for("recorded", since=mark)
        assert last["seq"] > max(kept, default=0)

    sim.run(body())


async def _first_of(device, since, *names, timeout=10.0):
    for _ in range(int(timeout / 0.01)):
        for event in device.events[since:]:
            if event["event"] in names:
                return event
        await asyncio.sleep(0.01)
    raise AssertionError(f"none of {names} happened")


# ---------------------------------------------------------------- the awake loop sees every sync
def test_a_sync_between_two_idle_polls_still_ends_the_window(sim, runtime):
    """A central that connects, acknowledges and leaves within one 200 ms idle poll is seen.

    The app used to look at its connection table only when it polled, so such
    a sync went unnoticed and the device advertised on for the rest of the
    window.  Radio events now wake the loop, and the "connected" event counts
    even when the connection is already gone.
    """
    from bumble.gatt import GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR

    async def body():
        device, central = await _paired(sim, runtime, preload=3)
        control = central.char(CONTROL)
        cccd = control.get_descriptor(GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR)
        await central.disconnect()
        await device.advance(120)
        await device.wait_asleep()
        await _open_window(device)
        mark = device.mark()
        # As fast as a central can: no discovery, the handles are known from the bond;
        # it leaves the moment the device confirms the acknowledgement.
        connection = await central.device.connect(device.address)
        await connection.encrypt()
        client = connection.gatt_client
        answered = asyncio.Event()
        client.indication_subscribers[control.handle] = {lambda value: answered.set()}
        await client.write_value(cccd.handle, b"\x02\x00", with_response=True)  # indications on
        await client.write_value(
            control.handle, protocol.racp_request(protocol.OP_DELETE, protocol.OPR_LE, hi=3), with_response=True
        )
        await asyncio.wait_for(answered.wait(), 5)
        await connection.disconnect()
        synced = await device.wait_for("synced", since=mark, timeout=8)  # the window is 10 s (or 120 s)
        assert synced["acked"] == 3
        await device.wait_for("asleep", since=mark, timeout=5)

    sim.run(body())


def test_legacy_pairing_in_pairing_mode_is_accepted_a_documented_risk(sim, runtime):
    """PROTOCOL.md, Security: the firmware cannot tell legacy pairing from LE SC, so it bonds.

    This pins the residual risk the document states, on NimBLE as on the shim;
    if the firmware learns to refuse it, this test and the document change together.
    """
    from bumble.pairing import PairingConfig, PairingDelegate

    async def body():
        device, central = await _setup(sim, runtime, preload=2)
        central.device.pairing_config_factory = lambda connection: PairingConfig(
            sc=False,
            mitm=False,
            bonding=True,
            delegate=PairingDelegate(io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT),
            identity_address_type=PairingConfig.AddressType.RANDOM,
        )
        await _open_window(device, pairing=True)
        await central.connect(device.address)
        await central.pair()
        await device.wait_for("bonded")
        assert protocol.unpack_status(await central.read(STATUS))["count"] == 2

    sim.run(body())
