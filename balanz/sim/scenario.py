"""Scenario files for ``balanz simulate``: which chargers a rehearsed site has and what happens to them.

A scenario is TOML with three parts (docs/simulator.md describes every key):

- ``[simulation]``: start (RFC 3339 or "now"), duration, the site's zone, meter and heartbeat intervals,
  and ``[simulation.ev]``, the car every arrival starts from;
- ``[[charger]]``: one charger by ``id`` or many by ``count`` + ``id_pattern``, with the BootNotification
  strings, Basic-auth password, configuration keys and quirks (quirks.py);
- ``[[event]]``: the timeline: cars arriving (and leaving, pausing, resuming, becoming full), reboots,
  network drops and faults, each ``at`` an offset, a wall-clock time or an instant.

``load_scenario`` reads the file and checks it with the configuration loader's rules of engagement: every
problem at once, each printed as ``file: key path: problem``, unknown keys with suggestions. Nothing here
touches a clock: "now" is an argument, and every time in the result is an absolute UTC instant.
"""

from __future__ import annotations

import logging
import os
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from balanz.config.convert import INVALID, Reporter, build
from balanz.config.errors import ConfigError, Problem
from balanz.config.keys import suggest
from balanz.config.loader import _read_toml
from balanz.config.rules import between
from balanz.sim.quirks import QUIRKS, Quirk, QuirkInfo, Quirks
from balanz.sim.scenario_chargers import ChargerSpec, parse_chargers
from balanz.sim.scenario_events import EvDefaults, check_ev, duration_value, parse_events
from balanz.sim.timeline import Arrival, Event, Fault, NetworkDrop, Reboot
from balanz.sim.timespec import parse_time

logger = logging.getLogger(__name__)

SECTIONS = ("simulation", "charger", "event")
MAX_DURATION = timedelta(days=366)
DEFAULT_DURATION = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Simulation:
    start: datetime
    """UTC instant the simulated clock starts at."""
    duration: timedelta = DEFAULT_DURATION
    timezone: str = "UTC"
    """IANA zone of the site: wall-clock times in the scenario are read in it."""
    meter_interval_s: int = 60
    """Default MeterValueSampleInterval of every charger."""
    heartbeat_s: int = 300
    """Default HeartbeatInterval of every charger (the BootNotification answer replaces it, as in OCPP)."""
    ev: EvDefaults = field(default_factory=EvDefaults)

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Scenario:
    simulation: Simulation
    chargers: tuple[ChargerSpec, ...]
    events: tuple[Event, ...]
    """Sorted by instant; arrivals carry their car's whole visit (ev.leave_at, ev.pauses)."""
    source: Path | None = None

    def charger(self, charger_id: str) -> ChargerSpec:
        for charger in self.chargers:
            if charger.id == charger_id:
                return charger
        raise KeyError(f'no charger "{charger_id}" in the scenario')


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    scenario: Scenario
    warnings: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class _SimulationTable:
    start: Any = "now"
    duration: Any = None
    timezone: str = "UTC"
    meter_interval_s: int = 60
    heartbeat_s: int = 300
    ev: Any = None


def load_scenario(path: str | os.PathLike[str], now: datetime) -> LoadedScenario:
    """Read and check a scenario; raise ``ConfigError`` with every problem if any is an error.

    ``now`` (timezone-aware) is what ``start = "now"`` means.
    """
    display = os.fspath(path)
    problems: list[Problem] = []
    doc = _read_toml(Path(path), display, problems)
    if doc is None:
        raise ConfigError(tuple(problems))
    rep = Reporter(display, problems)
    for name in doc:
        if name not in SECTIONS:
            what = "section" if isinstance(doc[name], dict | list) else "key"
            rep.error(name, f"unknown {what}{suggest(name, SECTIONS)}")
    simulation = _simulation(doc.get("simulation", {}), now, rep)
    chargers = parse_chargers(
        doc.get("charger", []), rep, simulation.heartbeat_s, simulation.meter_interval_s
    )
    if "charger" not in doc:
        rep.error("charger", "a scenario needs at least one [[charger]]")
    events = parse_events(
        doc.get("event", []),
        rep,
        chargers,
        simulation.start,
        simulation.end,
        simulation.zone,
        simulation.ev,
    )
    errors = tuple(p for p in problems if p.is_error)
    warnings = tuple(p for p in problems if not p.is_error)
    if errors:
        raise ConfigError(errors + warnings)
    scenario = Scenario(simulation, tuple(chargers), tuple(events), Path(os.path.abspath(display)))
    logger.debug("scenario %s: %d chargers, %d events", display, len(chargers), len(events))
    return LoadedScenario(scenario, warnings)


def _simulation(table: Any, now: datetime, rep: Reporter) -> Simulation:
    """``[simulation]``; on any problem the field keeps its default so the rest can still be checked."""
    if not isinstance(table, dict):
        rep.error("simulation", "must be a table (write a [simulation] header)", table)
        table = {}
    special = {"start": _start, "duration": duration_value, "ev": _ev_defaults}
    args = build(_SimulationTable, table, "simulation", "sim.simulation", rep, special) or {}
    given = _SimulationTable(**args)
    start = now if given.start == "now" else given.start
    duration = given.duration if given.duration is not None else DEFAULT_DURATION
    if not timedelta(0) < duration <= MAX_DURATION:
        rep.error("simulation.duration", "must be longer than 0s and at most 366d", table.get("duration"))
        duration = DEFAULT_DURATION
    timezone = given.timezone
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        rep.error(
            "simulation.timezone", 'must be an IANA zone name, e.g. "Europe/Copenhagen" or "UTC"', timezone
        )
        timezone = "UTC"
    between(rep.error, "simulation.meter_interval_s", given.meter_interval_s, 0, 3600, " s")
    between(rep.error, "simulation.heartbeat_s", given.heartbeat_s, 1, 86400, " s")
    return Simulation(
        start=start.astimezone(UTC),
        duration=duration,
        timezone=timezone,
        meter_interval_s=given.meter_interval_s,
        heartbeat_s=given.heartbeat_s,
        ev=given.ev or EvDefaults(),
    )


def _start(value: Any, key: str, rep: Reporter) -> Any:
    if value == "now":
        return value
    spec = parse_time(value) if isinstance(value, str | datetime) else None
    instant = getattr(spec, "at", None)
    if not isinstance(instant, datetime):
        rep.error(key, 'must be "now" or an RFC 3339 date-time with a zone offset', value)
        return INVALID
    return instant


def _ev_defaults(value: Any, key: str, rep: Reporter) -> Any:
    if not isinstance(value, dict):
        rep.error(key, "must be a table (write a [simulation.ev] header)", value)
        return INVALID
    args = build(EvDefaults, value, key, "sim.ev", rep)
    if args is None:
        return INVALID
    before = len(rep.sink)
    check_ev(args, key, rep)
    ev = EvDefaults(**args)
    if ev.min_current_a > ev.max_current_a:
        rep.error(f"{key}.min_current_a", f"must be ≤ max_current_a ({ev.max_current_a:g})", ev.min_current_a)
    return ev if len(rep.sink) == before else INVALID


__all__ = [
    "QUIRKS",
    "Arrival",
    "ChargerSpec",
    "ConfigError",
    "EvDefaults",
    "Event",
    "Fault",
    "LoadedScenario",
    "NetworkDrop",
    "Quirk",
    "QuirkInfo",
    "Quirks",
    "Reboot",
    "Scenario",
    "Simulation",
    "load_scenario",
]
