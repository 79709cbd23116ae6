"""The firmware core end to end, without BLE: `twitchlog core-demo`.

Weeks of scripted presses go through the real gesture decoder, the real
event log on a LittleFS image configured like the ESP32's, with a drifting
RTC, daily time sets (anchors), a weekly battery swap (RTC lost, new boot
id) and one power cut in the middle of a write.  The log is then streamed in
MTU-247 notifications, decoded with the companion's copy of the protocol
module and placed in UTC with the clock module, and compared with the truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from twitchlog.firmware import clock as companion_clock
from twitchlog.firmware import eventlog, gestures
from twitchlog.firmware import protocol as wire
from twitchlog.hw.flash import FlashImage, LfsFS, PowerCut, mount

DRIFT = 1.03  # the RTC runs 3% fast in deep sleep
BOOT_LATENCY_MS = 150  # wake to Python running: the first click is already over
START_UTC = 820_000_000  # true time (s since 2000) when the demo device is first powered


@dataclass
class Device:
    image: FlashImage
    log: eventlog.EventLog
    boot: int
    rtc_offset: float  # device time = rtc_offset + DRIFT * (true - rtc_set_true)
    rtc_set_true: float
    recorded: list[tuple[int, int, int]] = field(default_factory=list)  # (seq, kind, true time)

    def rtc(self, true_time: float) -> int:
        return int(self.rtc_offset + DRIFT * (true_time - self.rtc_set_true))


# action -> number of clicks the wearer makes for it (the default gesture map)
CLICKS = {wire.KIND_TWITCH: 1, wire.KIND_CRAMP: 2, wire.ACTION_UNDO: 3}


def _press(action: int) -> bool:
    """One wake-from-sleep gesture; True if the decoder saw the intended one."""
    clicks = CLICKS[action]
    edges = []
    for i in range(clicks):
        edges += [(i * 230, True), (i * 230 + 90, False)]

    def level_at(now: int) -> bool:
        return next((down for t, down in reversed(edges) if t <= now), False)

    decoder = gestures.GestureDecoder()
    decoder.wake(0, level_at(BOOT_LATENCY_MS))  # the press that woke the chip
    for now in range(BOOT_LATENCY_MS, 2000, 10):
        out = decoder.update(level_at(now), now)
        if out:
            return out[0] == clicks  # CLICK1..CLICK3 are 1..3
    return False


def run(weeks: int = 8, seed: int = 7, out=None) -> int:
    console = Console(file=out)
    rng = random.Random(seed)
    image = FlashImage(1 << 20)
    log = eventlog.EventLog(LfsFS(mount(image), image), "/log", 240)
    log.open()
    dev = Device(image, log, log.new_boot(), 0, START_UTC)
    power_cut_done = False
    for day in range(weeks * 7):
        day_start = START_UTC + day * 86400
        if day and day % 7 == 0:  # battery swap: the RTC restarts at zero
            dev.boot = dev.log.new_boot()
            dev.rtc_offset, dev.rtc_set_true = 0, day_start + 3600
        presses = sorted(rng.uniform(7 * 3600, 23 * 3600) for _ in range(rng.randint(1, 6)))
        for offset in presses:
            t = day_start + offset
            kind = wire.KIND_CRAMP if rng.random() < 0.2 else wire.KIND_TWITCH
            if not _press(kind):
                continue
            seq = dev.log.append(kind, dev.rtc(t), dev.boot)
            if seq:
                dev.recorded.append((seq, kind, int(t)))
            if rng.random() < 0.05:  # pressed by mistake: triple-click undo 20 s later
                if _press(wire.ACTION_UNDO):
                    dev.log.append(wire.KIND_TOMBSTONE, dev.rtc(t + 20), dev.boot, seq)
        if not power_cut_done and day == weeks * 7 // 2:
            power_cut_done = True
            dev.image.cut_at = dev.image.ops + 3  # dies inside the next append
            try:
                dev.log.append(wire.KIND_TWITCH, dev.rtc(day_start + 72000), dev.boot)
            except (PowerCut, OSError):
                pass
            healthy = FlashImage(buffer=bytearray(dev.image.buffer))
            dev.image = healthy
            dev.log = eventlog.EventLog(LfsFS(mount(healthy, False), healthy), "/log", 240)
            dev.log.open()
            dev.boot = dev.log.new_boot()  # power loss: RTC restarts
            dev.rtc_offset, dev.rtc_set_true = 0, day_start + 72100
        # The evening sync sets the clock: an anchor, then the RTC is exact.
        sync_time = day_start + 22.5 * 3600
        device_clock = companion_clock.DeviceClock(lambda t=sync_time: dev.rtc(t), lambda v: None, dev.log, dev.boot)
        device_clock.set(int(sync_time))
        dev.rtc_offset, dev.rtc_set_true = int(sync_time), sync_time

    # Stream the log as the GATT server will: MTU 247, 15 records per packet.
    per_packet = wire.records_per_notification(247)
    buf = bytearray(per_packet * wire.RECORD_SIZE)
    reader = dev.log.reader()
    packets, records = 0, []
    while n := reader.readinto(buf):
        packets += 1
        records += [tuple(r) for r in wire.unpack_notification(bytes(buf[:n]))]
    placed = {seq: (utc, q) for seq, utc, q in companion_clock.place_times(records)}
    truth = {seq: t for seq, _kind, t in dev.recorded}
    errors = [
        abs(placed[s][0] - companion_clock.UNIX_AT_2000 - t) for s, t in truth.items() if placed[s][0] is not None
    ]
    qualities = [companion_clock.TIME_QUALITY_NAMES[placed[s][1]] for s in truth]
    tombstones = {r[2] for r in records if r[4] == wire.KIND_TOMBSTONE}
    symptoms = [r for r in records if r[4] <= wire.KIND_SYMPTOM_MAX and r[0] not in tombstones]
    missing = set(truth) - {r[0] for r in records}

    table = Table(title=f"twitchlog firmware core, {weeks} weeks on a simulated ESP32 (seed {seed})")
    table.add_column("what")
    table.add_column("result", justify="right")
    table.add_row("events recorded (durable before LED)", f"{len(dev.recorded)}")
    table.add_row("records in the log (incl. anchors, undos)", f"{len(records)}")
    table.add_row("lost at the power cut (append never returned)", "at most 1, by design")
    table.add_row("recorded events missing after the cut", f"{len(missing)}")
    table.add_row("symptom events after undo", f"{len(symptoms)} ({len(tombstones)} undone)")
    table.add_row("BLE notifications at MTU 247", f"{packets} ({per_packet} records each)")
    table.add_row("boots (battery swaps + power cut)", f"{len({r[3] for r in records})}")
    table.add_row("max |UTC placed - true| with 3% RTC drift", f"{max(errors):.1f} s")
    for name in companion_clock.TIME_QUALITY_NAMES:
        table.add_row(f"events with time {name}", f"{qualities.count(name)}")
    table.add_row("flash programmed", f"{dev.image.prog_bytes / 1024:.0f} KB (this image, after the cut)")
    console.print(table)
    console.print(
        "[dim]This is the firmware core end to end. `twitchlog demo` runs the whole product "
        "(virtual device over BLE, sync, intake and report).[/dim]"
    )
    return 1 if missing or not errors else 0
