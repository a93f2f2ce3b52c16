"""Store mixin: the audit table (events an operator may need later; the log ring buffer is memory only)."""

from __future__ import annotations

import json
from datetime import datetime

from balanz.store.db import Database
from balanz.store.records import AuditEvent
from balanz.store.timefmt import format_utc, parse_utc


class AuditLog:
    _db: Database

    def add_audit(self, event: AuditEvent) -> int:
        """Returns the event's sequence number."""
        with self._db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO audit (t, kind, charger_id, message, data) VALUES (?, ?, ?, ?, ?)",
                (
                    format_utc(event.t),
                    event.kind,
                    event.charger_id,
                    event.message,
                    json.dumps(dict(event.data)),
                ),
            )
        return int(cursor.lastrowid or 0)

    def audit_events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        charger_id: str | None = None,
        limit: int = 1000,
    ) -> list[AuditEvent]:
        """Oldest first within the window; the newest `limit` events when there are more."""
        clauses: list[str] = []
        params: list[object] = []
        if since is not None:
            clauses.append("t >= ?")
            params.append(format_utc(since))
        if until is not None:
            clauses.append("t < ?")
            params.append(format_utc(until))
        if charger_id is not None:
            clauses.append("charger_id = ?")
            params.append(charger_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.read(
            f"SELECT * FROM (SELECT * FROM audit {where} ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            (*params, int(limit)),
        )
        return [
            AuditEvent(
                t=parse_utc(r["t"]),
                kind=r["kind"],
                message=r["message"],
                charger_id=r["charger_id"],
                data=json.loads(r["data"]),
                seq=r["seq"],
            )
            for r in rows
        ]

    def prune_audit(self, before: datetime) -> int:
        """logging.audit_retention_days."""
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM audit WHERE t < ?", (format_utc(before),))
        return cursor.rowcount
