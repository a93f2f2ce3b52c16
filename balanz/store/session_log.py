"""Completed sessions: the append-only table, idempotent completion, amendment of sessions closed by
timeout, and the filtered query shared by the daemon and `balanz sessions` (which reads through its own
read-only connection). The record type is `balanz.sessions.SessionRecord`."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from balanz.sessions import SessionRecord, amend_record
from balanz.store.codec import session_from_json, session_to_json
from balanz.store.db import Database, unavailable
from balanz.store.timefmt import format_utc

log = logging.getLogger(__name__)

SYNTHESIZED = "synthesized"
TIMEOUT_STOP = "timeout_stop"
AMENDED = "amended"

RECORDED = "recorded"
DUPLICATE = "duplicate"
AMENDED_OUTCOME = "amended"

_COLUMNS = (
    "session_id, charger_id, alias, group_id, connector_id, transaction_id, id_tag, user_name, "
    "parent_id_tag, stop_id_tag, start_time, end_time, duration_s, meter_start_wh, meter_stop_wh, "
    "energy_wh, stop_reason, priority, priority_source, max_offer_a, max_usage_a, mean_usage_a, "
    "history, flags"
)
_TIME_KEY = "start_time"


@dataclass(frozen=True)
class Completion:
    """What `complete_session` did: `recorded` a new record, found a `duplicate` (the same stop again), or
    `amended` a stored session (a planned amendment, or a real stop after a timeout close). `record` is
    what is stored now."""

    outcome: str
    record: SessionRecord


@dataclass(frozen=True)
class SessionFilter:
    """Sessions whose start lies in [since, until); the other fields must match;
    `limit` keeps the most recent ones."""

    since: datetime | None = None
    until: datetime | None = None
    id_tag: str | None = None
    charger: str | None = None
    group_id: str | None = None
    limit: int | None = None


_NAMES = tuple(name.strip() for name in _COLUMNS.split(","))


def _row_to_record(row: sqlite3.Row) -> SessionRecord:
    """Columns carry the JSON form's names and values, except history (JSON text) and flags (a,b)."""
    data = {name: row[name] for name in _NAMES}
    data["history"] = json.loads(data["history"])
    data["flags"] = [flag for flag in data["flags"].split(",") if flag]
    return session_from_json(data)


def _record_params(record: SessionRecord) -> tuple[object, ...]:
    data = session_to_json(record)
    data["history"] = json.dumps(data["history"])
    data["flags"] = ",".join(data["flags"])
    return tuple(data[name] for name in _NAMES)


def _select(conn: sqlite3.Connection, where: str, params: tuple[object, ...]) -> list[SessionRecord]:
    cursor = conn.execute(f"SELECT {_COLUMNS} FROM sessions {where}", params)
    cursor.row_factory = sqlite3.Row
    return [_row_to_record(row) for row in cursor.fetchall()]


