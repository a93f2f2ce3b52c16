"""The safety checker: invariants S (supply) and Q (quotas) of R17, evaluated over exposures.

Written directly from the spec's definitions and independently of the planner's counter layout, so that
a mistake there cannot hide itself here. For every group with a limit, every limit in force (schedule
slot, external limit, charger cap), every supply phase:

    S:  Σ exposures of the group's connectors loading that phase ≤ the slot's limit
    Q:  cumulative: Σ exposures of connectors with band ≤ j ≤ A_j for every threshold j
        band:       Σ exposures of connectors with band = j ≤ A_j

``violations(…, at)`` checks the instant ``at``; ``window_violations(…, now)`` checks every limit in
force during ``[now, now + schedule_lead_s]`` — the stronger form balanz guarantees for what it sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from balanz.allocation.constraints import Rule, rules_at, window_rules
from balanz.allocation.exposure import all_exposures, effective_priority, phases_loaded
from balanz.allocation.model import Key, Params, Site
from balanz.allocation.state import State

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Violation:
    constraint: str
    phase: int
    limit: int
    exposure: int

    @property
    def excess(self) -> int:
        return self.exposure - self.limit

    def __str__(self) -> str:
        return f"{self.constraint} L{self.phase + 1}: exposure {self.exposure} A > limit {self.limit} A"


@dataclass(frozen=True, slots=True)
class Constraint:
    """One sum constraint: the amperes of ``members`` on supply ``phase`` may total at most ``limit``."""

    label: str
    phase: int
    limit: int
    members: frozenset[Key]
    group: str | None


def violations(site: Site, state: State, params: Params, at: datetime) -> tuple[Violation, ...]:
    """Every S/Q constraint violated at the instant ``at`` (exposures evaluated at ``at``)."""
    return _violated(
        constraints(site, state, params, rules_at(site, state, params, at)),
        all_exposures(site, state, params, at),
    )


def window_violations(
    site: Site, state: State, params: Params, now: datetime, touching: frozenset[Key] | None = None
) -> tuple[Violation, ...]:
    """Every S/Q constraint of any limit in force during ``[now, now + lead]``, exposures as of ``now``;
    with ``touching``, only the constraints some of those connectors count in."""
    end = now + timedelta(seconds=params.schedule_lead_s)
    found = constraints(site, state, params, window_rules(site, state, params, now, end))
    if touching is not None:
        found = [c for c in found if c.members & touching]
    return _violated(found, all_exposures(site, state, params, now))


def excesses(found: tuple[Violation, ...]) -> dict[tuple[str, int], int]:
    return {(v.constraint, v.phase): v.excess for v in found}


def _violated(found: list[Constraint], amounts: dict[Key, int]) -> tuple[Violation, ...]:
    result = []
    for constraint in found:
        used = sum(amounts.get(key, 0) for key in constraint.members)
        if used > constraint.limit:
            result.append(Violation(constraint.label, constraint.phase, constraint.limit, used))
    return tuple(result)


def constraints(
    site: Site, state: State, params: Params, rules: dict[str, tuple[Rule, ...]]
) -> list[Constraint]:
    """Every S and Q constraint of the given limits, with its member connectors, per supply phase."""
    members: dict[str, list[tuple[Key, int, tuple[int, ...]]]] = {g: [] for g in rules}
    by_charger: dict[str, list[tuple[Key, tuple[int, ...]]]] = {}
    for key in site.controlled:
        connector = site.connector_by_key[key]
        cs = state.connector(key)
        priority = effective_priority(site, connector, cs, params)
        phases = phases_loaded(connector, cs, params)
        charger = site.charger_by_id[key[0]]
        for gid in site.paths[charger.group]:
            if gid in members:
                members[gid].append((key, priority, phases))
        if charger.charger_max_a is not None:
            by_charger.setdefault(charger.id, []).append((key, phases))
    found: list[Constraint] = []
    phase_list = (0, 1, 2) if params.phase_aware else (0,)
    for gid, group_rules in rules.items():
        for rule in group_rules:
            thresholds = [t for t, _ in rule.quotas]
            for phase in phase_list:
                on_phase = [(key, p) for key, p, phases in members[gid] if phase in phases]
                label = f"{gid} {rule.name}"
                found.append(
                    Constraint(
                        f"{label} total", phase, rule.quotas[-1][1], frozenset(k for k, _ in on_phase), gid
                    )
                )
                for j, (threshold, amps) in enumerate(rule.quotas):
                    upper = thresholds[j + 1] if j + 1 < len(thresholds) else None
                    lower = thresholds[0] if params.quota_mode == "cumulative" else threshold
                    in_quota = frozenset(
                        k for k, p in on_phase if p >= lower and (upper is None or p < upper)
                    )
                    found.append(
                        Constraint(f"{label} priority {threshold} quota", phase, amps, in_quota, gid)
                    )
    for charger_id, items in by_charger.items():
        cap = site.charger_by_id[charger_id].charger_max_a
        assert cap is not None
        for phase in phase_list:
            keys = frozenset(key for key, phases in items if phase in phases)
            found.append(Constraint(f"charger {charger_id} cap", phase, cap, keys, None))
    return found
