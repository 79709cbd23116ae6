"""Pairing, device information and settings over bleak: the library side of `pair` and `device`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bleak import BleakClient
from bleak.exc import BleakError

from twitchlog.ble.adapter import Adapter
from twitchlog.ble.gattclient import (
    BATTERY_UUID,
    PAIRING_HINT,
    SETTINGS_UUID,
    find_device,
    read_device_info,
    read_status,
    require_twitchlog,
)
from twitchlog.errors import UserError
from twitchlog.firmware import protocol as P
from twitchlog.store.db import Store


@asynccontextmanager
async def connected(
    adapter: Adapter, store: Store, address: str | None, *, pair: bool = False, scan_timeout: float = 10.0
) -> AsyncIterator[tuple[BleakClient, Any]]:
    """A connected client to the twitchlog device (bonded unless pair=True makes a new bond)."""
    target = await find_device(adapter, address, store, scan_timeout)
    client = adapter.client(target, pair=pair, timeout=10.0)
    if pair and adapter.is_bumble:
        # Our own key store: drop the old key so the pairing makes a fresh bond.
        # (OS stacks own their bonds; bleak's unpair there can remove more.)
        with contextlib.suppress(BleakError, NotImplementedError):
            await client.unpair()
    try:
        await client.connect()
    except (TimeoutError, BleakError) as e:
        if pair:
            raise UserError(
                f"{target.address} did not pair ({e}): "
                "hold its button 6 s until the LED pulses fast (pairing mode) and try again"
            ) from None
        raise UserError(f"could not connect to {target.address}: {e}") from None
    try:
        require_twitchlog(client, target.address)
        yield client, target
    except BleakError as e:
        raise UserError(f"lost the link to {target.address}: {e}; try again within its window") from None
    finally:
        try:
            await client.disconnect()
        except BleakError:
            pass


async def pair(
    adapter: Adapter, store: Store, address: str | None = None, scan_timeout: float = 10.0
) -> dict[str, Any]:
    """Bond with a device in pairing mode and remember it."""
    async with connected(adapter, store, address, pair=True, scan_timeout=scan_timeout) as (client, target):
        info = await read_device_info(client)
        status = await read_status(client, target.address)  # proves the bond: refused without one
    known = store.known_device(target.address)
    if known is None and info.get("serial"):
        # First met over USB (`sync --port`): the same chip, so the same device and log.
        known = store.known_serial(str(info["serial"]))
        if known is not None:
            store.readdress(known, target.address)
    if known is not None and status["last_seq"] < store.last_seq(known):
        store.retire_device(known)  # erased or replaced: its old records stay, a new log starts
    device_id = store.device_id(target.address, info.get("name") or target.name)
    store.set_device_info(device_id, **{k: info.get(k) for k in ("name", "serial", "model", "firmware")})
    return {"address": target.address, **info}


async def device_info(
    adapter: Adapter, store: Store, address: str | None = None, scan_timeout: float = 10.0
) -> dict[str, Any]:
    async with connected(adapter, store, address, scan_timeout=scan_timeout) as (client, target):
        info: dict[str, Any] = {"address": target.address, **await read_device_info(client)}
        battery = bytes(await client.read_gatt_char(BATTERY_UUID))
        info["battery_percent"] = battery[0] if battery else None
        info["status"] = await read_status(client, target.address)
        info["settings"] = P.unpack_settings(bytes(await client.read_gatt_char(SETTINGS_UUID)))
    return info


# Gesture actions that are not a symptom kind, by the word `--set` takes.
_ACTIONS = {"none": P.ACTION_NONE, "undo": P.ACTION_UNDO, "dose": P.ACTION_DOSE}


def describe_setting(key: str, value: int) -> str:
    """A setting's value as `--set` would take it: an action's name for the click keys, else the number."""
    if not key.startswith("click"):
        return str(value)
    from twitchlog.kinds import kind_name

    names = {code: word for word, code in _ACTIONS.items()}
    return names.get(value) or kind_name(value)


def parse_setting(text: str) -> tuple[str, int]:
    """KEY=VALUE for `device settings --set`; UserError naming the problem."""
    key, sep, value = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or key not in P.DEFAULT_SETTINGS:
        raise UserError(f"--set {text!r}: expected KEY=VALUE with KEY one of {', '.join(P.DEFAULT_SETTINGS)}")
    value = value.strip()
    if key.startswith("click"):
        from twitchlog.kinds import kind_code

        word = value.lower()
        return key, _ACTIONS[word] if word in _ACTIONS else kind_code(value)
    try:
        return key, int(value)
    except ValueError:
        raise UserError(f"--set {text!r}: {value!r} is not a whole number of seconds") from None


async def settings(
    adapter: Adapter, store: Store, address: str | None, changes: dict[str, int], scan_timeout: float = 10.0
) -> dict[str, int]:
    """Read the device settings; with changes, validate, write and read them back."""
    async with connected(adapter, store, address, scan_timeout=scan_timeout) as (client, _target):
        try:
            current = P.unpack_settings(bytes(await client.read_gatt_char(SETTINGS_UUID)))
        except BleakError as e:
            raise UserError(f"the device refused to show its settings ({e}): is it paired? {PAIRING_HINT}") from None
        if not changes:
            return current
        wanted = {**current, **changes}
        try:
            packed = P.pack_settings(wanted)
        except P.ProtocolError as e:
            raise UserError(f"settings not changed: {e}") from None
        try:
            await client.write_gatt_char(SETTINGS_UUID, packed, response=True)
        except BleakError as e:
            raise UserError(f"the device refused the new settings: {e}") from None
        stored = P.unpack_settings(bytes(await client.read_gatt_char(SETTINGS_UUID)))
        if stored != wanted:
            raise UserError("the device did not keep the new settings (refused write)")
        return stored
