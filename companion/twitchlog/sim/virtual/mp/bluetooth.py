"""bluetooth: the module face of the boot's radio (twitchlog.sim.virtual.radio)."""

from __future__ import annotations

import types

from twitchlog.sim.virtual import radio


class Bluetooth(types.ModuleType):
    """The bluetooth module of one boot: every BLE() is the one radio, as on the chip."""

    UUID = radio.UUID
    FLAG_READ = radio.FLAG_READ
    FLAG_WRITE_NO_RESPONSE = radio.FLAG_WRITE_NO_RESPONSE
    FLAG_WRITE = radio.FLAG_WRITE
    FLAG_NOTIFY = radio.FLAG_NOTIFY
    FLAG_INDICATE = radio.FLAG_INDICATE
    FLAG_READ_ENCRYPTED = radio.FLAG_READ_ENCRYPTED
    FLAG_READ_AUTHENTICATED = radio.FLAG_READ_AUTHENTICATED
    FLAG_READ_AUTHORIZED = radio.FLAG_READ_AUTHORIZED
    FLAG_WRITE_ENCRYPTED = radio.FLAG_WRITE_ENCRYPTED
    FLAG_WRITE_AUTHENTICATED = radio.FLAG_WRITE_AUTHENTICATED
    FLAG_WRITE_AUTHORIZED = radio.FLAG_WRITE_AUTHORIZED

    def __init__(self, ble: radio.BLE) -> None:
        super().__init__("bluetooth", __doc__)
        self._ble = ble

    def BLE(self) -> radio.BLE:
        return self._ble
