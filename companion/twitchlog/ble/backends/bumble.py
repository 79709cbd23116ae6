"""A bleak backend on Bumble: bleak's public API over a software BLE host.

The companion only ever talks to `bleak.BleakClient` / `bleak.BleakScanner`.
With ``backend=BumbleClient`` / ``BumbleScanner`` and ``bumble=BumbleHost``
(extra keyword arguments reach the backend), the host is Bumble on any HCI
transport: the virtual device's link, or a plain USB dongle (``usb:0``)
driven without the OS stack.

Bond keys live in a JSON key store beside the companion's data, under a
random static address the host keeps, so a bond made by `twitchlog pair`
is still valid for the next `twitchlog sync` process.
"""

from __future__ import annotations

import asyncio
import os
import uuid as uuid_module
from pathlib import Path
from typing import Any

from bleak.assigned_numbers import gatt_char_props_to_strs
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bumble.core import UUID, BaseBumbleError, PhysicalTransport
from bumble.core import AdvertisingData as AD
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.hci import Address, HCI_ErrorCode
from bumble.keys import JsonKeyStore
from bumble.pairing import PairingConfig, PairingDelegate

WANTED_MTU = 247  # 15 records per notification
# How a peer that lost our bond answers an encryption request.
_KEY_REJECTED = (HCI_ErrorCode.PIN_OR_KEY_MISSING_ERROR, HCI_ErrorCode.AUTHENTICATION_FAILURE_ERROR)


def bleak_uuid(uuid: UUID) -> str:
    """bleak's lower-case 128-bit string form of a Bumble UUID (16-bit ones expanded)."""
    return str(uuid_module.UUID(bytes=bytes(reversed(uuid.to_bytes(force_128=True)))))


def _random_static_address() -> str:
    raw = bytearray(os.urandom(6))
    raw[0] |= 0xC0  # the two top bits mark a static random address
    return ":".join("%02X" % b for b in raw)


class _PrivateKeyStore(JsonKeyStore):
    """Bumble's JSON key store, readable by the owner only (it holds long-term keys)."""

    async def save(self, db: dict[str, dict[str, dict[str, Any]]]) -> None:
        await super().save(db)
        os.chmod(self.filename, 0o600)


class BumbleHost:
    """The companion's own BLE host: one Bumble Device on an HCI transport.

    keys_path: the JSON key store; the host's static address is kept beside
    it (``<keys_path>.address``) because the device's bond names that address.
    """

    def __init__(self, hci_source: Any, hci_sink: Any, keys_path: Path | str):
        keys_path = Path(keys_path)
        keys_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        address_file = keys_path.with_name(keys_path.name + ".address")
        if not address_file.exists():
            fd = os.open(address_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(_random_static_address() + "\n")
        self.address = address_file.read_text().strip()
        self.device = Device.with_hci("twitchlog", Address(self.address), hci_source, hci_sink)
        self.device.keystore = _PrivateKeyStore(self.address, str(keys_path))
        self.device.pairing_config_factory = lambda connection: PairingConfig(
            sc=True,
            mitm=False,
            bonding=True,
            delegate=PairingDelegate(io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT),
            identity_address_type=PairingConfig.AddressType.RANDOM,
        )
        self._powered = False

    async def power_on(self) -> BumbleHost:
        if not self._powered:
            await self.device.power_on()
            self._powered = True
        return self

    async def bonded(self, address: str) -> bool:
        keystore = self.device.keystore
        return keystore is not None and await keystore.get(address) is not None


def _address(target: BLEDevice | str) -> Address:
    if isinstance(target, BLEDevice) and isinstance(target.details, Address):
        return target.details
    text = target.address if isinstance(target, BLEDevice) else target
    try:
        return Address(text)
    except (ValueError, TypeError) as e:
        raise BleakError(f"{text!r} is not a Bluetooth address") from e


class BumbleScanner(BaseBleakScanner):
    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        bumble: BumbleHost,
        **kwargs: Any,
    ):
        super().__init__(detection_callback, service_uuids)
        self._host = bumble
        self._active = scanning_mode == "active"
        self._merged: dict[str, dict[str, Any]] = {}

    async def start(self) -> None:
        self.seen_devices = {}
        self._merged = {}
        await self._host.power_on()
        self._host.device.on("advertisement", self._on_advertisement)
        await self._host.device.start_scanning(active=self._active, filter_duplicates=False)

    async def stop(self) -> None:
        self._host.device.remove_listener("advertisement", self._on_advertisement)
        try:
            # Bounded: this also runs on the way out of a Ctrl-C, and Bumble waits
            # for the controller's answer without a timeout.
            await asyncio.wait_for(self._host.device.stop_scanning(), 2.0)
        except (TimeoutError, BaseBumbleError):
            pass  # the controller is gone or stuck: there is no scan left to stop

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        # Like the OS stacks, merge the advertisement with its scan response
        # (our name only fits in the scan response).
        address = advertisement.address.to_string(with_type_qualifier=False)  # the Address keeps the type
        data = advertisement.data
        merged = self._merged.setdefault(address, {"name": None, "uuids": [], "manufacturer": {}})
        for kind in (
            AD.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AD.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AD.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            AD.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        ):
            for found in data.get_all(kind):
                for uuid in found if isinstance(found, list) else [found]:
                    if bleak_uuid(uuid) not in merged["uuids"]:
                        merged["uuids"].append(bleak_uuid(uuid))
        name = data.get(AD.COMPLETE_LOCAL_NAME) or data.get(AD.SHORTENED_LOCAL_NAME)
        if name:
            merged["name"] = str(name)
        for company, payload in data.get_all(AD.MANUFACTURER_SPECIFIC_DATA):
            merged["manufacturer"][company] = bytes(payload)
        if not self.is_allowed_uuid(merged["uuids"]):
            return
        tx = advertisement.tx_power
        adv = AdvertisementData(
            local_name=merged["name"],
            manufacturer_data=dict(merged["manufacturer"]),
            service_data={},
            service_uuids=list(merged["uuids"]),
            tx_power=None if tx == Advertisement.TX_POWER_NOT_AVAILABLE else tx,
            rssi=advertisement.rssi,
            platform_data=(advertisement,),
        )
        device = self.create_or_update_device(address, address, adv.local_name, advertisement.address, adv)
        self.call_detection_callbacks(device, adv)


