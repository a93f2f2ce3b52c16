"""What a scenario's timeline resolves to, and the folding of car events into visits.

What a car does while plugged in (leaving, pausing, resuming, being full) is a property of its visit, so
those events are folded into the arrival's ``EvSpec`` (``leave_at``, ``pauses``) and the pure EV model
(ev.py) plays them. What happens to the charger (reboot, network drop, fault) stays an event of its own.
Checking visits per connector in time order is what catches a scenario that plugs a second car into an
occupied connector or pauses a car that has already left.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from balanz.config.convert import Reporter
from balanz.sim.ev import EvSpec
from balanz.sim.scenario_chargers import ChargerSpec

logger = logging.getLogger(__name__)

REBOOT_OFFLINE = timedelta(seconds=20)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A car plugs in at ``at``; everything it later does by itself is in ``ev`` (absolute instants)."""

    at: datetime
    charger: str
    connector: int
    tag: str
    ev: EvSpec


@dataclass(frozen=True, slots=True)
class Reboot:
    """The charger restarts: the connection closes, ``offline`` later it reconnects and boots again."""

    at: datetime
    charger: str
    offline: timedelta = REBOOT_OFFLINE


@dataclass(frozen=True, slots=True)
class NetworkDrop:
    """The network is gone for ``duration``; the charger keeps running (and charging) meanwhile."""

    at: datetime
    charger: str
    duration: timedelta


@dataclass(frozen=True, slots=True)
class Fault:
    """A StatusNotification ``Faulted`` with ``error_code``; connector 0 is the whole charger."""

    at: datetime
    charger: str
    connector: int
    error_code: str = "OtherError"
    duration: timedelta | None = None
    """When the fault clears by itself; None: it lasts to the end of the simulation."""


Event = Arrival | Reboot | NetworkDrop | Fault


@dataclass(frozen=True, slots=True)
class EventTable:
    """``[[event]]`` as written, types checked; which keys apply depends on ``kind`` (scenario_events.py)."""

    at: Any
    kind: str
    charger: str
    connector: int = 1
    tag: str | None = None
    max_current_a: float | None = None
    phases: int | None = None
    min_current_a: float | None = None
    draw_margin_a: float | None = None
    voltage_v: float | None = None
    wanted_kwh: float | None = None
    taper_from: float | None = None
    gives_up: bool | None = None
    start_after: Any = None
    start_at: Any = None
    leave_after: Any = None
    leave_at: Any = None
    duration: Any = None
    error_code: str | None = None
    stagger: Any = None
    repeat: Any = None


@dataclass(slots=True)
class Occurrence:
    """One event on one charger at one instant, before visits are folded; ``order`` keeps file order."""

    at: datetime
    order: tuple[int, int, int]
    label: str
    table: EventTable
    charger: ChargerSpec
    tag: str = ""
    ev: EvSpec | None = None


@dataclass(slots=True)
class _Visit:
    occurrence: Occurrence
    ev: EvSpec
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    full: bool = False
    leave_given: bool = False


def fold(occurrences: Sequence[Occurrence], end: datetime, rep: Reporter) -> list[Event]:
    """Walk each connector's events in time order, folding car events into the visit they belong to."""
    events: list[tuple[datetime, tuple[int, int, int], Event]] = []
    visits: dict[tuple[str, int], _Visit] = {}
    finished: list[_Visit] = []
    for o in occurrences:
        entry, key = o.table, (o.charger.id, o.table.connector)
        if entry.kind in ("reboot", "drop", "fault"):
            events.append((o.at, o.order, _charger_event(o)))
            continue
        visit = visits.get(key)
        if visit is not None and visit.ev.leave_at is not None and visit.ev.leave_at <= o.at:
            finished.append(visits.pop(key))
            visit = None
        where = f'connector {entry.connector} of "{o.charger.id}"'
        if entry.kind == "arrive":
            if visit is not None:
                since = visit.occurrence.at.isoformat()
                rep.error(
                    f"{o.label}.at",
                    f"{where} already has a car (arrived {since}, still plugged in)",
                    o.at.isoformat(),
                )
                continue
            if o.ev is not None:
                visits[key] = _Visit(o, o.ev, leave_given=o.ev.leave_at is not None)
            continue
        if visit is None:
            rep.error(f"{o.label}.at", f"{where} has no car plugged in at this time", o.at.isoformat())
            continue
        problem = _apply(visit, entry.kind, o.at)
        if problem:
            rep.error(f"{o.label}.kind", f"{where}: {problem}", entry.kind)
    finished.extend(visits.values())
    events.extend((v.occurrence.at, v.occurrence.order, _arrival(v, end)) for v in finished)
    events.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in events]


def _apply(visit: _Visit, kind: str, at: datetime) -> str | None:
    paused = bool(visit.pauses) and visit.pauses[-1][1] is None
    if visit.full and kind != "leave":
        return "the car is already full (it stays idle until it leaves)"
    if kind == "leave":
        if visit.leave_given:
            return "the car already leaves by its arrival's leave_after/leave_at"
        visit.leave_given = True
        visit.ev = replace(visit.ev, leave_at=at)
    elif kind == "pause":
        if paused:
            return "the car is already paused"
        visit.pauses.append((at, None))
    elif kind == "resume":
        if not paused:
            return "the car is not paused"
        visit.pauses[-1] = (visit.pauses[-1][0], at)
    elif kind == "full":
        if paused:
            return "the car is paused; resume it first"
        visit.full = True
        visit.pauses.append((at, None))
    return None


def _arrival(visit: _Visit, end: datetime) -> Arrival:
    """Open pauses (and "full") last until the car leaves, or the end of the simulation."""
    until = visit.ev.leave_at or end
    pauses = tuple((begin, finish or until) for begin, finish in visit.pauses)
    o = visit.occurrence
    return Arrival(o.at, o.charger.id, o.table.connector, o.tag, replace(visit.ev, pauses=pauses))


def _charger_event(o: Occurrence) -> Event:
    entry = o.table
    if entry.kind == "reboot":
        return Reboot(o.at, o.charger.id, entry.duration or REBOOT_OFFLINE)
    if entry.kind == "drop":
        return NetworkDrop(o.at, o.charger.id, entry.duration)
    return Fault(o.at, o.charger.id, entry.connector, entry.error_code or "OtherError", entry.duration)
