"""Rules for groups, chargers, tags and firmware entries (config.md §3.3), and the rules that join them
with the settings (autoregister group, idle limit against group limits).

Entities can come from several files, so every message is written against the file the entity came from,
and duplicate ids name both places.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from balanz.allocation.schedule import Schedule, ScheduleError, parse_schedule, schedule_from_slots
from balanz.config import schema
from balanz.config.convert import Reporter
from balanz.config.parse import Entities, Origin
from balanz.config.rules import check_profile, ws_url_problem

GROUP_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
PHASES = ("L1", "L2", "L3")


@dataclass(frozen=True, slots=True)
class Located:
    """An entity's printable key path and the reporter for its file."""

    label: str
    rep: Reporter

    def error(self, field: str, message: str, *value: Any) -> None:
        self.rep.error(f"{self.label}.{field}" if field else self.label, message, *value)

    def warn(self, field: str, message: str, *value: Any) -> None:
        self.rep.warn(f"{self.label}.{field}" if field else self.label, message, *value)


def _where(kind: str, ident: str, origin: Origin, sink: list[Any]) -> Located:
    label = f'group "{ident}"' if kind == "group" else f'{kind}[{origin.index}] "{ident}"'
    return Located(label, Reporter(origin.file, sink))


def _unique(
    kind: str, items: Sequence[tuple[str, str, Origin]], sink: list[Any], id_field: str = "id"
) -> None:
    """``items`` holds (normalised id, spelling, origin); the second and later uses of an id are errors."""
    first: dict[str, tuple[str, Origin]] = {}
    for norm, spelling, origin in items:
        if norm in first:
            seen_spelling, seen = first[norm]
            also = f' as "{seen_spelling}"' if seen_spelling != spelling else ""
            _where(kind, spelling, origin, sink).error(
                id_field,
                f"duplicate {kind} id; first defined in {seen.file} ({kind}[{seen.index}]){also}",
            )
        else:
            first[norm] = (spelling, origin)


def check_entities(config: schema.Config, entities: Entities, settings: Reporter) -> None:
    sink = settings.sink
    schedules = _groups(config, entities, sink)
    _chargers(config, entities, schedules, sink)
    _tags(entities, sink)
    _firmware(entities, sink)
    _joins(config, entities, schedules, settings)


def _groups(config: schema.Config, entities: Entities, sink: list[Any]) -> dict[str, Schedule]:
    _unique("group", [(g.id, g.id, o) for g, o in entities.group], sink)
    ids = {g.id for g, _ in entities.group}
    known = ", ".join(sorted(ids)) or "none"
    schedules: dict[str, Schedule] = {}
    for group, origin in entities.group:
        at = _where("group", group.id, origin, sink)
        if not GROUP_ID.fullmatch(group.id):
            at.error("id", "must be 1–64 characters of A–Z, a–z, 0–9, _ . -", group.id)
        if group.parent is not None and group.parent not in ids:
            at.error("parent", f'unknown group "{group.parent}" (known: {known})')
        schedule = _schedule(group, at)
        if schedule is not None:
            schedules[group.id] = schedule
        if group.external_fallback_a is not None and group.external_fallback_a < 0:
            at.error("external_fallback_a", "must be ≥ 0", group.external_fallback_a)
        if group.headroom_a < 0:
            at.error("headroom_a", "must be ≥ 0", group.headroom_a)
        elif schedule is not None and group.headroom_a >= schedule.min_limit:
            at.error(
                "headroom_a",
                f"must be below the group's lowest limit ({schedule.min_limit} A)",
                group.headroom_a,
            )
        if schedule is not None and schedule.max_limit < config.allocator.min_allocation_a:
            at.warn(
                "max_allocation",
                f"highest limit {schedule.max_limit} A is below "
                f"allocator.min_allocation_a ({config.allocator.min_allocation_a}): no session can ever "
                "start in this group",
            )
    _cycles(entities, sink)
    for group, origin in entities.group:
        ancestor = _controlled_ancestor(group.parent, config, schedules)
        if group.id in schedules and ancestor is not None:
            mine, theirs = schedules[group.id].max_limit, schedules[ancestor].max_limit
            if mine > theirs:
                _where("group", group.id, origin, sink).warn(
                    "max_allocation",
                    f'highest limit {mine} A exceeds that of its ancestor "{ancestor}" '
                    f"({theirs} A); the ancestor still caps it",
                )
    return schedules


