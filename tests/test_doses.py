"""Doses logged with the button: dose records -> intake entries from the default product (twitchlog.intake.doses).

The records are what a sync stores (`add_records`, then `place_times`); the
conversion is the library function the BLE and USB syncs call after them.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner

from twitchlog.cli import main
from twitchlog.errors import UserError
from twitchlog.firmware import clock
from twitchlog.firmware import protocol as P
from twitchlog.intake import entries as intake
from twitchlog.intake.doses import (
    DoseCounts,
    default_product,
    dose_entries,
    dose_status,
    record_doses,
    set_default_product,
)
from twitchlog.report.trial_status import trial_status
from twitchlog.stats.trial import Plan
from twitchlog.store.db import Store
from twitchlog.store.export import read_all
from twitchlog.store.schema import MIGRATIONS, SCHEMA_VERSION

U = clock.UNIX_AT_2000
DAY0 = date(2026, 11, 10)
T0 = int(datetime(2026, 11, 10, 8, 0).timestamp()) - U  # device seconds: 08:00 local on DAY0


def rec(seq, t, kind=P.KIND_DOSE, boot=1, arg=0):
    return (seq, t, arg, boot, kind)


def anchor(seq, t, boot=1):
    """The anchor of a time set on a clock that was already right."""
    return rec(seq, t, P.KIND_ANCHOR, boot, arg=t)


def synced(store: Store, dev: int, records: list[tuple]) -> DoseCounts:
    """What a sync does with a batch: commit, place in time, then turn the doses into intake."""
    store.add_records(dev, records)
    store.place_times(dev)
    return record_doses(store, dev)


def button_rows(store: Store) -> list[tuple]:
    return [
        tuple(r)
        for r in store.db.execute(
            "SELECT import_key, utc, elemental_mg, form, product_id, servings, source FROM intake"
            " WHERE origin = 'button' ORDER BY import_key"
        )
    ]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        intake.add_product(s, "Glycinate 200", "glycinate", 200)
        intake.add_product(s, "Citrate 150", "citrate", 150)
        yield s


@pytest.fixture
def dev(store):
    return store.device_id("AA:BB:CC:DD:EE:01")


def test_a_dose_becomes_one_serving_of_the_default_product_once(store, dev):
    set_default_product(store, "glycinate 200")  # names are case-insensitive
    counts = synced(store, dev, [rec(1, T0), rec(2, T0 + 60, P.KIND_TWITCH), anchor(3, T0 + 3600)])
    assert (counts.added, counts.pending, counts.unplaced) == (1, 0, 0)
    glycinate = intake.get_product(store, "Glycinate 200")
    assert button_rows(store) == [(f"dose:{dev}:1", T0 + U, 200.0, "glycinate", glycinate.id, 1.0, "supplement")]
    assert "1 dose(s) from the button logged as intake: 1 serving of 'Glycinate 200'" in counts.lines()[0]
    # The next sync (and a replayed batch) adds nothing twice.
    again = synced(store, dev, [rec(1, T0), anchor(4, T0 + 7200)])
    assert (again.added, again.moved, again.removed) == (0, 0, 0) and again.lines() == []
    assert len(button_rows(store)) == 1
    assert intake.supplement_total(store, DAY0) == 200.0


def test_a_dose_is_never_a_symptom(store, dev):
    set_default_product(store, "Glycinate 200")
    synced(store, dev, [rec(1, T0), rec(2, T0 + 60, P.KIND_CRAMP), anchor(3, T0 + 3600)])
    assert [e.kind for e in store.events()] == [P.KIND_CRAMP]  # what the analysis reads
    assert [e.kind for e in store.events(doses=True)] == [P.KIND_DOSE, P.KIND_CRAMP]
    assert [e.kind for e in store.events(kinds=[P.KIND_DOSE])] == []  # never through the symptom filter
    with pytest.raises(UserError, match="no symptom event"):
        store.annotate(store.events(doses=True)[0].id, severity=3)
    with pytest.raises(UserError, match="not a symptom kind"):
        store.add_event(T0 + U, P.KIND_DOSE)


def test_a_dose_undone_in_the_same_sync_never_becomes_intake(store, dev):
    set_default_product(store, "Glycinate 200")
    counts = synced(store, dev, [rec(1, T0), rec(2, T0 + 20, P.KIND_TOMBSTONE, arg=1), anchor(3, T0 + 60)])
    assert (counts.added, counts.removed) == (0, 0)
    assert button_rows(store) == [] and store.events(doses=True) == []


def test_an_undo_that_arrives_in_a_later_sync_removes_the_intake(store, dev):
    """`sync --watch` can fetch a dose before the wearer's triple click reaches the companion."""
    set_default_product(store, "Glycinate 200")
    assert synced(store, dev, [rec(1, T0), anchor(2, T0 + 10)]).added == 1
    later = synced(store, dev, [rec(3, T0 + 40, P.KIND_TOMBSTONE, arg=1), anchor(4, T0 + 600)])
    assert (later.added, later.removed) == (0, 1)
    assert "1 button dose(s) taken out of intake (undone on the device" in later.lines()[0]
    assert button_rows(store) == []
    assert store.db.execute("SELECT COUNT(*) FROM events WHERE kind = ?", (P.KIND_DOSE,)).fetchone()[0] == 1  # kept raw


