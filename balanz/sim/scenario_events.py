"""The ``[[event]]`` tables of a scenario: checked, expanded over chargers and repeats, resolved to instants.

One table can name several chargers (a glob, spread by ``stagger``) and repeat (``repeat = { times,
every }``), because a forty-charger morning written out event by event is unreadable. Times inside an
arrival (``start_at``, ``leave_at``) count from that arrival, so "arrives 18:00, leaves 07:00" means the
next morning. timeline.py then folds the result into car visits.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from ocpp.v16.enums import ChargePointErrorCode

from balanz.config.convert import INVALID, Reporter, build, convert_scalar, table_list
from balanz.config.keys import suggest
from balanz.config.rules import between
from balanz.sim.ev import EvSpec
from balanz.sim.scenario_chargers import ChargerSpec, expand_pattern
from balanz.sim.timeline import Event, EventTable, Occurrence, fold
from balanz.sim.timespec import (
    DURATION_HELP,
    TIME_HELP,
    Instant,
    Offset,
    TimeSpec,
    parse_duration,
    parse_time,
    resolve,
)

logger = logging.getLogger(__name__)

EV_KEYS = (
    "max_current_a",
    "phases",
    "min_current_a",
    "draw_margin_a",
    "voltage_v",
    "wanted_kwh",
    "taper_from",
)
ARRIVE_KEYS = ("tag", *EV_KEYS, "gives_up", "start_after", "start_at", "leave_after", "leave_at")
KIND_KEYS: Mapping[str, tuple[str, ...]] = {
    "arrive": ("connector", *ARRIVE_KEYS),
    "leave": ("connector",),
    "full": ("connector",),
    "pause": ("connector",),
    "resume": ("connector",),
    "reboot": ("duration",),
    "drop": ("duration",),
    "fault": ("connector", "error_code", "duration"),
}
COMMON_KEYS = ("at", "kind", "charger", "stagger", "repeat")


@dataclass(frozen=True, slots=True)
class EvDefaults:
    """``[simulation.ev]``: the car every arrival starts from; an arrival overrides any of these keys.

    The defaults are the EV model's own (ev.py), so the two cannot drift apart.
    """

    max_current_a: float = EvSpec.max_current_a
    phases: int = EvSpec.phases
    min_current_a: float = EvSpec.min_current_a
    draw_margin_a: float = EvSpec.draw_margin_a
    voltage_v: float = EvSpec.voltage_v
    wanted_kwh: float = EvSpec.target_wh / 1000
    taper_from: float = EvSpec.taper_from
    gives_up: bool = EvSpec.gives_up_without_offer

    def car(self) -> EvSpec:
        """The default car with no times of its own (the console's ``plug``, an arrival before its keys)."""
        return EvSpec(
            max_current_a=float(self.max_current_a),
            phases=self.phases,
            min_current_a=float(self.min_current_a),
            draw_margin_a=float(self.draw_margin_a),
            voltage_v=float(self.voltage_v),
            target_wh=float(self.wanted_kwh) * 1000,
            taper_from=float(self.taper_from),
            gives_up_without_offer=self.gives_up,
        )


@dataclass(frozen=True, slots=True)
class Repeat:
    times: int
    every: Any


def time_value(value: Any, key: str, rep: Reporter) -> Any:
    spec = parse_time(value) if isinstance(value, str | datetime | time) else None
    if spec is None:
        rep.error(key, f"must be {TIME_HELP}", value)
        return INVALID
    return spec


def duration_value(value: Any, key: str, rep: Reporter) -> Any:
    duration = parse_duration(value) if isinstance(value, str) else None
    if duration is None:
        rep.error(key, f"must be {DURATION_HELP}", value)
        return INVALID
    return duration


def _repeat(value: Any, key: str, rep: Reporter) -> Any:
    if not isinstance(value, dict):
        rep.error(key, 'must be a table like { times = 5, every = "24h" }', value)
        return INVALID
    args = build(Repeat, value, key, "sim.repeat", rep, {"every": duration_value})
    if args is None:
        return INVALID
    repeat = Repeat(**args)
    ok = True
    if not 1 <= repeat.times <= 1000:
        rep.error(f"{key}.times", "must be between 1 and 1000", repeat.times)
        ok = False
    if repeat.every <= timedelta(0):
        rep.error(f"{key}.every", "must be longer than 0s", value["every"])
        ok = False
    return repeat if ok else INVALID


def _error_code(value: Any, key: str, rep: Reporter) -> Any:
    codes = tuple(c.value for c in ChargePointErrorCode if c.value != "NoError")
    text = convert_scalar(value, str, key, "", rep)
    if text is not INVALID and text not in codes:
        rep.error(key, f"must be an OCPP ChargePointErrorCode{suggest(text, codes)}", value)
        return INVALID
    return text


def check_ev(values: Mapping[str, Any], label: str, rep: Reporter) -> None:
    """Ranges of the EV keys present in ``values`` (an [simulation.ev] table or an arrival)."""
    ranges = {
        "max_current_a": (1, 80, " A"),
        "phases": (1, 3, ""),
        "min_current_a": (0, 80, " A"),
        "draw_margin_a": (0, 5, " A"),
        "voltage_v": (100, 480, " V"),
        "wanted_kwh": (0.001, 1000, " kWh"),
        "taper_from": (0, 1, ""),
    }
    for name, (low, high, unit) in ranges.items():
        if values.get(name) is not None:
            between(rep.error, f"{label}.{name}", values[name], low, high, unit)


def parse_events(
    value: Any,
    rep: Reporter,
    chargers: Sequence[ChargerSpec],
    start: datetime,
    end: datetime,
    zone: tzinfo,
    defaults: EvDefaults,
) -> list[Event]:
    """Every event of the file resolved and sorted by instant (file order among equal instants)."""
    tables = table_list(value, "event", rep)
    if tables is None:
        return []
    occurrences: list[Occurrence] = []
    for index, table in enumerate(tables, start=1):
        label = f"event[{index}]"
        special = {
            "at": time_value,
            "start_at": time_value,
            "leave_at": time_value,
            "start_after": duration_value,
            "leave_after": duration_value,
            "duration": duration_value,
            "stagger": duration_value,
            "repeat": _repeat,
            "error_code": _error_code,
        }
        args = build(EventTable, table, label, "sim.event", rep, special)
        if args is None or not _check_keys(args, table, label, rep):
            continue
        entry = EventTable(**args)
        targets = _targets(entry, label, chargers, rep)
        if targets is None or not _check_entry(entry, table, label, targets, defaults, rep):
            continue
        occurrences.extend(_occurrences(entry, index, label, targets, start, zone, defaults, rep))
    late = [o for o in occurrences if o.at >= end]
    for occurrence in late:
        rep.warn(
            f"{occurrence.label}.at",
            f"never happens: at or after the simulation's end ({end.isoformat()})",
            occurrence.at.isoformat(),
        )
    occurrences = sorted((o for o in occurrences if o.at < end), key=lambda o: (o.at, o.order))
    return fold(occurrences, end, rep)


def _check_keys(args: Mapping[str, Any], table: Mapping[str, Any], label: str, rep: Reporter) -> bool:
    kind = args.get("kind")
    if kind not in KIND_KEYS:
        rep.error(
            f"{label}.kind",
            "must be one of " + ", ".join(f'"{k}"' for k in KIND_KEYS) + suggest(str(kind), KIND_KEYS),
            kind,
        )
        return False
    allowed = (*COMMON_KEYS, *KIND_KEYS[kind])
    stray = [name for name in table if name in args and name not in allowed]
    for name in stray:
        users = [k for k, names in KIND_KEYS.items() if name in names]
        rep.error(f"{label}.{name}", f'does not apply to kind = "{kind}" (only to ' + ", ".join(users) + ")")
    return not stray


def _targets(
    entry: EventTable, label: str, chargers: Sequence[ChargerSpec], rep: Reporter
) -> list[ChargerSpec] | None:
    """The chargers an event names: one id, or a glob pattern (``CP0*``) in declaration order."""
    if any(ch in entry.charger for ch in "*?["):
        matches = [c for c in chargers if fnmatch.fnmatchcase(c.id, entry.charger)]
        if not matches:
            rep.error(f"{label}.charger", "the pattern matches no charger of this scenario", entry.charger)
            return None
        return matches
    if entry.stagger is not None:
        rep.error(f"{label}.stagger", "applies only when charger is a pattern naming several chargers")
        return None
    for charger in chargers:
        if charger.id == entry.charger:
            return [charger]
    ids = [c.id for c in chargers]
    rep.error(f"{label}.charger", f"no charger with this id{suggest(entry.charger, ids)}", entry.charger)
    return None


def _check_entry(
    entry: EventTable,
    table: Mapping[str, Any],
    label: str,
    targets: Sequence[ChargerSpec],
    defaults: EvDefaults,
    rep: Reporter,
) -> bool:
    before = len(rep.sink)
    lowest = 0 if entry.kind == "fault" else 1
    for charger in targets:
        if not lowest <= entry.connector <= charger.connectors:
            rep.error(
                f"{label}.connector",
                f'charger "{charger.id}" has connectors {lowest}…{charger.connectors}',
                entry.connector,
            )
            break
    if entry.kind == "drop" and entry.duration is None:
        rep.error(f"{label}.duration", 'required for a network drop, e.g. "5m"')
    for name in ("duration", "stagger"):
        if getattr(entry, name) is not None and getattr(entry, name) <= timedelta(0):
            rep.error(f"{label}.{name}", "must be longer than 0s", table[name])
    if entry.kind == "arrive":
        _check_arrival(entry, table, label, len(targets), defaults, rep)
    return len(rep.sink) == before


def _check_arrival(
    entry: EventTable, table: Mapping[str, Any], label: str, count: int, defaults: EvDefaults, rep: Reporter
) -> None:
    """``count``: how many chargers the event names (a tag may number them with {n})."""
    if entry.tag is None:
        rep.error(f"{label}.tag", "required for an arrival (the idTag the driver presents)")
    else:
        tags = expand_pattern(entry.tag, range(1, count + 1)) if "{" in entry.tag else [entry.tag]
        if isinstance(tags, str):
            rep.error(
                f"{label}.tag", tags.replace("{n}", "{n} (the charger's place in the match)"), entry.tag
            )
        elif not all(1 <= len(tag) <= 20 for tag in tags):
            rep.error(f"{label}.tag", "must be 1–20 characters (OCPP idTag)", entry.tag)
    check_ev({name: getattr(entry, name) for name in EV_KEYS}, label, rep)
    low = entry.min_current_a if entry.min_current_a is not None else defaults.min_current_a
    high = entry.max_current_a if entry.max_current_a is not None else defaults.max_current_a
    if low > high:
        rep.error(f"{label}.min_current_a", f"must be ≤ the car's max_current_a ({high:g})", low)
    for what in ("start", "leave"):
        if getattr(entry, f"{what}_after") is not None and getattr(entry, f"{what}_at") is not None:
            rep.error(f"{label}.{what}_at", f"give {what}_after or {what}_at, not both")
        spec = getattr(entry, f"{what}_at")
        if isinstance(spec, Offset):
            rep.error(
                f"{label}.{what}_at",
                f"must be a wall-clock time or a date-time; for a duration after "
                f"the arrival write {what}_after",
                table[f"{what}_at"],
            )
        if isinstance(spec, Instant) and entry.repeat is not None:
            rep.error(
                f"{label}.{what}_at",
                f"an exact date-time cannot repeat; use a wall-clock time or {what}_after",
                table[f"{what}_at"],
            )
    if entry.gives_up and entry.start_after is None and entry.start_at is None:
        rep.error(f"{label}.gives_up", "needs start_after or start_at: the car gives up at its start time")


def _occurrences(
    entry: EventTable,
    index: int,
    label: str,
    targets: Sequence[ChargerSpec],
    start: datetime,
    zone: tzinfo,
    defaults: EvDefaults,
    rep: Reporter,
) -> list[Occurrence]:
    first = resolve(entry.at, start, zone)
    if first < start:
        rep.error(f"{label}.at", f"is before the simulation's start ({start.isoformat()})", first.isoformat())
        return []
    repeat: Repeat = entry.repeat or Repeat(1, timedelta(0))
    stagger = entry.stagger or timedelta(0)
    out = []
    for k in range(repeat.times):
        for n, charger in enumerate(targets):
            at = first + k * repeat.every + n * stagger
            tag = entry.tag.format(n=n + 1) if entry.tag and "{" in entry.tag else entry.tag or ""
            occurrence = Occurrence(at, (index, k, n), label, entry, charger, tag)
            if entry.kind == "arrive":
                occurrence.ev = _ev(entry, charger.id, at, zone, defaults, label, rep)
                if occurrence.ev is None:
                    continue
            out.append(occurrence)
    return out


def _ev(
    entry: EventTable,
    charger: str,
    at: datetime,
    zone: tzinfo,
    defaults: EvDefaults,
    label: str,
    rep: Reporter,
) -> EvSpec | None:
    """The car of one arrival: defaults overridden by the arrival, its times anchored at the arrival."""

    def pick(name: str) -> Any:
        own = getattr(entry, name)
        return own if own is not None else getattr(defaults, name)

    def key(what: str) -> str:
        return (
            f"{label}.{what}_after" if getattr(entry, f"{what}_after") is not None else f"{label}.{what}_at"
        )

    moments: dict[str, datetime | None] = {}
    for what in ("start", "leave"):
        after: timedelta | None = getattr(entry, f"{what}_after")
        spec: TimeSpec | None = getattr(entry, f"{what}_at")
        moment = at + after if after is not None else (resolve(spec, at, zone) if spec is not None else None)
        if moment is not None and moment <= at:
            arrival = f'the arrival at "{charger}" ({at.isoformat()})'
            rep.error(key(what), f"must be after {arrival}", moment.isoformat())
            return None
        moments[what] = moment
    start, leave = moments["start"], moments["leave"]
    if start is not None and leave is not None and leave <= start:
        rep.error(key("leave"), f'the car at "{charger}" leaves before its delayed start', leave.isoformat())
        return None
    own = {name: pick(name) for name in EvDefaults.__dataclass_fields__}
    return replace(EvDefaults(**own).car(), start_at=moments["start"], leave_at=moments["leave"])
