"""The limit a charger applies on each connector, from its profile store, as OCPP 1.6 defines it.

Per connector N at instant t:
1. In each purpose the prevailing profile is the valid one with the highest stackLevel whose schedule is
   running at t; past its duration the next lower level applies (ocpp-1.6-edition2.txt:1217-1219, :3179-3185).
2. The TxDefaultProfiles seen by N are those set on N plus the connector-0 ones at stack levels N does not
   use: connector 0 is a template copied to every connector, and a connector-N profile replaces the copy
   only for N (:1190-1195, errata 3.53).
3. The TxProfile of N's running transaction, when it yields a value, overrides TxDefault (:1199-1202);
   when its schedule is not running the TxDefault value applies (the fall-back of :3179-3185).
4. The result is the minimum with the ChargePointMaxProfile (:1236-1246) and with the connector's hardware
   rating, which is also the limit when no profile applies (:1629-1630, local limits errata 3.27).
Units: an `A` limit is per phase; a `W` limit is the total, turned into amps per phase with the nominal
voltage and the period's numberPhases (default 3), never rescaled to the phases actually used
(:4683-4697, errata 3.34, 3.68). Phases offered = min(supply phases, numberPhases of the deciding periods).

Multi-connector chargers: ChargePointMaxProfile caps all connectors *combined* (:1248-1250). Our reading:
each connector's spec composite is min(Max, own) (what :1243-1246 require of it); on top, the connectors with
a running transaction share the Max current per phase max-min fairly (each gets at most its own limit, the
rest is split evenly), conservatively assuming every connector draws on the same phase lines. A connector
whose share is cut below its profile's minChargingRate is given 0 A instead, highest connector id first,
freeing the current for the others (the use :1273-1275 describes). Idle connectors are offered
min(Max, own): they draw nothing until their transaction starts, when the shares are recomputed.
Relative schedules count from the connector's transaction start; without a transaction, from the instant
asked about (a session starting now); a Relative ChargePointMaxProfile counts from its installation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from balanz.profiles.model import DEFAULT_PHASES, Purpose, RateUnit, SchedulePeriod
from balanz.profiles.schedule import InstalledProfile, change_points, period_at
from balanz.profiles.store import ProfileStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Electrics:
    """The charger's supply: nominal voltage (for W↔A), phases wired, and each connector's rating in A."""

    voltage_v: float = 230.0
    phases: int = 3
    connector_max_a: float = 32.0


@dataclass(frozen=True)
class ConnectorState:
    transaction_id: int | None = None
    transaction_start: datetime | None = None


@dataclass(frozen=True)
class ChargerView:
    """Everything the composite depends on besides the instant."""

    store: ProfileStore
    electrics: Electrics = Electrics()
    connectors: Mapping[int, ConnectorState] = field(default_factory=dict)

    def transaction(self, connector_id: int) -> ConnectorState:
        return self.connectors.get(connector_id, ConnectorState())

    def transactions(self) -> dict[int, int]:
        return {n: c.transaction_id for n, c in self.connectors.items() if c.transaction_id is not None}


@dataclass(frozen=True)
class Limit:
    """Amps per phase the EV may draw on `phases` phases; `limited_by` None means the hardware rating."""

    amps: float
    phases: int
    limited_by: Purpose | None = None


@dataclass(frozen=True)
class _Own:
    limit: Limit
    min_amps: float


def _amps(period: SchedulePeriod, unit: RateUnit, electrics: Electrics) -> tuple[float, int]:
    declared = period.number_phases or DEFAULT_PHASES
    amps = period.limit if unit is RateUnit.A else period.limit / (electrics.voltage_v * declared)
    return amps, min(declared, electrics.phases)


def _prevailing(
    entries: Iterable[InstalledProfile], at: datetime, relative_start: datetime | None
) -> tuple[InstalledProfile, SchedulePeriod] | None:
    """Highest stack level yielding a period; relative_start None anchors Relative at installation."""
    for entry in sorted(entries, key=lambda e: e.profile.stack_level, reverse=True):
        period = period_at(entry, at, relative_start or entry.installed_at)
        if period is not None:
            return entry, period
    return None


def tx_default_profiles(store: ProfileStore, connector_id: int) -> tuple[InstalledProfile, ...]:
    own = store.on_connector(connector_id, Purpose.TX_DEFAULT)
    levels = {e.profile.stack_level for e in own}
    template = tuple(
        e for e in store.on_connector(0, Purpose.TX_DEFAULT) if e.profile.stack_level not in levels
    )
    return own + template


def _session_profiles(view: ChargerView, connector_id: int) -> tuple[InstalledProfile, ...]:
    running = view.transaction(connector_id).transaction_id
    if running is None:
        return ()
    return tuple(e for e in view.store.on_connector(connector_id, Purpose.TX) if e.transaction_id == running)


def _relative_start(
    view: ChargerView, connector_id: int, at: datetime, idle_anchor: datetime | None
) -> datetime:
    state = view.transaction(connector_id)
    if state.transaction_id is not None and state.transaction_start is not None:
        return state.transaction_start
    return idle_anchor or at


def _own(view: ChargerView, connector_id: int, at: datetime, idle_anchor: datetime | None) -> _Own:
    electrics = view.electrics
    hardware = _Own(Limit(electrics.connector_max_a, electrics.phases), 0.0)
    start = _relative_start(view, connector_id, at, idle_anchor)
    found = _prevailing(_session_profiles(view, connector_id), at, start) or _prevailing(
        tx_default_profiles(view.store, connector_id), at, start
    )
    if found is None:
        return hardware
    entry, period = found
    schedule = entry.profile.schedule
    amps, phases = _amps(period, schedule.rate_unit, electrics)
    min_rate = schedule.min_charging_rate or 0.0
    min_amps, _ = _amps(SchedulePeriod(0, min_rate, period.number_phases), schedule.rate_unit, electrics)
    if amps >= electrics.connector_max_a:
        return _Own(Limit(electrics.connector_max_a, phases), min_amps)
    return _Own(Limit(amps, phases, entry.profile.purpose), min_amps)


def _cap(own: Limit, cap: Limit | None) -> Limit:
    if cap is None:
        return own
    phases = min(own.phases, cap.phases)
    if cap.amps < own.amps:
        return Limit(cap.amps, phases, Purpose.CHARGE_POINT_MAX)
    return Limit(own.amps, phases, own.limited_by)


def _fair_shares(capacity: float, demands: Mapping[int, float]) -> dict[int, float]:
    shares: dict[int, float] = {}
    left = capacity
    ordered = sorted(demands.items(), key=lambda item: (item[1], item[0]))
    for index, (connector_id, demand) in enumerate(ordered):
        share = min(demand, left / (len(ordered) - index))
        shares[connector_id] = share
        left -= share
    return shares


def charger_limits(view: ChargerView, at: datetime, idle_anchor: datetime | None = None) -> dict[int, Limit]:
    """The limit on every connector 1..n at `at` (see the module docstring for the rules)."""
    connectors = range(1, view.store.connectors + 1)
    owns = {n: _own(view, n, at, idle_anchor) for n in connectors}
    cap = _max_at(view, at)
    limits = {n: _cap(own.limit, cap) for n, own in owns.items()}
    if cap is None:
        return limits
    sharing = {n for n in connectors if view.transaction(n).transaction_id is not None}
    while sharing:
        shares = _fair_shares(cap.amps, {n: limits[n].amps for n in sharing})
        starved = [n for n in sharing if shares[n] < min(owns[n].min_amps, limits[n].amps)]
        if not starved:
            for n in sharing:
                if shares[n] < limits[n].amps:
                    limits[n] = Limit(shares[n], limits[n].phases, Purpose.CHARGE_POINT_MAX)
            break
        dropped = max(starved)
        limits[dropped] = Limit(0.0, limits[dropped].phases, Purpose.CHARGE_POINT_MAX)
        sharing.discard(dropped)
    return limits


def _max_at(view: ChargerView, at: datetime) -> Limit | None:
    found = _prevailing(view.store.on_connector(0, Purpose.CHARGE_POINT_MAX), at, None)
    if found is None:
        return None
    entry, period = found
    amps, phases = _amps(period, entry.profile.schedule.rate_unit, view.electrics)
    return Limit(amps, phases, Purpose.CHARGE_POINT_MAX)


def limit_at(view: ChargerView, connector_id: int, at: datetime) -> Limit:
    """What connector `connector_id` offers its EV at `at`; connector 0 gives `grid_limit`."""
    if connector_id == 0:
        return grid_limit(view, at)
    limits = charger_limits(view, at)
    if connector_id not in limits:
        raise ValueError(
            f"connector {connector_id} does not exist on this charger (1..{view.store.connectors})"
        )
    return limits[connector_id]


def grid_limit(view: ChargerView, at: datetime, idle_anchor: datetime | None = None) -> Limit:
    """Connector 0: the most the whole charger may draw — the sum over all connectors (idle ones too, an EV
    may arrive any moment) capped by ChargePointMaxProfile (ocpp-1.6-edition2.txt:2761-2762)."""
    limits = charger_limits(view, at, idle_anchor)
    total = Limit(
        sum(limit.amps for limit in limits.values()),
        max((limit.phases for limit in limits.values()), default=view.electrics.phases),
    )
    return _cap(total, _max_at(view, at))


def change_instants(
    view: ChargerView, after: datetime, until: datetime, idle_anchor: datetime | None
) -> list[datetime]:
    """Sorted instants in (after, until] where some connector's limit may change."""
    points: set[datetime] = set()
    for entry in view.store.installed:
        if entry.profile.purpose is Purpose.CHARGE_POINT_MAX:
            points.update(change_points(entry, entry.installed_at, after, until))
            continue
        targets = range(1, view.store.connectors + 1) if entry.connector_id == 0 else [entry.connector_id]
        for n in targets:
            state = view.transaction(n)
            anchor = state.transaction_start if state.transaction_id is not None else None
            points.update(change_points(entry, anchor or idle_anchor, after, until))
    return sorted(points)
