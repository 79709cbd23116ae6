"""Stored N-of-1 plans: the current one feeds `trial status`, the analysis and the report."""

from __future__ import annotations

import time

from twitchlog.stats.trial import Plan
from twitchlog.store.db import Store


def save_plan(store: Store, plan: Plan) -> int:
    """Store a new plan; it becomes the current one (an earlier one is cancelled)."""
    now = int(time.time())
    with store.transaction() as db:
        db.execute("UPDATE trial_plans SET cancelled_utc = ? WHERE cancelled_utc IS NULL", (now,))
        cur = db.execute("INSERT INTO trial_plans (created_utc, plan_json) VALUES (?, ?)", (now, plan.to_json()))
    return int(cur.lastrowid or 0)


def current_plan(store: Store) -> Plan | None:
    row = store.db.execute(
        "SELECT plan_json FROM trial_plans WHERE cancelled_utc IS NULL ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else Plan.from_json(row[0])


def cancel_plan(store: Store) -> bool:
    cur = store.db.execute("UPDATE trial_plans SET cancelled_utc = ? WHERE cancelled_utc IS NULL", (int(time.time()),))
    return cur.rowcount > 0
