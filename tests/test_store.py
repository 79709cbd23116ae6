"""The SQLite store: schema, durability rules, time placement, events, annotations, gaps, CSV import."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from twitchlog.errors import InputError, UserError
from twitchlog.events.importer import import_events_csv
from twitchlog.firmware import clock
from twitchlog.firmware import protocol as P
from twitchlog.store.db import Store
from twitchlog.store.schema import SCHEMA_VERSION

T0 = 847_000_000  # device seconds since 2000
U = clock.UNIX_AT_2000


def rec(seq, t, kind=P.KIND_TWITCH, boot=1, arg=0):
    return (seq, t, arg, boot, kind)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "db" / "t.db") as s:
        yield s


def test_new_database_is_private_wal_and_migrated(tmp_path):
    path = tmp_path / "t.db"
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION >= 1
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        s.device_id("AA:BB:CC:DD:EE:01")
        for suffix in ("", "-wal", "-shm"):
            f = path.with_name(path.name + suffix)
            if f.exists():
                assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f
    with Store(path) as again:  # reopening runs no migration twice
        assert again.schema_version == SCHEMA_VERSION
        assert len(again.devices()) == 1


def test_an_existing_readable_database_is_made_private(tmp_path):
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    os.chmod(path, 0o644)
    Store(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_bond_keys_are_private(tmp_path):
    import asyncio

    from twitchlog.ble.backends.bumble import BumbleHost
    from twitchlog.sim.virtual.controller import VirtualController

    async def body():
        radio = VirtualController("c")
        host = BumbleHost(radio, radio, tmp_path / "keys" / "k.json")
        await host.device.keystore.save({"x": {}})

    asyncio.run(body())
    for f in (tmp_path / "keys" / "k.json", tmp_path / "keys" / "k.json.address"):
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700


def test_newer_schema_and_garbage_files_are_refused_clearly(tmp_path):
    newer = tmp_path / "newer.db"
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(UserError, match="newer than this twitchlog"):
        Store(newer)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(UserError, match="junk.db"):
        Store(junk)
    assert junk.read_bytes().startswith(b"this is not sqlite")  # left intact


def test_records_are_keyed_on_device_and_seq(store):
    a = store.device_id("AA:BB:CC:DD:EE:01")
    b = store.device_id("AA:BB:CC:DD:EE:02")
    batch = [rec(i, T0 + i * 60) for i in range(1, 101)]
    assert store.add_records(a, batch) == 100
    assert store.add_records(a, batch[50:]) == 0  # a replayed batch adds nothing
    assert store.add_records(b, batch[:10]) == 10  # same seqs, other device
    assert store.last_seq(a) == 100 and store.last_seq(b) == 10
    assert len(store.events()) == 110


def test_failed_batch_leaves_nothing_half_written(store):
    a = store.device_id("AA:BB:CC:DD:EE:01")
    store.add_records(a, [rec(1, T0)])
    with pytest.raises(sqlite3.IntegrityError):
        store.add_records(a, [rec(2, T0), (3, T0, 0, 1, None)])  # kind NULL violates the schema
    with pytest.raises(sqlite3.Error):
        store.add_records(a, [rec(2, T0), (3, object(), 0, 1, 1)])  # cannot be stored at all
    assert store.last_seq(a) == 1


def test_times_are_placed_from_anchors_and_replaced_when_anchors_arrive(store):
    dev = store.device_id("AA:BB:CC:DD:EE:01")
    # Boot 1: clock unset (starts at 0), two events, then the sync's anchor.
    store.add_records(dev, [rec(1, 100), rec(2, 200), rec(3, 300, P.KIND_ANCHOR, arg=T0)])
    # After the anchor: an event, not yet bracketed by a second anchor.
    store.add_records(dev, [rec(4, T0 + 3600)])
    store.place_times(dev)
    placed = {e.seq: (e.utc, e.time_quality) for e in store.events()}
    assert placed[1] == (T0 - 200 + U, "backdated")
    assert placed[2] == (T0 - 100 + U, "backdated")
    assert placed[4] == (T0 + 3600 + U, "extrapolated")
    # Next sync: the clock ran 5% fast over a day; the new anchor corrects seq 4.
    fast_day = int(86400 * 1.05)
    store.add_records(dev, [rec(5, T0 + fast_day, P.KIND_ANCHOR, arg=T0 + 86400)])
    store.place_times(dev)
    placed = {e.seq: (e.utc, e.time_quality) for e in store.events()}
    assert placed[4][1] == "anchored"
    assert abs(placed[4][0] - (T0 + 3600 / 1.05 + U)) <= 1


def test_records_of_a_boot_without_anchor_are_time_unknown(store):
    dev = store.device_id("AA:BB:CC:DD:EE:01")
    store.add_records(dev, [rec(1, 50, boot=2), rec(2, 60, boot=2)])
    store.place_times(dev)
    assert [e.time_quality for e in store.events()] == ["unknown", "unknown"]
    assert store.events(since=0) == []  # a time filter never guesses


def test_undone_events_and_anchors_are_not_listed(store):
    dev = store.device_id("AA:BB:CC:DD:EE:01")
    store.add_records(
        dev,
        [
            rec(1, T0),
            rec(2, T0 + 5, P.KIND_CRAMP),
            rec(3, T0 + 20, P.KIND_TOMBSTONE, arg=2),
            rec(4, T0 + 30, P.KIND_ANCHOR, arg=T0 + 30),
        ],
    )
    store.place_times(dev)
    assert [(e.seq, e.kind) for e in store.events()] == [(1, P.KIND_TWITCH)]
    # Still stored raw: nothing the device sent is lost.
    assert store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 4
    assert store.db.execute("SELECT utc_set FROM clock_anchors").fetchone()[0] == T0 + 30 + U


def test_manual_events_annotations_and_filters(store):
    e1 = store.add_event(U + T0, P.KIND_CRAMP, severity=4, body_site="left calf", note="night")
    e2 = store.add_event(U + T0 + 3600, P.KIND_EYELID)
    store.annotate(e2, note="after coffee")
    store.annotate(e2, severity=2)  # keeps the note
    listed = {e.id: e for e in store.events()}
    assert (listed[e1].severity, listed[e1].body_site, listed[e1].note) == (4, "left calf", "night")
    assert (listed[e2].severity, listed[e2].note) == (2, "after coffee")
    assert [e.id for e in store.events(kinds=[P.KIND_EYELID])] == [e2]
    assert [e.id for e in store.events(since=U + T0 + 1)] == [e2]
    assert [e.id for e in store.events(until=U + T0 + 1)] == [e1]
    with pytest.raises(UserError, match="severity 9"):
        store.annotate(e1, severity=9)
    with pytest.raises(UserError, match="no symptom event with id 999"):
        store.annotate(999, note="x")


def test_gaps(store):
    store.add_gap(U + T0, U + T0 + 86400, "travelling")
    assert [g["note"] for g in store.gaps()] == ["travelling"]
    with pytest.raises(UserError, match="end after it starts"):
        store.add_gap(U + T0, U + T0)


CSV_OK = (
    "time,kind,severity,note\n"
    "2026-11-20 14:30,twitch,2,left eyelid\n"
    "2026-11-20T22:05:00+01:00,cramp,,calf\n"
    "2026-11-20 14:30,twitch,,\n"
)


def test_csv_import_is_idempotent_and_keeps_identical_rows_apart(store, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(CSV_OK)
    assert import_events_csv(store, path) == (3, 0)
    assert import_events_csv(store, path) == (0, 3)
    events = store.events()
    assert len(events) == 3 and {e.source for e in events} == {"import"}
    cramp = [e for e in events if e.kind == P.KIND_CRAMP][0]
    assert cramp.utc == 1795208700  # 2026-11-20 21:05 UTC


@pytest.mark.parametrize(
    "body, line, message",
    [
        ("when,kind\n2026-11-20,twitch\n", 1, "missing time"),
        ("time,kind,mood\n2026-11-20,twitch,ok\n", 1, "unknown column"),
        ("time,kind\n2026-11-20 10:00,twitch\n2026-13-40,twitch\n", 3, "expected e.g."),
        ("time,kind\n2026-11-20 10:00,twitch\n2026-11-20 11:00,sneeze\n", 3, "unknown symptom kind 'sneeze'"),
        ("time,kind,severity\n2026-11-20 10:00,twitch,7\n", 2, "severity 7"),
        ("time,kind,severity\n2026-11-20 10:00,twitch,bad\n", 2, "not a number"),
        ("time,kind\n2026-11-20 10:00,twitch\nyesterday,cramp\n", 3, "not a word relative to today"),
        ("time,kind\n2026-11-20 10:00,twitch,extra\n", 2, "more fields"),
    ],
)
def test_malformed_csv_is_refused_whole_naming_the_line(store, tmp_path, body, line, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(InputError, match=message) as exc:
        import_events_csv(store, path)
    assert exc.value.line == line and str(path) in str(exc.value)
    assert store.events() == []  # nothing half-imported


def test_missing_or_binary_csv(store, tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        import_events_csv(store, tmp_path / "nope.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"time,kind\n\xff\xfe\x00garbage\n")
    with pytest.raises(InputError, match="UTF-8"):
        import_events_csv(store, binary)
