"""The static site as the allocator sees it: groups, chargers, connectors, and the allocator parameters.

These are the allocator's own plain types, built by the shell from the configuration, so that the core
depends on nothing else of balanz. ``Site`` precomputes what every run needs (each connector's chain of
constraining groups, which connectors are controlled at all) once, because a site changes only on a
config reload while plans run many times a second.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from balanz.allocation.schedule import Schedule

logger = logging.getLogger(__name__)

Key = tuple[str, int]
"""A connector: (charger id, connector id)."""


@dataclass(frozen=True, slots=True)
class Params:
    """The ``[allocator]`` keys (config.md §2) with the same names and defaults as ``AllocatorConfig``.

    ``Params(**dataclasses.asdict(config.allocator))`` builds it. ``verify_tolerance_a`` is
    ``[profiles] verify_tolerance_a`` (exposure item 5 of R17); the shell passes it separately.
    """

    run_interval_s: float = 5
    debounce_s: float = 0.2
    first_wait_s: float = 60
    min_allocation_a: int = 6
    default_max_allocation_a: int = 32
    margin_lower_a: float = 0.8
    margin_increase_a: float = 0.6
    usage_threshold_a: float = 2.0
    min_offer_increase_interval_s: float = 115
    max_offer_increase_a: int = 3
    default_priority: int = 1
    wait_after_reduce_s: float = 5
    usage_monitoring_interval_s: float = 300
    suspended_allocation_timeout_s: float = 300
    energy_threshold_wh: float = 1000
    suspended_delayed_time_s: float = 3600
    suspended_delayed_time_not_first_s: float = 21600
    suspend_top_of_hour: bool = True
    schedule_lead_s: float = 60
    quota_mode: str = "cumulative"
    fair_share_energy_quantum_wh: float = 1000
    usage_min_samples: int = 2
    ev_cap_reprobe_s: float = 0
    offline_release_after_s: float = 0
    offline_fallback_a: int = 0
    phase_aware: bool = False
    timezone: str = ""
    verify_tolerance_a: float = 1.0

    def __post_init__(self) -> None:
        if self.quota_mode not in ("cumulative", "band"):
            raise ValueError(f'quota_mode must be "cumulative" or "band", not {self.quota_mode!r}')


@dataclass(frozen=True, slots=True)
class Group:
    """An allocation group. ``external_fallback_a`` set = the group also obeys an external limit.

    External limits (beyond the spec): an outside controller (e.g. a grid operator's signal or a building
    energy manager) may publish a limit for a group with a validity deadline (``events.set_external_limit``).
    While valid it caps the group in addition to its schedule; once stale — or if none was ever received —
    the group is capped at ``external_fallback_a``, a value that must be safe without any signal. The
    deadline is known in advance, so the fallback is applied ``schedule_lead_s`` early like a schedule drop.
    """

    id: str
    parent: str | None = None
    schedule: Schedule | None = None
    headroom_a: float = 0
    external_fallback_a: int | None = None

    @property
    def constrains(self) -> bool:
        return self.schedule is not None or self.external_fallback_a is not None


@dataclass(frozen=True, slots=True)
class Connector:
    """One connector. ``phase_map`` lists the supply phase (0=L1, 1=L2, 2=L3) of each charger phase."""

    charger_id: str
    connector_id: int
    max_current_a: int = 32
    priority: int | None = None
    phases: int = 3
    phase_map: tuple[int, ...] = (0, 1, 2)

    @property
    def key(self) -> Key:
        return (self.charger_id, self.connector_id)


@dataclass(frozen=True, slots=True)
class Charger:
    id: str
    group: str
    connectors: tuple[Connector, ...]
    charger_max_a: int | None = None
    priority: int | None = None
    smart_charging: bool = True


@dataclass(frozen=True, slots=True)
class Site:
    """Groups (a forest), chargers, tag priorities and the zone schedules are read in.

    ``tz`` is ``allocator.timezone`` resolved by the shell (an empty setting means the host's zone, which
    the core cannot look up without I/O).
    """

    groups: tuple[Group, ...]
    chargers: tuple[Charger, ...]
    tag_priorities: dict[str, int] = field(default_factory=dict)
    tz: tzinfo = UTC
    group_by_id: dict[str, Group] = field(init=False, repr=False, compare=False)
    charger_by_id: dict[str, Charger] = field(init=False, repr=False, compare=False)
    connector_by_key: dict[Key, Connector] = field(init=False, repr=False, compare=False)
    paths: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    controlled: tuple[Key, ...] = field(init=False, repr=False, compare=False)
    roots: dict[Key, str] = field(init=False, repr=False, compare=False)
    trees: dict[str, tuple[Key, ...]] = field(init=False, repr=False, compare=False)
    tree_chargers: dict[str, tuple[Charger, ...]] = field(init=False, repr=False, compare=False)
    index: dict[Key, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        groups = {g.id: g for g in self.groups}
        if len(groups) != len(self.groups):
            raise ValueError("group ids must be unique")
        paths: dict[str, tuple[str, ...]] = {}
        for group in self.groups:
            path, seen, current = [], set(), group
            while True:
                if current.id in seen:
                    raise ValueError(f'group "{group.id}": parent chain has a cycle through "{current.id}"')
                seen.add(current.id)
                path.append(current.id)
                if current.parent is None:
                    break
                if current.parent not in groups:
                    raise ValueError(f'group "{current.id}": parent "{current.parent}" does not exist')
                current = groups[current.parent]
            paths[group.id] = tuple(path)
        chargers: dict[str, Charger] = {}
        connectors: dict[Key, Connector] = {}
        controlled: list[Key] = []
        roots: dict[Key, str] = {}
        for charger in self.chargers:
            if charger.group not in groups:
                raise ValueError(f'charger "{charger.id}": group "{charger.group}" does not exist')
            chargers[charger.id] = charger
            path = paths[charger.group]
            is_controlled = any(groups[g].constrains for g in path)
            for connector in charger.connectors:
                connectors[connector.key] = connector
                if is_controlled:
                    controlled.append(connector.key)
                    roots[connector.key] = path[-1]
        object.__setattr__(self, "group_by_id", groups)
        object.__setattr__(self, "charger_by_id", chargers)
        object.__setattr__(self, "connector_by_key", connectors)
        object.__setattr__(self, "paths", paths)
        object.__setattr__(self, "controlled", tuple(controlled))
        object.__setattr__(self, "roots", roots)
        # A tree (the controlled connectors under one root group) shares no constraint with another tree:
        # the planner hands out, diffs and caches per tree.
        trees: dict[str, list[Key]] = {}
        tree_chargers: dict[str, list[Charger]] = {}
        for key in controlled:
            trees.setdefault(roots[key], []).append(key)
        for charger in self.chargers:
            if charger.connectors and charger.connectors[0].key in roots:
                tree_chargers.setdefault(roots[charger.connectors[0].key], []).append(charger)
        object.__setattr__(self, "trees", {root: tuple(keys) for root, keys in trees.items()})
        object.__setattr__(self, "tree_chargers", {r: tuple(c) for r, c in tree_chargers.items()})
        object.__setattr__(self, "index", {key: i for i, key in enumerate(controlled)})

    def group_path(self, key: Key) -> tuple[str, ...]:
        """The connector's group and its ancestors, innermost first."""
        return self.paths[self.charger_by_id[key[0]].group]

    def uncontrolled_chargers(self) -> tuple[str, ...]:
        """R25: chargers under no constraining group get no profiles and are never counted."""
        return tuple(c.id for c in self.chargers if c.connectors and c.connectors[0].key not in self.roots)
