"""End to end: a dose pressed on the virtual device becomes an intake entry, and trial adherence moves.

The gesture map is changed over BLE as a user would (`device settings --set
click2=dose`), the presses go through the unmodified firmware, and the sync
is the companion's own. Both runtimes (the `runtime` fixture).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from twitchlog.ble import devicectl
from twitchlog.firmware import protocol as P
from twitchlog.firmware.clock import UNIX_AT_2000
from twitchlog.intake import entries as intake
from twitchlog.intake.doses import set_default_product
from twitchlog.report.trial_status import trial_status
from twitchlog.stats.trial import Plan

pytestmark = pytest.mark.e2e


def test_a_dose_pressed_on_the_device_becomes_intake_and_counts_for_adherence(tmp_path, sim, runtime):
    async def body():
        rig = await sim.sync_rig(tmp_path, runtime=runtime)
        device = rig.device
        await rig.pair()
        changed = await devicectl.settings(rig.adapter, rig.store, None, {"click2": P.ACTION_DOSE}, scan_timeout=2)
        assert changed["click2"] == P.KIND_DOSE and devicectl.describe_setting("click2", changed["click2"]) == "dose"
        await device.advance(120)
        await device.wait_asleep()
        intake.add_product(rig.store, "Mag glycinate", "glycinate", 200)
        set_default_product(rig.store, "Mag glycinate")

        pressed_at = device.world_time() + UNIX_AT_2000  # true time (the device's own clock is not set yet)
        skew_at_press = device.rtc_seconds() - device.world_time()
        dose = await rig.press("double")  # the mapped gesture records a dose ...
        assert dose["kind"] == "dose"
        twitch = await rig.press("click")  # ... and the others are as they were
        assert twitch["kind"] == "twitch"
        # A dose pressed by mistake is undone with a triple click, as a symptom is.
        mark = device.mark()
        await device.double()
        mistaken = await device.wait_for("recorded", since=mark)
        await device.advance(5)
        await device.triple()
        undone = await device.wait_for("undone", since=mark)
        assert (mistaken["kind"], undone["seq"]) == ("dose", mistaken["seq"])
        await device.advance(30)
        await device.wait_asleep()

        # An 'on' block of the press's day and the days either side (a press near
        # midnight may be placed on a neighbour), looked at once it is over.
        start = intake.local_date(pressed_at) - timedelta(days=1)
        plan = Plan(start=start, block_days=3, pairs=1, dose_mg=200, form="glycinate", seed=0, blocks=[True, False])
        after_block = start + timedelta(days=3)
        assert trial_status(rig.store, plan, after_block).adherence.on_adherent == 0

        await rig.window()
        # On the real runtime advance() moves the RTC but not the world's clock (real time):
        # the anchor then places the dose earlier by what the RTC gained since the press.
        moved_rtc = device.rtc_seconds() - device.world_time() - skew_at_press
        result = await rig.sync()
        assert (result.doses["added"], result.doses["pending"], result.doses["unplaced"]) == (1, 0, 0)
        [entry] = intake.entries(rig.store)
        assert (entry.origin, entry.elemental_mg, entry.product, entry.source) == (
            "button",
            200.0,
            "Mag glycinate",
            "supplement",
        )
        assert abs(entry.utc - (pressed_at - moved_rtc)) <= 3  # the press's time, placed from the clock anchor
        assert [e.kind for e in rig.store.events()] == [P.KIND_TWITCH]  # never a symptom
        assert len(rig.store.events(doses=True)) == 2  # the undone dose is left out

        assert trial_status(rig.store, plan, after_block).adherence.on_adherent == 1  # of 3 'on' days
        status = trial_status(rig.store, plan, intake.local_date(entry.utc))
        assert status.taken_today_by == {"button": 200.0} and status.dose_logged_today(plan)

        await rig.window()
        again = await rig.sync()  # its own anchor only: the dose is not logged twice
        assert again.doses["added"] == 0 and len(intake.entries(rig.store)) == 1

    sim.run(body())
