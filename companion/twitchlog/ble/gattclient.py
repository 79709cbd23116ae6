"""The twitchlog device as a bleak client sees it: UUIDs, discovery, and the reads every command needs.

UUIDs come from the firmware's own protocol module (the one definition both
sides use), in the lower-case 128-bit form bleak expects.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from twitchlog.ble.adapter import Adapter
from twitchlog.errors import UserError
from twitchlog.firmware import protocol as P
from twitchlog.store.db import Store


def sig_uuid(short: int) -> str:
    return "0000%04x-0000-1000-8000-00805f9b34fb" % short


SERVICE_UUID = P.SERVICE_UUID.lower()
CONTROL_UUID = P.CONTROL_POINT_UUID.lower()
RECORDS_UUID = P.RECORDS_UUID.lower()
STATUS_UUID = P.STATUS_UUID.lower()
SETTINGS_UUID = P.SETTINGS_UUID.lower()


CURRENT_TIME_UUID = sig_uuid(P.UUID_CURRENT_TIME)
BATTERY_UUID = sig_uuid(P.UUID_BATTERY_LEVEL)
DIS_UUIDS = {
    "manufacturer": sig_uuid(P.UUID_MANUFACTURER_NAME),
    "model": sig_uuid(P.UUID_MODEL_NUMBER),
    "firmware": sig_uuid(P.UUID_FIRMWARE_REVISION),
    "serial": sig_uuid(P.UUID_SERIAL_NUMBER),
}
GAP_NAME_UUID = sig_uuid(0x2A00)

PAIRING_HINT = "hold its button 6 s until the LED pulses fast (pairing mode), then run `twitchlog pair`"
SETTLE_S = 1.5  # listening on after the first unknown device shows up


def is_security_refusal(error: BaseException) -> bool:
    # Bumble backend: ATT 0x05/0x0F names and our re-encryption message;
    # BlueZ/WinRT/CoreBluetooth word theirs "Not permitted"/"authentication".
    text = str(error).lower()
    words = (
        "insufficient_authentication",
        "insufficient_encryption",
        "insufficient authentication",
        "insufficient encryption",
        "rejected our stored bond",
        "not permitted",
        "authentication failed",
    )
    return any(word in text for word in words)


async def read_device_info(client: BleakClient) -> dict[str, str]:
    """Device Information strings and the GAP name (readable without a bond)."""
    info = {}
    for key, uuid in (("name", GAP_NAME_UUID), *DIS_UUIDS.items()):
        try:
            info[key] = bytes(await client.read_gatt_char(uuid)).decode("utf-8", "replace")
        except (BleakError, KeyError):
            pass
    return info


def require_twitchlog(client: BleakClient, address: str) -> None:
    if client.services is None or client.services.get_service(SERVICE_UUID) is None:
        raise UserError(f"{address} is not a twitchlog device (it has no symptom-log service)")


async def read_status(client: BleakClient, address: str) -> dict[str, Any]:
    try:
        raw = await client.read_gatt_char(STATUS_UUID)
    except BleakError as e:
        if is_security_refusal(e):
            raise UserError(f"{address} refused us: we have no bond with it; {PAIRING_HINT}") from None
        raise
    try:
        return P.unpack_status(bytes(raw))
    except P.ProtocolError as e:
        raise UserError(f"{address}: unreadable status ({e}); is its firmware newer than this twitchlog?") from None


async def find_device(adapter: Adapter, address: str | None, store: Store, timeout: float) -> Any:
    """The advertising twitchlog device to talk to (a BLEDevice).

    With no address: the one bonded device that is advertising, or the only
    twitchlog advertising at all.
    """
    if address is not None:
        device = await BleakScanner.find_device_by_address(address, timeout=timeout, **adapter.scanner_kwargs())
        if device is None:
            raise UserError(
                f"{address} is not advertising: out of range, or asleep (hold its button 2 s to open the sync window)"
            )
        return device
    known = {d.address for d in store.devices()}
    seen: dict[str, Any] = {}
    found_known = asyncio.Event()

    first_seen = [0.0]

    def on_advertisement(device: Any, _adv: Any) -> None:
        if not seen:
            first_seen[0] = asyncio.get_running_loop().time()
        seen[device.address] = device
        if device.address in known:
            found_known.set()  # a bonded device: no need to wait for others

    async with BleakScanner(on_advertisement, **adapter.scanner_kwargs(service_uuids=[SERVICE_UUID])):
        # A bonded device ends the scan at once; otherwise listen a moment
        # past the first sighting, long enough to notice a second device.
        deadline = asyncio.get_running_loop().time() + timeout
        while not found_known.is_set() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
            if seen and asyncio.get_running_loop().time() > first_seen[0] + SETTLE_S:
                break
    mine = [d for a, d in seen.items() if a in known]
    if len(mine) == 1 or (not mine and len(seen) == 1):
        return (mine or list(seen.values()))[0]
    if not seen:
        raise UserError(
            "no twitchlog device is advertising: hold its button 2 s to open the sync window, and keep it within range"
        )
    listing = ", ".join(d.address for d in (mine or list(seen.values())))
    raise UserError(f"several twitchlog devices are advertising ({listing}); name one: `twitchlog sync ADDRESS`")
