"""The command line: help everywhere, one-line user errors, the events commands, and the core demo."""

import io
import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from twitchlog import cli
from twitchlog.cli import common
from twitchlog.sim import core_demo
from twitchlog.store.db import Store


def _walk(command, path=()):
    """Every command under `command`, through click's own API (the root group loads its commands lazily)."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), path + (name,))


def test_every_command_and_option_has_help_text():
    commands = list(_walk(cli.main))
    assert len(commands) >= 15
    for path, command in commands:
        name = " ".join(("twitchlog",) + path)
        assert (command.help or "").strip(), f"`{name}` has no help text"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"`{name}` option {param.name} has no help"


@pytest.mark.subprocess
def test_console_script_runs_and_shows_help():
    proc = subprocess.run([sys.executable, "-m", "twitchlog.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for command in ("scan", "pair", "sync", "events", "device", "virtual-device", "virtual-link"):
        assert command in proc.stdout


def test_bad_argument_is_one_clear_line():
    result = CliRunner().invoke(cli.main, ["demo", "--weeks", "many"])
    assert result.exit_code == 2
    assert "'many' is not a valid integer" in result.output


def test_usage_errors_exit_2_as_the_readme_says(tmp_path):
    """click's own parser errors exit 2 (README, exit codes); a negative amount reads as an option."""
    result = CliRunner().invoke(cli.main, ["--db", str(tmp_path / "t.db"), "intake", "add", "-5mg"])
    assert result.exit_code == 2
    assert "No such option '-5'" in result.stderr and "Usage: " in result.stderr
    assert not (tmp_path / "t.db").exists()  # nothing was opened, let alone written


@pytest.mark.parametrize("name", ["no[/such].csv", "[bold]no.csv", "[red]x[/red] [link=y].csv"])
def test_user_text_in_errors_prints_as_typed(tmp_path, name):
    """Rich markup in a file name is the user's text, not styling: one line, the name verbatim, exit 1."""
    result = CliRunner().invoke(cli.main, ["--db", str(tmp_path / "t.db"), "events", "import", str(tmp_path / name)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    line = result.stderr.strip()
    assert line.startswith("twitchlog: ") and "\n" not in line
    assert str(tmp_path / name) in line


def test_user_text_in_tables_prints_as_typed(tmp_path, monkeypatch):
    monkeypatch.setattr(common.out, "width", 200)  # the table's cells in full, not cut to fit 80 columns
    db = ["--db", str(tmp_path / "t.db")]
    runner = CliRunner()
    added = runner.invoke(
        cli.main, [*db, "events", "add", "cramp", "--at", "2026-11-20 10:00", "--site", "[b]calf[/b]"]
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli.main, [*db, "events", "list", "--json"])
    assert json.loads(listed.output)[0]["body_site"] == "[b]calf[/b]"
    table = runner.invoke(cli.main, [*db, "events", "list"])
    assert "[b]calf[/b]" in table.output


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "args, message",
    [
        (["--adapter", "bluez0", "scan"], "expected `os` or `bumble:<transport>`"),
        (["events", "add", "sneeze"], "unknown symptom kind 'sneeze'"),
        (["events", "add", "twitch", "--at", "yesterdayish"], "--at 'yesterdayish': expected e.g."),
        (["events", "note", "41", "--note", "x"], "no symptom event with id 41"),
        (["events", "gap", "2026-11-05", "2026-11-01"], "must end after it starts"),
        (["--adapter", "bumble:tcp-client:127.0.0.1:1", "sync"], "cannot open the HCI transport"),
        (["device", "settings", "--set", "colour=blue"], "expected KEY=VALUE"),
        (["sync", "AA:BB:CC:DD:EE:FF", "--watch"], "takes no ADDRESS"),
        # This machine has no OS Bluetooth stack (no BlueZ D-Bus): one line, not bleak's traceback.
        (["--adapter", "os", "scan", "--timeout", "1"], "Bluetooth:"),
    ],
)
def test_user_errors_are_one_line_without_traceback(tmp_path, args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "twitchlog.cli", "--db", str(tmp_path / "t.db"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_events_add_note_list_gap_and_import(tmp_path):
    db = ["--db", str(tmp_path / "t.db")]
    runner = CliRunner()
    assert (
        runner.invoke(
            cli.main,
            [*db, "events", "add", "cramp", "--at", "2026-11-20 23:10", "--severity", "4", "--site", "left calf"],
        ).exit_code
        == 0
    )
    assert runner.invoke(cli.main, [*db, "events", "note", "1", "--note", "woke me up"]).exit_code == 0
    csv_file = tmp_path / "manual.csv"
    csv_file.write_text("time,kind,severity,note\n2026-11-21 08:00,eyelid,1,\n")
    result = runner.invoke(cli.main, [*db, "events", "import", str(csv_file)])
    assert result.exit_code == 0 and "1 event(s) imported" in result.output
    result = runner.invoke(cli.main, [*db, "events", "import", str(csv_file)])
    assert "0 event(s) imported, 1 already present" in result.output
    gap = runner.invoke(cli.main, [*db, "events", "gap", "2026-11-10", "2026-11-12", "--note", "travel"])
    assert gap.exit_code == 0 and "to 2026-11-13 00:00:00" in gap.output  # a date alone includes that day
    listed = json.loads(runner.invoke(cli.main, [*db, "events", "list", "--json"]).output)
    assert [(e["kind"], e["severity"], e["body_site"], e["note"], e["source"]) for e in listed] == [
        ("cramp", 4, "left calf", "woke me up", "manual"),
        ("eyelid", 1, None, None, "import"),
    ]
    only = json.loads(runner.invoke(cli.main, [*db, "events", "list", "--json", "--kind", "eyelid"]).output)
    assert [e["kind"] for e in only] == ["eyelid"]
    gaps = json.loads(runner.invoke(cli.main, [*db, "events", "gap", "--list", "--json"]).output)
    assert [g["note"] for g in gaps] == ["travel"]


def test_core_demo_places_every_recorded_event_and_survives_the_power_cut():
    out = io.StringIO()
    assert core_demo.run(weeks=3, seed=11, out=out) == 0
    text = out.getvalue()
    assert "recorded events missing after the cut" in text
    lines = {
        line.split("│")[1].strip(): line.split("│")[2].strip() for line in text.splitlines() if line.count("│") == 3
    }
    assert lines["recorded events missing after the cut"] == "0"
    assert float(lines["max |UTC placed - true| with 3% RTC"].split()[0]) <= 2.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sync", "--port", "/dev/ttyUSB-twitchlog-none", "--watch"], "--port syncs the device on that cable"),
        (["sync", "AA:BB:CC:DD:EE:FF", "--port", "/dev/ttyUSB-twitchlog-none"], "it takes no ADDRESS or --watch"),
        (["sync", "--new-log"], "--new-log is for --port"),
        (
            ["sync", "--port", "/dev/ttyUSB-twitchlog-none", "--timeout", "0.5"],
            "/dev/ttyUSB-twitchlog-none: no such serial port",
        ),
    ],
)
def test_sync_over_usb_refuses_bad_arguments_in_one_line_and_saves_nothing(tmp_path, args, message):
    result = CliRunner().invoke(cli.main, ["--db", str(tmp_path / "t.db"), *args])
    assert result.exit_code == 1, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    with Store(tmp_path / "t.db") as store:
        assert store.devices() == [] and store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
