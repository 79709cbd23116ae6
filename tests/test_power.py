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
    # Event (event_window_s 0: BLE off): 0.43 s x 24.4 mA = 10.492 mA·s, no advertising
    #        x 20 events = 209.84 mA·s / 3600 = 0.0582889 mAh/day
    assert rows["event windows"] == pytest.approx(0.0582889, abs=1e-6)
    # Sync: hold and after = 12.11 - 10.11 - 0.43 = 1.57 s; awake 1.57 + 10.11 advertising + 0.43 connected
    #       = 12.11 s x 24.4 = 295.484 mA·s; advertising 10.11 s x 0.988988 = 9.99867 mA·s;
    #       connected 0.43 s x 1.569333 = 0.674813 mA·s; sum 306.157483 mA·s / 3600 = 0.0850437 mAh/day
    assert rows["sync windows"] == pytest.approx(0.0850437, abs=1e-6)
    # Boot: 21 wakes x 0.5 s x 24.4 mA = 256.2 mA·s / 3600 = 0.0711667 mAh/day
    assert rows["boot per wake"] == pytest.approx(0.0711667, abs=1e-6)
    # Erase: 20 x 0.045 s x 20 mA = 18 mA·s / 3600 = 0.005 mAh/day
    assert rows["flash erase per append"] == pytest.approx(0.005, abs=1e-9)
    # Asleep: 86400 - 20 x (0.43 + 0.5) - (12.11 + 0.5) = 86400 - 18.6 - 12.61 = 86368.79 s
    #         0.044 mA x 86368.79 s = 3800.22676 mA·s / 3600 = 1.0556185 mAh/day
    assert rows["deep sleep"] == pytest.approx(1.0556185, abs=1e-6)
    # Divider: 3.7 V / 2 MΩ = 1.85 µA x 24 h = 0.0444 mAh/day
    assert rows["battery divider"] == pytest.approx(0.0444, abs=1e-9)
    # Total 0.0582889 + 0.0850437 + 0.0711667 + 0.005 + 1.0556185 + 0.0444 = 1.3195178 mAh/day
    assert b.mah_per_day == pytest.approx(1.3195178, abs=2e-6)
    # 400 / 1.3195178 = 303.141 days = 9.959 months (30.4375 days each): short of 12 months
    assert b.days == pytest.approx(303.141, abs=0.01)
    assert b.months == pytest.approx(9.959, abs=0.001)
    # deep sleep 1.0556185 / 1.3195178 = 80 % of the day's charge
    assert b.dominant.name == "deep sleep"


def test_windows_open_by_hand():
    # A `sync --watch` user: event_window_s 20; 5 events, 2 syncs a day, each central arriving after 30 s.
    u = power.Usage(events_per_day=5, syncs_per_day=2, event_window_s=20, sync_window_s=30)
    b = power.budget(u)
    rows = {r.name: r.mah_per_day for r in b.rows}
    # Event: awake 0.43 + 20 = 20.43 s x 24.4 = 498.492 mA·s; advertising 20 s x 0.988988 = 19.779765 mA·s
    #        518.271765 mA·s x 5 = 2591.358824 mA·s / 3600 = 0.7198219 mAh/day
    assert rows["event windows"] == pytest.approx(0.7198219, abs=1e-6)
    # Sync: awake 1.57 + 30 + 0.43 = 32 s x 24.4 = 780.8 mA·s; advertising 30 s x 0.988988 = 29.669647;
    #       connected 0.674813; 811.14446 mA·s x 2 = 1622.28892 mA·s / 3600 = 0.4506358 mAh/day
    assert rows["sync windows"] == pytest.approx(0.4506358, abs=1e-6)
    # Boot: 7 x 0.5 x 24.4 = 85.4 mA·s = 0.0237222; erase 5 x 0.045 x 20 = 4.5 mA·s = 0.00125
    assert rows["boot per wake"] == pytest.approx(0.0237222, abs=1e-6)
    assert rows["flash erase per append"] == pytest.approx(0.00125, abs=1e-9)
    # Asleep: 86400 - 5 x (20.43 + 0.5) - 2 x (32 + 0.5) = 86400 - 104.65 - 65 = 86230.35 s
    #         x 0.044 mA = 3794.1354 mA·s / 3600 = 1.0539265 mAh/day
    assert rows["deep sleep"] == pytest.approx(1.0539265, abs=1e-6)
    # Total 0.7198219 + 0.4506358 + 0.0237222 + 0.00125 + 1.0539265 + 0.0444 = 2.2937564 mAh/day
    # 400 / 2.2937564 = 174.386 days
    assert b.mah_per_day == pytest.approx(2.2937564, abs=2e-6)
    assert b.days == pytest.approx(174.386, abs=0.01)
    assert b.dominant.name == "deep sleep"


