"""Bumble's simulated controller and link, with what a real radio does that they leave out.

- LE Create Connection Cancel: a real controller ends the pending connection
  with an LE Connection Complete event (status Unknown Connection
  Identifier).  Bumble's answers "success" and keeps the request pending, so
  a host that timed out waits forever, and the stale request connects later
  to whatever advertises that address.
- HCI Reset: a real controller drops its links.  Bumble's does nothing, so
  after a host dies (a killed companion, a device that went to deep sleep)
  the peer stays "connected" to nobody.
- A public address: Bumble's controllers all report 00:00:00:00:00:00, so a
  host that uses its public identity (NimBLE does) makes up a new random one
  at every boot, and its bonds are lost after each deep sleep.  Each
  controller here has its own stable address, derived from its name.
- Link-layer addressing: Bumble's link labels LE data with the sender's
  *random* address whatever address the connection uses, so a peer connected
  to a public address drops every packet.  VirtualLink labels it with the
  connection's own address.

Everything that runs a simulated link (the virtual device, `twitchlog
virtual-link`, the tests) uses this class for every controller on the link.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from bumble import hci, ll
from bumble.controller import Controller
from bumble.core import PhysicalTransport
from bumble.link import LocalLink
from bumble.transport import open_transport


def stable_public_address(name: str) -> hci.Address:
    """A public device address that is the same for the same name, every run."""
    raw = bytearray(hashlib.sha256(name.encode()).digest()[:6])
    raw[0] &= 0xFC  # a universally administered unicast address, as a chip's is
    return hci.Address(":".join("%02X" % b for b in raw), hci.Address.PUBLIC_DEVICE_ADDRESS)


class VirtualLink(LocalLink):
    def send_acl_data(
        self, sender_controller: Controller, destination_address: hci.Address, transport: Any, data: bytes
    ) -> None:
        if transport != PhysicalTransport.LE:
            return super().send_acl_data(sender_controller, destination_address, transport, data)
        connection = sender_controller.le_connections.get(destination_address)
        destination = self.find_le_controller(destination_address)
        if connection is None or destination is None:
            return None
        source_address = connection.self_address
        asyncio.get_running_loop().call_soon(destination.on_link_acl_data, source_address, transport, data)
        return None


class VirtualController(Controller):
    def __init__(self, name: str, *, public_address: hci.Address | None = None, **kwargs: Any) -> None:
        super().__init__(name, public_address=public_address or stable_public_address(name), **kwargs)

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
    link = VirtualLink()
    transports = []
    try:
        for spec in transport_specs:
            transport = await open_transport(spec)
            transports.append(transport)
            # Named after its transport: the same command line gives the same addresses.
            VirtualController(spec, host_source=transport.source, host_sink=transport.sink, link=link)
        if ready is not None:
            ready()
        await asyncio.get_running_loop().create_future()
    finally:
        for transport in transports:
            await transport.close()