def iter_sessions(conn: sqlite3.Connection, flt: SessionFilter) -> Iterator[SessionRecord]:
    """Oldest first, streamed (an export of years of sessions never sits in memory at once). `charger`
    matches the id or the alias, `id_tag` the (normalised) start tag; `limit` keeps the most recent."""
    clauses: list[str] = []
    params: list[object] = []
    if flt.since is not None:
        clauses.append(f"{_TIME_KEY} >= ?")
        params.append(format_utc(flt.since))
    if flt.until is not None:
        clauses.append(f"{_TIME_KEY} < ?")
        params.append(format_utc(flt.until))
    if flt.id_tag is not None:
        clauses.append("id_tag = ?")
        params.append(flt.id_tag.strip().upper())
    if flt.charger is not None:
        clauses.append("(charger_id = ? OR alias = ?)")
        params.extend((flt.charger, flt.charger))
    if flt.group_id is not None:
        clauses.append("group_id = ?")
        params.append(flt.group_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    if flt.limit is None:
        sql = f"SELECT {_COLUMNS} FROM sessions {where} ORDER BY {_TIME_KEY}, seq"
    else:
        sql = (
            f"SELECT {_COLUMNS} FROM (SELECT * FROM sessions {where} ORDER BY {_TIME_KEY} DESC, seq DESC "
            f"LIMIT {int(flt.limit)}) ORDER BY {_TIME_KEY}, seq"
        )
    cursor = conn.execute(sql, tuple(params))
    cursor.row_factory = sqlite3.Row
    for row in cursor:
        yield _row_to_record(row)


def query_sessions(conn: sqlite3.Connection, flt: SessionFilter) -> list[SessionRecord]:
    return list(iter_sessions(conn, flt))


def _latest_for_transaction(
    conn: sqlite3.Connection, charger_id: str, transaction_id: int
) -> SessionRecord | None:
    found = _select(
        conn,
        "WHERE charger_id = ? AND transaction_id = ? ORDER BY seq DESC LIMIT 1",
        (charger_id, transaction_id),
    )
    return found[0] if found else None


class SessionLog:
    """Store mixin: completed sessions."""

    _db: Database

    def complete_session(self, record: SessionRecord) -> Completion:
        """Record a finished session durably; when this returns, the stop may be acknowledged.

        In the same transaction the connector's live transaction (if it is this one) and its priority
        override are removed, so a crash leaves either the open transaction or the completed record, never
        both or neither. Idempotent and safe to call with whatever `balanz.csms.transactions` planned:
        - a record whose id is stored already: `duplicate` (the first one stays), unless the new one is an
          amendment (flag `amended`, e.g. a StopPlan of kind "amend"), which replaces it;
        - a real stop for a session stored as closed by timeout is turned into an amendment here too;
        - a synthesized (orphan) record for a transaction id whose latest session ended at the same time
          with the same meter stop is a `duplicate` (a repeated Stop after balanz lost track of it).
        Raises `StoreUnavailable` with nothing written.
        """
        with self._db.write() as conn:
            completion = self._complete(conn, record)
            final = completion.record
            conn.execute(
                "DELETE FROM live_transactions "
                "WHERE charger_id = ? AND connector_id = ? AND transaction_id = ?",
                (final.charger_id, final.connector_id, final.transaction_id),
            )
            conn.execute(
                "DELETE FROM priority_overrides WHERE charger_id = ? AND connector_id = ? "
                "AND (transaction_id IS NULL OR transaction_id = ?)",
                (final.charger_id, final.connector_id, final.transaction_id),
            )
        if completion.outcome != RECORDED:
            log.info("session %s: %s", final.session_id, completion.outcome)
        return completion

    def _complete(self, conn: sqlite3.Connection, record: SessionRecord) -> Completion:
        same = _select(conn, "WHERE session_id = ?", (record.session_id,))
        if same:
            return self._against(conn, same[0], record)
        if SYNTHESIZED in record.flags:
            earlier = _latest_for_transaction(conn, record.charger_id, record.transaction_id)
            if earlier is not None and TIMEOUT_STOP in earlier.flags and TIMEOUT_STOP not in record.flags:
                return self._against(conn, earlier, record)
            if earlier is not None and (earlier.end_time, earlier.meter_stop_wh) == (
                record.end_time,
                record.meter_stop_wh,
            ):
                return Completion(DUPLICATE, earlier)
        conn.execute(
            f"INSERT INTO sessions ({_COLUMNS}) VALUES ({', '.join('?' * len(_NAMES))})",
            _record_params(record),
        )
        return Completion(RECORDED, record)

    def _against(self, conn: sqlite3.Connection, stored: SessionRecord, new: SessionRecord) -> Completion:
        """`new` concerns the already stored session `stored`."""
        if AMENDED in new.flags and new.session_id == stored.session_id:
            amended = new
        elif TIMEOUT_STOP in stored.flags and TIMEOUT_STOP not in new.flags:
            amended = amend_record(
                stored,
                end_time=new.end_time,
                meter_stop_wh=new.meter_stop_wh,
                reason=new.stop_reason,
                stop_id_tag=new.stop_id_tag,
            )
        else:
            return Completion(DUPLICATE, stored)
        if amended == stored:
            return Completion(DUPLICATE, stored)
        self._overwrite(conn, amended)
        return Completion(AMENDED_OUTCOME, amended)

    @staticmethod
    def _overwrite(conn: sqlite3.Connection, record: SessionRecord) -> None:
        assignments = ", ".join(f"{name} = ?" for name in _NAMES[1:])
        params = _record_params(record)
        conn.execute(f"UPDATE sessions SET {assignments} WHERE session_id = ?", (*params[1:], params[0]))

    def closed_sessions(self, charger_id: str, *, since: datetime) -> dict[int, SessionRecord]:
        """This charger's sessions that ended at or after `since`, latest per transaction id: the `closed`
        mapping `balanz.csms.transactions.decide_stop`/`decide_meter_values` take."""
        try:
            found = _select(
                self._db.connection,
                "WHERE charger_id = ? AND end_time >= ? ORDER BY seq",
                (charger_id, format_utc(since)),
            )
        except sqlite3.Error as exc:
            raise unavailable(self._db.path, exc) from exc
        return {record.transaction_id: record for record in found}

    def sessions(self, flt: SessionFilter | None = None) -> list[SessionRecord]:
        try:
            return query_sessions(self._db.connection, flt or SessionFilter())
        except sqlite3.Error as exc:
            raise unavailable(self._db.path, exc) from exc

    def session(self, session_id: str) -> SessionRecord | None:
        try:
            found = _select(self._db.connection, "WHERE session_id = ?", (session_id,))
        except sqlite3.Error as exc:
            raise unavailable(self._db.path, exc) from exc
        return found[0] if found else None

    def latest_session(self, charger_id: str, transaction_id: int) -> SessionRecord | None:
        """The most recent session with this transaction id on this charger (ids may repeat over years)."""
        try:
            return _latest_for_transaction(self._db.connection, charger_id, transaction_id)
        except sqlite3.Error as exc:
            raise unavailable(self._db.path, exc) from exc

    def prune_sessions(self, before: datetime) -> int:
        """history.session_retention_days: delete sessions that ended before `before`; returns how many."""
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM sessions WHERE end_time < ?", (format_utc(before),))
        return cursor.rowcount
