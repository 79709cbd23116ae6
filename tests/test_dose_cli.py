"""A dose from the button as a user meets it: `device settings --set click2=dose`, a press, `sync`, `intake default`.

The device and the companion are separate processes (see test_sync_cli).
"""

from __future__ import annotations

import json

import pytest
from test_sync_cli import pair, press, world  # noqa: F401 - `world` is the fixture

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]


def test_a_dose_pressed_before_a_default_product_waits_then_becomes_intake(world):  # noqa: F811
    device, companion = world
    pair(device, companion)
    changed = companion("device", "settings", "--set", "click2=dose")  # in the pairing window
    assert changed.returncode == 0, changed.stderr
    assert any(line.split() == ["click2", "dose"] for line in changed.stdout.replace("│", " ").splitlines())
    mark = len(device.events)
    device.send("advance 120")
    device.expect("asleep", since=mark)
    added = companion("intake", "product", "add", "Mag glycinate", "--form", "glycinate", "--mg-per-serving", "200")
    assert added.returncode == 0, added.stderr

    press(device, "double", "click")
    assert [e["kind"] for e in device.recorded()] == ["dose", "twitch"]
    mark = len(device.events)
    device.send("hold 2")
    device.expect("advertising", since=mark)
    synced = companion("sync")
    assert synced.returncode == 0, synced.stderr
    assert "1 dose(s) from the button are not intake yet: no default product." in synced.stdout
    assert json.loads(companion("intake", "list", "--json").stdout) == []

    wrong = companion("intake", "default", "Mag citrate")
    assert wrong.returncode == 1 and wrong.stderr.startswith("twitchlog: no saved product 'Mag citrate'")
    chosen = companion("intake", "default", "Mag glycinate")
    assert chosen.returncode == 0, chosen.stderr
    assert "1 dose(s) from the button logged as intake: 1 serving of 'Mag glycinate'" in chosen.stdout
    [entry] = json.loads(companion("intake", "list", "--json").stdout)
    assert (entry["origin"], entry["elemental_mg"], entry["product"]) == ("button", 200.0, "Mag glycinate")
    events = json.loads(companion("events", "list", "--json").stdout)
    assert [(e["kind"], e.get("intake_id")) for e in events] == [("dose", entry["id"]), ("twitch", None)]
