"""The device's life between two deep sleeps.

wake -> decode the gesture -> append durably -> LED -> short advertising
window -> deep sleep.  A hold opens the sync window, a long hold pairing
mode.  Holding the button through a power-on clears the bonds.

Console lines starting with "EVT" describe what the device did; the virtual
device turns them into JSON, and on hardware they show in `mpremote repl`.
"""

import asyncio
import os
import time

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

import board as board_mod
import bonds as bonds_mod
import clock as clock_mod
import eventlog
import fsio
import gestures
import protocol

_LOG_ROOT = "log"
_SETTINGS_PATH = "settings.bin"
_BONDS_PATH = "bonds.bin"
_RESERVED_BLOCKS = const(24)  # littlefs metadata and copy-on-write room
_MAX_SEGMENTS = const(4096)
_RTC_MAGIC = b"TL"  # RTC memory: magic, clock state
_UNDO_WINDOW_S = const(60)
_CONNECTED_CAP_MS = const(600_000)  # a forgotten connection must not drain the cell
_FACTORY_HOLD_MS = const(3000)
_WATCHDOG_MS = const(30_000)
_POLL_ACTIVE_MS = const(10)  # sampling while a gesture is in progress
_POLL_IDLE_MS = const(200)

# LED patterns: (on_ms, off_ms, repeats); repeats 0 loops until replaced.
_LED_TWITCH = (120, 180, 1)
_LED_UNDO = (900, 100, 1)
_LED_ERROR = (60, 60, 5)
_LED_SYNC = (500, 1500, 0)
_LED_PAIR = (100, 100, 0)


def say(name, **fields):
    parts = ["EVT", name]
    for key in fields:
        parts.append("%s=%s" % (key, fields[key]))
    print(" ".join(parts))


def _log_segments():
    try:
        st = os.statvfs("/")
        blocks = st[2] * st[1] // 4096  # f_blocks * f_frsize, in 4 KB segments
    except (AttributeError, OSError):
        return 240
    return max(8, min(_MAX_SEGMENTS, blocks - _RESERVED_BLOCKS))


