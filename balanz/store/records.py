"""Runtime records the store keeps besides sessions and live transactions (whose types live in
`balanz.sessions`): connector allocation state, priority overrides, autoregistered chargers,
credentials, probed capabilities, audit events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from balanz.store.timefmt import format_utc


def _frozen_mapping(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class ConnectorState:
    """A connector's allocation state that a restart must resume from (allocation.md R23).

    `acknowledged_a`: the last offer the charger accepted (None = never confirmed); `exposure_a`: what it
    may draw, unresolved sends counted at their max. `allocator` holds the allocator's own per-connector
    values (EV cap, suspend-until, last change, …) as JSON-serialisable data the store need not understand;
    the live transaction itself is `balanz.sessions.LiveTransaction`.
    """

    charger_id: str
    connector_id: int
    acknowledged_a: float | None
    exposure_a: float
    updated_at: datetime
    allocator: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allocator", _frozen_mapping(self.allocator))


@dataclass(frozen=True)
class GroupLimitOverride:
    """An operator's temporary group limit (``set-group-limit``); ``until`` None: until cleared."""

    group_id: str
    limit_a: float
    set_at: datetime
    until: datetime | None = None
    set_by: str = ""


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