def test_a_tombstone_of_another_device_undoes_nothing(store, dev):
    set_default_product(store, "Glycinate 200")
    other = store.device_id("AA:BB:CC:DD:EE:02")
    synced(store, dev, [rec(1, T0), anchor(2, T0 + 10)])
    synced(store, other, [rec(1, T0 + 5), rec(2, T0 + 30, P.KIND_TOMBSTONE, arg=1), anchor(3, T0 + 60)])
    assert [r[0] for r in button_rows(store)] == [f"dose:{dev}:1"]


def test_the_entry_follows_the_dose_when_a_later_anchor_corrects_its_time(store, dev):
    set_default_product(store, "Glycinate 200")
    # An anchor, then a dose placed by extrapolation (rate 1 assumed) ...
    synced(store, dev, [anchor(1, T0), rec(2, T0 + 36_000)])
    assert button_rows(store)[0][1] == T0 + 36_000 + U
    # ... until the next anchor shows the RTC ran 3% fast: the dose moves back.
    fast = int(72_000 * 1.03)
    counts = synced(store, dev, [rec(3, T0 + fast, P.KIND_ANCHOR, arg=T0 + 72_000)])
    assert (counts.added, counts.moved) == (0, 1)
    placed = store.events(doses=True)[0].utc
    assert button_rows(store)[0][1] == placed and abs(placed - (T0 + 36_000 / 1.03 + U)) <= 1


def test_a_dose_with_an_unknown_time_is_not_intake_and_says_so(store, dev):
    set_default_product(store, "Glycinate 200")
    # Boot 2 lost its clock and was never anchored before boot 3 began.
    counts = synced(store, dev, [rec(1, 40, boot=2), rec(2, 50, boot=3), anchor(3, T0, boot=3)])
    assert (counts.added, counts.unplaced) == (1, 1)  # seq 2 is placed from boot 3's anchor
    assert [r[0] for r in button_rows(store)] == [f"dose:{dev}:2"]
    assert any("unknown time" in line and "not counted as intake" in line for line in counts.lines())
    assert dose_status(store).unplaced == 1


def test_without_a_default_product_doses_wait_and_are_logged_when_one_is_set(store, dev):
    counts = synced(store, dev, [rec(1, T0), rec(2, T0 + 86_400), anchor(3, T0 + 90_000)])
    assert (counts.added, counts.pending) == (0, 2)
    assert "no default product" in counts.lines()[0] and "twitchlog intake default PRODUCT" in counts.lines()[0]
    assert button_rows(store) == [] and dose_status(store).pending == 2
    done = set_default_product(store, "Citrate 150")
    assert (done.added, done.pending, done.product) == (2, 0, "Citrate 150")
    assert [r[2] for r in button_rows(store)] == [150.0, 150.0]
    # The next sync converts its doses straight away.
    assert synced(store, dev, [rec(4, T0 + 90_100), anchor(5, T0 + 90_200)]).added == 1


def test_a_changed_default_does_not_rewrite_doses_already_logged(store, dev):
    set_default_product(store, "Glycinate 200")
    synced(store, dev, [rec(1, T0), anchor(2, T0 + 10)])
    set_default_product(store, "Citrate 150")
    synced(store, dev, [rec(3, T0 + 86_400), anchor(4, T0 + 86_500)])
    assert [r[2:4] for r in button_rows(store)] == [(200.0, "glycinate"), (150.0, "citrate")]
    assert default_product(store).name == "Citrate 150"


def test_clearing_the_default_leaves_logged_doses_and_holds_new_ones(store, dev):
    set_default_product(store, "Glycinate 200")
    synced(store, dev, [rec(1, T0), anchor(2, T0 + 10)])
    set_default_product(store, None)
    assert default_product(store) is None
    assert synced(store, dev, [rec(3, T0 + 100), anchor(4, T0 + 200)]).pending == 1
    assert len(button_rows(store)) == 1


