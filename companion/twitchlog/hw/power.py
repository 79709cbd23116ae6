"""Battery life: datasheet and board currents times the awake times the runtimes measured.

A charge budget per day, in mAh, split by what spends it:

- deep sleep: the board's sleep current (chip + regulator + whatever else is
  on the board, measured at the battery pad) plus what the profile's wake
  source adds, plus the battery divider's leakage, for the hours asleep;
- event windows: per button event, the awake time measured on the real
  runtime (gesture decoding, the durable append and the confirmation blink,
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
  no runtime here boots like a chip);
- flash erase per append: one 4 KB sector erase per event (`make bench`).

The radio is modelled from airtime, not as "on": a legacy advertising event
sends ADV_IND on three channels and listens after each for a scan or connect
request; between events (every `adv_interval_ms` + advDelay) it is off.

Sources (hardware/POWER.md has the tables, the per-board budgets and a
hand-worked example):
[SLEEP-PPK2] msfujino, Seeed Studio forum, "Comparison of Sleep Currents for
  XIAO ESP32C6, S3, and C3" (topic 276444): a PPK2 feeding 3.8 V to the battery
  pad, `esp_deep_sleep_start()` with no wake source (Arduino-ESP32 3.0.0-rc1):
  XIAO ESP32-C3 45.1 µA, XIAO ESP32-S3 11.9 µA, XIAO ESP32-C6 14.3 µA.  The
  C3's XC6210 LDO (35 µA quiescent) is most of its figure; the S3 and C6 share
  an SGM6029 buck (2.8 µA) and an LMBR4010 diode whose reverse leakage
  (~8 µA, rising with temperature) is half of theirs.
[XIAO-C3] Seeed Studio wiki, XIAO ESP32C3 power consumption (battery input,
  3.8 V): deep sleep 44 µA, modem-sleep 24.4 mA, 26.8 mA with BLE advertising.
[XIAO-S3] Seeed Studio wiki, XIAO ESP32S3 getting started, specification table
  (3.8 V): modem-sleep 25 mA, light-sleep 2 mA, deep sleep 14 µA.
[XIAO-C6] Seeed Studio wiki, XIAO ESP32C6 getting started, specification
  comparison (3.8 V): modem-sleep ~30 mA, light-sleep ~2.5 mA, deep sleep ~15 µA.
[ESP32-DS] Espressif ESP32 Series Datasheet, "Power Consumption by Power
  Modes" and "RF Power-Consumption Specifications" (3.3 V, 25 °C): modem-sleep
  at 160 MHz 27-44 mA; deep sleep with RTC timer + RTC memory 10 µA; BLE TX
  at 0 dBm 130 mA; BLE RX 95-100 mA.
[C3-DS] Espressif ESP32-C3 Series Datasheet, "Current Consumption in
  Low-Power Modes" and RF current tables: deep sleep 5 µA; RX 84 mA.  It
  gives no BLE TX figure; the ESP32's 0 dBm 130 mA is used (an assumption).
[S3-DS] Espressif ESP32-S3 Series Datasheet v2.2 (3.3 V, 25 °C): Table 5-8,
  Bluetooth LE TX at 0 dBm 176 mA, RX 93 mA (peak); Table 5-9, modem-sleep at
  160 MHz, both cores idle (WAITI) 27.6 mA; Table 5-10, deep sleep with RTC
  memory and RTC peripherals powered 8 µA, with RTC peripherals off 7 µA.
[C6-DS] Espressif ESP32-C6 Series Datasheet (3.3 V, 25 °C): Bluetooth LE TX at
  0 dBm 130 mA, RX 71 mA (peak; v1.4 Table 5-8, pre-release v0.5 Table 4-6);
  modem-sleep at 160 MHz, CPU idle 17-28 mA, running 27-38 mA (v0.5 Table 4-8);
  deep sleep with RTC timer and LP memory 7 µA (v0.5 Table 4-9).
[AMS1117] AMS1117 datasheet: quiescent current 5 mA typical (the DevKit's LDO).
[W25Q] Winbond W25Q32JV datasheet: 4 KB sector erase 45 ms typical at 20 mA.
[BT-CORE] Bluetooth Core Specification, Vol 6 Part B: 1 Mbit/s LE PHY
  (8 µs a byte), T_IFS 150 µs, advDelay 0-10 ms pseudo-random (mean 5 ms).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from twitchlog.errors import UserError

# Awake times, measured on the real runtime (MicroPython 1.25 with NimBLE, real time) by
# tests/bench/power_bench.py --real: three runs of a day (20 clicks from deep sleep, then the daily
# sync of the 21 records with the companion's own sync code) on 2026-12-06.  The real runtime is
# used because where the two runtimes disagree the real one is right: the CPython runtime's sync
# waits are host latency x 20 in simulated time (its figures are kept below, CPYTHON_*).
MEASURED_EVENT_AWAKE_S = 0.89  # a click from deep sleep, BLE off: 0.891 s mean of 20, 0.885-0.897 over
# the three runs.  From the interpreter's process start to deep sleep, so it includes MicroPython's own
# start-up and the LittleFS mount (~0.04 s more than the CPython runtime's 0.85 s), which on a chip is
# part of the boot counted separately (BOOT_S): that part is counted twice, on the safe side.
MEASURED_EVENT_CONFIRM_S = 0.42  # of which: the record appended -> asleep (the 0.30 s blink and the
# loop's next 200 ms idle poll seeing it done), from the CPython runtime's event timeline (the real
# runtime gives only the total).  An event_window_s window starts at the gesture and covers the blink,
# so the event is awake for the decoding + max(window, this).
MEASURED_EVENT_WINDOW_S = 0  # the event_window_s that figure was measured with
MEASURED_SYNC_HOLD_S = 1.53  # wake until the hold gesture opens the sync window (long_press_ms 1.5 s)
MEASURED_SYNC_ADVERTISING_S = 0.80  # advertising until the central connected: `sync --watch`'s case, the
# companion already scanning (0.80-0.81 s).  A user who holds the button and then types `twitchlog
# sync` adds their own seconds: `--sync-window-s`, and hardware/POWER.md's sensitivity table.
MEASURED_SYNC_LINK_S = 0.05  # connected on the virtual link, where a round trip costs no air time
SYNC_CONNECTED_S = 0.5  # connected on a real link (estimate): ~15 ATT round trips (encrypt, status, set the
# time, CCCDs, RACP report + 2 notifications, RACP delete, disconnect) at a 30 ms connection interval.
MEASURED_SYNC_AFTER_S = 0.0  # the acknowledged disconnect until deep sleep (the window closes at once)
MEASURED_SYNC_AWAKE_S = (
    MEASURED_SYNC_HOLD_S + MEASURED_SYNC_ADVERTISING_S + SYNC_CONNECTED_S + MEASURED_SYNC_AFTER_S
)  # 2.83 s: the measured 2.38-2.39 s with the virtual link's 0.05 s connected replaced by SYNC_CONNECTED_S

# The CPython runtime (simulated time, speed 20; tests/bench/power_bench.py, re-measured by
# tests/test_power.py): 0.85 s a click (0.83-0.87), a sync of 12.11 s of which 10.11 s advertising
# and 0.43 s connected are host latency x 20, and a pairing of 66.15 s.  Kept for the check that the
# firmware's own timing did not change, and as the conservative sync in hardware/POWER.md.
CPYTHON_EVENT_AWAKE_S = 0.85
CPYTHON_SYNC_HOLD_S = 1.56
CPYTHON_SYNC_AWAKE_S = 12.11
CPYTHON_SYNC_ADVERTISING_S = 10.11
MEASURED_PAIR_AWAKE_S = 66.15  # once per new central: hold 6.5 s, pair, the 60 s pairing window runs out
FIRMWARE_SYNC_WINDOW_S = 120  # firmware default sync_window_s: the longest the device waits for a central

BOOT_S = 0.5  # deep-sleep wake to the firmware's first line: ROM + bootloader + MicroPython start-up +
# LittleFS mount + .mpy imports.  An estimate for every board; to be measured on hardware.
LIPO_V = 3.7  # LiPo nominal: the divider's leakage is V / (R1 + R2)

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
GOAL_MONTHS = 12
RECOMMENDED_BOARD = "xiao-esp32c6"  # hardware/POWER.md, "Which board": why this one


@dataclass(frozen=True)
class BoardPower:
    name: str
    chip: str  # as in the board profile (firmware/boards/NAME.json)
    sleep_ua: float  # whole board in deep sleep at the battery pad, no wake source, divider excluded
    wake_ua: float  # what the profile's wake source adds in deep sleep
    awake_ma: float  # CPU awake, radio off (MicroPython idles in its asyncio loop)
    tx_ma: float
    rx_ma: float
    divider_ohms: float  # battery divider R1 + R2 as hardware/README.md builds it
    boot_s: float = BOOT_S
    erase_ma: float = 20.0  # [W25Q]
    erase_ms: float = 45.0  # [W25Q]
    sources: dict[str, str] = field(default_factory=dict, compare=False)


_XIAO_DIVIDER = 2_000_000  # 2 x 1 MΩ: 1.85 µA at 3.7 V (hardware/POWER.md, "The battery divider")

BOARDS = {
    "xiao-esp32c6": BoardPower(
        "xiao-esp32c6",
        chip="esp32c6",
        sleep_ua=14.3,
        wake_ua=0.0,
        awake_ma=30.0,
        tx_ma=130.0,
        rx_ma=71.0,
        divider_ohms=_XIAO_DIVIDER,
        sources={
            "sleep_ua": "[SLEEP-PPK2] 14.3 µA at the battery pad (chip 7 µA [C6-DS] + buck + diode leakage)",
            "wake_ua": "GPIO wake on an LP GPIO; the LP domain stays on in deep sleep anyway: 0 assumed",
            "awake_ma": "[XIAO-C6] modem-sleep ~30 mA at 3.8 V (cross-check: [C6-DS] 160 MHz idle 17-28 mA at 3.3 V)",
            "tx_ma": "[C6-DS] Bluetooth LE TX at 0 dBm 130 mA",
            "rx_ma": "[C6-DS] Bluetooth LE RX 71 mA",
            "boot_s": "estimate (ROM + bootloader + MicroPython init + .mpy imports); measure on hardware",
        },
    ),
    "xiao-esp32s3": BoardPower(
        "xiao-esp32s3",
        chip="esp32s3",
        sleep_ua=11.9,
        wake_ua=1.0,
        awake_ma=25.0,
        tx_ma=176.0,
        rx_ma=93.0,
        divider_ohms=_XIAO_DIVIDER,
        sources={
            "sleep_ua": "[SLEEP-PPK2] 11.9 µA at the battery pad (chip 7 µA [S3-DS] + buck + diode leakage)",
            "wake_ua": "[S3-DS] ext0 keeps the RTC peripherals powered: 8 µA instead of 7 µA",
            "awake_ma": "[XIAO-S3] modem-sleep 25 mA at 3.8 V (cross-check: [S3-DS] 160 MHz WAITI 27.6 mA at 3.3 V)",
            "tx_ma": "[S3-DS] Bluetooth LE TX at 0 dBm 176 mA",
            "rx_ma": "[S3-DS] Bluetooth LE RX 93 mA",
            "boot_s": "estimate, as for the C6",
        },
    ),
    "xiao-esp32c3": BoardPower(
        "xiao-esp32c3",
        chip="esp32c3",
        sleep_ua=45.1,
        wake_ua=0.0,
        awake_ma=24.4,
        tx_ma=130.0,
        rx_ma=84.0,
        divider_ohms=_XIAO_DIVIDER,
        sources={
            "sleep_ua": "[SLEEP-PPK2] 45.1 µA at the battery pad ([XIAO-C3]: 44 µA; chip 5 µA [C3-DS] + LDO)",
            "wake_ua": "GPIO wake; 0 assumed, as for the C6",
            "awake_ma": "[XIAO-C3] modem-sleep 24.4 mA (cross-check: 26.8 mA with BLE advertising)",
            "tx_ma": "[ESP32-DS] BLE TX 0 dBm 130 mA ([C3-DS] lists no BLE TX current)",
            "rx_ma": "[C3-DS] RX 84 mA",
            "boot_s": "estimate, as for the C6",
        },
    ),
    "esp32-devkit": BoardPower(
        "esp32-devkit",
        chip="esp32",
        sleep_ua=10.0 + 5000.0,
        wake_ua=0.0,
        awake_ma=44.0 + 5.0,
        tx_ma=130.0,
        rx_ma=97.5,
        divider_ohms=200_000,  # 2 x 100 kΩ
        sources={
            "sleep_ua": "[ESP32-DS] 10 µA (RTC timer + memory) + [AMS1117] 5 mA quiescent; USB-UART, LED not counted",
            "wake_ua": "ext0 keeps the RTC peripherals on; lost in the AMS1117's 5 mA, not counted",
            "awake_ma": "[ESP32-DS] modem-sleep 160 MHz, upper end 44 mA, + [AMS1117] 5 mA",
            "tx_ma": "[ESP32-DS] BLE TX 0 dBm 130 mA",
            "rx_ma": "[ESP32-DS] BLE RX 95-100 mA, midpoint",
            "boot_s": "estimate, as for the C6",
        },
    ),
}


@dataclass(frozen=True)
class Usage:
    events_per_day: float = 20
    syncs_per_day: float = 1
    battery_mah: float = 400
    board: str = RECOMMENDED_BOARD
    event_window_s: float = MEASURED_EVENT_WINDOW_S  # firmware setting event_window_s (default 0)
    # Seconds the device advertises before the central connects; the firmware gives up
    # after its sync_window_s setting (FIRMWARE_SYNC_WINDOW_S) if none does.
    sync_window_s: float = MEASURED_SYNC_ADVERTISING_S
    adv_interval_ms: float = ADV_INTERVAL_MS
    divider_ohms: float | None = None  # R1 + R2; None: the board's (hardware/README.md)
    battery_v: float = LIPO_V
    sleep_ua: float | None = None  # override the board's deep-sleep current (wake source included)
    sync_connected_s: float = SYNC_CONNECTED_S
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
    connected = usage.sync_connected_s
    sync_awake = MEASURED_SYNC_HOLD_S + usage.sync_window_s + connected + MEASURED_SYNC_AFTER_S
    adv = advertising_ma(b, usage.adv_interval_ms)
    conn = connected_ma(b)

    per_event = _mah(b.awake_ma, event_awake) + _mah(adv, usage.event_window_s)
    per_sync = _mah(b.awake_ma, sync_awake) + _mah(adv, usage.sync_window_s) + _mah(conn, connected)
    per_erase = _mah(b.erase_ma, b.erase_ms / 1000)
    wakes = usage.events_per_day + usage.syncs_per_day
    awake_s = usage.events_per_day * (event_awake + b.boot_s) + usage.syncs_per_day * (sync_awake + b.boot_s)
    asleep_s = max(0.0, 86400 - awake_s)
    sleep_ua = b.sleep_ua + b.wake_ua if usage.sleep_ua is None else usage.sleep_ua
    divider_ohms = b.divider_ohms if usage.divider_ohms is None else usage.divider_ohms
    divider_ua = usage.battery_v / divider_ohms * 1e6 if divider_ohms else 0.0

    rows = [
        Row("deep sleep", _mah(sleep_ua / 1000, asleep_s), f"{sleep_ua:g} µA for {asleep_s / 3600:.2f} h"),
        Row(
            "battery divider",
            _mah(divider_ua / 1000, 86400),
            f"{usage.battery_v:g} V / {divider_ohms / 1e6:g} MΩ = {divider_ua:.2f} µA, always"
            if divider_ohms
            else "none (switched off between readings)",
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


def every_board(usage: Usage = Usage()) -> dict[str, Budget]:
    """The same usage on each board, recommended board first."""
    names = [RECOMMENDED_BOARD] + [n for n in BOARDS if n != RECOMMENDED_BOARD]
    return {name: budget(replace(usage, board=name)) for name in names}


def tuned(usage: Usage, **changes) -> Budget:
    return budget(replace(usage, **changes))
