"""Magnesium intake: entries, saved products, the elemental % table, daily totals.

Every entry holds *elemental* magnesium in mg, with ``source`` either
``supplement`` or ``diet`` (food); the two are never summed together.  A dose
given as compound weight (``--compound``) is converted with the % table in
`twitchlog.magnesium` and flagged ``estimated``; labels in the US already state elemental
mg, so that is the default.

Entry points:

- `add_intake(store, mg, form=..., ...) -> Added` (with a warning when the
  day's supplemental total passes the 350 mg upper level),
- `add_product` / `products` / `get_product` for saved products,
- `entries(store, since=, until=)` for listing,
- `daily_intake(store, first_date, last_date, tz=None) -> DataFrame` with
  ``supp_mg`` and ``diet_mg`` per local day, the analysis input,
- `insert_entries(store, rows)` for the importers (`twitchlog.intake.importers`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dtime
from typing import TYPE_CHECKING, Any

from twitchlog.errors import UserError
from twitchlog.magnesium import MAX_ENTRY_MG, UPPER_LEVEL_MG, elemental_from_compound, normal_form
from twitchlog.store.db import Store

if TYPE_CHECKING:
    import pandas as pd

SOURCES = ("supplement", "diet")
ORIGINS = ("manual", "cronometer", "apple-health", "csv", "button")  # button: intake.doses


@dataclass
class Product:
    id: int
    name: str
    form: str | None
    mg_per_serving: float  # elemental
    estimated: bool  # converted from compound weight when saved

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class IntakeEntry:
    id: int
    utc: int
    source: str
    elemental_mg: float
    form: str | None
    compound_mg: float | None
    estimated: bool
    product: str | None
    servings: float | None
    note: str | None
    origin: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Added:
    entry_id: int
    utc: int
    source: str
    elemental_mg: float
    form: str | None
    estimated: bool
    day_supplement_mg: float  # that local day's supplemental total, this entry included
    warning: str | None  # above the upper level


def _now() -> int:
    return int(time.time())


# ------------------------------------------------------------ products
def add_product(store: Store, name: str, form: str | None, mg_per_serving: float, *, compound: bool = False) -> Product:
    """Save a product: elemental mg per serving as the label states it (or compound weight with `compound`)."""
    name = name.strip()
    if not name:
        raise UserError("a product needs a name")
    if not mg_per_serving > 0:
        raise UserError(f"--mg-per-serving must be above 0, not {mg_per_serving:g}")
    mg = elemental_from_compound(mg_per_serving, form) if compound else float(mg_per_serving)
    if mg > MAX_ENTRY_MG:
        raise UserError(f"{mg:g} mg elemental per serving looks wrong (one entry holds at most {MAX_ENTRY_MG:g} mg)")
    if get_product(store, name, missing_ok=True) is not None:
        raise UserError(f"a product named {name!r} is already saved (see `twitchlog intake product list`)")
    store.db.execute(
        "INSERT INTO intake_products (name, form, mg_per_serving, estimated, added_utc) VALUES (?, ?, ?, ?, ?)",
        (name, normal_form(form), mg, int(compound), _now()),
    )
    product = get_product(store, name)
    assert product is not None
    return product


def _product(row: Any) -> Product:
    return Product(row["id"], row["name"], row["form"], row["mg_per_serving"], bool(row["estimated"]))


def get_product(store: Store, name: str, *, missing_ok: bool = False) -> Product | None:
    """The saved product of this name (case-insensitive)."""
    row = store.db.execute("SELECT * FROM intake_products WHERE name = ?", (name.strip(),)).fetchone()
    if row is None and not missing_ok:
        known = ", ".join(repr(p.name) for p in products(store)) or "none saved yet"
        raise UserError(f"no saved product {name!r} (saved: {known}); add it with `twitchlog intake product add`")
    return None if row is None else _product(row)


def products(store: Store) -> list[Product]:
    return [_product(r) for r in store.db.execute("SELECT * FROM intake_products ORDER BY name").fetchall()]


# ------------------------------------------------------------ entries
def add_intake(
    store: Store,
    mg: float | None = None,
    *,
    form: str | None = None,
    utc: int | None = None,
    compound: bool = False,
    product: str | None = None,
    servings: float | None = None,
    diet: bool = False,
    note: str | None = None,
) -> Added:
    """Log one intake.  `mg` is elemental unless `compound`; or give a saved `product` and `servings`."""
    utc = _now() if utc is None else int(utc)
    compound_mg = None
    product_id = None
    if product is not None:
        if mg is not None:
            raise UserError("give an amount or --product, not both (the product knows its mg per serving)")
        if diet:
            raise UserError("saved products are supplements; --diet is for food")
        if compound:
            raise UserError("--compound does not apply to a product (its mg per serving is already elemental)")
        saved = get_product(store, product)
        assert saved is not None
        if form is not None and normal_form(form) != saved.form:
            raise UserError(f"{saved.name!r} is saved as {saved.form or 'no form'}; leave out --form")
        servings = 1.0 if servings is None else float(servings)
        if not servings > 0:
            raise UserError(f"--servings must be above 0, not {servings:g}")
        elemental = saved.mg_per_serving * servings
        stored_form, estimated, product_id = saved.form, saved.estimated, saved.id
    else:
        if servings is not None:
            raise UserError("--servings needs --product")
        if mg is None:
            raise UserError("give an amount (e.g. 200mg) or --product NAME")
        if not mg > 0:
            raise UserError(f"the amount must be above 0 mg, not {mg:g}")
        if compound and diet:
            raise UserError("--compound is for supplements; food amounts are elemental magnesium")
        if compound:
            compound_mg = float(mg)
            elemental = elemental_from_compound(mg, form)
        else:
            elemental = float(mg)
        stored_form, estimated = normal_form(form), compound
    if elemental > MAX_ENTRY_MG:
        raise UserError(
            f"{elemental:g} mg elemental in one entry looks wrong (limit {MAX_ENTRY_MG:g} mg);"
            " if it is the compound weight, add --compound"
        )
    source = "diet" if diet else "supplement"
    with store.transaction() as db:
        cur = db.execute(
            "INSERT INTO intake (utc, source, elemental_mg, form, compound_mg, estimated, product_id, servings, note,"
            " origin, added_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'manual', ?)",
            (utc, source, elemental, stored_form, compound_mg, int(estimated), product_id, servings, note, _now()),
        )
        entry_id = int(cur.lastrowid or 0)
    day = local_date(utc)
    total = supplement_total(store, day)
    warning = ul_warning(day, total) if source == "supplement" else None
    return Added(entry_id, utc, source, elemental, stored_form, bool(estimated), total, warning)


def ul_warning(day: date, supplement_mg: float) -> str | None:
    """The warning for a day above the supplemental upper level (food does not count), else None."""
    if supplement_mg <= UPPER_LEVEL_MG:
        return None
    return (
        f"{day.isoformat()}: {supplement_mg:.0f} mg supplemental magnesium is above the {UPPER_LEVEL_MG} mg/day"
        " upper level for adults (food does not count); diarrhoea is the usual first sign of too much"
    )


def insert_entries(store: Store, rows: Sequence[dict]) -> list[dict]:
    """Insert importer rows (keys of the intake table; `import_key` required) in the caller's transaction.

    Rows whose import key is already stored are skipped; returns the rows that were new.
    """
    added = _now()
    new = []
    for row in rows:
        cur = store.db.execute(
            "INSERT INTO intake (utc, source, elemental_mg, form, compound_mg, estimated, note, origin, import_key,"
            " added_utc) VALUES (:utc, :source, :elemental_mg, :form, :compound_mg, :estimated, :note, :origin,"
            " :import_key, :added) ON CONFLICT (import_key) DO NOTHING",
            {"form": None, "compound_mg": None, "estimated": 0, "note": None, **row, "added": added},
        )
        if cur.rowcount:
            new.append(row)
    return new


def entries(
    store: Store, *, since: int | None = None, until: int | None = None, source: str | None = None
) -> list[IntakeEntry]:
    """Intake entries with since <= utc < until, oldest first."""
    where: list[str] = ["1"]
    params: list[object] = []
    if since is not None:
        where.append("i.utc >= ?")
        params.append(int(since))
    if until is not None:
        where.append("i.utc < ?")
        params.append(int(until))
    if source is not None:
        if source not in SOURCES:
            raise UserError(f"source {source!r}: expected one of {', '.join(SOURCES)}")
        where.append("i.source = ?")
        params.append(source)
    rows = store.db.execute(
        "SELECT i.*, p.name AS product FROM intake i LEFT JOIN intake_products p ON p.id = i.product_id"
        f" WHERE {' AND '.join(where)} ORDER BY i.utc, i.id",
        params,
    ).fetchall()
    return [
        IntakeEntry(
            r["id"],
            r["utc"],
            r["source"],
            r["elemental_mg"],
            r["form"],
            r["compound_mg"],
            bool(r["estimated"]),
            r["product"],
            r["servings"],
            r["note"],
            r["origin"],
        )
        for r in rows
    ]


# ------------------------------------------------------------ days
def local_date(utc: int | float, tz: tzinfo | None = None) -> date:
    """The calendar date of a UTC instant in `tz` (None: the system's local time)."""
    if tz is None:
        return datetime.fromtimestamp(utc).date()
    return datetime.fromtimestamp(utc, tz).date()


def day_start(day: date, tz: tzinfo | None = None) -> int:
    """Unix seconds of local midnight starting `day` in `tz` (None: system local time)."""
    midnight = datetime.combine(day, dtime())
    aware = midnight.astimezone() if tz is None else midnight.replace(tzinfo=tz)
    return int(aware.timestamp())


def supplement_total(store: Store, day: date, tz: tzinfo | None = None) -> float:
    """Supplemental elemental mg on one local day."""
    row = store.db.execute(
        "SELECT COALESCE(SUM(elemental_mg), 0) FROM intake WHERE source = 'supplement' AND utc >= ? AND utc < ?",
        (day_start(day, tz), day_start(day + timedelta(days=1), tz)),
    ).fetchone()
    return float(row[0])


def supplement_by_origin(store: Store, day: date, tz: tzinfo | None = None) -> dict[str, float]:
    """Supplemental elemental mg on one local day per origin (manual, button, an import), largest first."""
    rows = store.db.execute(
        "SELECT origin, SUM(elemental_mg) FROM intake WHERE source = 'supplement' AND utc >= ? AND utc < ?"
        " GROUP BY origin ORDER BY SUM(elemental_mg) DESC, origin",
        (day_start(day, tz), day_start(day + timedelta(days=1), tz)),
    ).fetchall()
    return {str(origin): float(mg) for origin, mg in rows}


def _as_date(value: Any) -> date:
    import pandas as pd

    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def daily_intake(store: Store, first_date: Any, last_date: Any, tz: tzinfo | None = None) -> pd.DataFrame:
    """Per local day from `first_date` to `last_date` (inclusive): the analysis input.

    Index: the dates (a normalised DatetimeIndex named ``date``, every day).
    Columns:

    - ``supp_mg``: supplemental elemental mg (0.0 on days without any);
    - ``diet_mg``: dietary mg, NaN on days with no diet data at all (unknown,
      not zero);
    - ``supp_estimated``: True when some of the day's supplement came from
      the compound -> elemental table.

    `tz` is a tzinfo (e.g. ``zoneinfo.ZoneInfo("Europe/Berlin")``); None
    means the system's local time, as the CLI shows it.
    """
    import pandas as pd  # here, not at the top: `twitchlog --help` stays fast

    first, last = _as_date(first_date), _as_date(last_date)
    if last < first:
        raise UserError(f"the last date {last} is before the first {first}")
    index = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D", name="date")
    rows = store.db.execute(
        "SELECT utc, source, elemental_mg, estimated FROM intake WHERE utc >= ? AND utc < ?",
        (day_start(first, tz), day_start(last + timedelta(days=1), tz)),
    ).fetchall()
    df = pd.DataFrame([tuple(r) for r in rows], columns=["utc", "source", "mg", "estimated"])
    df["day"] = pd.to_datetime([local_date(u, tz) for u in df["utc"]]) if len(df) else pd.to_datetime([])
    supp = df[df["source"] == "supplement"].groupby("day")
    diet = df[df["source"] == "diet"].groupby("day")["mg"].sum()
    return pd.DataFrame(
        {
            "supp_mg": supp["mg"].sum().reindex(index, fill_value=0.0).astype(float),
            "diet_mg": diet.reindex(index).astype(float),  # NaN: no diet data that day
            "supp_estimated": supp["estimated"].max().reindex(index, fill_value=0).astype(bool),
        },
        index=index,
    )


def over_upper_level(store: Store, days: Iterable[date], tz: tzinfo | None = None) -> list[str]:
    """Warnings for those of `days` whose supplemental total is above the upper level."""
    found = []
    for day in sorted(set(days)):
        warning = ul_warning(day, supplement_total(store, day, tz))
        if warning:
            found.append(warning)
    return found
