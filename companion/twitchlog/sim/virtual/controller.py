"""Bumble's simulated controller, with two things a real controller does that it leaves out.

- LE Create Connection Cancel: a real controller ends the pending connection
  with an LE Connection Complete event (status Unknown Connection
  Identifier).  Bumble's answers "success" and keeps the request pending, so
  a host that timed out waits forever, and the stale request connects later
  to whatever advertises that address.
- HCI Reset: a real controller drops its links.  Bumble's does nothing, so
  after a host dies (a killed companion, a device that went to deep sleep)
  the peer stays "connected" to nobody.

Everything that runs a simulated link (the virtual device, `twitchlog
virtual-link`, the tests) uses this class for every controller on the link.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bumble import hci, ll
from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport import open_transport


class VirtualController(Controller):
    def on_hci_le_create_connection_cancel_command(self, command: Any) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        failed = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        # After the Command Complete this handler's return value becomes.
        asyncio.get_running_loop().call_soon(self.send_hci_packet, failed)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def on_hci_reset_command(self, command: Any) -> hci.HCI_StatusReturnParameters:
        self.pending_le_connection = None
        for connection in list(self.le_connections.values()):
            # The peer learns of it; our (resetting) host is not told.
            connection.send_ll_control_pdu(ll.TerminateInd(hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR))
            self.le_connections.pop(connection.peer_address, None)
        return super().on_hci_reset_command(command)

    def lose_links(self) -> None:
        """The radio link fails (out of range): both hosts see a supervision timeout."""
        reason = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR
        for connection in list(self.le_connections.values()):
            connection.send_ll_control_pdu(ll.TerminateInd(reason))
            self.on_le_disconnected(connection, reason)


async def serve_link(transport_specs: list[str], ready: Any = None) -> None:
    """`twitchlog virtual-link`: one simulated radio link, a controller per HCI transport, until cancelled."""
    link = LocalLink()
    transports = []
    try:
        for index, spec in enumerate(transport_specs):
            transport = await open_transport(spec)
            transports.append(transport)
            VirtualController(f"C{index}", host_source=transport.source, host_sink=transport.sink, link=link)
        if ready is not None:
            ready()
        await asyncio.get_running_loop().create_future()
    finally:
        for transport in transports:
            await transport.close()
