"""Control-socket commands answered from the store and the log buffer: tags, sessions, logs, runtime
chargers. Pure enough to read at a glance: each takes validated arguments and returns JSON-ready data or
raises ``ProtocolError`` naming the problem."""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from balanz.config.schema import Config, TagConfig
from balanz.control.logbuffer import LogBuffer
from balanz.control.protocol import ErrorCode, ProtocolError, as_json
from balanz.store import SessionFilter, Store, StoreError
from balanz.store.codec import session_to_json
from balanz.store.export import write_csv, write_jsonl
from balanz.store.tags import (
    RuntimeTag,
    TagChange,
    tag_add,
    tag_block,
    tag_delete,
    tag_set,
    tag_unblock,
    tag_view,
)

logger = logging.getLogger(__name__)

_TAG_FIELDS = ("user", "parent", "priority", "expires", "description")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def _tag_json(tag: TagConfig, origin: str) -> dict[str, Any]:
    return {
        "id": tag.id,
        "user": tag.user,
        "parent": tag.parent,
        "status": tag.status,
        "priority": tag.priority,
        "expires": tag.expires.isoformat() if tag.expires else None,
        "description": tag.description,
        "origin": origin,
    }


def list_tags(config: Config, store: Store) -> list[dict[str, Any]]:
    view = tag_view(config.tag, store.runtime_tags())
    return [_tag_json(v.tag, v.origin) for _, v in sorted(view.items())]


def change_tag(config: Config, store: Store, cmd: str, args: dict[str, Any], now: datetime) -> dict[str, Any]:
    """``tag-add|set|block|unblock|delete``: decide with ``balanz.store.tags``, then write the change."""
    merged = tag_view(config.tag, store.runtime_tags())
    fields = {name: args[name] for name in _TAG_FIELDS if args.get(name) is not None}
    if "expires" in fields:
        fields["expires"] = _time(fields["expires"])
    id_tag = args["id_tag"]
    change: TagChange
    try:
        if cmd == "tag-add":
            change = tag_add(merged, RuntimeTag(TagConfig(id=id_tag, **fields), now))
        elif cmd == "tag-set":
            change = tag_set(merged, id_tag, now, **fields)
        elif cmd == "tag-block":
            change = tag_block(merged, id_tag, now)
        elif cmd == "tag-unblock":
            change = tag_unblock(merged, id_tag, now)
        else:
            change = tag_delete(merged, (t.id for t in config.tag), id_tag, now)
        store.apply_tag_change(change)
    except StoreError as exc:
        code = ErrorCode.NO_SUCH_TAG if "no such tag" in str(exc) else ErrorCode.REFUSED
        raise ProtocolError(code, f"{cmd}: {exc}") from None
    view = tag_view(config.tag, store.runtime_tags())
    key = id_tag.strip().upper()
    return _tag_json(view[key].tag, view[key].origin) if key in view else {"id": key, "deleted": True}


def _filter(args: dict[str, Any], limit: int | None) -> SessionFilter:
    return SessionFilter(
        since=_time(args["since"]),
        until=_time(args["until"]),
        id_tag=args["tag"].strip().upper() if args["tag"] else None,
        charger=args["charger"],
        group_id=args["group"],
        limit=limit,
    )


def list_sessions(store: Store, args: dict[str, Any]) -> list[dict[str, Any]]:
    return [session_to_json(r) for r in store.sessions(_filter(args, args["limit"]))]


def export_sessions(store: Store, args: dict[str, Any]) -> str:
    records = store.sessions(_filter(args, None))
    out = io.StringIO()
    (write_csv if args["format"] == "csv" else write_jsonl)(records, out)
    return out.getvalue()


def read_logs(buffer: LogBuffer, store: Store, args: dict[str, Any]) -> list[dict[str, Any]]:
    """Ring-buffer lines and audit rows of the window, merged by time (audit rows as level ``AUDIT``)."""
    lines = [
        as_json(line)
        for line in buffer.select(
            level=args["level"],
            logger_name=args["logger"],
            grep=args["grep"],
            since=args["since"],
            until=args["until"],
            limit=args["limit"],
        )
    ]
    if not args["logger"] or args["logger"] == "audit":
        for event in store.audit_events(
            since=_time(args["since"]), until=_time(args["until"]), limit=args["limit"]
        ):
            text = f"{event.kind} {event.charger_id or ''} {event.message}".replace("  ", " ")
            if args["grep"] and args["grep"].lower() not in text.lower():
                continue
            at = event.t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            lines.append({"at": at, "level": "AUDIT", "logger": "audit", "message": text})
    lines.sort(key=lambda line: line["at"])
    return lines[-args["limit"] :]


def move_runtime_charger(store: Store, charger_id: str, group_id: str) -> None:
    entry = store.runtime_charger(charger_id)
    if entry is None:
        raise ProtocolError(
            ErrorCode.REFUSED,
            f"charger-move: {charger_id} is configured in the TOML; change its group there and reload",
        )
    store.update_runtime_charger(replace(entry, group_id=group_id))


def redacted(data: Any) -> Any:
    """The configuration as JSON with passwords and secrets shown as ``***``."""
    if isinstance(data, dict):
        return {
            k: "***" if any(w in k for w in ("password", "secret")) and v else redacted(v)
            for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [redacted(v) for v in data]
    return data
