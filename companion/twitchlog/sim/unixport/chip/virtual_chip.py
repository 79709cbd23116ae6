"""The virtual ESP32 around the real interpreter: flash, boot, and the wires to the host.

MicroPython's unix port gives the real VM, asyncio and `bluetooth` (NimBLE);
this module gives what the chip has and a PC does not.  It is frozen into
the interpreter, so it takes no RAM the device would not spend on ROM code.

- Flash: a file-backed block device (4 KB sectors) mounted as VfsLfs2 at /,
  with the host's filesystem unmounted: the firmware sees only its flash.
- The pins, the battery and the RTC's starting point come from the driver
  (twitchlog.sim.unixport.runtime) in TL_* environment variables; button
  edges arrive on stdin, one "pin ID LEVEL" a line, read by a thread that
  only records the level and schedules the IRQ handler, as the chip does.
  Bytes on the USB serial line arrive there too ("usb HEX").
- What the chip tells the driver goes to stderr as "CHIP ..." lines: deep
  sleep (with what must survive it), the watchdog firing, a soft reset.
- stdout is the chip's USB serial line: what the firmware prints and the
  REPL (chip/repl.py), which the driver carries to a pty (`--usb`).
"""

import gc
import os
import sys

import micropython
import vfs


def builtin(name):
    """The interpreter's own module `name`, past a same-named shim (an empty path forces the built-in)."""
    saved = sys.path[:]
    sys.path.clear()
    try:
        return __import__(name)
    finally:
        sys.path.extend(saved)


time = builtin("time")  # ticks from the PC's monotonic clock, as the chip's run from boot

_SECTOR = 4096
# Erased flash, written 16 bytes at a time: a literal is frozen into ROM, so an
# erase costs the heap nothing, as the chip's flash driver does not.
_ERASED = b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"

env = os.getenv


def _int(name, default=0):
    value = env(name)
    return default if value is None else int(value)


# ---------------------------------------------------------------- boot parameters
RESET_CAUSE = _int("TL_RESET_CAUSE", 1)
WAKE_REASON = _int("TL_WAKE_REASON", 0)
UNIQUE_ID = bytes.fromhex(env("TL_UNIQUE_ID") or "24dcc3a1b2c3")
BATTERY_UV = _int("TL_BATTERY_UV", 1950000)  # at the ADC pin, after the board's divider
RTC_MEMORY = bytes.fromhex(env("TL_RTC_MEMORY") or "")
_rtc_base_ms = _int("TL_RTC_MS")  # RTC at process start, ms since 2000
_ticks_base = time.ticks_ms()

levels = {}  # pin id -> level the world holds it at
for item in (env("TL_PINS") or "").split(","):
    if item:
        pin_id, level = item.split("=")
        levels[int(pin_id)] = int(level)
handlers = {}  # pin id -> (handler, pin, trigger)


def say(*words):
    print("CHIP", *words, file=sys.stderr)


# ---------------------------------------------------------------- RTC
def rtc_ms():
    return _rtc_base_ms + time.ticks_diff(time.ticks_ms(), _ticks_base)


def set_rtc_ms(ms):
    global _rtc_base_ms, _ticks_base
    _rtc_base_ms, _ticks_base = ms, time.ticks_ms()


# ---------------------------------------------------------------- pins
def _set_level(pin_id, level):
    old = levels.get(pin_id, 0)
    levels[pin_id] = level
    entry = handlers.get(pin_id)
    if entry is None or old == level:
        return
    handler, pin, trigger = entry
    if trigger & (1 if level else 2):  # IRQ_RISING 1, IRQ_FALLING 2
        micropython.schedule(handler, pin)


def _host_commands():
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        words = line.split()
        if len(words) == 3 and words[0] == "pin":
            _set_level(int(words[1]), int(words[2]))
        elif len(words) == 2 and words[0] == "rtc":
            set_rtc_ms(rtc_ms() + int(words[1]))
        elif words == ["heap"]:  # what the app holds: live objects after a collection
            gc.collect()
            say("heap", gc.mem_alloc(), gc.mem_free())
        elif len(words) == 2 and words[0] == "cut":
            FileFlash.cut_at = FileFlash.ops + int(words[1])
        elif len(words) == 2 and words[0] == "stall":
            FileFlash.stall_at = FileFlash.ops + int(words[1])
        elif len(words) == 2 and words[0] == "usb":  # bytes on the USB serial line, host to chip
            import repl

            repl.feed(bytes.fromhex(words[1]))


# ---------------------------------------------------------------- flash
class FileFlash:
    """A flash chip in a host file: LittleFS's extended block protocol.

    A power cut can be armed at the Nth program or erase from now ("cut N"):
    that operation never happens, the chip stalls there, and the driver,
    told so, kills the process, which is what losing power mid-write does.
    """

    ops = 0
    cut_at = _int("TL_CUT_AFTER", -1)
    stall_at = -1

    def _op(self):
        if FileFlash.ops == FileFlash.cut_at:
            say("cut")
            while True:
                time.sleep_ms(1000)
        if FileFlash.ops == FileFlash.stall_at:
            # Held before this write until something interrupts the app (a Ctrl-C on the
            # serial line): the write never happens, as when the power goes at that instant.
            FileFlash.stall_at = -1
            say("stalled")
            while True:
                time.sleep_ms(10)
        FileFlash.ops += 1

    def __init__(self, path):
        self._f = open(path, "r+b")
        self._blocks = self._f.seek(0, 2) // _SECTOR

    def readblocks(self, block, buf, offset=0):
        self._f.seek(block * _SECTOR + offset)
        self._f.readinto(buf)

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # the simple protocol: erase, then program the whole block
            self.ioctl(6, block)
            offset = 0
        self._op()
        self._f.seek(block * _SECTOR + offset)
        self._f.write(buf)

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self._blocks
        if op == 5:  # block size
            return _SECTOR
        if op == 6:  # erase
            self._op()
            self._f.seek(arg * _SECTOR)
            for _ in range(_SECTOR // len(_ERASED)):
                self._f.write(_ERASED)
            return 0
        return None


def install(image, source_dir):
    """Format the flash if it is blank and copy the firmware files in, as deploy does."""
    flash = FileFlash(image)
    try:
        fs = vfs.VfsLfs2(flash)
    except OSError:
        vfs.VfsLfs2.mkfs(flash)
        fs = vfs.VfsLfs2(flash)
    vfs.mount(fs, "/flash")
    buf = bytearray(1024)
    for name in sorted(os.listdir(source_dir)):
        with open(source_dir + "/" + name, "rb") as src, open("/flash/" + name + ".new", "wb") as dst:
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                dst.write(buf[:n])
        os.rename("/flash/" + name + ".new", "/flash/" + name)
    vfs.umount("/flash")
    say("installed")


def boot(image):
    """Mount the flash as the only filesystem and run main.py, as the chip's boot does."""
    flash = FileFlash(image)
    fs = vfs.VfsLfs2(flash)
    vfs.umount("/")
    vfs.mount(fs, "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen"]
    import _thread

    _thread.start_new_thread(_host_commands, ())
    say("boot", RESET_CAUSE, WAKE_REASON)
    import repl

    raw = env("TL_REPL") == "raw"  # a soft reset from the raw REPL comes back raw, without main.py
    if not raw:
        repl.run_main()  # the app; deep sleep ends the process, anything else falls to the REPL
    repl.loop(raw)
