"""The power model's arithmetic against examples worked by hand (numbers in the comments)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from twitchlog import power
from twitchlog.errors import UserError

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))


def test_advertising_and_connected_radio_currents_by_hand():
    xiao = power.BOARDS["xiao-esp32c3"]
    # TX per channel: 0.14 ms ramp + 37 bytes x 8 µs = 0.436 ms; x 3 channels = 1.308 ms
    # RX per channel: 0.150 + 0.176 = 0.326 ms; x 3 = 0.978 ms
    # charge per advertising event: 1.308 x 130 + 0.978 x 84 = 170.04 + 82.152 = 252.192 mA·ms
    # period: 250 ms interval + 5 ms mean advDelay = 255 ms -> 252.192 / 255 = 0.98899 mA
    assert power.advertising_ma(xiao) == pytest.approx(0.98899, abs=1e-5)
    # Halving the rate (500 ms) almost halves it: 252.192 / 505 = 0.49939 mA
    assert power.advertising_ma(xiao, 500) == pytest.approx(0.49939, abs=1e-5)
    # Connected, idle: (0.22 x 130 + 0.22 x 84) / 30 = (28.6 + 18.48) / 30 = 1.56933 mA
    assert power.connected_ma(xiao) == pytest.approx(1.56933, abs=1e-5)


def test_default_budget_xiao_20_events_1_sync_400_mah_by_hand():
    b = power.budget(power.Usage())
    rows = {r.name: r.mah_per_day for r in b.rows}
    # Event: 21.51 s x 24.4 mA = 524.844 mA·s; 20 s x 0.988988 mA = 19.7798 mA·s
    #        544.6238 mA·s / 3600 = 0.1512844 mAh; x 20 events = 3.025688 mAh/day
    assert rows["event windows"] == pytest.approx(3.025688, abs=1e-5)
    # Sync: 121.59 s x 24.4 = 2966.796; advertising (120 - 1.31) = 118.69 s x 0.988988 = 117.3830;
    #       connected 1.31 s x 1.569333 = 2.0558; sum 3086.2348 mA·s / 3600 = 0.857287 mAh/day
    assert rows["sync windows"] == pytest.approx(0.857287, abs=1e-5)
    # Boot: 21 wakes x 0.5 s x 24.4 mA = 256.2 mA·s / 3600 = 0.0711667 mAh/day
    assert rows["boot per wake"] == pytest.approx(0.0711667, abs=1e-6)
    # Erase: 20 x 0.045 s x 20 mA = 18 mA·s / 3600 = 0.005 mAh/day
    assert rows["flash erase per append"] == pytest.approx(0.005, abs=1e-9)
    # Asleep: 86400 - 20 x (21.51 + 0.5) - (121.59 + 0.5) = 86400 - 440.2 - 122.09 = 85837.71 s
    #         0.044 mA x 85837.71 s / 3600 = 1.049127 mAh/day
    assert rows["deep sleep"] == pytest.approx(1.049127, abs=1e-5)
    # Divider: 3.7 V / 2 MΩ = 1.85 µA x 24 h = 0.0444 mAh/day
    assert rows["battery divider"] == pytest.approx(0.0444, abs=1e-9)
    # Total 3.025688 + 0.857287 + 0.071167 + 0.005 + 1.049127 + 0.0444 = 5.052669 mAh/day
    assert b.mah_per_day == pytest.approx(5.052669, abs=2e-5)
    # 400 / 5.052669 = 79.166 days = 2.601 months (30.4375 days each): short of 12 months
    assert b.days == pytest.approx(79.166, abs=0.01)
    assert b.months == pytest.approx(2.601, abs=0.001)
    assert b.dominant.name == "event windows"


def test_a_round_numbers_example_by_hand():
    # 10 events, no sync, no divider, board sleep overridden to 10 µA, no event window.
    u = power.Usage(events_per_day=10, syncs_per_day=0, battery_mah=100, event_window_s=0, divider_ohms=0, sleep_ua=10)
    b = power.budget(u)
    rows = {r.name: r.mah_per_day for r in b.rows}
    # awake per event without the window: 21.51 - 20 = 1.51 s; 1.51 x 24.4 = 36.844 mA·s
    # x 10 = 368.44 mA·s = 0.1023444 mAh/day; no advertising
    assert rows["event windows"] == pytest.approx(0.1023444, abs=1e-6)
    # boot: 10 x 0.5 x 24.4 = 122 mA·s = 0.0338889 mAh/day
    assert rows["boot per wake"] == pytest.approx(0.0338889, abs=1e-6)
    # asleep: 86400 - 10 x (1.51 + 0.5) = 86379.9 s x 0.010 mA / 3600 = 0.2399442 mAh/day
    assert rows["deep sleep"] == pytest.approx(0.2399442, abs=1e-6)
    assert rows["sync windows"] == 0 and rows["battery divider"] == 0
    # erase 10 x 0.045 x 20 = 9 mA·s = 0.0025; total 0.1023444 + 0.0338889 + 0.2399442 + 0.0025 = 0.3786775
    # 100 mAh / 0.3786775 = 264.076 days
    assert b.days == pytest.approx(264.076, abs=0.01)
    assert b.dominant.name == "deep sleep"


def test_shorter_windows_and_a_quieter_board_are_what_reaches_a_year():
    base = power.budget()
    no_event_window = power.tuned(base.usage, event_window_s=0)
    short_sync = power.tuned(no_event_window.usage, sync_window_s=30)
    quiet_board = power.tuned(short_sync.usage, sleep_ua=8)
    assert base.months < no_event_window.months < short_sync.months < 12 <= quiet_board.months
    # On the stock XIAO even a day with no presses at all stays under a year: its 44 µA sleep.
    idle = power.budget(power.Usage(events_per_day=0, syncs_per_day=0))
    assert idle.months < 12 and idle.dominant.name == "deep sleep"


def test_the_devkit_is_not_a_battery_build():
    b = power.budget(power.Usage(board="esp32-devkit"))
    assert b.days < 5 and b.dominant.name == "deep sleep"  # the AMS1117's 5 mA quiescent


def test_bad_inputs_are_user_errors():
    with pytest.raises(UserError, match="unknown board"):
        power.budget(power.Usage(board="esp8266"))
    with pytest.raises(UserError):
        power.budget(power.Usage(battery_mah=0))


@pytest.mark.slow
def test_defaults_are_what_the_virtual_device_measures():
    from power_bench import measure_awake_times

    # Simulated seconds; the host's scheduling moves them by a few hundredths
    # (connected time by a tenth), far less than any change of a window would.
    m = measure_awake_times("xiao-esp32c3")
    assert m["event_awake_s"] == pytest.approx(power.MEASURED_EVENT_AWAKE_S, abs=1.0)
    assert m["sync_awake_s"] == pytest.approx(power.MEASURED_SYNC_AWAKE_S, abs=1.0)
    assert m["sync_connected_s"] == pytest.approx(power.MEASURED_SYNC_CONNECTED_S, abs=2.0)
    assert m["pair_awake_s"] == pytest.approx(power.MEASURED_PAIR_AWAKE_S, abs=1.0)