class BumbleClient(BaseBleakClient):
    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        bumble: BumbleHost,
        services: set[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        self._host = bumble
        self._target = _address(address_or_ble_device)
        self._name = address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        self._wanted_services = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscribers: dict[int, Any] = {}
        self._closing = False

    @property
    def name(self) -> str:
        return self._name or str(self._target)

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        await self._host.power_on()
        device = self._host.device
        self._closing = False
        try:
            # Bumble's own timeout does not cover finding a bonded peer by its
            # identity address (a scan with no end), so bound the whole call.
            connection = await asyncio.wait_for(
                device.connect(self._target, transport=PhysicalTransport.LE, timeout=self._timeout), self._timeout + 1
            )
        except (BaseBumbleError, TimeoutError) as e:
            raise BleakError(f"could not connect to {self._target}: {_describe(e)}") from e
        self._connection = connection
        connection.on("disconnection", self._on_disconnection)
        try:
            if await self._host.bonded(str(self._target)):
                try:
                    await asyncio.wait_for(connection.encrypt(), self._timeout)
                except BaseBumbleError as e:
                    if getattr(e, "error_code", None) in _KEY_REJECTED:
                        raise BleakError(f"the device rejected our stored bond key: {_describe(e)}") from e
                    raise BleakError(f"encryption did not complete (link lost?): {_describe(e)}") from e
            elif pair:
                await self.pair()
            peer = Peer(connection)
            await peer.request_mtu(WANTED_MTU)
            await self._discover(peer)
            self._peer = peer
        except BleakError:
            await self.disconnect()
            raise
        except (BaseBumbleError, TimeoutError, asyncio.CancelledError) as e:
            if isinstance(e, asyncio.CancelledError) and _we_are_cancelled():
                raise
            await self.disconnect()
            raise BleakError(f"setting up the link to {self._target} failed: {_describe(e)}") from e

    async def _discover(self, peer: Peer) -> None:
        services = BleakGATTServiceCollection()
        wanted = [UUID(u) for u in self._wanted_services] if self._wanted_services else []
        for service in await peer.discover_services(wanted):
            bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            services.add_service(bleak_service)
            for char in await peer.discover_characteristics(service=service):
                properties = sorted(gatt_char_props_to_strs(int(char.properties)))
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    bleak_uuid(char.uuid),
                    properties,
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                services.add_characteristic(bleak_char)
                for desc in await peer.discover_descriptors(char):
                    services.add_descriptor(BleakGATTDescriptor(desc, desc.handle, bleak_uuid(desc.type), bleak_char))
        self.services = services

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        if self._disconnected_callback is not None and not self._closing:
            self._disconnected_callback()  # only unsolicited drops are reported

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        try:
            # Bounded: if the link died under us no Disconnection Complete comes.
            await asyncio.wait_for(connection.disconnect(), 2.0)
        except (TimeoutError, BaseBumbleError):
            pass  # already gone
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        if self._connection is None:
            raise BleakError("not connected")
        try:
            await asyncio.wait_for(self._connection.pair(), self._timeout)
        except (BaseBumbleError, TimeoutError, asyncio.CancelledError) as e:
            if isinstance(e, asyncio.CancelledError) and _we_are_cancelled():
                raise
            raise BleakError(f"pairing with {self._target} failed: {_describe(e)}") from e

    async def unpair(self) -> None:
        keystore = self._host.device.keystore
        if keystore is not None:
            try:
                await keystore.delete(str(self._target))
            except KeyError:
                pass

    def _need_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("not connected")
        return self._peer

    async def _att(self, what: str, operation: Any) -> Any:
        try:
            return await asyncio.wait_for(operation, self._timeout)
        except (BaseBumbleError, TimeoutError) as e:
            raise BleakError(f"{what}: {_describe(e)}") from e
        except asyncio.CancelledError as e:
            if _we_are_cancelled():
                raise
            raise BleakError(f"{what}: the link dropped") from e  # Bumble aborts pending requests on disconnection

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._need_peer()
        return bytearray(await self._att(f"reading {characteristic.uuid}", peer.read_value(characteristic.obj)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._need_peer()
        return bytearray(await self._att(f"reading descriptor {descriptor.uuid}", peer.read_value(descriptor.obj)))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        peer = self._need_peer()
        await self._att(
            f"writing {characteristic.uuid}", peer.write_value(characteristic.obj, bytes(data), with_response=response)
        )

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        peer = self._need_peer()
        await self._att(
            f"writing descriptor {descriptor.uuid}", peer.write_value(descriptor.obj, bytes(data), with_response=True)
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._need_peer()

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = deliver
        await self._att(
            f"subscribing to {characteristic.uuid}", peer.subscribe(characteristic.obj, deliver, prefer_notify=True)
        )

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._need_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._att(f"unsubscribing from {characteristic.uuid}", peer.unsubscribe(characteristic.obj, subscriber))


def _we_are_cancelled() -> bool:
    """True if the caller's task is being cancelled (as opposed to Bumble aborting a request)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _describe(error: BaseException) -> str:
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    if isinstance(error, asyncio.CancelledError):
        return "the link dropped"
    return str(error) or type(error).__name__
