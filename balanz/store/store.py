"""`Store`: balanz's runtime state in one SQLite file (model.md §10).

The API is flat (`store.complete_session(...)`, `store.next_transaction_id(...)`) and grouped by topic in
mixin modules; every method is a short synchronous call made inline from trio (see `balanz.store.db` for
why not in a thread). Writes that must be durable commit with synchronous=FULL before returning; any
failure raises `StoreUnavailable` with nothing written.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from balanz.sessions import LiveTransaction
from balanz.store.audit_log import AuditLog
from balanz.store.charger_state import ChargerState
from balanz.store.db import Database, unavailable
from balanz.store.lc_state import LcState
from balanz.store.live_state import LiveState
from balanz.store.records import ConnectorState, PriorityOverride, RuntimeCharger
from balanz.store.session_log import SessionLog
from balanz.store.tag_state import TagState
from balanz.store.tags import RuntimeTag

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimeState:
    """Everything a restarted daemon resumes from (allocation.md R23 step 1), read in one call."""

    live_transactions: tuple[LiveTransaction, ...]
    connector_states: Mapping[tuple[str, int], ConnectorState]
    priority_overrides: Mapping[tuple[str, int], PriorityOverride]
    suspended_groups: Mapping[str, datetime]
    runtime_chargers: tuple[RuntimeCharger, ...]
    runtime_tags: tuple[RuntimeTag, ...]


class Store(SessionLog, LiveState, ChargerState, TagState, AuditLog, LcState):
    """Open (creating the file and its directory, migrating the schema) with `Store(path)`; close it at
    shutdown, or use it as a context manager."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 200) -> None:
        self._db = Database(path, busy_timeout_ms=busy_timeout_ms)
        log.info("store %s open (schema version %d)", self._db.path, self._db.schema_version)

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def schema_version(self) -> int:
        return self._db.schema_version

    @property
    def database(self) -> Database:
        """The underlying connection wrapper (backups, diagnostics, fault-injection tests)."""
        return self._db

    def load_runtime_state(self) -> RuntimeState:
        return RuntimeState(
            live_transactions=tuple(self.live_transactions()),
            connector_states=self.connector_states(),
            priority_overrides=self.priority_overrides(),
            suspended_groups=self.suspended_groups(),
            runtime_chargers=tuple(self.runtime_chargers()),
            runtime_tags=tuple(self.runtime_tags()),
        )

    def stats(self) -> dict[str, int]:
        """Row counts and file size for the monitor's `status` (store health at a glance)."""
        counts = {
            table: int(self._db.read(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])
            for table in (
                "sessions",
                "live_transactions",
                "audit",
                "lc_outbox",
                "runtime_tags",
                "runtime_chargers",
            )
        }
        files = [self._db.path, self._db.path.with_name(self._db.path.name + "-wal")]
        counts["size_bytes"] = sum(f.stat().st_size for f in files if f.exists())
        counts["schema_version"] = self._db.schema_version
        return counts

    def backup(self, destination: Path | str) -> None:
        """A consistent copy of the live database (SQLite online backup), safe while writing continues."""
        backup_to(self._db.connection, self._db.path, Path(destination))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def backup_to(source: sqlite3.Connection, source_path: Path, destination: Path) -> None:
    """Copy through a temporary file renamed at the end, so a half-written backup never has the final
    name. The copy is switched out of WAL so it is one self-contained file."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise unavailable(source_path, exc) from exc
    partial.replace(destination)
