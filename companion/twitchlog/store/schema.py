"""The store's schema, as numbered migrations.

Migration N (from 1) is ``MIGRATIONS[N - 1]``; ``PRAGMA user_version`` holds the
number applied.  Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

from twitchlog.firmware import clock
from twitchlog.firmware import protocol as P

MIGRATIONS: list[str] = [
    # 1: devices, raw device records + manual events, syncs, annotations, gaps
    """
    CREATE TABLE devices (
        id          INTEGER PRIMARY KEY,
        address     TEXT NOT NULL UNIQUE,
        name        TEXT,
        serial      TEXT,
        model       TEXT,
        firmware    TEXT,
        added_utc   INTEGER NOT NULL,
        status_json TEXT,
        status_utc  INTEGER
    );
    -- Device records (source 'device': device_id and seq set) and events the
    -- user added by hand or imported (source 'manual'/'import': no seq).
    CREATE TABLE events (
        id           INTEGER PRIMARY KEY,
        device_id    INTEGER REFERENCES devices(id),
        seq          INTEGER,
        kind         INTEGER NOT NULL,
        device_time  INTEGER,          -- raw device clock, seconds since 2000
        boot_id      INTEGER,
        arg          INTEGER,
        utc          INTEGER,          -- NULL when the time cannot be placed
        time_quality INTEGER NOT NULL, -- clock.TIME_* (manual: anchored)
        source       TEXT NOT NULL CHECK (source IN ('device', 'manual', 'import')),
        import_key   TEXT UNIQUE,      -- idempotent imports
        added_utc    INTEGER NOT NULL,
        UNIQUE (device_id, seq),
        CHECK ((source = 'device') = (seq IS NOT NULL))
    );
    CREATE INDEX events_utc ON events (utc);
    -- Finding the tombstone that undoes an event (every `events list`).
    CREATE INDEX events_undo ON events (device_id, arg) WHERE kind = %d;
    -- One row per sync attempt: when, what time was set, what arrived.
    CREATE TABLE syncs (
        id            INTEGER PRIMARY KEY,
        device_id     INTEGER NOT NULL REFERENCES devices(id),
        started_utc   INTEGER NOT NULL,
        finished_utc  INTEGER,
        time_set_utc  INTEGER,
        anchor_seq    INTEGER,
        records       INTEGER NOT NULL DEFAULT 0,
        acked_seq     INTEGER,
        outcome       TEXT
    );
    CREATE TABLE annotations (
        event_id    INTEGER PRIMARY KEY REFERENCES events(id),
        severity    INTEGER CHECK (severity BETWEEN 1 AND 5),
        body_site   TEXT,
        note        TEXT,
        updated_utc INTEGER NOT NULL
    );
    -- Tracking gaps: time the device was not worn.  A day with no presses is
    -- not a day without symptoms unless it was tracked.
    CREATE TABLE gaps (
        id        INTEGER PRIMARY KEY,
        start_utc INTEGER NOT NULL,
        end_utc   INTEGER NOT NULL CHECK (end_utc > start_utc),
        note      TEXT
    );
    CREATE VIEW clock_anchors AS
        SELECT device_id, seq, boot_id, device_time AS device_before,
               arg AS device_set, arg + %d AS utc_set
        FROM events WHERE kind = %d;
    """
    % (P.KIND_TOMBSTONE, clock.UNIX_AT_2000, P.KIND_ANCHOR),
    # 2: magnesium intake (supplements and diet kept apart), saved products, import runs
    """
    CREATE TABLE intake_products (
        id             INTEGER PRIMARY KEY,
        name           TEXT NOT NULL UNIQUE COLLATE NOCASE,
        form           TEXT,
        mg_per_serving REAL NOT NULL CHECK (mg_per_serving > 0),  -- elemental
        estimated      INTEGER NOT NULL DEFAULT 0 CHECK (estimated IN (0, 1)),
        added_utc      INTEGER NOT NULL
    );
    CREATE TABLE intake (
        id           INTEGER PRIMARY KEY,
        utc          INTEGER NOT NULL,
        source       TEXT NOT NULL CHECK (source IN ('supplement', 'diet')),
        elemental_mg REAL NOT NULL CHECK (elemental_mg >= 0),
        form         TEXT,
        compound_mg  REAL,             -- the weight as given, when it was compound weight
        estimated    INTEGER NOT NULL DEFAULT 0 CHECK (estimated IN (0, 1)),  -- from the % table
        product_id   INTEGER REFERENCES intake_products(id),
        servings     REAL,
        note         TEXT,
        origin       TEXT NOT NULL CHECK (origin IN ('manual', 'cronometer', 'apple-health', 'csv')),
        import_key   TEXT UNIQUE,      -- idempotent imports
        added_utc    INTEGER NOT NULL
    );
    CREATE INDEX intake_utc ON intake (utc);
    CREATE TABLE intake_imports (
        id        INTEGER PRIMARY KEY,
        path      TEXT NOT NULL,
        format    TEXT NOT NULL,
        rows      INTEGER NOT NULL,
        added     INTEGER NOT NULL,
        utc       INTEGER NOT NULL
    );
    """,
    # 3: N-of-1 trial plans (trial.Plan as JSON); the newest not cancelled is current
    """
    CREATE TABLE trial_plans (
        id            INTEGER PRIMARY KEY,
        created_utc   INTEGER NOT NULL,
        plan_json     TEXT NOT NULL,
        cancelled_utc INTEGER
    );
    """,
    # 4: doses logged with the button become intake (origin 'button', keyed on
    # 'dose:<device>:<seq>') from the default product.  SQLite cannot change a
    # CHECK in place, so intake is rebuilt: new table, copy every row, swap.
    # Nothing references intake(id), so the swap breaks no foreign key.
    """
    CREATE TABLE intake_v4 (
        id           INTEGER PRIMARY KEY,
        utc          INTEGER NOT NULL,
        source       TEXT NOT NULL CHECK (source IN ('supplement', 'diet')),
        elemental_mg REAL NOT NULL CHECK (elemental_mg >= 0),
        form         TEXT,
        compound_mg  REAL,
        estimated    INTEGER NOT NULL DEFAULT 0 CHECK (estimated IN (0, 1)),
        product_id   INTEGER REFERENCES intake_products(id),
        servings     REAL,
        note         TEXT,
        origin       TEXT NOT NULL CHECK (origin IN ('manual', 'cronometer', 'apple-health', 'csv', 'button')),
        import_key   TEXT UNIQUE,
        added_utc    INTEGER NOT NULL
    );
    INSERT INTO intake_v4 (id, utc, source, elemental_mg, form, compound_mg, estimated, product_id, servings, note,
                           origin, import_key, added_utc)
        SELECT id, utc, source, elemental_mg, form, compound_mg, estimated, product_id, servings, note,
               origin, import_key, added_utc FROM intake;
    DROP TABLE intake;
    ALTER TABLE intake_v4 RENAME TO intake;
    CREATE INDEX intake_utc ON intake (utc);
    -- The product a button dose stands for: at most one row is the default.
    ALTER TABLE intake_products ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1));
    CREATE UNIQUE INDEX intake_products_default ON intake_products (is_default) WHERE is_default = 1;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
