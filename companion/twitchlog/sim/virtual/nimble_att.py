"""Where NimBLE's ATT server answers and Bumble's does not, as the real runtime showed.

- Properties are permissions.  NimBLE refuses a read of a characteristic
  without the read property with Read Not Permitted (0x02), and a write
  without a write property with Write Not Permitted (0x03), before any
  security check.  Bumble's server does not look at READABLE/WRITEABLE: a read
  of the control point answered an empty value and a write to the status
  characteristic succeeded.
- Encryption refusals.  A characteristic that needs encryption, read or
  written on an unencrypted link, gets Insufficient Encryption (0x0F) from
  NimBLE only when the peer has a bond (it could just encrypt), and
  Insufficient Authentication (0x05) when it has none (it must pair first).
  Bumble always answers 0x0F.
- Read Multiple.  NimBLE answers with an error response naming the first
  handle it cannot read.  Bumble's server assumes every handle is readable;
  the ATT error escapes its task and the client waits for an answer forever.

The shim (radio.py) applies both to every characteristic it registers and to
the GATT server of every boot.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any

from bumble.att import (
    ATT_INSUFFICIENT_AUTHENTICATION_ERROR,
    ATT_INSUFFICIENT_ENCRYPTION_ERROR,
    ATT_INVALID_HANDLE_ERROR,
    ATT_READ_NOT_PERMITTED_ERROR,
    ATT_WRITE_NOT_PERMITTED_ERROR,
    ATT_Error,
    ATT_Error_Response,
    ATT_Read_Multiple_Response,
)
from bumble.gatt import Characteristic


def check_read(permissions: Characteristic.Permissions, handle: int) -> None:
    if not permissions & Characteristic.READABLE:
        raise ATT_Error(ATT_READ_NOT_PERMITTED_ERROR, handle)


def check_write(permissions: Characteristic.Permissions, handle: int) -> None:
    if not permissions & Characteristic.WRITEABLE:
        raise ATT_Error(ATT_WRITE_NOT_PERMITTED_ERROR, handle)


async def refuse_unencrypted(connection: Any, keystore: Any, handle: int) -> None:
    """Raise NimBLE's refusal if `connection` is not encrypted; the key store is asked as NimBLE asks its own."""
    if connection.encryption:
        return
    bonded = keystore is not None and await keystore.get(str(connection.peer_address)) is not None
    raise ATT_Error(ATT_INSUFFICIENT_ENCRYPTION_ERROR if bonded else ATT_INSUFFICIENT_AUTHENTICATION_ERROR, handle)


def answer_read_multiple(server: Any) -> None:
    """Give this GATT server NimBLE's Read Multiple (the class's own is left alone)."""

    def on_att_read_multiple_request(self: Any, bearer: Any, request: Any) -> None:
        async def answer() -> None:
            space = bearer.att_mtu - 1
            values = []
            for handle in request.set_of_handles:
                attribute = self.get_attribute(handle)
                try:
                    if attribute is None:
                        raise ATT_Error(ATT_INVALID_HANDLE_ERROR, handle)
                    value = await attribute.read_value(bearer)
                except ATT_Error as e:
                    opcode, code = request.op_code, e.error_code
                    refused = ATT_Error_Response(
                        request_opcode_in_error=opcode, attribute_handle_in_error=handle, error_code=code
                    )
                    self.send_response(bearer, refused)
                    return
                values.append(bytes(value)[:space])
                space -= len(values[-1])
                if space <= 0:
                    break
            self.send_response(bearer, ATT_Read_Multiple_Response(set_of_values=b"".join(values)))

        asyncio.get_running_loop().create_task(answer())

    server.on_att_read_multiple_request = types.MethodType(on_att_read_multiple_request, server)
