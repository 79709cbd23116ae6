"""The virtual chip's USB serial port: a pty that pyserial and mpremote open like /dev/ttyACM0.

The driver holds the master side for the device's whole life, like a
DevKit's USB-UART bridge: the port stays while the chip sleeps, but nothing
answers then, and bytes sent to a sleeping chip are lost.  The slave's path
is what the user opens; with `link`, a symlink at that path points to it
(as socat's `link=` does), so a command line can name a fixed path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import Callable
from pathlib import Path


class UsbSerial:
    def __init__(self, link: Path | str | None = None) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes pass untouched (pyserial sets raw mode too, once it opens)
        os.set_blocking(self._master, False)
        self.device = os.ttyname(self._slave)
        self.link = Path(link) if link is not None else None
        if self.link is not None:
            if self.link.exists() and not self.link.is_symlink():
                self.close()
                raise FileExistsError(f"{self.link} exists and is not a symlink; choose another --usb path")
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self.device)
        self.path = str(self.link) if self.link is not None else self.device
        self.on_receive: Callable[[bytes], None] | None = None  # host -> chip bytes go here
        self._reading = False

    def start(self) -> None:
        """Deliver what the host writes to on_receive, on the running loop."""
        if not self._reading:
            asyncio.get_running_loop().add_reader(self._master, self._readable)
            self._reading = True

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return  # nobody has the port open (EIO), or a spurious wake
        if data and self.on_receive is not None:
            self.on_receive(data)

    def write(self, data: bytes) -> None:
        """Chip -> host.  Dropped when the host's buffer is full, as a UART with nobody reading drops it."""
        view = memoryview(data)
        while view:
            try:
                sent = os.write(self._master, view)
            except (BlockingIOError, OSError):
                return
            view = view[sent:]

    def close(self) -> None:
        if self._reading:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._master)
            self._reading = False
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master = self._slave = -1
        if self.link is not None and self.link.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
