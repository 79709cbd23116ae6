"""The WebAssembly MicroPython REPL behind a pty: a board on a serial line for deploy and USB sync tests.

tests/mp/serial_board.mjs drives the npm runtime's real REPL (pyexec: raw
REPL, soft reset) one character at a time on the master side of a pty;
pyserial and mpremote open the slave path as if it were /dev/ttyUSB0.
"""

from __future__ import annotations

import os
import subprocess
import tty

from conftest import ROOT, node_runtime

BOARD_SCRIPT = ROOT / "tests" / "mp" / "serial_board.mjs"


class SerialBoard:
    """The WebAssembly MicroPython REPL behind a pty; `.port` is the path to open."""

    def __init__(self):
        node, _ = node_runtime()
        self.master, slave = os.openpty()
        tty.setraw(slave)  # pyserial sets raw mode too, but only once it opens
        self.port = os.ttyname(slave)
        os.close(slave)  # held by nobody until a test opens it: `sync --port` refuses a port held elsewhere
        self.proc = subprocess.Popen(
            [node, str(BOARD_SCRIPT), str(self.master)], cwd=ROOT, stdin=subprocess.DEVNULL, pass_fds=(self.master,)
        )

    def transport(self):
        from mpremote.transport_serial import SerialTransport

        t = SerialTransport(self.port, timeout=1)
        t.use_raw_paste = False
        t.enter_raw_repl(soft_reset=False)
        return t

    def close(self):
        self.proc.kill()
        self.proc.wait()
        os.close(self.master)
