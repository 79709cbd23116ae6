"""virtual_chip for the WebAssembly REPL: what the chip shim's machine, time and esp32 read.

The npm WebAssembly MicroPython has the real pyexec (raw REPL, soft reset)
but no `machine`: tests/test_usb_sync_wasm.py copies the real runtime's
chip shim (companion/twitchlog/sim/unixport/chip/machine.py, time.py,
esp32.py) onto it with this module in place of the unix port's, which
mounts a flash file and talks to a driver this runtime does not have.  The
RTC starts at 2000-01-01 as after a power-on; pins idle, nothing to report.
"""

import sys


def builtin(name):
    saved = sys.path[:]
    sys.path.clear()
    try:
        return __import__(name)
    finally:
        sys.path.extend(saved)


time = builtin("time")

RESET_CAUSE = 1
WAKE_REASON = 0
UNIQUE_ID = b"\x24\xdc\xc3\x0a\x5a\x51"
BATTERY_UV = 1950000
RTC_MEMORY = b""
levels = {}
handlers = {}
_rtc_base_ms = 0
_ticks_base = time.ticks_ms()


def say(*words):
    pass  # no driver listens; on this line anything printed would land in the REPL's answers


def rtc_ms():
    return _rtc_base_ms + time.ticks_diff(time.ticks_ms(), _ticks_base)


def set_rtc_ms(ms):
    global _rtc_base_ms, _ticks_base
    _rtc_base_ms, _ticks_base = ms, time.ticks_ms()
