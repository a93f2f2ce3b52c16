"""Store mixin: LC island-mode state (flows.md §3.7) — the upstream Authorize cache, the local → upstream
transaction-id map, and the outbox of buffered charger messages replayed when the upstream leg returns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from balanz.store.db import Database, upsert
from balanz.store.timefmt import format_optional, format_utc, parse_optional, parse_utc


@dataclass(frozen=True)
class AuthCacheEntry:
    id_tag: str
    status: str
    updated_at: datetime
    parent_id_tag: str | None = None
    expiry: datetime | None = None


@dataclass(frozen=True)
class OutboxEntry:
    seq: int
    charger_id: str
    action: str
    payload: Mapping[str, Any]
    category: str
    droppable: bool
    queued_at: datetime = field(compare=False)


class LcState:
    _db: Database

    def cache_authorization(self, entry: AuthCacheEntry) -> None:
        with self._db.write(durable=False) as conn:
            upsert(
                conn,
                "lc_auth_cache",
                ("id_tag",),
                {
                    "id_tag": entry.id_tag.strip().upper(),
                    "status": entry.status,
                    "parent_id_tag": entry.parent_id_tag,
                    "expiry": format_optional(entry.expiry),
                    "updated_at": format_utc(entry.updated_at),
                },
            )

    def cached_authorization(self, id_tag: str) -> AuthCacheEntry | None:
        rows = self._db.read("SELECT * FROM lc_auth_cache WHERE id_tag = ?", (id_tag.strip().upper(),))
        if not rows:
            return None
        r = rows[0]
        return AuthCacheEntry(
            r["id_tag"],
            r["status"],
            parse_utc(r["updated_at"]),
            r["parent_id_tag"],
            parse_optional(r["expiry"]),
        )

    def map_transaction_id(self, charger_id: str, local_id: int, upstream_id: int) -> None:
        """Durable: live frames for the session are rewritten with it from now on."""
        with self._db.write() as conn:
            upsert(
                conn,
                "lc_id_map",
                ("charger_id", "local_id"),
                {"charger_id": charger_id, "local_id": local_id, "upstream_id": upstream_id},
            )

    def upstream_transaction_id(self, charger_id: str, local_id: int) -> int | None:
        rows = self._db.read(
            "SELECT upstream_id FROM lc_id_map WHERE charger_id = ? AND local_id = ?", (charger_id, local_id)
        )
        return int(rows[0]["upstream_id"]) if rows else None

    def local_transaction_id(self, charger_id: str, upstream_id: int) -> int | None:
        """The reverse direction (RemoteStopTransaction from upstream)."""
        rows = self._db.read(
            "SELECT local_id FROM lc_id_map WHERE charger_id = ? AND upstream_id = ?",
            (charger_id, upstream_id),
        )
        return int(rows[0]["local_id"]) if rows else None

    def end_transaction_mapping(self, charger_id: str, local_id: int, now: datetime) -> None:
        with self._db.write(durable=False) as conn:
            conn.execute(
                "UPDATE lc_id_map SET ended_at = ? WHERE charger_id = ? AND local_id = ?",
                (format_utc(now), charger_id, local_id),
            )

    def prune_transaction_mappings(self, ended_before: datetime) -> int:
        """Mappings are kept until 24 h after their session ended."""
        with self._db.write(durable=False) as conn:
            cursor = conn.execute(
                "DELETE FROM lc_id_map WHERE ended_at IS NOT NULL AND ended_at < ?",
                (format_utc(ended_before),),
            )
        return cursor.rowcount

    def append_outbox(
        self,
        charger_id: str,
        action: str,
        payload: Mapping[str, Any],
        *,
        category: str,
        droppable: bool,
        queued_at: datetime,
        limit: int | None = None,
    ) -> int:
        """Buffer a message durably (before the charger gets its local answer). With `limit`, the oldest
        droppable entries of the same category are removed until the category fits (`Sample.Periodic`
        meter values are droppable, `Transaction.Begin/End` never); returns the new entry's seq."""
        with self._db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO lc_outbox (charger_id, action, payload, category, droppable, queued_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    charger_id,
                    action,
                    json.dumps(dict(payload)),
                    category,
                    int(droppable),
                    format_utc(queued_at),
                ),
            )
            seq = int(cursor.lastrowid or 0)
            if limit is not None:
                (count,) = conn.execute(
                    "SELECT COUNT(*) FROM lc_outbox WHERE charger_id = ? AND category = ?",
                    (charger_id, category),
                ).fetchone()
                if count > limit:
                    conn.execute(
                        "DELETE FROM lc_outbox WHERE seq IN (SELECT seq FROM lc_outbox WHERE charger_id = ? "
                        "AND category = ? AND droppable = 1 ORDER BY seq LIMIT ?)",
                        (charger_id, category, count - limit),
                    )
        return seq

    def outbox(self, charger_id: str) -> list[OutboxEntry]:
        """In original order, for replay."""
        rows = self._db.read("SELECT * FROM lc_outbox WHERE charger_id = ? ORDER BY seq", (charger_id,))
        return [
            OutboxEntry(
                r["seq"],
                r["charger_id"],
                r["action"],
                json.loads(r["payload"]),
                r["category"],
                bool(r["droppable"]),
                parse_utc(r["queued_at"]),
            )
            for r in rows
        ]

    def remove_outbox_entry(self, seq: int) -> None:
        """After upstream answered the replayed CALL (or it was given up with an audit event)."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM lc_outbox WHERE seq = ?", (seq,))
