"""The virtual device's promises about MicroPython, each pinned.

radio.py promises to behave like MicroPython's ``bluetooth`` on NimBLE (see
its docstring); simclock.py promises how simulated time stops and jumps.
The firmware relies on both, so a change here changes what the tests of the
firmware mean.

The radio tests play the firmware: they call the ``bluetooth`` module the
import hook hands out, from a thread with its own event loop as the virtual
device runs the firmware, and a plain Bumble central on the same link checks
what a phone would see.
"""

from __future__ import annotations

import asyncio
import errno
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from bumble.att import ATT_Error
from bumble.core import UUID as BumbleUUID
from bumble.device import Device
from bumble.link import LocalLink

from support.ble_central import Central
from twitchlog.sim.virtual import radio
from twitchlog.sim.virtual.controller import VirtualController, VirtualLink
from twitchlog.sim.virtual.mp.bluetooth import Bluetooth
from twitchlog.sim.virtual.simclock import SimClock

pytestmark = pytest.mark.e2e

T = TypeVar("T")

# MicroPython's IRQ event numbers (extmod/modbluetooth.h), which firmware hard-codes
IRQ_CENTRAL_CONNECT = 1
IRQ_GATTS_WRITE = 3
IRQ_GATTS_READ_REQUEST = 4

SERVICE_UUID = "7a3f0001-1b2c-4d5e-8f90-a1b2c3d4e5f6"
VALUE_UUID = "7a3f0002-1b2c-4d5e-8f90-a1b2c3d4e5f6"
ADV_DATA = b"\x02\x01\x06"  # flags only: the central connects by address
THIRTY_BYTES = bytes(range(1, 31))


class Peripheral:
    """radio.BLE on a Bumble device, with a firmware thread that calls it.

    What the IRQ handler returns for an event is `answers[event]` (None when
    absent); every event it receives is kept in `irqs`.  It has what the
    `sim` fixture checks after a test: crashes and irq_errors.
    """

    def __init__(self, link: LocalLink) -> None:
        self.link = link
        self.irqs: list[tuple[int, tuple[Any, ...]]] = []
        self.answers: dict[int, int | None] = {}
        self.crashes: list[str] = []
        self.irq_errors: list[str] = []
        self._fw_loop = asyncio.new_event_loop()
        self._fw_thread = threading.Thread(target=self._fw_loop.run_forever, name="firmware", daemon=True)

    async def start(self) -> Peripheral:
        controller = VirtualController("contract-peripheral", link=self.link)
        self.address = radio.address_for(b"\x0c\x0a\x0f\x0e\x00\x01")
        device = Device.with_hci("contract", self.address, controller, controller)
        await device.power_on()
        ble = radio.BLE(device, asyncio.get_running_loop(), lambda e: self.irq_errors.append(repr(e)), SimClock(0.0))
        self.bluetooth = Bluetooth(ble)
        self.ble = self.bluetooth.BLE()
        self._fw_thread.start()
        return self

    def _irq(self, event: int, data: tuple[Any, ...]) -> int | None:
        self.irqs.append((event, data))
        return self.answers.get(event)

    async def on_firmware(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) on the firmware thread, in its loop; the Bumble loop (this one) keeps running."""
        return await asyncio.wrap_future(self._submit(fn, *args))

    def on_firmware_while_stack_stalls(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) on the firmware thread while the Bumble loop waits here: nothing it queued is sent yet."""
        return self._submit(fn, *args).result(10)

    def _submit(self, fn: Callable[..., T], *args: Any) -> Any:
        async def call() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(call(), self._fw_loop)

    async def serve(self, flags: int) -> int:
        """Register one characteristic, advertise, return its value handle: a firmware's boot in brief."""

        def boot() -> int:
            bt = self.bluetooth
            self.ble.active(True)
            self.ble.config(mtu=247)
            self.ble.irq(self._irq)
            ((handle,),) = self.ble.gatts_register_services(((bt.UUID(SERVICE_UUID), ((bt.UUID(VALUE_UUID), flags),)),))
            self.ble.gap_advertise(100_000, ADV_DATA)
            return handle

        return await self.on_firmware(boot)

    async def wait_irq(self, event: int, timeout: float = 10.0) -> tuple[Any, ...]:
        """The data of the first IRQ `event` delivered to the handler."""
        deadline = time.monotonic() + timeout
        while True:
            for seen, data in list(self.irqs):
                if seen == event:
                    return data
            assert time.monotonic() < deadline, "no IRQ %d; got %s" % (event, self.irqs)
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if not self._fw_thread.is_alive():
            return
        await self.on_firmware(self.ble.active, False)
        self._fw_loop.call_soon_threadsafe(self._fw_loop.stop)
        await asyncio.to_thread(self._fw_thread.join, 10)
        self._fw_loop.close()


