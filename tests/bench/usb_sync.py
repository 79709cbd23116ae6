"""`sync --port` on the real runtime: a 10,000-record sync over the USB serial line.

The board is the real interpreter (64 KB heap) with its REPL on a pty; the
companion is twitchlog.usb.sync through mpremote.  A pty has no baud rate,
so the figure is the host's and the interpreter's work; the wire time of a
USB-UART bridge at 115,200 baud is computed from the bytes that crossed
(native USB-CDC, as on the C3/S3/C6, runs at USB full speed and is not the
limit).

    .venv/bin/python tests/bench/usb_sync.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.sync_rig import make_rig

RECORDS = 10_000
LINE_RECORDS = 32  # firmware/usbsync.py _LINE_RECORDS
UART_BAUD = 115_200


async def _measure(folder: Path) -> dict:
    rig = await make_rig(folder, preload=RECORDS, runtime="micropython", usb=True)
    try:
        await rig.window()
        started = time.monotonic()
        result = await rig.usb_sync()
        seconds = time.monotonic() - started
        return {"seconds": seconds, "records": result.received, "crashes": len(rig.device.crashes)}
    finally:
        await rig.close()


def measure() -> dict:
    with tempfile.TemporaryDirectory(prefix="twitchlog-bench-") as tmp:
        return asyncio.run(asyncio.wait_for(_measure(Path(tmp)), 600))


def wire_bytes(records: int) -> int:
    """What report() prints: base64 lines of LINE_RECORDS records (4 characters per 3 bytes, and a newline)."""
    full, rest = divmod(records, LINE_RECORDS)
    line = lambda n: (n * 16 + 2) // 3 * 4 + 1  # noqa: E731
    return full * line(LINE_RECORDS) + (line(rest) if rest else 0)


def usb_sync_figures() -> list[tuple[str, str, str]]:
    m = measure()
    uart_s = wire_bytes(RECORDS) * 10 / UART_BAUD  # 8N1: 10 bits a byte
    return [
        (
            f"{RECORDS:,}-record sync over USB (pty)",
            f"{m['seconds']:.1f} s",
            f"{m['records']:,} records incl. the anchor, {m['records'] / m['seconds']:,.0f} rec/s; "
            "soft reset, hello, set time, count, report, ack and the app's restart included",
        ),
        (
            f"{RECORDS:,} records on a 115,200-baud USB-UART bridge",
            f"{uart_s:.0f} s",
            f"{wire_bytes(RECORDS):,} bytes of base64 on the wire (computed; a DevKit's CP210x/CH340)",
        ),
    ]


if __name__ == "__main__":
    for row in usb_sync_figures():
        print(" | ".join(row))