def group_schedule(group: schema.GroupConfig) -> Schedule | None:
    """The group's schedule from either spelling; None for a group without a limit.

    Raises ``ScheduleError``; a configuration that passed ``load_config`` never does.
    """
    if group.max_allocation is not None:
        return parse_schedule(group.max_allocation)
    if group.slot:
        return schedule_from_slots([(s.time, s.days, s.quotas) for s in group.slot])
    return None


def _schedule(group: schema.GroupConfig, at: Located) -> Schedule | None:
    if group.max_allocation is not None and group.slot:
        at.error("slot", "max_allocation and [[group.slot]] tables are mutually exclusive; keep one")
        return None
    try:
        return group_schedule(group)
    except ScheduleError as exc:
        field = "max_allocation" if group.max_allocation is not None else "slot"
        for problem in exc.problems:
            at.error(field, problem)
    return None


def _cycles(entities: Entities, sink: list[Any]) -> None:
    parent = {g.id: g.parent for g, _ in entities.group}
    origin = {g.id: o for g, o in entities.group}
    reported: set[str] = set()
    for start in parent:
        path: list[str] = []
        node: str | None = start
        while node is not None and node in parent and node not in path and node not in reported:
            path.append(node)
            node = parent[node]
        if node is not None and node in path:
            cycle = path[path.index(node) :]
            reported.update(cycle)
            first = min(cycle)
            rotated = cycle[cycle.index(first) :] + cycle[: cycle.index(first)]
            _where("group", first, origin[first], sink).error(
                "parent", "parent groups form a cycle: " + " → ".join([*rotated, first])
            )
        reported.update(path)


def _controlled_ancestor(
    start: str | None, config: schema.Config, schedules: Mapping[str, Schedule]
) -> str | None:
    parents = {g.id: g.parent for g in config.group}
    seen: set[str] = set()
    node = start
    while node is not None and node not in seen:
        seen.add(node)
        if node in schedules:
            return node
        node = parents.get(node)
    return None


def path_to_root(group: str, config: schema.Config) -> list[str]:
    parents = {g.id: g.parent for g in config.group}
    path: list[str] = []
    node: str | None = group
    while node is not None and node in parents and node not in path:
        path.append(node)
        node = parents[node]
    return path