async def _connected(sim: Any, flags: int) -> tuple[Peripheral, Central, int, int]:
    """A peripheral serving one characteristic and a central connected to it: (peripheral, central, conn, handle)."""
    link = VirtualLink()
    peripheral = sim.device(await Peripheral(link).start())
    handle = await peripheral.serve(flags)
    central = sim.central(await Central.on_link(link).start())
    await central.connect(peripheral.address)
    conn_handle = (await peripheral.wait_irq(IRQ_CENTRAL_CONNECT))[0]
    return peripheral, central, conn_handle, handle


VALUE = BumbleUUID(VALUE_UUID)
READ_WRITE = radio.FLAG_READ | radio.FLAG_WRITE


# ---------------------------------------------------------------- 1. the default write buffer
def test_a_value_holds_20_bytes_unless_its_buffer_is_set(sim):
    """MicroPython allocates 20 bytes per value; a longer write keeps its first 20."""

    async def body():
        peripheral, central, _, handle = await _connected(sim, READ_WRITE)
        assert radio.DEFAULT_BUFFER == 20

        await central.write(VALUE, THIRTY_BYTES)
        assert await peripheral.on_firmware(peripheral.ble.gatts_read, handle) == THIRTY_BYTES[:20]
        assert await central.read(VALUE) == THIRTY_BYTES[:20]

        await peripheral.on_firmware(peripheral.ble.gatts_set_buffer, handle, 64)
        await central.write(VALUE, THIRTY_BYTES)
        assert await peripheral.on_firmware(peripheral.ble.gatts_read, handle) == THIRTY_BYTES

    sim.run(body())


# ---------------------------------------------------------------- 2. a full notify queue
def test_gatts_notify_raises_enomem_when_the_notify_queue_is_full(sim):
    async def body():
        peripheral, central, conn, handle = await _connected(sim, radio.FLAG_READ | radio.FLAG_NOTIFY)
        received: list[bytes] = []
        await central.char(VALUE).subscribe(lambda value: received.append(bytes(value)))
        await asyncio.sleep(0.1)  # the subscription's ATT response leaves the peripheral's buffers

        def burst() -> tuple[int, OSError | None]:
            for sent in range(4 * radio.NOTIFY_BUFFERS):
                try:
                    peripheral.ble.gatts_notify(conn, handle, b"n%02d" % sent)
                except OSError as e:
                    return sent, e
            return 4 * radio.NOTIFY_BUFFERS, None

        accepted, refused = peripheral.on_firmware_while_stack_stalls(burst)
        assert refused is not None and refused.args[0] == errno.ENOMEM  # what MicroPython sets, and firmware reads
        assert accepted == radio.NOTIFY_BUFFERS

        # Every notification the stack took is delivered, in order; then there is room again.
        expected = [b"n%02d" % i for i in range(accepted)]
        for _ in range(500):
            if len(received) >= accepted:
                break
            await asyncio.sleep(0.01)
        assert received == expected
        await peripheral.on_firmware(peripheral.ble.gatts_notify, conn, handle, b"again")
        for _ in range(500):
            if len(received) > accepted:
                break
            await asyncio.sleep(0.01)
        assert received == expected + [b"again"]

    sim.run(body())


