"""`--adapter`: which BLE stack the companion's bleak calls go through.

- ``os`` (default): bleak's platform backend (BlueZ, CoreBluetooth, WinRT).
- ``bumble:<transport>``: the Bumble backend on an HCI transport, e.g.
  ``bumble:tcp-client:127.0.0.1:9002`` for the virtual device's link or
  ``bumble:usb:0`` for a USB dongle used without the OS stack.

Sync code gets BleakClient/BleakScanner objects from here and never knows which.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bleak import BleakClient
from bleak.backends.device import BLEDevice

from twitchlog.errors import UserError


class Adapter:
    def __init__(self, spec: str = "os", keys_path: Path | None = None, host: Any = None):
        self.spec = spec
        self.keys_path = keys_path
        self.host = host  # a BumbleHost, when the backend is Bumble
        self._transport: Any = None

    @classmethod
    def parse(cls, spec: str, keys_path: Path) -> Adapter:
        if spec == "os":
            return cls("os")
        if spec.startswith("bumble:") and len(spec) > len("bumble:"):
            return cls(spec, keys_path)
        raise UserError(
            f"--adapter {spec!r}: expected `os` or `bumble:<transport>`, "
            "e.g. bumble:tcp-client:127.0.0.1:9002 or bumble:usb:0"
        )

    @classmethod
    def on_host(cls, host: Any) -> Adapter:
        """An adapter on an already-built BumbleHost (tests: a LocalLink)."""
        return cls("bumble:local", host=host)

    @property
    def is_bumble(self) -> bool:
        return self.spec.startswith("bumble:")

    async def __aenter__(self) -> Adapter:
        if self.is_bumble and self.host is None:
            from bumble.transport import open_transport

            from twitchlog.ble.backends.bumble import BumbleHost

            transport_spec = self.spec[len("bumble:") :]
            try:
                self._transport = await open_transport(transport_spec)
            except Exception as e:  # Bumble raises plain ValueError/OSError and its own errors
                raise UserError(f"--adapter {self.spec}: cannot open the HCI transport: {e}") from None
            assert self.keys_path is not None
            self.host = BumbleHost(self._transport.source, self._transport.sink, self.keys_path)
        if self.host is not None:
            try:
                # Bumble waits for the HCI Reset answer without a timeout.
                await asyncio.wait_for(self.host.power_on(), 10)
            except Exception as e:
                await self.__aexit__(None, None, None)
                reason = "it did not answer" if isinstance(e, asyncio.TimeoutError) else str(e)
                raise UserError(f"--adapter {self.spec}: the controller did not start: {reason}") from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._transport is not None:
            transport, self._transport, self.host = self._transport, None, None
            try:
                await asyncio.wait_for(transport.close(), 5.0)  # bounded: Ctrl-C must end the program
            except TimeoutError:
                pass

    def _backend(self, kind: str) -> dict[str, Any]:
        if self.host is None:
            return {}
        from twitchlog.ble.backends.bumble import BumbleClient, BumbleScanner

        return {"backend": BumbleClient if kind == "client" else BumbleScanner, "bumble": self.host}

    def client(self, target: BLEDevice | str, **kwargs: Any) -> BleakClient:
        return BleakClient(target, **self._backend("client"), **kwargs)

    def scanner_kwargs(self, **kwargs: Any) -> dict[str, Any]:
        """Keyword arguments for BleakScanner(...) and its class methods (discover, find_device_*)."""
        return {**self._backend("scanner"), **kwargs}
