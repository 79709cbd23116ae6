"""One test's simulation: its event loop, the rigs made on it, and their teardown with the crash check.

The virtual device and the Bumble stacks live on an asyncio loop, so closing
them must happen on that same loop.  A SimSession owns the loop (an
asyncio.Runner) for the whole test: the test body runs on it through run(),
and close() runs afterwards on it too, whatever the body did.  The `sim`
fixture (support.fixtures) calls close() in its teardown, so a failed
assertion can no longer skip stopping the device, nor skip the check that
its firmware never crashed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # at run time, imported by the factories: conftest loads this module for every test
    from support.ble_central import Central
    from support.sync_rig import Rig

T = TypeVar("T")

BODY_TIMEOUT_S = 240  # a hung link fails the test instead of hanging the run
CLOSE_TIMEOUT_S = 120  # stopping a device waits up to 30 s for its firmware thread


class FirmwareCrashed(AssertionError):
    """The firmware on a virtual device crashed, or an IRQ handler raised."""


class DeviceUnderTest(Protocol):
    """What teardown needs of a VirtualDevice (tests may hand in a stand-in)."""

    crashes: list[str]  # includes firmware tasks that died with nobody awaiting them
    irq_errors: list[str]

    async def stop(self) -> None: ...


D = TypeVar("D", bound=DeviceUnderTest)


def firmware_errors(device: DeviceUnderTest) -> list[str]:
    return [f"crash: {c}" for c in device.crashes] + [f"IRQ handler error: {e}" for e in device.irq_errors]


class SimSession:
    def __init__(self, runner: asyncio.Runner) -> None:
        self._runner = runner
        self._teardown = AsyncExitStack()  # runs every callback, last in first out, even if one raises
        self._devices: list[DeviceUnderTest] = []
        self._rigs: list[Rig] = []

    def run(self, body: Coroutine[Any, Any, T], timeout: float = BODY_TIMEOUT_S) -> T:
        """Run the test body on the session's loop; rigs it makes stay open for close()."""
        return self._runner.run(asyncio.wait_for(body, timeout))

    # ------------------------------------------------------------ factories: each registers its own teardown
    async def sync_rig(self, folder: Path, **options: Any) -> Rig:
        """make_rig(folder, **options), closed after the test; its device's firmware is checked then."""
        from support.sync_rig import make_rig

        rig = await make_rig(folder, **options)
        self._teardown.push_async_callback(rig.close)
        self._rigs.append(rig)
        return rig

    def device(self, device: D) -> D:
        """Stop `device` after the test and check its firmware; returns it.

        stop() may already have been called by the test (to read the flash
        of a stopped device): calling it again is harmless.
        """
        self._teardown.push_async_callback(device.stop)
        self._devices.append(device)
        return device

    def central(self, central: Central) -> Central:
        """Disconnect `central` after the test (before the devices registered ahead of it stop)."""
        self._teardown.push_async_callback(central.disconnect)
        return central

    # ------------------------------------------------------------ teardown
    def close(self) -> None:
        """Close everything on the loop, then check every device's firmware, even if closing failed."""
        try:
            self._runner.run(asyncio.wait_for(self._teardown.aclose(), CLOSE_TIMEOUT_S))
        finally:
            self._check_firmware()

    def _check_firmware(self) -> None:
        # A rig's device is read now, not when the rig was made: a test may swap it.
        devices = {id(d): d for d in self._devices + [rig.device for rig in self._rigs]}
        errors = [error for device in devices.values() for error in firmware_errors(device)]
        if errors:
            raise FirmwareCrashed("the firmware on the virtual device failed:\n" + "\n".join(errors))