# ---------------------------------------------------------------- 3. a write IRQ cannot refuse
def test_a_write_irq_cannot_refuse_the_write(sim):
    async def body():
        peripheral, central, conn, handle = await _connected(sim, READ_WRITE)
        peripheral.answers[IRQ_GATTS_WRITE] = 0x0F  # as a read IRQ would refuse: insufficient encryption

        await central.write(VALUE, b"stored anyway")  # with response: an ATT error would raise here

        assert await peripheral.wait_irq(IRQ_GATTS_WRITE) == (conn, handle)
        assert await peripheral.on_firmware(peripheral.ble.gatts_read, handle) == b"stored anyway"

    sim.run(body())


# ---------------------------------------------------------------- 4. a read IRQ's answer is the ATT error
def test_a_read_irq_return_becomes_the_att_error_the_central_sees(sim):
    async def body():
        peripheral, central, conn, handle = await _connected(sim, READ_WRITE)
        await peripheral.on_firmware(peripheral.ble.gatts_write, handle, b"secret")

        for code in (0x0F, 0x80):  # insufficient encryption; the first application error
            peripheral.answers[IRQ_GATTS_READ_REQUEST] = code
            with pytest.raises(ATT_Error) as refused:
                await central.read(VALUE)
            assert refused.value.error_code == code
        assert await peripheral.wait_irq(IRQ_GATTS_READ_REQUEST) == (conn, handle)

        peripheral.answers[IRQ_GATTS_READ_REQUEST] = 0  # zero (or None) lets the read through
        assert await central.read(VALUE) == b"secret"

    sim.run(body())


# ---------------------------------------------------------------- 5. SimClock hold and advance
def test_simclock_hold_stops_time_until_the_last_release():
    clock = SimClock(1000.0, speed=10)
    clock.hold()
    held_at = clock.now()
    time.sleep(0.3)  # 3 simulated seconds, were time running
    assert clock.now() == held_at

    clock.hold()  # holds nest: one release undoes one hold
    clock.release()
    time.sleep(0.2)
    assert clock.now() == held_at

    clock.release()
    resumed = clock.now()
    assert held_at <= resumed < held_at + 2.5  # time resumes where it stopped: the 5 held seconds are not made up
    time.sleep(0.1)
    assert clock.now() > resumed


def test_simclock_sleepers_wait_out_a_hold():
    async def body():
        clock = SimClock(0.0, speed=10)
        clock.hold()
        sleeper = asyncio.create_task(clock.sleep(0.5))  # 50 ms of real time, were time running
        await asyncio.sleep(0.3)
        assert not sleeper.done()
        clock.release()
        await asyncio.wait_for(sleeper, 5)

    asyncio.run(body())


def test_simclock_advance_jumps_forward_and_wakes_every_sleeper_it_passes():
    clock = SimClock(0.0, speed=1)
    clock.hold()  # without real time passing, the jump is exact
    held_at = clock.now()
    clock.advance(90.0)
    assert clock.now() == held_at + 90.0
    clock.release()
    with pytest.raises(ValueError):
        clock.advance(-1.0)

    woke: list[str] = []
    blocking = threading.Thread(target=lambda: (clock.sleep_blocking(3600), woke.append("blocking")))

    async def body():
        sleeper = asyncio.create_task(clock.sleep(3600))
        blocking.start()
        await asyncio.sleep(0.2)
        assert not sleeper.done() and woke == []
        clock.advance(1800)  # halfway: nobody's deadline has passed
        await asyncio.sleep(0.2)
        assert not sleeper.done() and woke == []
        clock.advance(1800)
        await asyncio.wait_for(sleeper, 5)
        await asyncio.to_thread(blocking.join, 5)
        assert woke == ["blocking"]

    asyncio.run(body())
