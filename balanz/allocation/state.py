"""The live state the allocator decides from: per connector, per charger, per group.

All frozen: an event produces a new ``State`` (see ``events.py``) that shares every unchanged part with
the old one, so the shell can keep the previous state for the monitor and the planner can tell which
connectors changed by identity. ``State.changed`` collects the keys touched since the last plan, which
is what lets an incremental plan skip the rest of the site.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from balanz.allocation.model import Key

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE"})


@dataclass(frozen=True, slots=True)
class Sample:
    """One MeterValues sample: ``currents`` per charger phase (L1, L2, L3 of the charger), in amperes."""

    at: datetime
    currents: tuple[float, ...]
    max_a: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_a", max(self.currents) if self.currents else 0.0)


@dataclass(frozen=True, slots=True)
class InFlight:
    """An offer sent and not yet confirmed. ``timed_out``: its answer never came (R19): still counted."""

    value: int
    sent_at: datetime
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class Session:
    """The live transaction on a connector and the allocator's memory of it (reset when it ends, R21)."""

    transaction_id: int | str
    started_at: datetime
    meter_start_wh: float = 0.0
    energy_wh: float = 0.0
    tag_priority: int | None = None
    override_priority: int | None = None
    ev_cap: int | None = None
    ev_cap_at: datetime | None = None
    suspend_until: datetime | None = None
    ev_phase: int | None = None  # the one charger phase a 1-phase EV draws on (R26), once seen


@dataclass(frozen=True, slots=True)
class ConnectorState:
    """``acked`` is the confirmed limit (None = unknown, R17 item 4); ``changed_at`` when it last changed.

    ``settling`` holds ``(old value, until)`` for lowerings still inside ``wait_after_reduce_s`` (R17 item
    3). ``offered_a`` is the latest ``Current.Offered`` the charger reported (R17 item 5), sampled at
    ``offered_at``; ``accepted_at`` is when the charger last accepted an offer. A report sampled before an
    acceptance describes the replaced profile and is dropped; one sampled at or after it still counts
    (the charger may not have applied the new profile yet — counting it is the safe side).
    ``over_a``: the highest current a report showed above the limit in force once the charger had had
    ``wait_after_reduce_s`` to apply it (a ``Current.Offered``, or measured usage beyond the tolerance):
    evidence that the charger does not apply its limits (pitfalls P8). Unlike ``offered_a`` it survives
    later acceptances — those are the charger's word only — until a report shows the limit in force applied
    or the session ends.
    ``suspended_by_operator`` (R22, one connector): its want is 0 until resumed; it belongs to the connector,
    not the session, so it outlives session ends and starts.
    ``priority_hold``: the session priority (override or tag) of a session that just ended, kept until
    the next session starts — otherwise the end of a session would move a still-exposed
    connector into a lower quota band and break invariant Q without any send. It lasts until the next
    session starts (an idle connector at 0 A contributes nothing whatever its priority).
    """

    status: str | None = None
    session: Session | None = None
    acked: int | None = None
    changed_at: datetime | None = None
    in_flight: tuple[InFlight, ...] = ()
    settling: tuple[tuple[int, datetime], ...] = ()
    samples: tuple[Sample, ...] = ()
    offered_a: float | None = None
    priority_hold: int | None = None
    suspended_by_operator: bool = False
    offered_at: datetime | None = None
    accepted_at: datetime | None = None
    over_a: float | None = None

    @property
    def sent_value(self) -> int | None:
        """What the charger was last told: the newest unconfirmed offer, else the confirmed one (R16)."""
        return self.in_flight[-1].value if self.in_flight else self.acked

    @property
    def active(self) -> bool:
        """R2: active statuses, and Preparing while a live transaction exists."""
        return self.status in ACTIVE_STATUSES or (self.status == "Preparing" and self.session is not None)

    @property
    def unresolved(self) -> bool:
        return bool(self.in_flight) and any(f.timed_out for f in self.in_flight)


@dataclass(frozen=True, slots=True)
class ChargerState:
    """Connection facts the allocator needs (R2 pinning, R19, R23, R24).

    ``reasserting``: connected but our profiles not yet re-acknowledged since the connection; its
    connectors stay pinned. ``since``: when ``connected`` last changed. ``floor_a``: the lowest limit the
    charger really holds on each connector (profiles.md §5.4): its idle TxDefault when ``idle_limit_a`` is
    not 0, or the 6 A a charger that refuses 0 A (``zero_unsupported``) is paused and kept idle at. An
    offer below it is installed as ``floor_a``, so exposures never drop below it.
    """

    connected: bool = False
    since: datetime | None = None
    reasserting: bool = False
    uncontrollable: bool = False
    floor_a: int = 0


@dataclass(frozen=True, slots=True)
class ExternalLimit:
    amps: int
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class GroupOverride:
    """An operator's cap on a group's limit; ``until`` None = until cleared."""

    amps: int
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class GroupState:
    suspended: bool = False
    external: ExternalLimit | None = None
    override: GroupOverride | None = None


@dataclass(frozen=True, slots=True)
class State:
    """Everything live. ``started_at`` is when balanz (re)started: the ``first_wait_s`` window (R4)."""

    started_at: datetime
    connectors: dict[Key, ConnectorState] = field(default_factory=dict)
    chargers: dict[str, ChargerState] = field(default_factory=dict)
    groups: dict[str, GroupState] = field(default_factory=dict)
    changed: frozenset[Key] = frozenset()
    changed_all: bool = True

    def connector(self, key: Key) -> ConnectorState:
        return self.connectors.get(key, _NO_CONNECTOR)

    def charger(self, charger_id: str) -> ChargerState:
        return self.chargers.get(charger_id, _NO_CHARGER)

    def group(self, group_id: str) -> GroupState:
        return self.groups.get(group_id, _NO_GROUP)


_NO_CONNECTOR = ConnectorState()
_NO_CHARGER = ChargerState()
_NO_GROUP = GroupState()
