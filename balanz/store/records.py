"""Runtime records the store keeps besides sessions: live transactions, connector offers, overrides,
autoregistered chargers, credentials, probed capabilities, audit events.

Frozen dataclasses with explicit JSON codecs: the store persists the live transaction as one JSON document
(its shape grows with the allocator; a column per field would need a migration per field), while the keys
it is looked up by are real columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from balanz.store.sessions_model import FLAGS, HistoryEntry, SessionRecord, build_session
from balanz.store.timefmt import format_optional, format_utc, parse_optional, parse_utc

PRIORITY_SOURCES = ("override", "tag", "charger", "default")


def _frozen_mapping(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class LiveTransaction:
    """An open transaction and the allocator state that must survive a restart (model.md §5.2).

    `extra` holds allocator-owned values the store need not understand (JSON-serialisable); the
    acknowledged offer and exposure live in `ConnectorOffer` because a connector has them without a session.
    """

    charger_id: str
    connector_id: int
    transaction_id: int
    id_tag: str
    start_time: datetime
    received_at: datetime
    meter_start_wh: float | None
    user_name: str = ""
    parent_id_tag: str | None = None
    local_transaction_id: int | None = None
    last_register_wh: float | None = None
    last_usage_a: tuple[float, ...] = ()
    priority: int | None = None
    priority_source: str = "default"
    ev_cap_a: float | None = None
    suspend_until: datetime | None = None
    last_change_at: datetime | None = None
    history: tuple[HistoryEntry, ...] = ()
    flags: frozenset[str] = field(default_factory=frozenset)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.priority_source not in PRIORITY_SOURCES:
            raise ValueError(
                f"priority_source must be one of {PRIORITY_SOURCES}, got {self.priority_source!r}"
            )
        object.__setattr__(self, "extra", _frozen_mapping(self.extra))

    @property
    def session_energy_wh(self) -> float | None:
        if self.last_register_wh is None or self.meter_start_wh is None:
            return None
        return self.last_register_wh - self.meter_start_wh

    def to_session(
        self,
        *,
        end_time: datetime,
        stop_reason: str,
        meter_stop_wh: float | None = None,
        stop_id_tag: str | None = None,
        alias: str | None = None,
        group_id: str | None = None,
        history: Iterable[HistoryEntry] = (),
        flags: Iterable[str] = (),
    ) -> SessionRecord:
        """The session record for this transaction ending now. Without `meter_stop_wh` (Timeout,
        Superseded) the last register seen is the stop value; `history` is appended (e.g. the stop's
        transactionData and the final 0 A entry); alias and group are as at session end."""
        return build_session(
            charger_id=self.charger_id,
            connector_id=self.connector_id,
            transaction_id=self.transaction_id,
            start_time=self.start_time,
            end_time=end_time,
            id_tag=self.id_tag,
            user_name=self.user_name,
            alias=alias,
            group_id=group_id,
            parent_id_tag=self.parent_id_tag,
            stop_id_tag=stop_id_tag,
            meter_start_wh=self.meter_start_wh,
            meter_stop_wh=meter_stop_wh if meter_stop_wh is not None else self.last_register_wh,
            stop_reason=stop_reason,
            priority=self.priority,
            priority_source=self.priority_source,
            history=(*self.history, *history),
            flags={*(self.flags & FLAGS), *flags},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "charger_id": self.charger_id,
            "connector_id": self.connector_id,
            "transaction_id": self.transaction_id,
            "id_tag": self.id_tag,
            "start_time": format_utc(self.start_time),
            "received_at": format_utc(self.received_at),
            "meter_start_wh": self.meter_start_wh,
            "user_name": self.user_name,
            "parent_id_tag": self.parent_id_tag,
            "local_transaction_id": self.local_transaction_id,
            "last_register_wh": self.last_register_wh,
            "last_usage_a": list(self.last_usage_a),
            "priority": self.priority,
            "priority_source": self.priority_source,
            "ev_cap_a": self.ev_cap_a,
            "suspend_until": format_optional(self.suspend_until),
            "last_change_at": format_optional(self.last_change_at),
            "history": [h.to_json() for h in self.history],
            "flags": sorted(self.flags),
            "extra": dict(self.extra),
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> LiveTransaction:
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
            local_transaction_id=data.get("local_transaction_id"),
            last_register_wh=data.get("last_register_wh"),
            last_usage_a=tuple(data.get("last_usage_a", ())),
            priority=data.get("priority"),
            priority_source=data.get("priority_source", "default"),
            ev_cap_a=data.get("ev_cap_a"),
            suspend_until=parse_optional(data.get("suspend_until")),
            last_change_at=parse_optional(data.get("last_change_at")),
            history=tuple(HistoryEntry.from_json(h) for h in data.get("history", ())),
            flags=frozenset(data.get("flags", ())),
            extra=data.get("extra", {}),
        )


@dataclass(frozen=True)
class ConnectorOffer:
    """What a connector was last acknowledged at and what it may draw (the basis of restart rule R23).

    `acknowledged_a` None = never confirmed; `exposure_a` includes unresolved sends counted at their max.
    """

    charger_id: str
    connector_id: int
    acknowledged_a: float | None
    exposure_a: float
    updated_at: datetime


@dataclass(frozen=True)
class PriorityOverride:
    """An operator's per-session priority; cleared when the session on that connector ends."""

    charger_id: str
    connector_id: int
    priority: int
    set_at: datetime
    transaction_id: int | None = None


@dataclass(frozen=True)
class RuntimeCharger:
    """A charger created by auto-registration (model.md §7), not present in the TOML."""

    charger_id: str
    group_id: str
    connectors: int
    registered_at: datetime
    alias: str | None = None
    max_current_a: int | None = None
    priority: int | None = None


@dataclass(frozen=True)
class CredentialState:
    """A charger's HTTP Basic credential: the active hash and the provisioned-but-unconfirmed candidates.

    Hashes are in the form of `balanz.store.credentials`; the key itself is never stored.
    """

    charger_id: str
    active_hash: str | None
    pending_hashes: tuple[str, ...]
    pending_since: datetime | None
    updated_at: datetime

    @property
    def state(self) -> str:
        """ "none", "pending" or "active" (the monitor's auth state)."""
        if self.pending_hashes:
            return "pending"
        return "active" if self.active_hash else "none"


@dataclass(frozen=True)
class ChargerCapabilities:
    """What the capability probe found (profiles.md §4) and the strategy that worked (§6)."""

    charger_id: str
    capabilities: Mapping[str, Any] = field(hash=False)
    vendor: str = ""
    model: str = ""
    firmware_version: str = ""
    probed_at: datetime | None = None
    strategy: str | None = None
    strategy_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "capabilities", _frozen_mapping(self.capabilities))


@dataclass(frozen=True)
class AuditEvent:
    """Something an operator may need to reconstruct later (key provisioning, firmware, security events)."""

    t: datetime
    kind: str
    message: str
    charger_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)
    seq: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _frozen_mapping(self.data))

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "t": format_utc(self.t),
            "kind": self.kind,
            "charger_id": self.charger_id,
            "message": self.message,
            "data": dict(self.data),
        }
