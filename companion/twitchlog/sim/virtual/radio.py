"""MicroPython's ``bluetooth`` module on a Bumble device: a real BLE stack.

The firmware runs in its own thread with its own asyncio loop, as MicroPython
runs beside NimBLE's task on an ESP32.  Bumble runs on the caller's loop.

- Calls from the firmware (register, advertise, notify, ...) are scheduled on
  the Bumble loop; the ones MicroPython answers synchronously wait for it.
- Stack events reach the firmware's IRQ handler on the firmware's loop, in
  order.  Read requests and secrets wait for the handler's answer, as
  MicroPython's synchronous events do on the ESP32.

Behaviour follows MicroPython 1.2x with NimBLE (extmod/modbluetooth.c and
extmod/nimble/modbluetooth_nimble.c): writes are truncated to the value's
buffer (20 bytes unless set), a read IRQ may refuse with an ATT error code,
a write IRQ cannot, notifications are sent whatever the subscription, and
gatts_notify raises OSError(ENOMEM) when the stack's buffers are full.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import json
from collections.abc import Callable
from typing import Any

from bumble import hci
from bumble.att import ATT_Error
from bumble.core import UUID as BumbleUUID
from bumble.device import Device
from bumble.gatt import GATT_DEVICE_NAME_CHARACTERISTIC, Characteristic, CharacteristicValue, Service
from bumble.keys import KeyStore, PairingKeys
from bumble.pairing import PairingConfig, PairingDelegate

from twitchlog.sim.virtual import nimble_att
from twitchlog.sim.virtual.simclock import SimClock

FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020
FLAG_READ_ENCRYPTED = 0x0200
FLAG_READ_AUTHENTICATED = 0x0400
FLAG_READ_AUTHORIZED = 0x0800
FLAG_WRITE_ENCRYPTED = 0x1000
FLAG_WRITE_AUTHENTICATED = 0x2000
FLAG_WRITE_AUTHORIZED = 0x4000

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_GATTS_WRITE = 3
_IRQ_GATTS_READ_REQUEST = 4
_IRQ_GATTS_INDICATE_DONE = 20
_IRQ_MTU_EXCHANGED = 21
_IRQ_ENCRYPTION_UPDATE = 28
_IRQ_GET_SECRET = 29
_IRQ_SET_SECRET = 30

SEC_PEER = 2  # NimBLE's BLE_STORE_OBJ_TYPE_PEER_SEC
DEFAULT_BUFFER = 20
NOTIFY_BUFFERS = 12  # NimBLE's msys pool for outgoing PDUs, as on ESP32 builds
CALL_TIMEOUT_S = 10.0

# ble.irq(handler): handler(event, data); a read request's or secret's answer is its return value
IrqHandler = Callable[[int, tuple[Any, ...]], Any]

_PERMISSIONS = (
    (FLAG_READ, Characteristic.READABLE),
    (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE, Characteristic.WRITEABLE),
    (FLAG_READ_ENCRYPTED, Characteristic.READ_REQUIRES_ENCRYPTION),
    (FLAG_READ_AUTHENTICATED, Characteristic.READ_REQUIRES_AUTHENTICATION),
    (FLAG_READ_AUTHORIZED, Characteristic.READ_REQUIRES_AUTHORIZATION),
    (FLAG_WRITE_ENCRYPTED, Characteristic.WRITE_REQUIRES_ENCRYPTION),
    (FLAG_WRITE_AUTHENTICATED, Characteristic.WRITE_REQUIRES_AUTHENTICATION),
    (FLAG_WRITE_AUTHORIZED, Characteristic.WRITE_REQUIRES_AUTHORIZATION),
)


class UUID:
    """bluetooth.UUID: a 16-bit int, 2/4/16 raw little-endian bytes, or a 128-bit string."""

    _le: bytes

    def __init__(self, value: Any) -> None:
        if isinstance(value, UUID):
            self._le = value._le
        elif isinstance(value, int):
            if not 0 <= value <= 0xFFFF:
                raise ValueError("invalid UUID")
            self._le = value.to_bytes(2, "little")
        elif isinstance(value, str):
            hexdigits = value.replace("-", "")
            if len(hexdigits) != 32:
                raise ValueError("invalid UUID")
            self._le = bytes.fromhex(hexdigits)[::-1]
        else:
            raw = bytes(value)
            if len(raw) not in (2, 4, 16):
                raise ValueError("invalid UUID")
            self._le = raw

    def __bytes__(self) -> bytes:
        return self._le

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UUID) and other._le == self._le

    def __hash__(self) -> int:
        return hash(self._le)

    def __repr__(self) -> str:
        if len(self._le) == 2:
            return "UUID(0x%04x)" % int.from_bytes(self._le, "little")
        h = self._le[::-1].hex()
        return "UUID('%s-%s-%s-%s-%s')" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])

    def to_bumble(self) -> BumbleUUID:
        return BumbleUUID.from_bytes(self._le)


class _FirmwareKeyStore(KeyStore):
    """Bumble's key store, answered by the firmware's secret IRQs (so, by its flash)."""

    def __init__(self, ble: BLE) -> None:
        self.ble = ble

    async def get(self, name: str) -> PairingKeys | None:
        raw = await self.ble.call_irq(_IRQ_GET_SECRET, (SEC_PEER, 0, name.encode()))
        if not raw:
            return None
        # Remembered so the encryption change that follows this key lookup can
        # be reported at once, ahead of the central's next request (see
        # BLE._after_encryption).
        self.ble.bonded_peers.add(name)
        return PairingKeys.from_dict(json.loads(bytes(raw))["keys"])

    async def update(self, name: str, keys: PairingKeys) -> None:
        if not self.ble.settings["bond"]:
            return  # NimBLE persists nothing when bonding is off
        value = json.dumps({"name": name, "keys": keys.to_dict()}).encode()
        stored = await self.ble.call_irq(_IRQ_SET_SECRET, (SEC_PEER, name.encode(), value))
        if stored:
            self.ble.bonded_peers.add(name)

    async def delete(self, name: str) -> None:
        self.ble.bonded_peers.discard(name)
        await self.ble.call_irq(_IRQ_SET_SECRET, (SEC_PEER, name.encode(), None))

    async def get_all(self) -> list[tuple[str, PairingKeys]]:
        out = []
        for index in range(64):
            raw = await self.ble.call_irq(_IRQ_GET_SECRET, (SEC_PEER, index, None))
            if not raw:
                break
            entry = json.loads(bytes(raw))
            out.append((entry["name"], PairingKeys.from_dict(entry["keys"])))
        return out


class BLE:
    """bluetooth.BLE for one boot of the virtual device."""

    def __init__(
        self,
        device: Device,
        bumble_loop: asyncio.AbstractEventLoop,
        on_irq_error: Callable[[BaseException], None],
        clock: SimClock,
    ) -> None:
        self._device = device
        nimble_att.answer_read_multiple(device.gatt_server)
        self._clock = clock
        self._bumble_loop = bumble_loop
        self._fw_loop: asyncio.AbstractEventLoop | None = None
        self._handler: IrqHandler | None = None
        self._on_irq_error = on_irq_error
        self._active = False
        self.settings: dict[str, Any] = {
            "gap_name": "MPY ESP32",
            "mtu": 23,
            "bond": True,
            "mitm": False,
            "io": 3,
            "le_secure": False,
        }
        self._values: dict[int, bytearray] = {}
        self._alloc: dict[int, int] = {}
        self._append: dict[int, bool] = {}
        self._chars: dict[int, Characteristic[bytes]] = {}
        self._unsent = 0
        self._pairing: set[int] = set()
        self.bonded_peers: set[str] = set()
        self.notifications = 0
        self.indications = 0
        self._keystore = _FirmwareKeyStore(self)
        device.keystore = self._keystore
        device.pairing_config_factory = self._pairing_config
        device.on("connection", self._on_connection)

    # ------------------------------------------------------------ plumbing
    def _on_bumble(self, coro_fn: Callable[[], Any], wait: bool = True) -> Any:
        """Run coro_fn() on the Bumble loop; wait for it as MicroPython's call would."""
        future = asyncio.run_coroutine_threadsafe(coro_fn(), self._bumble_loop)
        if not wait:
            return future
        self._clock.hold()  # stack work on the host is not device time
        try:
            return future.result(CALL_TIMEOUT_S)
        finally:
            self._clock.release()

    def _deliver(self, event: int, data: tuple[Any, ...], result: concurrent.futures.Future[Any] | None) -> None:
        """On the firmware loop: run the IRQ handler like MicroPython's scheduler."""
        value = None
        try:
            if self._handler is not None:
                value = self._handler(event, data)
        except Exception as e:  # MicroPython prints it and keeps running
            self._on_irq_error(e)
        if result is not None and not result.done():
            result.set_result(value)

    def post_irq(self, event: int, data: tuple[Any, ...]) -> None:
        if self._fw_loop is None:
            return
        try:
            self._fw_loop.call_soon_threadsafe(self._deliver, event, data, None)
        except RuntimeError:
            pass  # the firmware's loop has ended: the chip is going to sleep

    async def call_irq(self, event: int, data: tuple[Any, ...]) -> Any:
        """Deliver an event whose answer the stack needs (read permission, secrets)."""
        if self._fw_loop is None:
            return None
        result: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            self._fw_loop.call_soon_threadsafe(self._deliver, event, data, result)
        except RuntimeError:
            return None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(result), CALL_TIMEOUT_S)
        except TimeoutError:
            return None

    # ------------------------------------------------------------ configuration
    def active(self, state: bool | None = None) -> bool:
        if state is not None:
            if not state and self._active:
                self._on_bumble(self._shutdown)
            self._active = bool(state)
        return self._active

    def config(self, *names: str, **values: Any) -> Any:
        if names:
            if len(names) != 1 or values:
                raise TypeError("config takes one name to get, or keywords to set")
            name = names[0]
            if name == "mac":
                return (1, bytes(self._device.random_address.address_bytes[::-1]))
            if name not in self.settings:
                raise ValueError("unknown config param")
            return self.settings[name]
        for name, value in values.items():
            if name not in self.settings:
                raise ValueError("unknown config param")
            self.settings[name] = value
            if name == "mtu":
                self._device.gatt_server.max_mtu = int(value)
            elif name == "gap_name":
                self._device.name = str(value)
                for attribute in self._device.gatt_server.attributes:  # the GAP Device Name a central reads
                    if isinstance(attribute, Characteristic) and attribute.uuid == GATT_DEVICE_NAME_CHARACTERISTIC:
                        attribute.value = str(value).encode()[:248]
        return None

    def irq(self, handler: IrqHandler) -> None:
        self._fw_loop = asyncio.get_running_loop()
        self._handler = handler

    def _pairing_config(self, connection: Any) -> PairingConfig:
        return PairingConfig(
            sc=bool(self.settings["le_secure"]),
            mitm=bool(self.settings["mitm"]),
            bonding=bool(self.settings["bond"]),
            delegate=PairingDelegate(io_capability=PairingDelegate.IoCapability(int(self.settings["io"]))),
            identity_address_type=PairingConfig.AddressType.RANDOM,
        )

    # ------------------------------------------------------------ GAP
    def gap_advertise(
        self,
        interval_us: int | None,
        adv_data: bytes | None = None,
        *,
        resp_data: bytes | None = None,
        connectable: bool = True,
    ) -> None:
        self._require_active()
        if interval_us is None:
            self._on_bumble(self._stop_advertising)
            return
        interval_ms = max(20.0, interval_us / 1000)
        adv = bytes(adv_data) if adv_data is not None else b""
        resp = bytes(resp_data) if resp_data is not None else b""

        async def start() -> None:
            await self._stop_advertising()
            await self._device.start_advertising(
                advertising_data=adv,
                scan_response_data=resp,
                advertising_interval_min=interval_ms,
                advertising_interval_max=interval_ms,
                auto_restart=False,
            )

        self._on_bumble(start)

    async def _stop_advertising(self) -> None:
        if self._device.is_advertising:
            await self._device.stop_advertising()

    def gap_disconnect(self, conn_handle: int) -> bool:
        connection = self._device.lookup_connection(conn_handle)
        if connection is None:
            return False

        async def drop() -> None:
            try:
                await connection.disconnect()
            except Exception:  # already gone: nothing to do
                pass

        self._on_bumble(drop, wait=False)
        return True

    async def _shutdown(self) -> None:
        await self._stop_advertising()
        for connection in list(self._device.connections.values()):
            try:
                await connection.disconnect()
            except Exception:  # the peer left first
                pass

    def _on_connection(self, connection: Any) -> None:
        handle = connection.handle
        address = connection.peer_address
        self.post_irq(_IRQ_CENTRAL_CONNECT, (handle, address.address_type, bytes(address.address_bytes[::-1])))
        connection.on("disconnection", lambda reason: self._on_disconnection(handle, address))
        connection.on(
            "connection_att_mtu_update", lambda: self.post_irq(_IRQ_MTU_EXCHANGED, (handle, connection.att_mtu))
        )
        connection.on("pairing_start", lambda: self._pairing.add(handle))
        connection.on("pairing", lambda keys: self._after_encryption(connection, pairing_done=True))
        connection.on("pairing_failure", lambda reason: self._pairing.discard(handle))
        connection.on("connection_encryption_change", lambda: self._after_encryption(connection, pairing_done=False))

    def _on_disconnection(self, handle: int, address: Any) -> None:
        self._pairing.discard(handle)
        self.post_irq(_IRQ_CENTRAL_DISCONNECT, (handle, address.address_type, bytes(address.address_bytes[::-1])))

    def _after_encryption(self, connection: Any, pairing_done: bool) -> None:
        """NimBLE reports the encryption change once pairing has finished, with the bond state."""
        if pairing_done:
            self._pairing.discard(connection.handle)
        elif connection.handle in self._pairing:
            return

        def post(bonded: bool) -> None:
            encrypted = 1 if connection.encryption else 0
            authenticated = 1 if connection.authenticated and self.settings["mitm"] else 0
            self.post_irq(
                _IRQ_ENCRYPTION_UPDATE,
                (
                    connection.handle,
                    encrypted,
                    authenticated,
                    1 if bonded and encrypted else 0,
                    connection.encryption_key_size or 16,
                ),
            )

        async def look_up_then_post() -> None:
            post((await self._keystore.get(name)) is not None)

        # NimBLE delivers the encryption change before it handles the next ATT
        # request on the link.  When the bond is already known (its key was
        # just looked up to encrypt), post now, in order; a lookup would let a
        # read that follows overtake the update and be refused as unencrypted.
        name = str(connection.peer_address)
        if name in self.bonded_peers:
            post(True)
        else:
            asyncio.ensure_future(look_up_then_post())

    def gap_pair(self, conn_handle: int) -> None:
        connection = self._device.lookup_connection(conn_handle)
        if connection is None:
            raise OSError(errno.ENOTCONN)
        self._on_bumble(connection.pair, wait=False)

    # ------------------------------------------------------------ GATT server
    def gatts_register_services(self, services: Any) -> tuple:
        self._require_active()
        if self._device.is_advertising:
            raise OSError(errno.EBUSY)
        built = []
        handles_per_service = []
        for service_uuid, characteristics in services:
            chars = []
            for definition in characteristics:
                uuid, flags = definition[0], definition[1]
                if len(definition) > 2 and definition[2]:
                    raise NotImplementedError("descriptors are not used by this firmware")
                chars.append(self._characteristic(UUID(uuid), int(flags)))
            built.append(Service(UUID(service_uuid).to_bumble(), chars))
            handles_per_service.append(chars)

        async def add() -> None:
            self._device.add_services(built)

        self._on_bumble(add)
        out = []
        for chars in handles_per_service:
            handles = []
            for char in chars:
                self._values[char.handle] = bytearray()
                self._alloc[char.handle] = DEFAULT_BUFFER
                self._append[char.handle] = False
                self._chars[char.handle] = char
                handles.append(char.handle)
            out.append(tuple(handles))
        return tuple(out)

    def _characteristic(self, uuid: UUID, flags: int) -> Characteristic[bytes]:
        permissions = Characteristic.Permissions(0)
        for flag, permission in _PERMISSIONS:
            if flags & flag:
                permissions |= permission
        # Encryption is checked here, not by Bumble: NimBLE's answer depends on
        # whether the peer has a bond (see nimble_att.refuse_unencrypted).
        read_encrypted = bool(permissions & Characteristic.READ_REQUIRES_ENCRYPTION)
        write_encrypted = bool(permissions & Characteristic.WRITE_REQUIRES_ENCRYPTION)
        permissions &= ~(Characteristic.READ_REQUIRES_ENCRYPTION | Characteristic.WRITE_REQUIRES_ENCRYPTION)

        async def read(connection: Any) -> bytes:
            handle = char.handle
            nimble_att.check_read(permissions, handle)
            if read_encrypted:
                await nimble_att.refuse_unencrypted(connection, self._device.keystore, handle)
            answer = await self.call_irq(_IRQ_GATTS_READ_REQUEST, (connection.handle, handle))
            if answer:
                raise ATT_Error(int(answer), handle)
            return bytes(self._values.get(handle, b""))

        async def write(connection: Any, value: bytes) -> None:
            handle = char.handle
            nimble_att.check_write(permissions, handle)
            if write_encrypted:
                await nimble_att.refuse_unencrypted(connection, self._device.keystore, handle)
            stored = self._values[handle]
            if self._append[handle]:
                stored += value[: max(0, self._alloc[handle] - len(stored))]
            else:
                self._values[handle] = bytearray(value[: self._alloc[handle]])
            await self.call_irq(_IRQ_GATTS_WRITE, (connection.handle, handle))

        char: Characteristic[bytes] = Characteristic(
            uuid.to_bumble(),
            Characteristic.Properties(flags & 0x7F),
            permissions,
            CharacteristicValue(read=read, write=write),
        )
        return char

    def gatts_read(self, value_handle: int) -> bytes:
        value = bytes(self._values[value_handle])
        if self._append.get(value_handle):
            self._values[value_handle] = bytearray()
        return value

    def gatts_write(self, value_handle: int, data: Any, send_update: bool = False) -> None:
        value = bytes(data)
        self._values[value_handle] = bytearray(value)
        self._alloc[value_handle] = max(self._alloc[value_handle], len(value))
        if send_update:
            char = self._chars[value_handle]

            async def update() -> None:
                await self._device.notify_subscribers(char, value)

            self._on_bumble(update, wait=False)

    def gatts_set_buffer(self, value_handle: int, length: int, append: bool = False) -> None:
        self._alloc[value_handle] = int(length)
        self._append[value_handle] = bool(append)

    def _connection(self, conn_handle: int) -> Any:
        connection = self._device.lookup_connection(conn_handle)
        if connection is None:
            raise OSError(errno.ENOTCONN)
        return connection

    def _queued(self) -> int:
        queue = self._device.host.le_acl_packet_queue or self._device.host.acl_packet_queue
        return self._unsent + (queue.pending if queue is not None else 0)

    def gatts_notify(self, conn_handle: int, value_handle: int, data: Any = None) -> None:
        self._require_active()
        connection = self._connection(conn_handle)
        if self._queued() >= NOTIFY_BUFFERS:
            raise OSError(errno.ENOMEM)
        value = bytes(self._values[value_handle] if data is None else data)
        char = self._chars[value_handle]
        self._unsent += 1
        self.notifications += 1

        async def send() -> None:
            try:
                await self._device.notify_subscriber(connection, char, value, force=True)
            finally:
                self._unsent -= 1

        self._on_bumble(send, wait=False)

    def gatts_indicate(self, conn_handle: int, value_handle: int, data: Any = None) -> None:
        self._require_active()
        connection = self._connection(conn_handle)
        value = bytes(self._values[value_handle] if data is None else data)
        char = self._chars[value_handle]
        self.indications += 1

        async def send() -> None:
            status = 0
            try:
                await self._device.indicate_subscriber(connection, char, value, force=True)
            except Exception:  # timeout or link lost: NimBLE reports a status
                status = 1
            self.post_irq(_IRQ_GATTS_INDICATE_DONE, (conn_handle, value_handle, status))

        self._on_bumble(send, wait=False)

    def _require_active(self) -> None:
        if not self._active:
            raise OSError(errno.EPERM, "bluetooth not active")


def address_for(unique_id: bytes) -> hci.Address:
    """A static random address (top two bits set) derived from the chip id."""
    raw = bytearray(unique_id[:6].rjust(6, b"\0"))
    raw[0] |= 0xC0
    return hci.Address(":".join("%02X" % b for b in raw), hci.Address.RANDOM_DEVICE_ADDRESS)
