"""Doses logged with the device's button, turned into intake entries.

A gesture mapped to "dose taken" (`twitchlog device settings --set
click2=dose`) stores a dose record (protocol.KIND_DOSE) on the device. After
each sync, `record_doses` makes every dose the companion holds into one
serving of the default product (`twitchlog intake default PRODUCT`): an
intake entry with origin ``button`` and import key ``dose:<device id>:<seq>``,
so running it again adds nothing twice.

It also keeps those entries in step with what later syncs bring:

- a dose undone on the device (triple click) whose tombstone arrives in a
  later sync loses its entry;
- a dose whose placed time moves (a later clock anchor corrects the drift)
  moves its entry;
- a dose whose time cannot be placed (no clock anchor in its boot) gets no
  entry, or loses the one it had: magnesium at a guessed time would land on
  the wrong day of the trial. The raw record stays in the events table.

With no default product the doses wait ("pending"); `set_default_product`
and every later sync convert them. An entry keeps the product it was made
from: changing the default later does not rewrite doses already logged.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import date

from twitchlog.errors import UserError
from twitchlog.intake.entries import Product, get_product, local_date, over_upper_level
from twitchlog.store.db import Store

ORIGIN = "button"


def dose_key(device_id: int, seq: int) -> str:
    """The import key of a dose's intake entry: one entry per device record, ever."""
    return f"dose:{device_id}:{seq}"


@dataclass
class DoseCounts:
    """What one `record_doses` run did (added/moved/removed) and what is left waiting (pending/unplaced)."""

    added: int = 0  # new intake entries
    moved: int = 0  # entries moved to a corrected time
    removed: int = 0  # entries removed: undone on the device, or the time is no longer known
    pending: int = 0  # doses waiting for a default product
    unplaced: int = 0  # doses with an unknown time: not intake
    product: str | None = None  # the default product (None: none set)
    mg_per_dose: float | None = None
    warnings: list[str] = field(default_factory=list)  # days above the supplemental upper level

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        """What to tell the user, one sentence each; empty when nothing concerns doses."""
        out = []
        if self.added:
            out.append(
                f"{self.added} dose(s) from the button logged as intake: 1 serving of {self.product!r} "
                f"({self.mg_per_dose:g} mg elemental) each"
            )
        if self.moved:
            out.append(f"{self.moved} button dose(s) moved to their corrected time")
        if self.removed:
            out.append(f"{self.removed} button dose(s) taken out of intake (undone on the device, or time unknown)")
        if self.pending:
            out.append(
                f"{self.pending} dose(s) from the button are not intake yet: no default product. "
                "Run `twitchlog intake default PRODUCT` (products: `twitchlog intake product list`)"
            )
        if self.unplaced:
            out.append(
                f"{self.unplaced} dose(s) from the button have an unknown time (the device lost its clock "
                "before a sync set it) and are not counted as intake; log them with `twitchlog intake add --at`"
            )
        return out


def dose_entries(store: Store) -> dict[tuple[int, int], int]:
    """(device id, seq) of each button dose -> the id of the intake entry it became."""
    rows = store.db.execute("SELECT id, import_key FROM intake WHERE origin = ?", (ORIGIN,)).fetchall()
    found = {}
    for entry_id, key in rows:
        _, device, seq = key.split(":")
        found[(int(device), int(seq))] = entry_id
    return found


def default_product(store: Store) -> Product | None:
    """The product a button dose stands for, or None."""
    row = store.db.execute("SELECT name FROM intake_products WHERE is_default = 1").fetchone()
    return None if row is None else get_product(store, row[0])


def set_default_product(store: Store, name: str | None) -> DoseCounts:
    """Make the saved product `name` the default (None: no default), then convert the pending doses.

    An unknown name is a UserError naming the saved products, and changes nothing.
    """
    product = None
    if name is not None:
        if not name.strip():
            raise UserError("give the name of a saved product (see `twitchlog intake product list`)")
        product = get_product(store, name)  # UserError if there is none
    with store.transaction() as db:
        db.execute("UPDATE intake_products SET is_default = 0 WHERE is_default = 1")
        if product is not None:
            db.execute("UPDATE intake_products SET is_default = 1 WHERE id = ?", (product.id,))
    return record_doses(store)


def record_doses(store: Store, device_id: int | None = None) -> DoseCounts:
    """Bring the button doses of one device (None: all) into intake; see the module docstring.

    One transaction: the entries always match the records as of one moment.
    """
    with store.transaction() as db:
        counts, changes, days = _reconcile(store, device_id)
        for sql, params in changes:
            db.execute(sql, params)
    counts.warnings = over_upper_level(store, days)
    return counts


def dose_status(store: Store) -> DoseCounts:
    """How many doses wait (pending) or have no known time (unplaced), changing nothing.

    Only those two counts are filled in: the changes a sync makes are its own to report.
    """
    found = _reconcile(store, None)[0]
    return DoseCounts(
        pending=found.pending, unplaced=found.unplaced, product=found.product, mg_per_dose=found.mg_per_dose
    )


def _reconcile(store: Store, device_id: int | None) -> tuple[DoseCounts, list[tuple[str, tuple]], set[date]]:
    """The counts, the SQL that brings intake in step with the dose records, and the local days it touches."""
    product = default_product(store)
    counts = DoseCounts()
    if product is not None:
        counts.product, counts.mg_per_dose = product.name, product.mg_per_serving
    prefix = "dose:" if device_id is None else f"dose:{device_id}:"
    have = {
        r["import_key"]: (r["id"], r["utc"])
        for r in store.db.execute(
            "SELECT id, utc, import_key FROM intake WHERE origin = ? AND substr(import_key, 1, ?) = ?",
            (ORIGIN, len(prefix), prefix),
        )
    }
    changes: list[tuple[str, tuple]] = []
    days: set[date] = set()
    now = int(time.time())
    for dose in store.dose_records(device_id):
        key = dose_key(dose["device_id"], dose["seq"])
        entry = have.get(key)
        utc = dose["utc"]
        if dose["undone"] or utc is None:
            counts.unplaced += not dose["undone"]
            if entry is not None:
                changes.append(("DELETE FROM intake WHERE id = ?", (entry[0],)))
                counts.removed += 1
        elif entry is not None:
            if entry[1] != utc:
                changes.append(("UPDATE intake SET utc = ? WHERE id = ?", (utc, entry[0])))
                counts.moved += 1
                days.add(local_date(utc))
        elif product is None:
            counts.pending += 1
        else:
            changes.append(
                (
                    "INSERT INTO intake (utc, source, elemental_mg, form, estimated, product_id, servings, origin,"
                    " import_key, added_utc) VALUES (?, 'supplement', ?, ?, ?, ?, 1.0, ?, ?, ?)",
                    (utc, product.mg_per_serving, product.form, int(product.estimated), product.id, ORIGIN, key, now),
                )
            )
            counts.added += 1
            days.add(local_date(utc))
    return counts, changes, days
