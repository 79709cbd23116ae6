"""The virtual chip's USB serial port: a pty that pyserial and mpremote open like /dev/ttyACM0.

The driver holds the master side for the device's whole life, like a
DevKit's USB-UART bridge: the port stays while the chip sleeps, but nothing
answers then, and bytes sent to a sleeping chip are lost.  The slave's path
is what the user opens; with `link`, a symlink at that path points to it
(as socat's `link=` does), so a command line can name a fixed path.  The
driver does not keep the slave open itself, so `sync --port` sees the port
free (it refuses a port another program holds); while no one has it open
the master reads EIO, and the driver looks again every 50 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import tty
from collections.abc import Callable
from pathlib import Path

STALL_S = 2.0  # a full port buffer this long: the host is not reading


class UsbSerial:
    def __init__(self, link: Path | str | None = None) -> None:
        self.link = Path(link) if link is not None else None
        if self.link is not None and self.link.exists() and not self.link.is_symlink():
            raise FileExistsError(f"{self.link} exists and is not a symlink; choose another --usb path")
        self.on_receive: Callable[[bytes], None] | None = None  # host -> chip bytes go here
        self._reading = False
        self._deaf = False  # the host stopped reading: drop output at once until it reads again
        self._master = -1
        self.plug()

    def plug(self) -> None:
        """Plug the cable in: a new pty (the OS gives the port again), the link pointed at it."""
        self._master, slave = os.openpty()
        tty.setraw(slave)  # bytes pass untouched (pyserial sets raw mode too, once it opens)
        os.set_blocking(self._master, False)
        self.device = os.ttyname(slave)
        os.close(slave)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link.symlink_to(self.device)
        self.path = str(self.link) if self.link is not None else self.device
        with contextlib.suppress(RuntimeError):  # no running loop yet: the device's start() starts reading
            asyncio.get_running_loop()
            self.start()

    def unplug(self) -> None:
        """Pull the cable: the host's open port fails, the chip's output goes nowhere (the link stays, dead)."""
        self._stop_reading()
        with contextlib.suppress(OSError):
            os.close(self._master)
        self._master = -1

    def start(self) -> None:
        """Deliver what the host writes to on_receive, on the running loop."""
        if not self._reading and self._master >= 0:
            asyncio.get_running_loop().add_reader(self._master, self._readable)
            self._reading = True

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError:  # EIO: nobody has the port open; polling would spin, so look again shortly
            self._stop_reading()
            asyncio.get_running_loop().call_later(0.05, self._look_again)
            return
        if data and self.on_receive is not None:
            self.on_receive(data)

    def _look_again(self) -> None:
        self.start()

    def _stop_reading(self) -> None:
        if self._reading:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._master)
            self._reading = False

    async def send(self, data: bytes) -> None:
        """Chip -> host, with the flow control of USB-CDC: a host that reads slowly slows the chip.

        The caller stops reading the chip's output while this waits, so the
        chip's prints block, as the ESP32's do when the host's buffer is full.
        A host that has stopped reading (or nobody has the port open) gets
        the output dropped after STALL_S, as a UART with no reader drops it,
        and from then on at once, until a write goes through again.
        """
        view = memoryview(data)
        stalled_since = None
        while view and self._master >= 0:
            try:
                sent = os.write(self._master, view)
            except BlockingIOError:
                if self._deaf:
                    return
                now = time.monotonic()
                stalled_since = stalled_since or now
                if now - stalled_since > STALL_S:
                    self._deaf = True
                    return
                await asyncio.sleep(0.002)
                continue
            except OSError:
                return  # EIO: nobody has the port open
            self._deaf = False
            stalled_since = None
            view = view[sent:]

    def close(self) -> None:
        self.unplug()
        if self.link is not None and self.link.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
