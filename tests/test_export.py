"""`twitchlog export`: every stored row of events and intake, raw, in CSV and JSON, read back intact."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from twitchlog.cli import main
from twitchlog.cli.export import export
from twitchlog.firmware import clock
from twitchlog.firmware import protocol as P
from twitchlog.intake import entries as intake
from twitchlog.stats.trial import make_plan
from twitchlog.store.db import Store
from twitchlog.store.trials import save_plan

if "export" not in main.commands:  # until cli.py registers it
    main.add_command(export)

T0 = 847_000_000  # device seconds since 2000
U = clock.UNIX_AT_2000
TABLES = ("events", "intake", "intake_products", "gaps", "devices", "trial_plans")


def rec(seq, t, kind=P.KIND_TWITCH, boot=1, arg=0):
    return (seq, t, arg, boot, kind)


@pytest.fixture
def db(tmp_path):
    """A store with device records of every kind, manual events with annotations, intake of every shape,
    a gap, a plan."""
    path = tmp_path / "export.db"
    with Store(path) as store:
        dev = store.device_id("AA:BB:CC:DD:EE:01", "twitchlog-01")
        store.add_records(
            dev,
            [
                rec(1, T0 - 50, boot=1),  # before the first anchor, same boot: backdated
                rec(2, T0 + 5, P.KIND_CRAMP),
                rec(3, T0 + 20, P.KIND_TOMBSTONE, arg=2),  # undoes seq 2
                rec(4, T0 + 30, P.KIND_ANCHOR, arg=T0 + 30),
                rec(5, T0 + 90, P.KIND_EYELID),
                rec(6, 12, boot=2),  # after a reboot, never anchored: time unknown
            ],
        )
        store.place_times(dev)
        store.annotate(
            store.db.execute("SELECT id FROM events WHERE seq = 5").fetchone()[0], severity=2, body_site="left eyelid"
        )
        store.add_event(
            U + T0 + 3600, P.KIND_CRAMP, severity=4, body_site="Wade, links", note='Nacht; "stark",\nzwei Zeilen ✓'
        )
        store.add_event(U + T0 + 7200, P.KIND_TWITCH, source="import", import_key="csv:abc:3")
        intake.add_intake(store, 200.0, form="glycinate", utc=U + T0)
        intake.add_intake(store, 1000.0, form="citrate", compound=True, utc=U + T0 + 60, note="1 g powder")
        intake.add_intake(store, 123.456789, diet=True, utc=U + T0 + 120)
        intake.add_product(store, "My glycinate", "glycinate", 100.0)
        intake.add_intake(store, product="My glycinate", servings=1.5, utc=U + T0 + 180)
        with store.transaction():
            intake.insert_entries(
                store,
                [
                    {
                        "utc": U + T0 + 240,
                        "source": "diet",
                        "elemental_mg": 87.5,
                        "origin": "cronometer",
                        "import_key": "crono:x:7",
                    }
                ],
            )
        store.add_gap(U + T0 + 86400, U + T0 + 2 * 86400, "device at home")
        save_plan(store, make_plan(date(2026, 11, 2), pairs=3, block_days=4, seed=5).to_json())
    return path


def stored(db, table: str) -> list[dict]:
    with Store(db) as store:
        return [dict(r) for r in store.db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()]


def run(db, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["--db", str(db), "export", *args], catch_exceptions=False)


def read_csv(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def as_csv(value) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_round_trip_every_row_and_field(db, tmp_path, fmt):
    out = tmp_path / "out"
    r = run(db, "--format", fmt, "--out", str(out))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.{fmt}" for t in TABLES)
    read = read_csv if fmt == "csv" else (lambda p: json.loads(p.read_text(encoding="utf-8")))
    for table in TABLES:
        rows = stored(db, table)
        exported = read(out / f"{table}.{fmt}")
        assert f"{out / f'{table}.{fmt}'}: {len(rows)} row(s)" in r.output
        assert len(exported) == len(rows), table
        for raw, got in zip(rows, exported, strict=True):
            for key, value in raw.items():  # every stored column, as stored
                assert got[key] == (as_csv(value) if fmt == "csv" else value), (table, key)
    assert len(stored(db, "events")) == 8 and len(stored(db, "intake")) == 5


def test_events_keep_raw_device_fields_source_time_quality_and_annotations(db, tmp_path):
    assert run(db, "--format", "json", "--out", str(tmp_path / "j")).exit_code == 0
    events = json.loads((tmp_path / "j" / "events.json").read_text(encoding="utf-8"))
    by_seq = {e["seq"]: e for e in events if e["source"] == "device"}
    assert sorted(by_seq) == [1, 2, 3, 4, 5, 6]  # tombstone and anchor included
    assert all(e["device_address"] == "AA:BB:CC:DD:EE:01" for e in by_seq.values())
    assert (by_seq[3]["kind_name"], by_seq[3]["arg"]) == ("undo", 2)
    assert (by_seq[4]["kind_name"], by_seq[4]["arg"], by_seq[4]["device_time"]) == ("clock-anchor", T0 + 30, T0 + 30)
    assert by_seq[2]["undone"] == 1 and by_seq[5]["undone"] == 0
    assert by_seq[1]["time_quality_name"] == "backdated"
    assert (by_seq[6]["utc"], by_seq[6]["time_utc"], by_seq[6]["time_quality_name"], by_seq[6]["boot_id"]) == (
        None,
        None,
        "unknown",
        2,
    )
    assert (by_seq[5]["severity"], by_seq[5]["body_site"], by_seq[5]["kind_name"]) == (2, "left eyelid", "eyelid")
    manual = [e for e in events if e["source"] != "device"]
    assert [(e["source"], e["seq"], e["device_id"]) for e in manual] == [("manual", None, None), ("import", None, None)]
    assert manual[0]["note"] == 'Nacht; "stark",\nzwei Zeilen ✓' and manual[0]["severity"] == 4
    assert manual[1]["import_key"] == "csv:abc:3"
    for e in events:
        if e["utc"] is not None:
            assert e["time_utc"] == datetime.fromtimestamp(e["utc"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_csv_is_utf8_with_a_header_and_keeps_newlines_and_quotes(db, tmp_path):
    assert run(db, "--out", str(tmp_path / "c")).exit_code == 0
    text = (tmp_path / "c" / "events.csv").read_bytes().decode("utf-8")  # strict UTF-8
    header = text.splitlines()[0].split(",")
    assert header[:5] == ["id", "device_id", "device_address", "seq", "kind"]
    assert {"time_quality", "time_quality_name", "source", "severity", "body_site", "note", "undone"} <= set(header)
    note = next(r["note"] for r in read_csv(tmp_path / "c" / "events.csv") if r["severity"] == "4")
    assert note == 'Nacht; "stark",\nzwei Zeilen ✓'
    rows = read_csv(tmp_path / "c" / "intake.csv")
    compound = next(r for r in rows if r["compound_mg"])
    assert (compound["compound_mg"], compound["estimated"], compound["form"], compound["note"]) == (
        "1000.0",
        "1",
        "citrate",
        "1 g powder",
    )
    assert float(compound["elemental_mg"]) == pytest.approx(162.0)
    assert next(r for r in rows if r["product"])["servings"] == "1.5"
    assert {r["origin"] for r in rows} == {"manual", "cronometer"} and {r["source"] for r in rows} == {
        "supplement",
        "diet",
    }
    assert any(float(r["elemental_mg"]) == 123.456789 for r in rows)  # no rounding


def test_refuses_to_overwrite_without_force(db, tmp_path):
    out = tmp_path / "out"
    assert run(db, "--out", str(out)).exit_code == 0
    (out / "intake.csv").write_text("mine", encoding="utf-8")
    r = run(db, "--out", str(out))
    assert r.exit_code == 1 and r.output.count("\n") == 1
    assert "would overwrite events.csv, intake.csv" in r.output and "--force" in r.output
    assert (out / "intake.csv").read_text(encoding="utf-8") == "mine"  # nothing written
    assert run(db, "--out", str(out), "--format", "json").exit_code == 0  # other files: fine
    r = run(db, "--out", str(out), "--force")
    assert r.exit_code == 0, r.output
    assert len(read_csv(out / "intake.csv")) == 5
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_an_empty_store_exports_headers_and_empty_arrays(tmp_path):
    db = tmp_path / "empty.db"
    assert run(db, "--out", str(tmp_path / "c")).exit_code == 0
    assert (tmp_path / "c" / "events.csv").read_text(encoding="utf-8").splitlines()[0].startswith("id,device_id,")
    assert read_csv(tmp_path / "c" / "intake.csv") == []
    r = run(db, "--out", str(tmp_path / "j"), "--format", "json", "--json")
    assert r.exit_code == 0
    assert [w["rows"] for w in json.loads(r.output)] == [0] * len(TABLES)
    assert json.loads((tmp_path / "j" / "events.json").read_text()) == []


def test_bad_format_and_out_that_is_a_file(db, tmp_path):
    r = run(db, "--format", "xml")
    assert r.exit_code == 2 and "Invalid value for '--format'" in r.output
    (tmp_path / "file").write_text("x")
    r = run(db, "--out", str(tmp_path / "file"))
    assert r.exit_code == 2  # click: a directory is expected