def _chargers(
    config: schema.Config, entities: Entities, schedules: Mapping[str, Schedule], sink: list[Any]
) -> None:
    _unique("charger", [(c.id, c.id, o) for c, o in entities.charger], sink)
    ids = {c.id for c, _ in entities.charger}
    groups = {g.id for g in config.group}
    known = ", ".join(sorted(groups)) or "none"
    aliases: dict[str, Origin] = {}
    minimum = config.allocator.min_allocation_a
    for charger, origin in entities.charger:
        at = _where("charger", charger.id, origin, sink)
        if (
            not 1 <= len(charger.id) <= 48
            or any(not " " <= ch <= "~" for ch in charger.id)
            or ("/" in charger.id or ":" in charger.id)
        ):
            at.error("id", "must be 1–48 printable ASCII characters without / or :", charger.id)
        if charger.alias is not None:
            if charger.alias in aliases:
                seen = aliases[charger.alias]
                at.error("alias", f"already used by charger[{seen.index}] in {seen.file}", charger.alias)
            elif charger.alias != charger.id and charger.alias in ids:
                at.error(
                    "alias", "is the id of another charger; an alias must not shadow an id", charger.alias
                )
            aliases.setdefault(charger.alias, origin)
        if charger.group not in groups:
            at.error("group", f'unknown group "{charger.group}" (known: {known})')
        elif (
            charger.smart_charging
            and charger.charger_max_a is None
            and not any(g in schedules for g in path_to_root(charger.group, config))
        ):
            at.warn(
                "group",
                f'no group on the path from "{charger.group}" to the root has a max_allocation (and the '
                "charger has no charger_max_a): this charger will not be smart-charged",
            )
        if not 1 <= charger.connectors <= 16:
            at.error("connectors", "must be between 1 and 16", charger.connectors)
        _current(at, "max_current_a", charger.max_current_a, minimum)
        if charger.charger_max_a is not None and charger.charger_max_a < minimum:
            at.error(
                "charger_max_a", f"must be ≥ allocator.min_allocation_a ({minimum})", charger.charger_max_a
            )
        _priority(at, "priority", charger.priority)
        _phases(at, "", charger.phases, charger.phase_map)
        seen_connectors: set[int] = set()
        for n, connector in enumerate(charger.connector, start=1):
            field = f"connector[{n}]"
            if not 1 <= connector.id <= charger.connectors:
                at.error(
                    f"{field}.id", f"must be between 1 and connectors ({charger.connectors})", connector.id
                )
            if connector.id in seen_connectors:
                at.error(f"{field}.id", "duplicate connector id", connector.id)
            seen_connectors.add(connector.id)
            _current(at, f"{field}.max_current_a", connector.max_current_a, minimum)
            _priority(at, f"{field}.priority", connector.priority)
            phases = connector.phases if connector.phases is not None else charger.phases
            _phases(at, f"{field}.", phases, connector.phase_map, check_phases=connector.phases is not None)
        if charger.profile:
            merged = replace(config.profiles, **charger.profile)
            check_profile(merged, minimum, f"{at.label}.profile", at.rep.error, set(charger.profile))
        _charger_lc(config, charger, at)


def _current(at: Located, field: str, value: int | None, minimum: int) -> None:
    if value is not None and not minimum <= value <= 1000:
        at.error(field, f"must be between allocator.min_allocation_a ({minimum}) and 1000 A", value)


