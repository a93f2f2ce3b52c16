"""Store mixin: state of running sessions and connectors that a restarted daemon resumes from (allocation.md
R23) — the transaction-id counters, live transactions, connector allocation state (acknowledged offer,
exposure, allocator values), operator priority overrides and group suspensions."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from balanz.sessions import LiveTransaction
from balanz.store.codec import live_from_json, live_to_json
from balanz.store.db import Database, upsert
from balanz.store.records import ConnectorState, GroupLimitOverride, PriorityOverride
from balanz.store.timefmt import format_utc, parse_utc

log = logging.getLogger(__name__)

MAX_TRANSACTION_ID = 2**31 - 1
CSMS_COUNTER = "csms_transaction_id"
LC_LOCAL_COUNTER = "lc_local_transaction_id"


class LiveState:
    _db: Database

    def _next(self, name: str, start: int) -> int:
        if not 1 <= start <= MAX_TRANSACTION_ID:
            raise ValueError(f"counter {name}: start must be 1 … {MAX_TRANSACTION_ID}, got {start}")
        with self._db.write() as conn:
            row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = start if row is None else max(int(row[0]) + 1, start)
            if value > MAX_TRANSACTION_ID:
                log.warning("counter %s passed %d; restarting at %d", name, MAX_TRANSACTION_ID, start)
                value = start
            upsert(conn, "counters", ("name",), {"name": name, "value": value})
        return value

    def next_transaction_id(self, start: int = 1) -> int:
        """The next CSMS transactionId (31-bit positive), committed durably before it is returned, so it
        is never handed out twice, even across restarts. `start` is `csms.transaction_id_start`; raising it
        in the config moves the counter up, lowering it never moves it back."""
        return self._next(CSMS_COUNTER, start)

    def next_local_transaction_id(self, base: int) -> int:
        """LC island mode's provisional id (counter from `lc.local_transaction_id_base`)."""
        return self._next(LC_LOCAL_COUNTER, base)

    def upsert_live_transaction(self, tx: LiveTransaction, *, durable: bool = True) -> None:
        """Write the connector's open transaction (one per connector). Starts use the default (durable);
        the at-most-once-per-second meter updates may pass `durable=False` (a power cut may then lose the
        last second of them, never the transaction)."""
        with self._db.write(durable=durable) as conn:
            upsert(
                conn,
                "live_transactions",
                ("charger_id", "connector_id"),
                {
                    "charger_id": tx.charger_id,
                    "connector_id": tx.connector_id,
                    "transaction_id": tx.transaction_id,
                    "record": json.dumps(live_to_json(tx)),
                    "updated_at": format_utc(tx.last_seen or tx.received_at),
                },
            )

    def live_transactions(self) -> list[LiveTransaction]:
        """All open transactions, for resuming after a restart."""
        rows = self._db.read("SELECT record FROM live_transactions ORDER BY charger_id, connector_id")
        return [live_from_json(json.loads(row["record"])) for row in rows]

    def live_transaction(self, charger_id: str, connector_id: int) -> LiveTransaction | None:
        rows = self._db.read(
            "SELECT record FROM live_transactions WHERE charger_id = ? AND connector_id = ?",
            (charger_id, connector_id),
        )
        return live_from_json(json.loads(rows[0]["record"])) if rows else None

    def find_live_transaction(self, charger_id: str, transaction_id: int) -> LiveTransaction | None:
        """By transaction id: StopTransaction carries no connector."""
        rows = self._db.read(
            "SELECT record FROM live_transactions WHERE charger_id = ? AND transaction_id = ?",
            (charger_id, transaction_id),
        )
        return live_from_json(json.loads(rows[0]["record"])) if rows else None

    def delete_live_transaction(self, charger_id: str, connector_id: int) -> None:
        """Drop an open transaction without a session record (e.g. a start the charger never confirmed);
        `complete_session` does this itself for finished ones."""
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM live_transactions WHERE charger_id = ? AND connector_id = ?",
                (charger_id, connector_id),
            )

    def save_connector_state(self, state: ConnectorState) -> None:
        """Durable before the allocator relies on it (an acknowledgement is the basis of R23)."""
        with self._db.write() as conn:
            upsert(
                conn,
                "connector_state",
                ("charger_id", "connector_id"),
                {
                    "charger_id": state.charger_id,
                    "connector_id": state.connector_id,
                    "acknowledged_a": state.acknowledged_a,
                    "exposure_a": state.exposure_a,
                    "allocator": json.dumps(dict(state.allocator)),
                    "updated_at": format_utc(state.updated_at),
                },
            )

    def connector_states(self) -> dict[tuple[str, int], ConnectorState]:
        rows = self._db.read("SELECT * FROM connector_state")
        return {
            (r["charger_id"], r["connector_id"]): ConnectorState(
                r["charger_id"],
                r["connector_id"],
                r["acknowledged_a"],
                r["exposure_a"],
                parse_utc(r["updated_at"]),
                json.loads(r["allocator"]),
            )
            for r in rows
        }

    def forget_connector_states(self, charger_id: str) -> None:
        """When a charger leaves the site (runtime charger forgotten, or removed from the TOML)."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM connector_state WHERE charger_id = ?", (charger_id,))

    def set_priority_override(self, override: PriorityOverride) -> None:
        with self._db.write() as conn:
            upsert(
                conn,
                "priority_overrides",
                ("charger_id", "connector_id"),
                {
                    "charger_id": override.charger_id,
                    "connector_id": override.connector_id,
                    "transaction_id": override.transaction_id,
                    "priority": override.priority,
                    "set_at": format_utc(override.set_at),
                },
            )

    def clear_priority_override(self, charger_id: str, connector_id: int) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM priority_overrides WHERE charger_id = ? AND connector_id = ?",
                (charger_id, connector_id),
            )
        return cursor.rowcount > 0

    def priority_overrides(self) -> dict[tuple[str, int], PriorityOverride]:
        rows = self._db.read("SELECT * FROM priority_overrides")
        return {
            (r["charger_id"], r["connector_id"]): PriorityOverride(
                r["charger_id"], r["connector_id"], r["priority"], parse_utc(r["set_at"]), r["transaction_id"]
            )
            for r in rows
        }

    def suspend_group(self, group_id: str, now: datetime) -> None:
        with self._db.write() as conn:
            upsert(
                conn,
                "group_suspensions",
                ("group_id",),
                {"group_id": group_id, "suspended_at": format_utc(now)},
                keep_existing=True,
            )

    def resume_group(self, group_id: str) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM group_suspensions WHERE group_id = ?", (group_id,))
        return cursor.rowcount > 0

    def suspended_groups(self) -> dict[str, datetime]:
        """Group id → when the operator suspended it."""
        rows = self._db.read("SELECT group_id, suspended_at FROM group_suspensions")
        return {r["group_id"]: parse_utc(r["suspended_at"]) for r in rows}

    def release_charger(self, charger_id: str, now: datetime, by: str) -> None:
        with self._db.write() as conn:
            upsert(
                conn,
                "released_chargers",
                ("charger_id",),
                {"charger_id": charger_id, "released_at": format_utc(now), "released_by": by},
                keep_existing=True,
            )

    def unrelease_charger(self, charger_id: str) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM released_chargers WHERE charger_id = ?", (charger_id,))
        return cursor.rowcount > 0

    def released_chargers(self) -> dict[str, datetime]:
        """Charger id → when the operator released balanz's profiles on it (release-profiles)."""
        rows = self._db.read("SELECT charger_id, released_at FROM released_chargers")
        return {r["charger_id"]: parse_utc(r["released_at"]) for r in rows}

    def suspend_connector(self, charger_id: str, connector_id: int, now: datetime) -> None:
        with self._db.write() as conn:
            upsert(
                conn,
                "connector_suspensions",
                ("charger_id", "connector_id"),
                {"charger_id": charger_id, "connector_id": connector_id, "suspended_at": format_utc(now)},
                keep_existing=True,
            )

    def resume_connector(self, charger_id: str, connector_id: int) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM connector_suspensions WHERE charger_id = ? AND connector_id = ?",
                (charger_id, connector_id),
            )
        return cursor.rowcount > 0

    def suspended_connectors(self) -> dict[tuple[str, int], datetime]:
        """(charger id, connector id) → when the operator suspended it."""
        rows = self._db.read("SELECT charger_id, connector_id, suspended_at FROM connector_suspensions")
        return {(r["charger_id"], r["connector_id"]): parse_utc(r["suspended_at"]) for r in rows}

    def set_group_limit(self, limit: GroupLimitOverride) -> None:
        with self._db.write() as conn:
            upsert(
                conn,
                "group_limits",
                ("group_id",),
                {
                    "group_id": limit.group_id,
                    "limit_a": limit.limit_a,
                    "until": format_utc(limit.until) if limit.until is not None else None,
                    "set_by": limit.set_by,
                    "set_at": format_utc(limit.set_at),
                },
            )

    def clear_group_limit(self, group_id: str) -> bool:
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM group_limits WHERE group_id = ?", (group_id,))
        return cursor.rowcount > 0

    def group_limits(self) -> dict[str, GroupLimitOverride]:
        rows = self._db.read("SELECT * FROM group_limits")
        return {
            r["group_id"]: GroupLimitOverride(
                r["group_id"],
                r["limit_a"],
                parse_utc(r["set_at"]),
                parse_utc(r["until"]) if r["until"] is not None else None,
                r["set_by"],
            )
            for r in rows
        }
