"""`twitchlog demo`, shortened: the virtual device, presses following a randomized plan, BLE syncs, intake, report."""

from __future__ import annotations

import re
import sqlite3

import pytest
from click.testing import CliRunner

from twitchlog import cli

pytestmark = pytest.mark.e2e


def test_a_two_week_demo_runs_end_to_end(tmp_path):
    result = CliRunner().invoke(cli.main, ["demo", "--out", str(tmp_path), "--weeks", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "events synced over BLE" in result.output
    counts = re.search(r"(\d+) presses, (\d+) events synced over BLE", result.output)
    assert counts, result.output
    pressed, stored = int(counts[1]), int(counts[2])
    assert pressed == stored > 0  # every press reached the database through the real BLE path
    report = tmp_path / "twitchlog-report.html"
    html = report.read_text()
    assert "<svg" in html and "Methods" in html
    db = sqlite3.connect(tmp_path / "twitchlog.db")
    assert db.execute("SELECT COUNT(*) FROM syncs WHERE outcome = 'ok'").fetchone()[0] >= 1
    assert db.execute("SELECT COUNT(*) FROM trial_plans").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM intake WHERE source = 'supplement'").fetchone()[0] >= 1
    assert db.execute("SELECT COUNT(*) FROM gaps").fetchone()[0] >= 1
    assert db.execute("SELECT COUNT(*) FROM events WHERE source = 'device' AND time_quality = 3").fetchone()[0] == 0
