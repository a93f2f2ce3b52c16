"""JSON forms of the session types of `balanz.sessions`, for the store's columns and the JSON Lines
export.

The records are defined once, next to the CSMS decisions that build them; the store only persists them.
Times are RFC 3339 UTC with `Z`, with a fraction only when the charger sent one, so a record read back
equals the one written (the idempotence checks compare records).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from balanz.sessions import HistoryEntry, LiveTransaction, SessionRecord
from balanz.store.timefmt import format_optional, format_utc, parse_optional, parse_utc


def history_to_json(history: tuple[HistoryEntry, ...]) -> list[dict[str, Any]]:
    return [{"t": format_utc(h.t), "offered_a": h.offered_a, "usage_a": h.usage_a} for h in history]


def history_from_json(data: list[Mapping[str, Any]]) -> tuple[HistoryEntry, ...]:
    return tuple(HistoryEntry(parse_utc(h["t"]), h.get("offered_a"), h.get("usage_a")) for h in data)


def session_to_json(record: SessionRecord) -> dict[str, Any]:
    """Every field of model.md §5.2; flags sorted."""
    return {
        "session_id": record.session_id,
        "charger_id": record.charger_id,
        "alias": record.alias,
        "group_id": record.group_id,
        "connector_id": record.connector_id,
        "transaction_id": record.transaction_id,
        "id_tag": record.id_tag,
        "user_name": record.user_name,
        "parent_id_tag": record.parent_id_tag,
        "stop_id_tag": record.stop_id_tag,
        "start_time": format_utc(record.start_time),
        "end_time": format_utc(record.end_time),
        "duration_s": record.duration_s,
        "meter_start_wh": record.meter_start_wh,
        "meter_stop_wh": record.meter_stop_wh,
        "energy_wh": record.energy_wh,
        "stop_reason": record.stop_reason,
        "priority": record.priority,
        "priority_source": record.priority_source,
        "max_offer_a": record.max_offer_a,
        "max_usage_a": record.max_usage_a,
        "mean_usage_a": record.mean_usage_a,
        "history": history_to_json(record.history),
        "flags": sorted(record.flags),
    }


def session_from_json(data: Mapping[str, Any]) -> SessionRecord:
    return SessionRecord(
        session_id=data["session_id"],
        charger_id=data["charger_id"],
        connector_id=data["connector_id"],
        transaction_id=data["transaction_id"],
        id_tag=data["id_tag"],
        user_name=data["user_name"],
        parent_id_tag=data.get("parent_id_tag"),
        stop_id_tag=data.get("stop_id_tag"),
        start_time=parse_utc(data["start_time"]),
        end_time=parse_utc(data["end_time"]),
        duration_s=data["duration_s"],
        meter_start_wh=data.get("meter_start_wh"),
        meter_stop_wh=data.get("meter_stop_wh"),
        energy_wh=data.get("energy_wh"),
        stop_reason=data["stop_reason"],
        priority=data.get("priority"),
        priority_source=data["priority_source"],
        max_offer_a=data.get("max_offer_a"),
        mean_usage_a=data.get("mean_usage_a"),
        max_usage_a=data.get("max_usage_a"),
        history=history_from_json(data.get("history", [])),
        flags=frozenset(data.get("flags", ())),
        alias=data.get("alias"),
        group_id=data.get("group_id"),
    )


def live_to_json(tx: LiveTransaction) -> dict[str, Any]:
    return {
        "charger_id": tx.charger_id,
        "connector_id": tx.connector_id,
        "transaction_id": tx.transaction_id,
        "id_tag": tx.id_tag,
        "start_time": format_utc(tx.start_time),
        "received_at": format_utc(tx.received_at),
        "meter_start_wh": tx.meter_start_wh,
        "user_name": tx.user_name,
        "parent_id_tag": tx.parent_id_tag,
        "priority": tx.priority,
        "priority_source": tx.priority_source,
        "last_register_wh": tx.last_register_wh,
        "last_seen": format_optional(tx.last_seen),
        "end_register_wh": tx.end_register_wh,
        "history": history_to_json(tx.history),
        "flags": sorted(tx.flags),
    }


def live_from_json(data: Mapping[str, Any]) -> LiveTransaction:
    return LiveTransaction(
        charger_id=data["charger_id"],
        connector_id=data["connector_id"],
        transaction_id=data["transaction_id"],
        id_tag=data["id_tag"],
        start_time=parse_utc(data["start_time"]),
        received_at=parse_utc(data["received_at"]),
        meter_start_wh=data.get("meter_start_wh"),
        user_name=data.get("user_name", ""),
        parent_id_tag=data.get("parent_id_tag"),
        priority=data.get("priority"),
        priority_source=data.get("priority_source", "default"),
        last_register_wh=data.get("last_register_wh"),
        last_seen=parse_optional(data.get("last_seen")),
        end_register_wh=data.get("end_register_wh"),
        history=history_from_json(data.get("history", [])),
        flags=frozenset(data.get("flags", ())),
    )
