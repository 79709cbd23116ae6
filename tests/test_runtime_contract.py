"""One GATT probe, both runtimes: the CPython shim must answer as NimBLE on real MicroPython does.

The probe reads and writes every characteristic of the symptom-log service
against its properties, asks for several at once with ATT Read Multiple, and
tries the log unbonded.  It records each answer (a value's length, or the ATT
error code) and the two runtimes' records must be equal.  Where they were
not, the real runtime was right and the shim was changed (see
twitchlog.sim.virtual.nimble_att).
"""

from __future__ import annotations

import asyncio

import pytest
from bumble.att import ATT_Error, ATT_Error_Response, ATT_Read_Multiple_Request

from support.ble_central import CONTROL, RECORDS, SETTINGS, STATUS, Central, preload_log, protocol
from support.sync_rig import QUICK_SETTINGS
from twitchlog.sim.unixport.runtime import MicroPythonDevice
from twitchlog.sim.virtual import SimClock, VirtualDevice
from twitchlog.sim.virtual.controller import VirtualLink

pytestmark = [pytest.mark.e2e, pytest.mark.realruntime]

LOG = {"control": CONTROL, "records": RECORDS, "status": STATUS, "settings": SETTINGS}


async def _answer(action) -> object:
    try:
        result = await action
    except ATT_Error as e:
        return ("error", e.error_code)
    return ("ok", len(result) if result is not None else 0)


async def _read_multiple(central: Central, *names: str) -> object:
    client = central.connection.gatt_client
    handles = [central.char(LOG[name]).handle for name in names]
    response = await client.send_request(ATT_Read_Multiple_Request(set_of_handles=handles))
    if isinstance(response, ATT_Error_Response):
        return ("error", response.error_code, names[handles.index(response.attribute_handle_in_error)])
    return ("ok", len(response.set_of_values))


async def _unsubscribed_report(central: Central) -> object:
    """RACP report all with both CCCDs off: (records notified, answers indicated)."""
    client = central.connection.gatt_client
    records: list[bytes] = []
    answers: list[bytes] = []
    # Listen without writing the CCCDs: what arrives is what the server sends unasked.
    client.notification_subscribers[central.char(RECORDS).handle] = {records.append}
    client.indication_subscribers[central.char(CONTROL).handle] = {answers.append}
    await central.write(CONTROL, protocol.racp_request(protocol.OP_REPORT, protocol.OPR_ALL))
    await asyncio.sleep(1.0)
    return (
        sum(len(protocol.unpack_notification(r)) for r in records),
        [protocol.parse_racp_response(a) for a in answers],
    )


async def probe(device, link) -> dict:
    await device.start()
    await device.advance(1)
    await device.wait_asleep()
    preload_log(device, 3)
    answers: dict[str, object] = {}

    stranger = await Central.on_link(link).start()
    mark = device.mark()
    await device.hold(2.0)
    await device.wait_for("advertising", since=mark)
    await stranger.connect(device.address)
    for name in ("status", "settings"):
        answers[f"unbonded read {name}"] = await _answer(stranger.read(LOG[name]))
    answers["unbonded read multiple"] = await _read_multiple(stranger, "status", "settings")
    answers["unbonded write settings"] = await _answer(stranger.write(SETTINGS, b"\x01"))
    await stranger.disconnect()
    await device.wait_asleep(timeout=150)

    central = await Central.on_link(link).start()
    mark = device.mark()
    await device.hold(6.5)
    await device.wait_for("pairing", since=mark)
    await central.connect(device.address)
    await central.pair()
    await device.wait_for("bonded", since=mark)
    answers["without CCCDs"] = await _unsubscribed_report(central)
    for name, uuid in LOG.items():
        answers[f"read {name}"] = await _answer(central.read(uuid))
    for name in ("records", "status"):
        answers[f"write {name}"] = await _answer(central.write(LOG[name], b"\x00"))
    answers["read multiple status+settings"] = await _read_multiple(central, "status", "settings")
    answers["read multiple status+control"] = await _read_multiple(central, "status", "control")
    await central.disconnect()
    return answers


def test_the_shim_answers_the_probe_as_nimble_does(sim):
    async def body():
        link = VirtualLink()
        real = sim.device(
            MicroPythonDevice.on_link(link, unique_id=b"\x01\x02\x03\x04\x05\x07", settings=QUICK_SETTINGS)
        )
        real_answers = await probe(real, link)
        link = VirtualLink()
        shim = sim.device(
            VirtualDevice.on_link(link, clock=SimClock(847_000_000, speed=20), unique_id=b"\x01\x02\x03\x04\x05\x08")
        )
        shim_answers = await probe(shim, link)
        assert shim_answers == real_answers
        # And what NimBLE answers is what the GATT contract (PROTOCOL.md) promises.
        assert real_answers["read control"] == ("error", 0x02)
        assert real_answers["read records"] == ("error", 0x02)
        assert real_answers["write status"] == ("error", 0x03)
        assert real_answers["write records"] == ("error", 0x03)
        assert real_answers["read multiple status+control"] == ("error", 0x02, "control")
        # PROTOCOL.md: notifications and indications go out whatever the CCCD says.
        assert real_answers["without CCCDs"] == (3, [("code", protocol.OP_REPORT, protocol.RSP_SUCCESS)])

    sim.run(body())
