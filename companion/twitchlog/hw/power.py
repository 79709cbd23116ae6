"""Battery life: datasheet currents times the awake times the virtual device measured.

A charge budget per day, in mAh, split by what spends it:

- deep sleep: the board's sleep current (chip + regulator + whatever else is
  on the board) plus the battery divider's leakage, for the hours asleep;
- event windows: per button event, the awake time measured on the virtual
  device (gesture decoding, the durable append and the confirmation blink,
  which the firmware shows in full before it sleeps; BLE stays off with the
  firmware default `event_window_s=0`) at the CPU-awake current, plus any
  `event_window_s` advertising window at the CPU current and the radio's
  average current while advertising (the blink runs inside such a window);
- sync windows: per daily sync, the hold until the window opens, the time
  spent advertising until the central connects (`Usage.sync_window_s`), and
  the time connected (at the connection's radio duty).  The firmware closes
  the window when a central that acknowledged records (RACP delete)
  disconnects, so nothing is spent after the sync; its `sync_window_s`
  setting (120 s) only caps the wait for a central that never comes;
- boot per wake: deep-sleep wake to the firmware's first line (an estimate:
  the virtual device cannot measure it, its clock holds while the host boots);
- flash erase per append: one 4 KB sector erase per event (`make bench`).

The radio is modelled from airtime, not as "on": a legacy advertising event
sends ADV_IND on three channels and listens after each for a scan or connect
request; between events (every `adv_interval_ms` + advDelay) it is off.

Sources (HARDWARE/POWER.md has the table and a hand-worked example):
[ESP32-DS] Espressif ESP32 Series Datasheet, "Power Consumption by Power
  Modes" and "RF Power-Consumption Specifications" (3.3 V, 25 °C): modem-sleep
  at 160 MHz 27-44 mA; deep sleep with RTC timer + RTC memory 10 µA; BLE TX
  at 0 dBm 130 mA; BLE RX 95-100 mA.
[C3-DS] Espressif ESP32-C3 Series Datasheet, "Current Consumption in
  Low-Power Modes" and RF current tables: deep sleep 5 µA; RX 84 mA.  It
  gives no BLE TX figure; the ESP32's 0 dBm 130 mA is used (an assumption).
[XIAO] Seeed Studio wiki, "XIAO ESP32C3 power consumption" (battery input at
  3.8 V): deep sleep 44 µA for the whole board, modem-sleep 24.4 mA, modem-sleep
  with BLE advertising 26.8 mA.  The board's LDO accounts for most of the 44 µA.
[AMS1117] AMS1117 datasheet: quiescent current 5 mA typical (the DevKit's LDO).
[W25Q] Winbond W25Q32JV datasheet: 4 KB sector erase 45 ms typical at 20 mA.
[BT-CORE] Bluetooth Core Specification, Vol 6 Part B: 1 Mbit/s LE PHY
  (8 µs a byte), T_IFS 150 µs, advDelay 0-10 ms pseudo-random (mean 5 ms).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from twitchlog.errors import UserError

# Measured by tests/bench/power_bench.py (measure_awake_times) on the virtual
# device with the firmware defaults event_window_s=0, sync_window_s=120 (the
# window closes at the acknowledged disconnect); simulated device seconds from
# wake to deep sleep.  Re-measured 2026-11-22 after c27062e (the firmware no
# longer sleeps while a confirmation blink is showing): three runs of each board
# give event 0.85 s (0.83-0.87, the boards alike) and sync 12.10-12.21 s, the
# sync within the 12.09-12.18 s measured before the fix (the sync's LED pattern
# loops, so the fix does not touch it).  tests/test_power.py re-measures and
# checks these stay equal.
MEASURED_EVENT_AWAKE_S = 0.85  # a click from deep sleep, BLE off: wake -> the gesture decoder waits out
# the double-click gap (0.41 s) -> the record is appended durably (at ~0.43 s) -> the confirmation
# blink (120 ms on + 180 ms off, two blinks for a cramp) is shown in full -> deep sleep.  Until
# c27062e the chip slept 4 ms into the blink (0.43 s, no visible blink).
MEASURED_EVENT_CONFIRM_S = 0.42  # of which: the record appended -> asleep: the 0.30 s blink and the
# wait for the loop's next 200 ms idle poll to see it done (~0.1 s).  The cost of the blink fix:
# 0.42 s x 24.4 mA = 10.2 mA·s a press on the XIAO.  An event_window_s window starts at the gesture
# and covers the blink, so the event is awake for the decoding + max(window, this).
MEASURED_EVENT_WINDOW_S = 0  # the event_window_s that figure was measured with
MEASURED_SYNC_AWAKE_S = 12.11  # hold 2 s, bonded central syncs 20 records, acks, leaves: the window closes
MEASURED_SYNC_HOLD_S = 1.56  # of which: wake until the hold gesture opens the window (long_press_ms 1.5 s)
MEASURED_SYNC_ADVERTISING_S = 10.11  # of which: advertising until the central connected.  An upper
# bound: the test central's connect takes ~0.5 real s on the virtual link (Bumble's controller
# advertises on a real-time timer), 10 device s at speed 20; a real central that is already
# scanning hears the device's 250 ms advertising within ~0.3 s.  The default of --sync-window-s.
MEASURED_SYNC_CONNECTED_S = 0.43  # of which: connected (encrypt, set time, report, delete, disconnect);
# also host time x 20.  On a real link each ATT round trip takes a 30 ms connection interval:
# ~15 of them here (0.5 s), more if the central rediscovers services; each extra second
# connected costs 0.007 mAh/day on the XIAO (24.4 + 1.57 mA).
MEASURED_PAIR_AWAKE_S = 66.15  # once per new central: hold 6.5 s, pair, the 60 s pairing window runs out
FIRMWARE_SYNC_WINDOW_S = 120  # firmware default sync_window_s: the longest the device waits for a central

ADV_INTERVAL_MS = 250  # firmware/gattserver.py _ADV_INTERVAL_US
ADV_DELAY_MEAN_MS = 5.0  # [BT-CORE] advDelay, uniform 0-10 ms
ADV_CHANNELS = 3
ADV_PDU_BYTES = 37  # preamble 1 + access address 4 + header 2 + AdvA 6 + AdvData 21 + CRC 3
RADIO_RAMP_MS = 0.14  # TX/RX turn-on per channel hop (estimate)
SCAN_REQ_LISTEN_MS = 0.15 + 0.176  # T_IFS + a SCAN_REQ's airtime (22 bytes): the listen after each ADV_IND
CONN_INTERVAL_MS = 30  # a typical central's connection interval (tests/bench/virtual_link.py)
CONN_EVENT_TX_MS = 0.22  # an empty PDU (10 bytes, 80 µs) + ramp, each way, per connection event
CONN_EVENT_RX_MS = 0.22
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class BoardPower:
    name: str
    sleep_ua: float  # whole board in deep sleep, divider excluded
    awake_ma: float  # CPU awake, radio off (MicroPython idles in its asyncio loop)
    tx_ma: float
    rx_ma: float
    boot_s: float  # deep-sleep wake to the firmware's first line: estimate, see module doc
    divider_ohms: float  # battery divider R1 + R2 as hardware/README.md builds it
    erase_ma: float = 20.0  # [W25Q]
    erase_ms: float = 45.0  # [W25Q]
    sources: dict[str, str] = field(default_factory=dict, compare=False)


BOARDS = {
    "xiao-esp32c3": BoardPower(
        "xiao-esp32c3",
        sleep_ua=44.0,
        awake_ma=24.4,
        tx_ma=130.0,
        rx_ma=84.0,
        boot_s=0.5,
        divider_ohms=2_000_000,  # 2 x 1 MΩ
        sources={
            "sleep_ua": "[XIAO] 44 µA, whole board on BAT (chip 5 µA [C3-DS] + LDO quiescent)",
            "awake_ma": "[XIAO] modem-sleep 24.4 mA (cross-check: 26.8 mA with BLE advertising)",
            "tx_ma": "[ESP32-DS] BLE TX 0 dBm 130 mA ([C3-DS] lists no BLE TX current)",
            "rx_ma": "[C3-DS] RX 84 mA",
            "boot_s": "estimate (ROM + bootloader + MicroPython init + .mpy imports); measure on hardware",
        },
    ),
    "esp32-devkit": BoardPower(
        "esp32-devkit",
        sleep_ua=10.0 + 5000.0,
        awake_ma=44.0 + 5.0,
        tx_ma=130.0,
        rx_ma=97.5,
        boot_s=0.5,
        divider_ohms=200_000,  # 2 x 100 kΩ
        sources={
            "sleep_ua": "[ESP32-DS] 10 µA (RTC timer + memory) + [AMS1117] 5 mA quiescent; USB-UART, LED not counted",
            "awake_ma": "[ESP32-DS] modem-sleep 160 MHz, upper end 44 mA, + [AMS1117] 5 mA",
            "tx_ma": "[ESP32-DS] BLE TX 0 dBm 130 mA",
            "rx_ma": "[ESP32-DS] BLE RX 95-100 mA, midpoint",
            "boot_s": "estimate, as for the C3",
        },
    ),
}


@dataclass(frozen=True)
class Usage:
    events_per_day: float = 20
    syncs_per_day: float = 1
    battery_mah: float = 400
    board: str = "xiao-esp32c3"
    event_window_s: float = MEASURED_EVENT_WINDOW_S  # firmware setting event_window_s (default 0)
    # Seconds the device advertises before the central connects; the firmware gives up
    # after its sync_window_s setting (FIRMWARE_SYNC_WINDOW_S) if none does.
    sync_window_s: float = MEASURED_SYNC_ADVERTISING_S
    adv_interval_ms: float = ADV_INTERVAL_MS
    divider_ohms: float | None = None  # R1 + R2; None: the board's (hardware/README.md)
    battery_v: float = 3.7  # LiPo nominal: the divider's leakage is V / (R1 + R2)
    sleep_ua: float | None = None  # override the board's deep-sleep current
    erases_per_event: float = 1.0


@dataclass(frozen=True)
class Row:
    name: str
    mah_per_day: float
    detail: str


@dataclass(frozen=True)
class Budget:
    usage: Usage
    rows: list[Row]

    @property
    def mah_per_day(self) -> float:
        return sum(r.mah_per_day for r in self.rows)

    @property
    def days(self) -> float:
        return self.usage.battery_mah / self.mah_per_day

    @property
    def months(self) -> float:
        return self.days / DAYS_PER_MONTH

    @property
    def dominant(self) -> Row:
        return max(self.rows, key=lambda r: r.mah_per_day)


def board_power(name: str) -> BoardPower:
    if name not in BOARDS:
        raise UserError(f"unknown board {name!r}: choose one of {', '.join(sorted(BOARDS))}")
    return BOARDS[name]


def bt_airtime_ms(octets: int) -> float:
    return octets * 8 / 1000  # 1 Mbit/s LE PHY


def advertising_ma(board: BoardPower, adv_interval_ms: float = ADV_INTERVAL_MS) -> float:
    """Average radio current while advertising: charge per advertising event over its period."""
    tx_ms = ADV_CHANNELS * (RADIO_RAMP_MS + bt_airtime_ms(ADV_PDU_BYTES))
    rx_ms = ADV_CHANNELS * SCAN_REQ_LISTEN_MS
    return (tx_ms * board.tx_ma + rx_ms * board.rx_ma) / (adv_interval_ms + ADV_DELAY_MEAN_MS)


def connected_ma(board: BoardPower, conn_interval_ms: float = CONN_INTERVAL_MS) -> float:
    """Average radio current of an idle connection: one exchange of empty PDUs per interval."""
    return (CONN_EVENT_TX_MS * board.tx_ma + CONN_EVENT_RX_MS * board.rx_ma) / conn_interval_ms


def _mah(ma: float, seconds: float) -> float:
    return ma * seconds / 3600


def budget(usage: Usage = Usage()) -> Budget:
    """The charge each part of a day takes, and the life it gives."""
    if usage.events_per_day < 0 or usage.syncs_per_day < 0 or usage.battery_mah <= 0:
        raise UserError("events and syncs per day must be >= 0 and the battery > 0 mAh")
    b = board_power(usage.board)
    # Awake time = what the firmware does besides the windows (measured) + the windows.
    # An event: decoding + append, then the longer of the event window and the confirmation blink
    # (the window from the gesture, the blink from the append a few ms later; the firmware sleeps
    # when both are over).
    event_decode = MEASURED_EVENT_AWAKE_S - max(MEASURED_EVENT_WINDOW_S, MEASURED_EVENT_CONFIRM_S)
    event_awake = event_decode + max(usage.event_window_s, MEASURED_EVENT_CONFIRM_S)
    connected = MEASURED_SYNC_CONNECTED_S
    sync_rest = MEASURED_SYNC_AWAKE_S - MEASURED_SYNC_ADVERTISING_S - MEASURED_SYNC_CONNECTED_S  # hold + after
    sync_awake = sync_rest + usage.sync_window_s + connected
    adv = advertising_ma(b, usage.adv_interval_ms)
    conn = connected_ma(b)

    per_event = _mah(b.awake_ma, event_awake) + _mah(adv, usage.event_window_s)
    per_sync = _mah(b.awake_ma, sync_awake) + _mah(adv, usage.sync_window_s) + _mah(conn, connected)
    per_erase = _mah(b.erase_ma, b.erase_ms / 1000)
    wakes = usage.events_per_day + usage.syncs_per_day
    awake_s = usage.events_per_day * (event_awake + b.boot_s) + usage.syncs_per_day * (sync_awake + b.boot_s)
    asleep_s = max(0.0, 86400 - awake_s)
    sleep_ua = b.sleep_ua if usage.sleep_ua is None else usage.sleep_ua
    divider_ohms = b.divider_ohms if usage.divider_ohms is None else usage.divider_ohms
    divider_ua = usage.battery_v / divider_ohms * 1e6 if divider_ohms else 0.0

    rows = [
        Row("deep sleep", _mah(sleep_ua / 1000, asleep_s), f"{sleep_ua:g} µA for {asleep_s / 3600:.2f} h"),
        Row(
            "battery divider",
            _mah(divider_ua / 1000, 86400),
            f"{usage.battery_v:g} V / {divider_ohms / 1e6:g} MΩ = {divider_ua:.2f} µA, always",
        ),
        Row(
            "event windows",
            usage.events_per_day * per_event,
            f"{usage.events_per_day:g} x ({event_awake:.2f} s at {b.awake_ma:g} mA"
            + (f" + {usage.event_window_s:g} s advertising at {adv:.3f} mA)" if usage.event_window_s else ", BLE off)"),
        ),
        Row(
            "sync windows",
            usage.syncs_per_day * per_sync,
            f"{usage.syncs_per_day:g} x ({sync_awake:.2f} s at {b.awake_ma:g} mA + radio: "
            f"{usage.sync_window_s:g} s advertising, {connected:g} s connected at {conn:.2f} mA)",
        ),
        Row(
            "boot per wake",
            wakes * _mah(b.awake_ma, b.boot_s),
            f"{wakes:g} x {b.boot_s:g} s at {b.awake_ma:g} mA (estimate)",
        ),
        Row(
            "flash erase per append",
            usage.events_per_day * usage.erases_per_event * per_erase,
            f"{usage.events_per_day * usage.erases_per_event:g} x {b.erase_ms:g} ms at {b.erase_ma:g} mA",
        ),
    ]
    return Budget(usage, rows)


def tuned(usage: Usage, **changes) -> Budget:
    return budget(replace(usage, **changes))
