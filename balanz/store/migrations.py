"""The store's schema as numbered migrations, applied in order when a database is opened.

`schema_version` has one row per applied migration. A database whose highest version is above
`SCHEMA_VERSION` came from a newer balanz: it is refused (and left untouched) rather than half-understood.
Migrations only ever add; a released migration is never edited, a new one is appended.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from balanz.store.errors import StoreVersionError

log = logging.getLogger(__name__)

_V1 = """
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE runtime_chargers (
    charger_id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL,
    alias TEXT,
    connectors INTEGER NOT NULL,
    max_current_a INTEGER,
    priority INTEGER,
    registered_at TEXT NOT NULL
);
CREATE TABLE credentials (
    charger_id TEXT PRIMARY KEY,
    active_hash TEXT,
    pending_hashes TEXT NOT NULL DEFAULT '[]',
    pending_since TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE charger_capabilities (
    charger_id TEXT PRIMARY KEY,
    vendor TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    firmware_version TEXT NOT NULL DEFAULT '',
    capabilities TEXT NOT NULL DEFAULT '{}',
    probed_at TEXT,
    strategy TEXT,
    strategy_at TEXT
);
CREATE TABLE runtime_tags (
    id_tag TEXT PRIMARY KEY,
    user_name TEXT NOT NULL DEFAULT '',
    parent_id_tag TEXT,
    status TEXT NOT NULL,
    priority INTEGER,
    expires TEXT,
    description TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE TABLE group_suspensions (
    group_id TEXT PRIMARY KEY,
    suspended_at TEXT NOT NULL
);
CREATE TABLE priority_overrides (
    charger_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    transaction_id INTEGER,
    priority INTEGER NOT NULL,
    set_at TEXT NOT NULL,
    PRIMARY KEY (charger_id, connector_id)
);
CREATE TABLE live_transactions (
    charger_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    transaction_id INTEGER NOT NULL,
    record TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (charger_id, connector_id)
);
CREATE INDEX live_transactions_by_id ON live_transactions (charger_id, transaction_id);
CREATE TABLE connector_state (
    charger_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    acknowledged_a REAL,
    exposure_a REAL NOT NULL,
    allocator TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (charger_id, connector_id)
);
CREATE TABLE sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL UNIQUE,
    charger_id TEXT NOT NULL,
    alias TEXT,
    group_id TEXT,
    connector_id INTEGER NOT NULL,
    transaction_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    user_name TEXT NOT NULL,
    parent_id_tag TEXT,
    stop_id_tag TEXT,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    duration_s REAL NOT NULL,
    meter_start_wh REAL,
    meter_stop_wh REAL,
    energy_wh REAL,
    stop_reason TEXT NOT NULL,
    priority INTEGER,
    priority_source TEXT NOT NULL,
    max_offer_a REAL,
    max_usage_a REAL,
    mean_usage_a REAL,
    history TEXT NOT NULL,
    flags TEXT NOT NULL,
    recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX sessions_by_start ON sessions (start_time);
CREATE INDEX sessions_by_transaction ON sessions (charger_id, transaction_id);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    t TEXT NOT NULL,
    kind TEXT NOT NULL,
    charger_id TEXT,
    message TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_by_time ON audit (t);
"""

# Island mode (flows.md §3.7): the upstream Authorize answers, the local -> upstream transaction id map and
# the buffered transaction messages, so an LC restart during an upstream outage loses nothing.
_V2 = """
CREATE TABLE lc_auth_cache (
    id_tag TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE lc_id_map (
    charger_id TEXT NOT NULL,
    local_id INTEGER NOT NULL,
    upstream_id INTEGER NOT NULL,
    ended_at TEXT,
    PRIMARY KEY (charger_id, local_id)
);
CREATE TABLE lc_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    charger_id TEXT NOT NULL,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,
    category TEXT NOT NULL,
    droppable INTEGER NOT NULL,
    queued_at TEXT NOT NULL
);
CREATE INDEX lc_outbox_by_charger ON lc_outbox (charger_id, seq);
"""

# Operator intents that outlive a restart like priority overrides and group suspensions (flows.md §4.2):
# a suspended connector and a temporary group limit.
_V3 = """
CREATE TABLE connector_suspensions (
    charger_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    suspended_at TEXT NOT NULL,
    PRIMARY KEY (charger_id, connector_id)
);
CREATE TABLE group_limits (
    group_id TEXT PRIMARY KEY,
    limit_a REAL NOT NULL,
    until TEXT,
    set_by TEXT NOT NULL DEFAULT '',
    set_at TEXT NOT NULL
);
"""

# A charger whose profiles the operator released (release-profiles): none is installed again, also after a
# restart, until reassert-profiles.
_V4 = """
CREATE TABLE released_chargers (
    charger_id TEXT PRIMARY KEY,
    released_at TEXT NOT NULL,
    released_by TEXT NOT NULL DEFAULT ''
);
"""

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1), (2, _V2), (3, _V3), (4, _V4))
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version(conn: sqlite3.Connection) -> int:
    """0 for an empty database."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def check_version(conn: sqlite3.Connection, path: Path | str) -> int:
    found = current_version(conn)
    if found > SCHEMA_VERSION:
        raise StoreVersionError(path, found, SCHEMA_VERSION)
    return found


def migrate(conn: sqlite3.Connection, path: Path | str, *, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to `target`, each migration in its own transaction; returns the version reached.

    `target` below the newest exists for tests that need a database as an older balanz left it.
    """
    found = check_version(conn, path)
    for version, script in MIGRATIONS:
        if version <= found or version > target:
            continue
        log.info("store %s: migrating schema to version %d", path, version)
        statements = [s.strip() for s in script.split(";") if s.strip()]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT "
                "NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
            )
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        found = version
    return found
