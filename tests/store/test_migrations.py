import sqlite3

import pytest

from balanz.store import SCHEMA_VERSION, Store, StoreVersionError
from balanz.store.db import open_read_only
from balanz.store.migrations import MIGRATIONS, current_version, migrate
from tests.store.conftest import session


def test_new_database_gets_every_migration_in_order(store_path):
    with Store(store_path) as store:
        assert store.schema_version == SCHEMA_VERSION == MIGRATIONS[-1][0]
        versions = [r[0] for r in store.database.connection.execute("SELECT version FROM schema_version")]
    assert versions == [v for v, _ in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))


def test_directory_is_created_and_wal_is_on(tmp_path):
    path = tmp_path / "a" / "b" / "balanz.sqlite"
    with Store(path) as store:
        (mode,) = store.database.connection.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
    assert path.exists()


def test_version_1_database_is_migrated_and_keeps_its_data(store_path):
    store_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(store_path, isolation_level=None)
    assert migrate(conn, store_path, target=1) == 1
    conn.execute("INSERT INTO counters (name, value) VALUES ('csms_transaction_id', 41)")
    conn.execute(
        "INSERT INTO group_suspensions (group_id, suspended_at) VALUES ('HQ', '2025-03-04T10:00:08Z')"
    )
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "lc_outbox" not in tables
    conn.close()

    with Store(store_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.next_transaction_id(1) == 42
        assert list(store.suspended_groups()) == ["HQ"]
        store.append_outbox(
            "CP1", "Heartbeat", {}, category="other", droppable=True, queued_at=session().end_time
        )
        assert len(store.outbox("CP1")) == 1


def test_reopening_a_current_database_applies_nothing(store_path):
    Store(store_path).close()
    with Store(store_path) as store:
        rows = store.database.connection.execute("SELECT COUNT(*) FROM schema_version").fetchone()
    assert rows[0] == SCHEMA_VERSION


def _stamp_newer(store_path):
    Store(store_path).close()
    conn = sqlite3.connect(store_path, isolation_level=None)
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 7,))
    conn.close()


def test_database_from_a_newer_balanz_is_refused_and_left_untouched(store_path):
    _stamp_newer(store_path)
    before = store_path.read_bytes()
    with pytest.raises(StoreVersionError) as exc:
        Store(store_path)
    message = str(exc.value)
    assert str(store_path) in message
    assert f"schema version {SCHEMA_VERSION + 7}" in message
    assert f"up to {SCHEMA_VERSION}" in message
    assert "Upgrade balanz" in message
    assert store_path.read_bytes() == before


def test_read_only_reader_also_refuses_a_newer_database(store_path):
    _stamp_newer(store_path)
    with pytest.raises(StoreVersionError):
        open_read_only(store_path)


def test_failed_migration_rolls_back(store_path, monkeypatch):
    store_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(store_path, isolation_level=None)
    migrate(conn, store_path, target=1)
    broken = (
        *MIGRATIONS[:1],
        (2, "CREATE TABLE lc_auth_cache (x TEXT); CREATE TABLE lc_auth_cache (y TEXT)"),
    )
    monkeypatch.setattr("balanz.store.migrations.MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, store_path, target=2)
    assert current_version(conn) == 1
    assert "lc_auth_cache" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
