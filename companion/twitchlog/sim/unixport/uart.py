"""The virtual ESP32's HCI UART: a pty between the NimBLE host and a Bumble controller.

MicroPython's unix port opens the device named by MICROPYBTUART and speaks
H4 (a type byte, then the HCI packet) over it, as the ESP32's host speaks to
its controller.  This end frames those bytes into packets for the controller
and writes the controller's packets back.

The controller is anything with Bumble's packet interface: a VirtualController
on an in-process link, or the sink of a transport (`tcp-client:...`) to a
`twitchlog virtual-link`.  Between two boots nobody listens on the far end:
the radio is reset (HCI Reset, as when the chip powers its radio down) and
whatever the controller says meanwhile is dropped, so the next boot's host
does not read a previous life's packets.
"""

from __future__ import annotations

import asyncio
import os
import termios
import tty
from typing import Any

from bumble.transport.common import PacketParser

_HCI_RESET = bytes((0x01, 0x03, 0x0C, 0x00))  # command packet, opcode 0x0C03, no parameters
_RESET_DONE = bytes((0x04, 0x0E, 0x04))  # event packet: Command Complete, 4 bytes of parameters...
_RESET_OPCODE = bytes((0x03, 0x0C))  # ...for HCI Reset
_READ_BD_ADDR = bytes((0x01, 0x09, 0x10, 0x00))  # command: Read BD_ADDR (opcode 0x1009)
_BD_ADDR_DONE = bytes((0x04, 0x0E, 0x0A))  # Command Complete with 10 bytes of parameters...
_BD_ADDR_OPCODE = bytes((0x09, 0x10))  # ...for Read BD_ADDR: then status, and the address LSB first
RESET_TIMEOUT_S = 5.0


class HciUart:
    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes, not a terminal: no echo, no line editing
        self.path = os.ttyname(self._slave)
        self._controller: Any = None  # where the host's packets go (Bumble's on_packet)
        self._parser: PacketParser | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.attached = False
        self._reset_done = asyncio.Event()
        self._reset_done.set()
        self._address: asyncio.Future[str] | None = None

    # ------------------------------------------------------------ Bumble's packet interface
    def set_packet_sink(self, sink: Any) -> None:
        """The controller: it receives what the host sends."""
        self._controller = sink

    def on_packet(self, packet: bytes) -> None:
        """A packet from the controller for the host."""
        packet = bytes(packet)
        if self.attached:
            os.write(self._master, packet)
        elif packet[:3] == _RESET_DONE and packet[4:6] == _RESET_OPCODE:
            self._reset_done.set()
        elif packet[:3] == _BD_ADDR_DONE and packet[4:6] == _BD_ADDR_OPCODE and packet[6] == 0:
            if self._address is not None and not self._address.done():
                self._address.set_result(":".join("%02X" % b for b in reversed(packet[7:13])))

    async def controller_address(self, timeout: float = RESET_TIMEOUT_S) -> str:
        """The controller's public address, asked before any boot (NimBLE will use it as its identity)."""
        self._address = asyncio.get_running_loop().create_future()
        self._controller.on_packet(_READ_BD_ADDR)
        return await asyncio.wait_for(self._address, timeout)

    # ------------------------------------------------------------ boots
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._master, self._readable)

    async def attach(self) -> None:
        """A new boot is about to open the UART: the radio is quiet, and the wires hold nothing old.

        The answer to the reset sent at detach must not reach the new host:
        NimBLE would take it for the answer to its own first command.
        """
        try:
            await asyncio.wait_for(self._reset_done.wait(), RESET_TIMEOUT_S)
        except TimeoutError:
            pass  # a controller that never answers: the new host's own reset will tell
        termios.tcflush(self._slave, termios.TCIOFLUSH)
        self._parser = PacketParser(self._controller)
        self.attached = True

    def detach(self) -> None:
        """The chip stopped (deep sleep, reset, power cut): its radio goes quiet."""
        self.attached = False
        self._parser = None
        if self._controller is not None:
            self._reset_done.clear()
            self._controller.on_packet(_HCI_RESET)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except OSError:
            return
        if self.attached and self._parser is not None:
            self._parser.feed_data(data)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._master)
        os.close(self._master)
        os.close(self._slave)