@pytest.mark.parametrize("name", ["No Such Thing", "  "])
def test_an_unknown_default_product_is_refused_and_nothing_changes(store, dev, name):
    set_default_product(store, "Glycinate 200")
    synced(store, dev, [rec(1, T0), anchor(2, T0 + 10)])
    before = (button_rows(store), store.db.execute("SELECT * FROM intake_products ORDER BY id").fetchall())
    with pytest.raises(UserError) as refused:
        set_default_product(store, name)
    if name.strip():
        assert "no saved product 'No Such Thing' (saved: 'Citrate 150', 'Glycinate 200')" in str(refused.value)
    assert (button_rows(store), store.db.execute("SELECT * FROM intake_products ORDER BY id").fetchall()) == before
    assert default_product(store).name == "Glycinate 200"


def test_at_most_one_default_product_in_the_schema(store):
    set_default_product(store, "Glycinate 200")
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("UPDATE intake_products SET is_default = 1")


def test_doses_over_the_upper_level_warn(store, dev):
    set_default_product(store, "Glycinate 200")
    counts = synced(store, dev, [rec(1, T0), rec(2, T0 + 600), anchor(3, T0 + 700)])
    assert counts.added == 2
    assert len(counts.warnings) == 1 and "400 mg supplemental magnesium is above the 350 mg/day" in counts.warnings[0]


def test_one_device_at_a_time(store, dev):
    set_default_product(store, "Glycinate 200")
    other = store.device_id("AA:BB:CC:DD:EE:02")
    store.add_records(other, [rec(1, T0), anchor(2, T0 + 10)])
    store.place_times(other)
    assert synced(store, dev, [rec(1, T0 + 5), anchor(2, T0 + 10)]).added == 1  # only its own device
    assert record_doses(store).added == 1  # all devices: the other one's dose too
    assert sorted(dose_entries(store)) == [(dev, 1), (other, 1)]


def test_button_doses_count_in_trial_adherence_and_today(store, dev):
    plan = Plan(start=DAY0, block_days=1, pairs=1, dose_mg=200, form="glycinate", seed=0, blocks=[True, False])
    set_default_product(store, "Glycinate 200")
    before = trial_status(store, plan, DAY0 + timedelta(days=1))
    assert (before.adherence.on_days, before.adherence.on_adherent) == (1, 0)
    synced(store, dev, [rec(1, T0), anchor(2, T0 + 10)])  # 08:00 on DAY0, an 'on' day
    today = trial_status(store, plan, DAY0)
    assert today.taken_today_by == {"button": 200.0} and today.dose_logged_today(plan) is True
    after = trial_status(store, plan, DAY0 + timedelta(days=1))
    assert (after.adherence.on_days, after.adherence.on_adherent) == (1, 1)
    # Undone on the device (its tombstone came later): adherence goes back.
    synced(store, dev, [rec(3, T0 + 30, P.KIND_TOMBSTONE, arg=1), anchor(4, T0 + 40)])
    assert trial_status(store, plan, DAY0 + timedelta(days=1)).adherence.on_adherent == 0


def test_export_names_doses_and_marks_an_undone_one(store, dev):
    set_default_product(store, "Glycinate 200")
    synced(store, dev, [rec(1, T0), rec(2, T0 + 20, P.KIND_TOMBSTONE, arg=1), rec(3, T0 + 60), anchor(4, T0 + 70)])
    events = {r["seq"]: r for r in read_all(store)["events"][1]}
    assert (events[1]["kind_name"], events[1]["undone"]) == ("dose", 1)
    assert (events[3]["kind_name"], events[3]["undone"]) == ("dose", 0)
    [row] = [r for r in read_all(store)["intake"][1] if r["origin"] == "button"]
    assert (row["import_key"], row["product"]) == (f"dose:{dev}:3", "Glycinate 200")
    products = {p["name"]: p["is_default"] for p in read_all(store)["intake_products"][1]}
    assert products == {"Glycinate 200": 1, "Citrate 150": 0}


def test_the_report_notes_doses_the_intake_lacks(store, dev):
    from twitchlog.report import dataset

    synced(store, dev, [rec(1, T0), rec(2, T0 + 60, P.KIND_TWITCH), anchor(3, T0 + 3600)])
    notes = dataset.build(store, now=T0 + U + 3 * 86400).notes
    assert any("1 dose(s) logged with the button are not in the intake: no default product" in n for n in notes)
    set_default_product(store, "Glycinate 200")
    assert not any("button" in n for n in dataset.build(store, now=T0 + U + 3 * 86400).notes)


