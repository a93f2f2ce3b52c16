"""The SQLite connection: opening, pragmas, write transactions, and turning SQLite failures into
`StoreUnavailable`.

Calls are synchronous and made inline from trio tasks. A write is a few milliseconds (one WAL append and,
when durable, one fsync), which is cheaper than a thread hop, and — the deciding reason — threads
(`trio.to_thread`) let the test suite's virtual clock (autojump) run ahead while the thread works, so
time-based tests would see timeouts that never happen in reality (spec stack.md, pitfall 3). The price is
that a slow disk stalls the event loop for the duration of one commit; `busy_timeout_ms` bounds the wait for
a lock held by another process, after which the caller gets `StoreUnavailable` and retries with
`RetryPolicy` via `trio.sleep`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from balanz.store.errors import StoreUnavailable
from balanz.store.migrations import check_version, migrate

log = logging.getLogger(__name__)

_REASONS = {
    "SQLITE_BUSY": "locked",
    "SQLITE_LOCKED": "locked",
    "SQLITE_FULL": "full",
    "SQLITE_READONLY": "read-only",
    "SQLITE_CANTOPEN": "cannot-open",
    "SQLITE_CORRUPT": "corrupt",
    "SQLITE_NOTADB": "corrupt",
}


def unavailable(path: Path | str, error: sqlite3.Error) -> StoreUnavailable:
    """Classify an SQLite error by its result code (Python ≥ 3.11 exposes `sqlite_errorname`)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    base = "_".join(name.split("_")[:2])  # extended codes: SQLITE_BUSY_SNAPSHOT -> SQLITE_BUSY
    reason = _REASONS.get(base) or ("io" if base == "SQLITE_IOERR" else "error")
    return StoreUnavailable(path, reason, str(error))


class Database:
    """One read-write connection in autocommit mode; writes go through `write()` (BEGIN IMMEDIATE …
    COMMIT), so a transaction never spans an `await`."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 200) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(self.path, "cannot-open", f"cannot create directory: {exc}") from exc
        try:
            self.connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        except sqlite3.Error as exc:
            raise unavailable(self.path, exc) from exc
        try:
            self.connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self.connection.execute("PRAGMA journal_mode = WAL")
            self.connection.execute("PRAGMA foreign_keys = ON")
            self._synchronous = ""
            self._set_synchronous("FULL")
            self.schema_version = migrate(self.connection, self.path)
        except sqlite3.Error as exc:
            self.connection.close()
            raise unavailable(self.path, exc) from exc
        except BaseException:
            self.connection.close()
            raise

    def _set_synchronous(self, level: str) -> None:
        if self._synchronous != level:
            self.connection.execute(f"PRAGMA synchronous = {level}")
            self._synchronous = level

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction. `durable=True` commits with synchronous=FULL (fsync of the WAL before
        returning); `False` (NORMAL) may lose the last commits on power loss, never consistency — for
        frequent state that is re-derived anyway. Any SQLite failure rolls back and raises
        `StoreUnavailable`: nothing of the transaction was kept."""
        conn = self.connection
        try:
            self._set_synchronous("FULL" if durable else "NORMAL")
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise unavailable(self.path, exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise unavailable(self.path, exc) from exc
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self.connection.in_transaction:
            try:
                self.connection.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("store %s: rollback failed", self.path)

    def read(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        try:
            cursor = self.connection.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()
        except sqlite3.Error as exc:
            raise unavailable(self.path, exc) from exc

    def close(self) -> None:
        self.connection.close()


def open_read_only(path: Path | str, *, busy_timeout_ms: int = 2000) -> sqlite3.Connection:
    """A second connection that never writes, for `balanz sessions` while the daemon runs (WAL lets it read
    a consistent snapshot without blocking the daemon's writes)."""
    file = Path(path)
    if not file.exists():
        raise StoreUnavailable(file, "missing", "no such file (has balanz run with this store.path?)")
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise unavailable(file, exc) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        check_version(conn, file)
    except sqlite3.Error as exc:
        conn.close()
        raise unavailable(file, exc) from exc
    except BaseException:
        conn.close()
        raise
    conn.row_factory = sqlite3.Row
    return conn


def upsert(
    conn: sqlite3.Connection,
    table: str,
    keys: tuple[str, ...],
    row: Mapping[str, object],
    *,
    keep_existing: bool = False,
) -> None:
    """INSERT, or on a key conflict update the non-key columns given (or leave the row, `keep_existing`).
    Table and column names come from our code, never from input."""
    columns = list(row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    action = "NOTHING" if keep_existing or not updates else f"UPDATE SET {updates}"
    conn.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO {action}",
        tuple(row.values()),
    )
