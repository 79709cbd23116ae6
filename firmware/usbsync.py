"""The device side of `twitchlog sync --port`: the log over the USB REPL.

The companion stops the app (Ctrl-C), soft-resets into the raw REPL (a
clean heap, main.py not run) and calls these functions through mpremote.
They act on the same log, clock and RTC memory as the app, through the
app's own Device, so a USB sync and a BLE sync are the same operations:
status, set the time (an anchor record), report records, acknowledge.

Each call prints its answer: a Python literal, or for report() base64
lines of whole records (the BLE notification format) ending with "end".
The watchdog stays armed: a companion that vanishes mid-sync leaves the
chip in the REPL, and the bite resets it into the app, which sleeps.
"""

from binascii import b2a_base64, hexlify

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

import app
import board as board_mod
import protocol

_WATCHDOG_MS = const(30_000)
_LINE_RECORDS = const(32)  # records per printed line: 512 bytes, 684 characters of base64

_device = None


def _dev():
    global _device
    if _device is None:
        board = board_mod.Board()
        board.watchdog(_WATCHDOG_MS)
        _device = app.Device(board)
    _device.board.feed()
    return _device


def hello():
    """(serial, board, status bytes as hex): who this is and what its log holds."""
    dev = _dev()
    print(repr((dev.serial, dev.model, hexlify(dev.status()).decode())))


def set_time(device_time):
    """Set the clock (seconds since 2000), anchored in the log first; prints the anchor's seq (0: log full)."""
    if not 0 <= device_time <= 0xFFFFFFFF:
        raise ValueError("device time out of range")
    dev = _dev()
    seq = dev.clock.set(device_time)
    if seq:
        dev.remember_clock()
    print(seq)


def report(lo, hi):
    """Stored records in [lo, hi], streamed a line at a time: RAM stays one line whatever the log holds."""
    dev = _dev()
    buf = bytearray(_LINE_RECORDS * protocol.RECORD_SIZE)
    view = memoryview(buf)
    reader = dev.log.reader(lo, hi)
    try:
        while True:
            n = reader.readinto(buf)
            if not n:
                break
            dev.board.feed()
            print(b2a_base64(bytes(view[:n])).decode(), end="")
    finally:
        reader.close()
    print("end")


def count(lo, hi):
    """How many records are stored in [lo, hi] (seqs lost to failed writes do not count)."""
    dev = _dev()
    buf = bytearray(_LINE_RECORDS * protocol.RECORD_SIZE)
    reader = dev.log.reader(lo, hi)
    total = 0
    try:
        while True:
            n = reader.readinto(buf)
            if not n:
                break
            total += n // protocol.RECORD_SIZE
    finally:
        reader.close()
    print(total)


def ack(seq):
    """Acknowledge every record <= seq (space is reclaimed); prints how many became acknowledged."""
    print(_dev().log.ack(seq))