class Device:
    """The app's state; GattServer reads it through these names."""

    def __init__(self, board):
        self.board = board
        fs = fsio.PosixFS()
        self.log = eventlog.EventLog(fs, _LOG_ROOT, _log_segments())
        self.log.open()
        self.bonds = bonds_mod.BondStore(fs, _BONDS_PATH)
        self.bonds.load()
        self._fs = fs
        self.settings = self._load_settings()
        memory = bytes(board.rtc_memory())
        if memory[:2] == _RTC_MAGIC and len(memory) >= 3:
            state = memory[2]  # deep sleep kept the RTC: same epoch
        else:
            self.log.new_boot()  # the RTC started from zero
            state = protocol.CLOCK_UNSET
        self.clock = clock_mod.DeviceClock(board.rtc_seconds, board.set_rtc, self.log, self.log.boot_id, state)
        self.remember_clock()
        uid = board.unique_id()
        self.serial = "".join("%02x" % b for b in uid)
        self.name = "twitchlog-" + self.serial[-4:]
        self.model = board.profile["board"]
        self.server = None
        self._led_task = None
        self._led_finite = False

    # ------------------------------------------------------------ persistent state
    def _load_settings(self):
        if self._fs.size(_SETTINGS_PATH) == protocol.SETTINGS_SIZE:
            try:
                with self._fs.open(_SETTINGS_PATH, "rb") as f:
                    return protocol.unpack_settings(f.read())
            except (OSError, protocol.ProtocolError):
                pass
        return dict(protocol.DEFAULT_SETTINGS)

    def save_settings(self, settings):
        tmp = _SETTINGS_PATH + ".tmp"
        with self._fs.open(tmp, "wb") as f:
            f.write(protocol.pack_settings(settings))
        self._fs.rename(tmp, _SETTINGS_PATH)
        self.settings = settings
        say("settings", **settings)

    def remember_clock(self):
        """Keep the clock state in RTC memory, which deep sleep preserves."""
        self.board.rtc_memory(_RTC_MAGIC + bytes((self.clock.state,)))

    def status(self):
        log = self.log
        return protocol.pack_status(
            log.count(),
            log.first_seq,
            log.last_seq,
            log.free_records(),
            log.boot_id,
            self.clock.state,
            log.lost,
            self.board.battery_mv(),
            self.clock.now(),
        )

    # ------------------------------------------------------------ LED
    def led(self, pattern):
        if self._led_task is not None:
            self._led_task.cancel()
        self._led_finite = pattern[2] > 0
        self._led_task = asyncio.create_task(self._blink(pattern))

    def _confirming(self):
        """A finite pattern (event, undo, error) is still showing: sleeping now would cut it off."""
        return self._led_finite and self._led_task is not None and not self._led_task.done()

    async def _blink(self, pattern):
        on_ms, off_ms, repeats = pattern
        n = 0
        try:
            while repeats == 0 or n < repeats:
                self.board.set_led(True)
                await asyncio.sleep_ms(on_ms)
                self.board.set_led(False)
                await asyncio.sleep_ms(off_ms)
                n += 1
        finally:
            self.board.set_led(False)

    # ------------------------------------------------------------ gestures
    def _record(self, kind, first_ms, now_ms, at_wake):
        age_s = time.ticks_diff(now_ms, first_ms) // 1000
        device_time = self.clock.now() - age_s
        arg = protocol.ARG_AT_WAKE if at_wake else 0
        seq = self.log.append(kind, device_time, self.log.boot_id, arg)
        if seq:
            say("recorded", seq=seq, kind=kind, device_time=device_time, boot=self.log.boot_id)
        else:
            say("lost", kind=kind, lost=self.log.lost_total())
        return seq

    def _undo(self):
        """Tombstone the newest record if it is a symptom or dose under a minute old."""
        last = self.log.last_seq
        if last < self.log.first_seq:
            return 0
        buf = bytearray(protocol.RECORD_SIZE)
        reader = self.log.reader(last, last)
        try:
            n = reader.readinto(buf)
        finally:
            reader.close()
        if n == 0:
            return 0
        seq, device_time, _, boot, kind = protocol.unpack_record(buf)
        now = self.clock.now()
        # Symptoms (0x01..0x3F) and a dose (0x40, right after them) can be undone.
        if not 1 <= kind <= protocol.KIND_DOSE or boot != self.log.boot_id or now - device_time > _UNDO_WINDOW_S:
            return 0
        done = self.log.append(protocol.KIND_TOMBSTONE, now, self.log.boot_id, seq)
        if done:
            say("undone", seq=seq, tombstone=done)
        return done

    def gesture(self, gesture, first_ms, now_ms, at_wake):
        """Act on one decoded gesture.  Returns (window_s, pairing) to open, or None."""
        if gesture in (gestures.CLICK1, gestures.CLICK2, gestures.CLICK3):
            action = self.settings["click%d" % gesture]
            if action == protocol.ACTION_NONE:
                return None
            if action == protocol.ACTION_UNDO:
                self.led(_LED_UNDO if self._undo() else _LED_ERROR)
                return None
            if self._record(action, first_ms, now_ms, at_wake):
                self.led((_LED_TWITCH[0], _LED_TWITCH[1], gesture))
            else:
                self.led(_LED_ERROR)
            return (self.settings["event_window_s"], False)
        if gesture == gestures.HOLD:
            self.led(_LED_SYNC)
            return (self.settings["sync_window_s"], False)
        if gesture == gestures.PAIR_HOLD:
            self.led(_LED_PAIR)
            return (self.settings["pair_window_s"], True)
        return None

    # ------------------------------------------------------------ BLE
    def _start_ble(self, wakeup):
        if self.server is None:
            import gattserver  # imported on first use: no radio code unless a window opens

            self.server = gattserver.GattServer(self)
            self.server.wakeup = wakeup
            self._serve_task = asyncio.create_task(self.server.serve())
        return self.server

    def _report_ble(self, server):
        """Print what the radio did; True if a central connected since the last look (it may be gone)."""
        events = server.events
        came = False
        while events:
            name, detail = events.pop(0)
            came = came or name == "connected"
            say(name, conn=detail)
        return came

    # ------------------------------------------------------------ main loop
    async def awake(self, woke_by_button):
        decoder = gestures.GestureDecoder()
        edge = asyncio.ThreadSafeFlag()
        self.board.on_button(lambda pin: edge.set())
        start = time.ticks_ms()
        if woke_by_button:
            decoder.wake(start, self.board.pressed())
        wake_first_ms = start if woke_by_button else None
        window_end = start
        connected_since = None
        acked_at_connect = self.log.acked
        while True:
            self.board.feed()
            now = time.ticks_ms()
            out = decoder.update(self.board.pressed(), now)
            if out is not None:
                say("gesture", g=out[0])
                window = self.gesture(out[0], out[1], now, out[1] == wake_first_ms)
                if window is not None and window[0] > 0:
                    try:
                        server = self._start_ble(edge)
                    except OSError as e:
                        # The radio did not start (the host timed out on its
                        # controller): show it, and sleep rather than halt awake.
                        say("radio_error", errno=e.args[0] if e.args else -1)
                        self.led(_LED_ERROR)
                        continue
                    end = time.ticks_add(now, window[0] * 1000)
                    if time.ticks_diff(end, window_end) > 0 or window[1]:
                        window_end = end
                    if window[1] or not server.conns:
                        server.advertise(True, pairing=window[1] or server.pairing)
                        say("pairing" if server.pairing else "advertising", seconds=window[0])
            window_open = time.ticks_diff(window_end, now) > 0
            server = self.server
            if server is not None:
                # A sync can connect, acknowledge and leave between two looks: the
                # "connected" event, not the connection table, says a central came.
                came = self._report_ble(server)
                if (server.conns or came) and connected_since is None:
                    connected_since = now
                if not server.conns:
                    if connected_since is not None and self.log.acked != acked_at_connect and not server.pairing:
                        # A central took the records, acknowledged them and left:
                        # advertising on would only cost battery.
                        window_end = now
                        window_open = False
                        say("synced", acked=self.log.acked)
                    connected_since = None
                    acked_at_connect = self.log.acked
                    if window_open and not server.advertising:
                        server.advertise(True, pairing=server.pairing)  # a dropped link can come back
                        say("advertising", seconds=time.ticks_diff(window_end, now) // 1000)
                    elif server.advertising and not window_open:
                        server.advertise(False)
            connected = connected_since is not None and time.ticks_diff(now, connected_since) < _CONNECTED_CAP_MS
            if decoder.idle() and not window_open and not connected and not self._confirming():
                break
            try:
                await asyncio.wait_for_ms(edge.wait(), _POLL_IDLE_MS if decoder.idle() else _POLL_ACTIVE_MS)
            except asyncio.TimeoutError:
                pass
        if self.server is not None:
            self.server.stop()
            self._report_ble(self.server)
        if self._led_task is not None:
            self._led_task.cancel()


def _factory_reset_requested(board):
    """The button held through power-on for _FACTORY_HOLD_MS."""
    if not (board.cold_start() and board.pressed()):
        return False
    start = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), start) < _FACTORY_HOLD_MS:
        if not board.pressed():
            return False
        time.sleep_ms(20)
    return True


def main():
    board = board_mod.Board()
    board.watchdog(_WATCHDOG_MS)
    woke_by_button = board.woke_by_button()
    device = Device(board)
    if _factory_reset_requested(board):
        device.bonds.clear()
        say("factory_reset")
        while board.pressed():  # the hold is not a gesture
            board.feed()
            time.sleep_ms(20)
    say("wake", button=int(woke_by_button), boot=device.log.boot_id, clock=device.clock.state)
    asyncio.run(device.awake(woke_by_button))
    if device.server is not None:
        device.server.ble.active(False)
    device.remember_clock()
    say("sleep", records=device.log.count())
    board.deep_sleep()
