"""A plain Bumble central for end-to-end tests, independent of the companion's sync code.

It speaks raw GATT: discover, read, write, subscribe, pair, and the RACP
exchange (records arrive as notifications, the answer as an indication).
"""

from __future__ import annotations

import asyncio
import struct

from bumble.core import UUID
from bumble.device import Device, Peer
from bumble.hci import Address
from bumble.keys import MemoryKeyStore
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate

from twitchlog.firmware import eventlog, protocol
from twitchlog.hw.flash import LfsFS, mount
from twitchlog.sim.virtual.controller import VirtualController


def uuid16(value: int) -> UUID:
    return UUID.from_16_bits(value)


CONTROL = UUID(protocol.CONTROL_POINT_UUID)
RECORDS = UUID(protocol.RECORDS_UUID)
STATUS = UUID(protocol.STATUS_UUID)
SETTINGS = UUID(protocol.SETTINGS_UUID)
CURRENT_TIME = uuid16(protocol.UUID_CURRENT_TIME)
LOCAL_TIME = uuid16(protocol.UUID_LOCAL_TIME_INFO)
BATTERY = uuid16(protocol.UUID_BATTERY_LEVEL)


class Central:
    def __init__(self, hci_source, hci_sink, address: str = "F0:F1:F2:F3:F4:F6") -> None:
        self.device = Device.with_hci("central", Address(address), hci_source, hci_sink)
        self.device.keystore = MemoryKeyStore()
        self.device.pairing_config_factory = lambda connection: PairingConfig(
            sc=True,
            mitm=False,
            bonding=True,
            delegate=PairingDelegate(io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT),
            identity_address_type=PairingConfig.AddressType.RANDOM,
        )
        self.connection = None
        self.peer: Peer | None = None
        self.notifications: list[bytes] = []
        self.indications: list[bytes] = []
        self._indicated = asyncio.Event()

    @classmethod
    def on_link(cls, link: LocalLink) -> Central:
        controller = VirtualController("central", link=link)
        return cls(controller, controller)

    async def start(self) -> Central:
        await self.device.power_on()
        return self

    async def connect(self, address: Address, mtu: int = 247, timeout: float = 10.0) -> None:
        self.connection = await asyncio.wait_for(self.device.connect(address), timeout)
        self.peer = Peer(self.connection)
        if mtu != 23:
            await self.peer.request_mtu(mtu)
        await self.peer.discover_services()
        await self.peer.discover_characteristics()

    async def disconnect(self) -> None:
        if self.connection is not None:
            try:
                await self.connection.disconnect()
            except Exception:  # already gone
                pass
            self.connection = None

    def char(self, uuid: UUID):
        assert self.peer is not None
        found = self.peer.get_characteristics_by_uuid(uuid)
        assert found, f"no characteristic {uuid}"
        return found[0]

    async def read(self, uuid: UUID) -> bytes:
        return bytes(await self.char(uuid).read_value())

    async def write(self, uuid: UUID, value: bytes) -> None:
        await self.char(uuid).write_value(value, with_response=True)

    async def pair(self, timeout: float = 10.0) -> None:
        assert self.connection is not None
        await asyncio.wait_for(self.connection.pair(), timeout)

    async def encrypt(self, timeout: float = 10.0) -> None:
        assert self.connection is not None
        await asyncio.wait_for(self.connection.encrypt(), timeout)

    async def subscribe_log(self) -> None:
        def on_record(value: bytes) -> None:
            self.notifications.append(bytes(value))

        def on_control(value: bytes) -> None:
            self.indications.append(bytes(value))
            self._indicated.set()

        await self.char(RECORDS).subscribe(on_record)
        await self.char(CONTROL).subscribe(on_control, prefer_notify=False)

    async def racp(self, request: bytes, timeout: float = 20.0) -> tuple:
        """Write one request; return the parsed answer (see protocol.parse_racp_response)."""
        self.indications.clear()
        self._indicated.clear()
        await self.write(CONTROL, request)
        await asyncio.wait_for(self._indicated.wait(), timeout)
        return protocol.parse_racp_response(self.indications[0])

    def received_records(self) -> list[tuple]:
        out = []
        for value in self.notifications:
            out.extend(protocol.unpack_notification(value))
        return out


async def bonded_central(link: LocalLink, device) -> tuple[Central, int]:
    """Boot the device to deep sleep, hold it into pairing mode and bond a new central.

    Returns the central and the device's event mark from just before the hold.
    """
    await device.start()
    await device.advance(1)
    await device.wait_asleep()
    central = await Central.on_link(link).start()
    mark = device.mark()
    await device.hold(6.5)
    await device.wait_for("pairing", since=mark)
    await central.connect(device.address)
    await central.pair()
    await device.wait_for("bonded", since=mark)
    return central, mark


def preload_log(device, count: int, start_time: int = 1000, kinds=(protocol.KIND_TWITCH, protocol.KIND_CRAMP)) -> None:
    """Store `count` records with the real event log, as weeks of presses would have.

    On the real runtime the flash is formatted at start(): preload it asleep.
    """
    with device.flash() as image:
        log = eventlog.EventLog(LfsFS(mount(image), image), "log", 240)
        log.open()
        if log.boot_id == 0:
            log.new_boot()
        for i in range(count):
            log.append(kinds[i % len(kinds)], start_time + 60 * i, log.boot_id, 0)


def status(value: bytes) -> dict:
    return protocol.unpack_status(value)


def seq_operand(op: int, operator: int, lo=None, hi=None) -> bytes:
    return protocol.racp_request(op, operator, lo, hi)


__all__ = ["Central", "bonded_central", "preload_log", "status", "struct", "protocol"]