# ------------------------------------------------------------ migration
def test_a_version_3_database_keeps_every_intake_row_through_the_rebuild(tmp_path):
    path = tmp_path / "v3.db"
    con = sqlite3.connect(path)
    for number in range(3):
        con.executescript(MIGRATIONS[number])
    con.execute("PRAGMA user_version = 3")
    con.execute(
        "INSERT INTO intake_products (name, form, mg_per_serving, estimated, added_utc)"
        " VALUES ('Old glycinate', 'glycinate', 100, 0, 5)"
    )
    rows = [
        (7, 1763600000, "supplement", 100.0, "glycinate", None, 0, 1, 2.0, "with dinner", "manual", None, 11),
        (9, 1763600500, "diet", 42.5, None, None, 0, None, None, None, "cronometer", "crono:abc", 12),
        (12, 1763601000, "supplement", 60.3, "oxide", 100.0, 1, None, None, None, "csv", "csv:1", 13),
    ]
    con.executemany("INSERT INTO intake VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION >= 4
        assert [tuple(r) for r in s.db.execute("SELECT * FROM intake ORDER BY id")] == rows  # ids, keys, all kept
        assert [i[1] for i in s.db.execute("PRAGMA index_list(intake)")].count("intake_utc") == 1
        assert s.db.execute("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sqlite3.IntegrityError):  # the unique import key survived the rebuild
            s.db.execute(
                "INSERT INTO intake (utc, source, elemental_mg, origin, import_key, added_utc)"
                " VALUES (1, 'diet', 1, 'csv', 'csv:1', 1)"
            )
        with pytest.raises(sqlite3.IntegrityError):  # and so did the origin CHECK, widened by one
            s.db.execute(
                "INSERT INTO intake (utc, source, elemental_mg, origin, added_utc) VALUES (1, 'diet', 1, 'x', 1)"
            )
        assert default_product(s) is None
        set_default_product(s, "Old glycinate")
        dev = s.device_id("AA:BB:CC:DD:EE:01")
        assert synced(s, dev, [rec(1, T0), anchor(2, T0 + 10)]).added == 1
        assert intake.entries(s)[-1].origin == "button"


# ------------------------------------------------------------ the CLI
def cli(db, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)


def test_intake_default_cli_shows_sets_refuses_and_clears(tmp_path):
    db = tmp_path / "cli.db"
    assert (
        cli(db, "intake", "product", "add", "Mag Gly", "--form", "glycinate", "--mg-per-serving", "120").exit_code == 0
    )
    with Store(db) as s:
        dev = s.device_id("AA:BB:CC:DD:EE:01")
        synced(s, dev, [rec(1, T0), anchor(2, T0 + 10)])
    shown = cli(db, "intake", "default")
    assert shown.exit_code == 0 and "no default product" in shown.output and "1 dose(s) from the button" in shown.output
    bad = cli(db, "intake", "default", "Mag Cit")
    assert bad.exit_code == 1
    assert bad.output == (
        "twitchlog: no saved product 'Mag Cit' (saved: 'Mag Gly'); add it with `twitchlog intake product add`\n"
    )
    both = cli(db, "intake", "default", "Mag Gly", "--clear")
    assert both.exit_code == 1 and "PRODUCT or --clear, not both" in both.output
    with Store(db) as s:
        assert default_product(s) is None and button_rows(s) == []
    done = cli(db, "intake", "default", "mag gly")
    assert done.exit_code == 0, done.output
    assert "default product: 'Mag Gly', 120 mg elemental per dose" in done.output
    assert "1 dose(s) from the button logged as intake" in done.output
    listed = json.loads(cli(db, "intake", "list", "--json").output)
    assert [(e["origin"], e["elemental_mg"], e["product"]) for e in listed] == [("button", 120.0, "Mag Gly")]
    events = json.loads(cli(db, "events", "list", "--json").output)
    assert [(e["kind"], e["intake_id"]) for e in events] == [("dose", listed[0]["id"])]
    assert json.loads(cli(db, "events", "list", "--kind", "dose", "--json").output) == events
    assert json.loads(cli(db, "events", "list", "--kind", "twitch", "--json").output) == []
    cleared = json.loads(cli(db, "intake", "default", "--clear", "--json").output)
    assert cleared["default"] is None
