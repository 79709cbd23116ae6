"""Store -> daily dataset: local days, gaps, undone presses, the tracked range, intake joined."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from twitchlog.firmware import protocol as P
from twitchlog.intake import entries as intake
from twitchlog.report import dataset
from twitchlog.store.db import Store

BERLIN = ZoneInfo("Europe/Berlin")  # UTC+1 in January


def _utc(text, tz=BERLIN):
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=tz).timestamp())


NOW = _utc("2026-01-20 12:00")


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        yield s


def test_events_counted_per_local_day_across_local_midnight(store):
    store.add_event(_utc("2026-01-05 23:59:59"), P.KIND_TWITCH)
    store.add_event(_utc("2026-01-06 00:00:00"), P.KIND_TWITCH)  # 23:00 UTC on the 5th
    store.add_event(_utc("2026-01-06 10:00"), P.KIND_CRAMP)
    store.add_event(_utc("2026-01-08 10:00"), P.KIND_TWITCH)
    ds = dataset.build(store, tz=BERLIN, now=NOW)
    assert (ds.first, ds.last) == (dt.date(2026, 1, 5), dt.date(2026, 1, 8))
    assert ds.kinds == ["twitch", "cramp"]
    assert list(ds.counts["twitch"]) == [1, 1, 0, 1]
    assert list(ds.counts["cramp"]) == [0, 1, 0, 0]
    assert list(ds.daily()["events"]) == [1, 2, 0, 1]
    assert list(ds.daily("cramp")["events"]) == [0, 1, 0, 0]
    assert ds.tracked.all()  # the 7th had no presses: a tracked day with none
    # The same instants in UTC put the midnight event on the 5th.
    utc_ds = dataset.build(store, tz=dt.UTC, now=NOW)
    assert list(utc_ds.counts["twitch"][:2]) == [2, 0]
    assert ds.hours.loc[23, "twitch"] == 1 and ds.hours.loc[0, "twitch"] == 1 and ds.hours.loc[10, "cramp"] == 1


def test_gaps_make_days_untracked_even_partly(store):
    for day in range(5, 12):
        store.add_event(_utc(f"2026-01-{day:02d} 12:00"), P.KIND_TWITCH)
    store.add_gap(_utc("2026-01-07 00:00"), _utc("2026-01-08 00:00"))  # exactly the 7th
    store.add_gap(_utc("2026-01-09 22:00"), _utc("2026-01-10 01:00"))  # the evening of the 9th into the 10th
    ds = dataset.build(store, tz=BERLIN, now=NOW)
    untracked = sorted(d.day for d in ds.tracked.index[~ds.tracked])
    assert untracked == [7, 9, 10]
    assert ds.gap_days == 3 and ds.untracked_days == 3
    assert list(ds.daily()["tracked"]) == [True, True, False, True, False, False, True]


def test_undone_presses_are_excluded(store):
    dev = store.device_id("AA:BB:CC:DD:EE:01")
    t0 = 820_000_000  # device seconds since 2000 (2025-12-27)
    records = [
        (1, t0, t0, 1, P.KIND_ANCHOR),  # anchor: device time set to t0
        (2, t0 + 3600, 0, 1, P.KIND_TWITCH),
        (3, t0 + 7200, 0, 1, P.KIND_TWITCH),
        (4, t0 + 7300, 3, 1, P.KIND_TOMBSTONE),  # undoes seq 3
        (5, t0 + 7400, 0, 1, P.KIND_CRAMP),
    ]
    store.add_records(dev, records)
    store.place_times(dev)
    ds = dataset.build(store, tz=dt.UTC, now=NOW)
    assert ds.counts.to_numpy().sum() == 2
    assert ds.counts["twitch"].sum() == 1 and ds.counts["cramp"].sum() == 1


def test_unknown_times_counted_apart_and_today_left_out(store):
    dev = store.device_id("AA:BB:CC:DD:EE:02")
    store.add_records(dev, [(1, 1000, 0, 9, P.KIND_TWITCH)])  # no anchor in its boot: time unknown
    store.place_times(dev)
    store.add_event(_utc("2026-01-18 09:00"), P.KIND_TWITCH)
    store.add_event(_utc("2026-01-20 09:00"), P.KIND_TWITCH)  # today: not over yet
    ds = dataset.build(store, tz=BERLIN, now=NOW)
    assert ds.unknown_time == 1 and ds.events_outside == 1
    assert (ds.first, ds.last) == (dt.date(2026, 1, 18), dt.date(2026, 1, 19))
    assert any("unknown time" in n for n in ds.notes)


def test_intake_joined_with_a_lead_in_before_the_first_event(store):
    intake.add_intake(store, 200, form="glycinate", utc=_utc("2026-01-01 08:00"))  # before tracking began
    intake.add_intake(store, 100, utc=_utc("2026-01-10 08:00"))
    intake.add_intake(store, 500, form="oxide", compound=True, utc=_utc("2026-01-10 20:00"))  # 301.5 mg, estimated
    intake.add_intake(store, 280, diet=True, utc=_utc("2026-01-11 13:00"))
    intake.add_intake(store, 100, utc=_utc("2025-11-01 08:00"))  # long before: outside the lead-in
    store.add_event(_utc("2026-01-10 12:00"), P.KIND_TWITCH)
    store.add_event(_utc("2026-01-12 12:00"), P.KIND_TWITCH)
    ds = dataset.build(store, tz=BERLIN, now=NOW)
    assert ds.first == dt.date(2026, 1, 10) - dt.timedelta(days=dataset.LEAD_IN_DAYS)
    assert ds.lead_in_days == 13 and ds.last == dt.date(2026, 1, 12)
    daily = ds.daily()
    assert not daily.loc[:"2026-01-09", "tracked"].any() and daily.loc["2026-01-10":, "tracked"].all()
    assert daily.loc["2026-01-01", "supp_mg"] == 200
    assert daily.loc["2026-01-10", "supp_mg"] == pytest.approx(100 + 500 * 0.603)
    assert daily.loc["2026-01-10", "supp_estimated"] and not daily.loc["2026-01-01", "supp_estimated"]
    assert daily.loc["2026-01-11", "diet_mg"] == 280 and daily["diet_mg"].isna().sum() == len(daily) - 1
    assert list(daily.columns) == ["events", "tracked", "supp_mg", "diet_mg", "supp_estimated"]


def test_kind_filter_and_empty_store(store):
    with pytest.raises(ValueError, match="no symptom events"):
        dataset.build(store, now=NOW)
    store.add_event(_utc("2026-01-05 12:00"), P.KIND_TWITCH)
    store.add_event(_utc("2026-01-06 12:00"), P.KIND_CRAMP)
    ds = dataset.build(store, kinds=[P.KIND_CRAMP], tz=BERLIN, now=NOW)
    assert ds.kinds == ["cramp"] and ds.first == dt.date(2026, 1, 6)
    with pytest.raises(KeyError):
        ds.daily("twitch")
