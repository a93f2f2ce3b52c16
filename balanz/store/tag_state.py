"""Store mixin: runtime tags and overrides (merged with the TOML's by `balanz.store.tags.tag_view`)."""

from __future__ import annotations

from balanz.config.schema import TagConfig
from balanz.store.db import Database, upsert
from balanz.store.tags import RuntimeTag, TagChange
from balanz.store.timefmt import format_optional, format_utc, parse_optional, parse_utc


class TagState:
    _db: Database

    def runtime_tags(self) -> list[RuntimeTag]:
        rows = self._db.read("SELECT * FROM runtime_tags ORDER BY id_tag")
        return [
            RuntimeTag(
                TagConfig(
                    id=r["id_tag"],
                    user=r["user_name"],
                    parent=r["parent_id_tag"],
                    status=r["status"],
                    priority=r["priority"],
                    expires=parse_optional(r["expires"]),
                    description=r["description"],
                ),
                updated_at=parse_utc(r["updated_at"]),
                deleted=bool(r["deleted"]),
            )
            for r in rows
        ]

    def apply_tag_change(self, change: TagChange) -> None:
        """Write what a `tag_*` function decided (upsert an entry, or drop one)."""
        with self._db.write() as conn:
            if change.drop is not None:
                conn.execute("DELETE FROM runtime_tags WHERE id_tag = ?", (change.drop,))
            if change.upsert is not None:
                tag = change.upsert.tag
                upsert(
                    conn,
                    "runtime_tags",
                    ("id_tag",),
                    {
                        "id_tag": tag.id,
                        "user_name": tag.user,
                        "parent_id_tag": tag.parent,
                        "status": tag.status,
                        "priority": tag.priority,
                        "expires": format_optional(tag.expires),
                        "description": tag.description,
                        "deleted": int(change.upsert.deleted),
                        "updated_at": format_utc(change.upsert.updated_at),
                    },
                )
