"""The monitor's picture of a running site: one immutable snapshot, shipped over the control socket.

Everything a person watching the site needs is here as plain values, so that the monitor never has to know
the allocator's internals: per group the limit in force, what is offered and drawn per phase, the schedule
slot and the next change; per connector the offer chain (target → acknowledged → exposure), usage, the
session and why the allocation last changed.

Compatibility rules (protocol version 1): every field but the ids has a default, readers ignore unknown
fields (``codec``), and new fields are only ever added with a default. Timestamps are ISO-8601 strings in
UTC as the daemon wrote them; the monitor computes "in 5 min" against ``Snapshot.at``, never against its own
clock, so a recorded snapshot renders the same tomorrow. Phase values are tuples of 1 or 3 amperes, L1
first. Groups, chargers and connectors are kept sorted by id: two snapshots of the same site compare equal
exactly when they say the same thing, which ``delta`` relies on.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

from balanz.control.codec import from_json, to_json

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 1

Phases = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Quota:
    """One priority threshold of the slot in force and how much of it is in use (allocation.md R7)."""

    threshold: int
    amps: float
    used_a: float = 0.0


@dataclass(frozen=True, slots=True)
class Slot:
    """A schedule slot: ``label`` as written (``Mon-Fri 06:00-16:59``), its quotas, its limit."""

    label: str = ""
    limit_a: float = 0.0
    quotas: tuple[Quota, ...] = ()


@dataclass(frozen=True, slots=True)
class SlotChange:
    """The next schedule boundary of a group: when, and what applies from then on."""

    at: str
    slot: Slot = field(default_factory=Slot)


@dataclass(frozen=True, slots=True)
class LimitOverride:
    """An operator's temporary group limit (``set-group-limit``), in force until ``until``."""

    limit_a: float
    until: str = ""
    set_by: str = ""


@dataclass(frozen=True, slots=True)
class External:
    """An outside controller's limit on a group (``set-external-limit``): ``limit_a`` until ``until``; once
    stale (or before the first one) the group is held at ``fallback_a`` instead."""

    fallback_a: float
    limit_a: float | None = None
    until: str = ""
    stale: bool = True


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    description: str = ""
    parent: str | None = None
    allocation: bool = False
    limit_a: float | None = None
    offered_a: Phases = ()
    exposure_a: Phases = ()
    used_a: Phases = ()
    slot: Slot | None = None
    next_change: SlotChange | None = None
    override: LimitOverride | None = None
    suspended: bool = False
    recovery_excess_a: float | None = None
    lookahead: bool = False
    warnings: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    external: External | None = None


@dataclass(frozen=True, slots=True)
class Session:
    transaction_id: int | None = None
    id_tag: str = ""
    user: str = ""
    started_at: str = ""
    energy_wh: float = 0.0
    priority_override: int | None = None


@dataclass(frozen=True, slots=True)
class Meter:
    """The connector's last reduced MeterValues sample (csms/meter_values.py)."""

    at: str = ""
    energy_wh: float | None = None
    power_w: float | None = None
    current_a: Phases = ()
    voltage_v: Phases = ()
    offered_a: float | None = None
    soc_percent: float | None = None


@dataclass(frozen=True, slots=True)
class Connector:
    id: int
    status: str = "Unavailable"
    error_code: str = ""
    priority: int | None = None
    priority_source: str = ""
    target_a: float | None = None
    want_a: float | None = None
    sent_a: float | None = None
    offer_a: float | None = None
    exposure_a: float | None = None
    in_flight_a: float | None = None
    pinned: str = ""
    usage_a: Phases = ()
    ev_cap_a: float | None = None
    suspended: bool = False
    suspended_until: str | None = None
    suspend_reason: str = ""
    last_change: str = ""
    last_change_at: str = ""
    session: Session | None = None
    meter: Meter | None = None
    offer_history: tuple[float, ...] = ()
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Frame:
    """One OCPP frame as the monitor shows it: ``in`` (from the charger) or ``out``, abridged."""

    at: str
    direction: str
    action: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Charger:
    id: str
    alias: str = ""
    group: str = ""
    description: str = ""
    connected: bool = False
    vendor: str = ""
    model: str = ""
    firmware: str = ""
    serial: str = ""
    boot_at: str | None = None
    last_seen: str | None = None
    priority: int | None = None
    profile_strategy: str = ""
    auth_state: str = ""
    clock_offset_s: float | None = None
    upstream: str = ""
    outbox: int = 0
    connectors: tuple[Connector, ...] = ()
    last_frames: tuple[Frame, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "connectors", _sorted_unique(self.connectors, f"charger {self.id}"))

    @property
    def name(self) -> str:
        return self.alias or self.id


@dataclass(frozen=True, slots=True)
class Upstream:
    """LC mode: the upstream CSMS legs (one per charger) and what waits to be replayed to it."""

    url: str = ""
    legs_up: int = 0
    legs_down: int = 0
    outbox: int = 0


@dataclass(frozen=True, slots=True)
class Site:
    name: str = ""
    mode: str = "csms"
    smart_charging: bool = True
    version: str = ""
    started_at: str = ""
    timezone: str = ""
    upstream: Upstream | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    protocol: int = PROTOCOL_VERSION
    at: str = ""
    site: Site = field(default_factory=Site)
    groups: tuple[Group, ...] = ()
    chargers: tuple[Charger, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", _sorted_unique(self.groups, "snapshot groups"))
        object.__setattr__(self, "chargers", _sorted_unique(self.chargers, "snapshot chargers"))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_json(self)
        return data

    @classmethod
    def from_json(cls, data: Any) -> Snapshot:
        return from_json(cls, data)

    def group(self, group_id: str) -> Group | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def charger(self, charger_id: str) -> Charger | None:
        return next((c for c in self.chargers if c.id == charger_id), None)


def _sorted_unique(items: tuple[Any, ...], where: str) -> tuple[Any, ...]:
    ordered = tuple(sorted(items, key=lambda item: item.id))
    for before, after in itertools.pairwise(ordered):
        if before.id == after.id:
            raise ValueError(f"{where}: id {after.id!r} appears twice")
    return ordered


def connector_map(chargers: tuple[Charger, ...]) -> dict[tuple[str, int], tuple[Charger, Connector]]:
    """Every connector of the site by (charger id, connector id): the monitor's row keys."""
    return {(ch.id, co.id): (ch, co) for ch in chargers for co in ch.connectors}