def test_a_round_numbers_example_by_hand():
    # 10 events, no sync, no divider, board sleep overridden to 10 µA, no event window.
    u = power.Usage(events_per_day=10, syncs_per_day=0, battery_mah=100, event_window_s=0, divider_ohms=0, sleep_ua=10)
    b = power.budget(u)
    rows = {r.name: r.mah_per_day for r in b.rows}
    # awake per event: 0.43 s; 0.43 x 24.4 = 10.492 mA·s; x 10 = 104.92 mA·s = 0.0291444 mAh/day; no advertising
    assert rows["event windows"] == pytest.approx(0.0291444, abs=1e-6)
    # boot: 10 x 0.5 x 24.4 = 122 mA·s = 0.0338889 mAh/day
    assert rows["boot per wake"] == pytest.approx(0.0338889, abs=1e-6)
    # asleep: 86400 - 10 x (0.43 + 0.5) = 86390.7 s x 0.010 mA = 863.907 mA·s / 3600 = 0.2399742 mAh/day
    assert rows["deep sleep"] == pytest.approx(0.2399742, abs=1e-6)
    assert rows["sync windows"] == 0 and rows["battery divider"] == 0
    # erase 10 x 0.045 x 20 = 9 mA·s = 0.0025; total 0.0291444 + 0.0338889 + 0.2399742 + 0.0025 = 0.3055075
    # 100 mAh / 0.3055075 = 327.323 days
    assert b.days == pytest.approx(327.323, abs=0.01)
    assert b.dominant.name == "deep sleep"


def test_the_tuning_and_what_reaches_a_year():
    base = power.budget()
    # The firmware before the tuning: a 20 s window after each press, and the sync window open its
    # whole 120 s (advertising all of it but the 0.43 s connected).
    before = power.tuned(
        base.usage, event_window_s=20, sync_window_s=power.FIRMWARE_SYNC_WINDOW_S - power.MEASURED_SYNC_CONNECTED_S
    )
    event_only = power.tuned(before.usage, event_window_s=0)
    assert before.months < 3 and before.dominant.name == "event windows"
    assert before.months < event_only.months < base.months < 12
    assert base.dominant.name == "deep sleep"
    # A central that never comes: the firmware gives up at 120 s, once a day that is 6.3 months.
    assert power.tuned(base.usage, sync_window_s=120).months < 7
    # What meets the goal: a board sleeping at <= ~34 µA (break-even 34.6 µA), or a bigger cell on the XIAO.
    assert power.tuned(base.usage, sleep_ua=34).months >= 12 > power.tuned(base.usage, sleep_ua=36).months
    assert power.tuned(base.usage, sleep_ua=8).months > 24
    assert power.tuned(base.usage, battery_mah=500).months >= 12
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
@pytest.mark.parametrize("board", ["xiao-esp32c3", "esp32-devkit"])
def test_defaults_are_what_the_virtual_device_measures(board):
    from power_bench import measure_awake_times

    m = measure_awake_times(board)
    # A click: gesture decoding and the append run on the firmware's own timers; host jitter
    # moves them by a few hundredths (0.42-0.44 s seen).
    assert m["event_awake_s"] == pytest.approx(power.MEASURED_EVENT_AWAKE_S, abs=0.25)
    # The sync closes at the acknowledged disconnect, not at the 120 s cap, and nothing follows it.
    assert m["sync_closed_by"] == "synced" and m["sync_after_s"] < 0.5
    assert m["sync_awake_s"] < power.FIRMWARE_SYNC_WINDOW_S / 2
    assert m["sync_hold_s"] == pytest.approx(power.MEASURED_SYNC_HOLD_S, abs=0.3)
    # The wait for the central and the connection are host time x 20 (the virtual link's connect
    # takes 0.25-0.5 real s): loose, so that a loaded host passes; a window that stayed open would not.
    assert m["sync_advertising_s"] == pytest.approx(power.MEASURED_SYNC_ADVERTISING_S, abs=8.0)
    assert m["sync_connected_s"] == pytest.approx(power.MEASURED_SYNC_CONNECTED_S, abs=1.5)
    assert m["sync_awake_s"] == pytest.approx(power.MEASURED_SYNC_AWAKE_S, abs=10.0)
    assert m["pair_awake_s"] == pytest.approx(power.MEASURED_PAIR_AWAKE_S, abs=1.5)