def _priority(at: Located, field: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= 1000:
        at.error(field, "must be between 0 and 1000", value)


def _phases(
    at: Located, prefix: str, phases: int, phase_map: str | None, *, check_phases: bool = True
) -> None:
    if check_phases and phases not in (1, 3):
        at.error(prefix + "phases", "must be 1 or 3", phases)
        return
    if phase_map is None:
        return
    parts = [p.strip().upper() for p in phase_map.split(",")]
    if phases == 3 and sorted(parts) != list(PHASES):
        at.error(prefix + "phase_map", 'for 3 phases, a permutation of L1,L2,L3 (e.g. "L2,L3,L1")', phase_map)
    elif phases == 1 and (len(parts) != 1 or parts[0] not in PHASES):
        at.error(prefix + "phase_map", 'for 1 phase, one of "L1", "L2", "L3"', phase_map)


def _charger_lc(config: schema.Config, charger: schema.ChargerConfig, at: Located) -> None:
    password = charger.lc.upstream_password
    if password:
        if config.lc.charger_auth != "local":
            at.error(
                "lc.upstream_password", 'only used with lc.charger_auth = "local"; remove it or set that'
            )
        if not 16 <= len(password) <= 40:
            at.error("lc.upstream_password", f"must be 16–40 characters (it has {len(password)})")
    if charger.lc.upstream_url:
        problem = ws_url_problem(charger.lc.upstream_url)
        if problem:
            at.error("lc.upstream_url", problem, charger.lc.upstream_url)


def _tags(entities: Entities, sink: list[Any]) -> None:
    _unique("tag", [(t.id, o.spelling or t.id, o) for t, o in entities.tag], sink)
    for tag, origin in entities.tag:
        at = _where("tag", origin.spelling or tag.id, origin, sink)
        if not 1 <= len(tag.id) <= 20:
            at.error("id", "must be 1–20 characters (OCPP idTag)", tag.id)
        if tag.parent is not None and not 1 <= len(tag.parent) <= 20:
            at.error("parent", "must be 1–20 characters (OCPP parentIdTag)", tag.parent)
        _priority(at, "priority", tag.priority)


def _firmware(entities: Entities, sink: list[Any]) -> None:
    _unique(
        "firmware", [(f.firmware_id, f.firmware_id, o) for f, o in entities.firmware], sink, "firmware_id"
    )
    for fw, origin in entities.firmware:
        at = _where("firmware", fw.firmware_id, origin, sink)
        for field in ("charge_point_vendor", "charge_point_model", "upgrade_from_versions"):
            try:
                re.compile(getattr(fw, field))
            except re.error as exc:
                at.error(field, f"not a valid regular expression: {exc}", getattr(fw, field))
        if not urllib.parse.urlsplit(fw.url).scheme:
            at.error("url", "must be a URL with a scheme (e.g. https://… or ftp://…)", fw.url)


def _joins(
    config: schema.Config, entities: Entities, schedules: Mapping[str, Schedule], settings: Reporter
) -> None:
    model = config.model
    if model.charger_autoregister:
        group = model.charger_autoregister_group
        if group not in {g.id for g in config.group}:
            settings.error(
                "model.charger_autoregister_group", "no such group; add a [[group]] with this id", group
            )
        elif not any(g in schedules for g in path_to_root(group, config)):
            settings.warn(
                "model.charger_autoregister_group",
                "group is not controlled (no max_allocation on "
                "its path to the root): autoregistered chargers will charge without limit",
                group,
            )
    _lowest_threshold(config, entities, schedules, settings.sink)
    _idle_limit(config, entities, schedules, settings.sink)


def _subtree_chargers(group: str, config: schema.Config) -> list[schema.ChargerConfig]:
    return [c for c in config.charger if group in path_to_root(c.group, config)]


def _lowest_threshold(
    config: schema.Config, entities: Entities, schedules: Mapping[str, Schedule], sink: list[Any]
) -> None:
    default = config.allocator.default_priority
    tag_priorities = [t.priority for t in config.tag if t.priority is not None]
    for group, origin in entities.group:
        schedule = schedules.get(group.id)
        chargers = _subtree_chargers(group.id, config)
        if schedule is None or not chargers:
            continue
        priorities = [c.priority if c.priority is not None else default for c in chargers]
        priorities += [p.priority for c in chargers for p in c.connector if p.priority is not None]
        lowest = min(priorities + tag_priorities)
        if schedule.lowest_threshold_max > lowest:
            field = "max_allocation" if group.max_allocation is not None else "slot"
            _where("group", group.id, origin, sink).warn(
                field,
                f"a slot's lowest priority threshold ({schedule.lowest_threshold_max}) is above the "
                f"lowest priority configured for its chargers/tags ({lowest}): "
                "those sessions get 0 A in that slot",
            )


def _idle_limit(
    config: schema.Config, entities: Entities, schedules: Mapping[str, Schedule], sink: list[Any]
) -> None:
    def idle(charger: schema.ChargerConfig) -> int:
        value: int = charger.profile.get("idle_limit_a", config.profiles.idle_limit_a)
        return value

    for group, origin in entities.group:
        schedule = schedules.get(group.id)
        if schedule is None:
            continue
        total = sum(idle(c) * c.connectors for c in _subtree_chargers(group.id, config) if c.smart_charging)
        if total > schedule.min_limit:
            _where("group", group.id, origin, sink).error(
                "max_allocation",
                f"idle connectors may draw {total} A at profiles.idle_limit_a, "
                f"{total - schedule.min_limit} A more than the group's lowest limit "
                f"({schedule.min_limit} A); "
                "lower profiles.idle_limit_a (0 = fail-closed) or raise the limit",
            )
    # charger_max_a is an implicit allocation group of the charger's own connectors (model.md §1.2).
    for charger, origin in entities.charger:
        if charger.charger_max_a is None or not charger.smart_charging:
            continue
        total = idle(charger) * charger.connectors
        if total > charger.charger_max_a:
            _where("charger", charger.id, origin, sink).error(
                "charger_max_a",
                f"its idle connectors may draw {total} A at profiles.idle_limit_a, "
                f"{total - charger.charger_max_a} A more than charger_max_a; "
                "lower the idle limit or raise charger_max_a",
                charger.charger_max_a,
            )
