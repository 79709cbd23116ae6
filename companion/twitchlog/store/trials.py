"""Stored N-of-1 plans, as the JSON the planner writes (`Plan.to_json`).

The store keeps the text and which plan is current; `twitchlog.report.trial_status.current_plan`
turns it back into a `Plan`, so storage does not depend on the statistics.
"""

from __future__ import annotations

import time

from twitchlog.store.db import Store


def save_plan(store: Store, plan_json: str) -> int:
    """Store a new plan; it becomes the current one (an earlier one is cancelled)."""
    now = int(time.time())
    with store.transaction() as db:
        db.execute("UPDATE trial_plans SET cancelled_utc = ? WHERE cancelled_utc IS NULL", (now,))
        cur = db.execute("INSERT INTO trial_plans (created_utc, plan_json) VALUES (?, ?)", (now, plan_json))
    return int(cur.lastrowid or 0)


def current_plan_json(store: Store) -> str | None:
    row = store.db.execute(
        "SELECT plan_json FROM trial_plans WHERE cancelled_utc IS NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])


def cancel_plan(store: Store) -> bool:
    cur = store.db.execute("UPDATE trial_plans SET cancelled_utc = ? WHERE cancelled_utc IS NULL", (int(time.time()),))
    return cur.rowcount > 0
