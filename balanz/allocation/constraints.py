"""The constraint set of one run (R5, R7, R8, R22-external, R26) as flat counters.

Every constraint is "the sum over some connectors of their amperes ≤ a limit". Each becomes a counter
with a ``limit``; each connector gets the list of counters it draws on (per group on its path, per slot
in the look-ahead window, per quota it falls under, per supply phase it loads). Granting ``x`` A to a
connector then costs one subtraction per counter, and checking a grant is a ``min`` over its counters —
the data layout that keeps a pass over 10,000 connectors cheap. Connectors with the same group, priority
and phases share one list.

Quotas (R7): for a slot with thresholds ``p_1 < … < p_k`` and amperes ``A_1 ≤ … ≤ A_k``:
- cumulative: a connector of band ``b`` draws on quotas ``b … k-1`` and on the slot total ``A_k``;
- band: on quota ``b`` and on the total.
A connector below the lowest threshold draws only on the total and is *forbidden* (gets nothing) while
that slot is in the window.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from balanz.allocation.model import Group, Params, Site
from balanz.allocation.state import State

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rule:
    """One limit in force during the window: a schedule slot or an external limit (quotas = total only).
    ``kind``: "slot", "external", "fallback" or "override" — with the thresholds, what the counters built
    from it depend on besides the amperes (``structure``)."""

    group: str
    name: str
    quotas: tuple[tuple[int, int], ...]
    kind: str


def structure(rules: dict[str, tuple[Rule, ...]]) -> tuple[object, ...]:
    """What the counters and every connector's membership follow from, without the amperes: two windows
    with the same structure differ only in limits (and the labels naming them)."""
    return tuple(
        (gid, tuple((rule.kind, tuple(t for t, _a in rule.quotas)) for rule in group_rules))
        for gid, group_rules in rules.items()
    )


def _total(group_id: str, rule: Rule, phase: int) -> tuple[int, str]:
    """Limit and label of a rule's total counter on one phase. The label names the counter alone (not the
    connector that happened to create it first), so a counter reused by an incremental run reads the same
    as a fresh one."""
    return rule.quotas[-1][1], f"{group_id} {rule.name} total L{phase + 1}"


def _quota(group_id: str, rule: Rule, phase: int, j: int) -> tuple[int, str]:
    threshold, amps = rule.quotas[j]
    return amps, f"{group_id} {rule.name} priority {threshold}+ quota L{phase + 1}"


@dataclass(slots=True)
class Counters:
    """Counters of one window. ``limit`` is the physical limit; ``headroom`` what grants must keep free."""

    rules: dict[str, tuple[Rule, ...]]
    mode: str
    limit: list[int] = field(default_factory=list)
    headroom: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    index: dict[tuple[object, ...], int] = field(default_factory=dict)
    by_root: dict[str, list[int]] = field(default_factory=dict)
    memo: dict[tuple[object, ...], tuple[tuple[int, ...], bool]] = field(default_factory=dict)

    def counter(self, ident: tuple[object, ...], limit: int, label: str, headroom: int, root: str) -> int:
        """The counter ``ident`` (created on first use); ``root``: the tree it belongs to (``by_root``)."""
        found = self.index.get(ident)
        if found is None:
            found = len(self.limit)
            self.index[ident] = found
            self.limit.append(limit)
            self.headroom.append(headroom)
            self.labels.append(label)
            self.by_root.setdefault(root, []).append(found)
        return found

    def members(
        self,
        site: Site,
        group_id: str,
        charger_id: str,
        charger_max: int | None,
        priority: int,
        phases: tuple[int, ...],
    ) -> tuple[tuple[int, ...], bool]:
        """Counters a connector draws on, and whether some slot in the window forbids it any current."""
        memo_key = (group_id, charger_id if charger_max is not None else "", priority, phases)
        found = self.memo.get(memo_key)
        if found is not None:
            return found
        ids: list[int] = []
        forbidden = False
        path = site.paths[group_id]
        root = path[-1]
        for gid in path:
            group = site.group_by_id[gid]
            for number, rule in enumerate(self.rules.get(gid, ())):
                forbidden |= self._rule_members(group, number, rule, priority, phases, ids, root)
        if charger_max is not None:
            for phase in phases:
                ids.append(
                    self.counter(
                        ("charger", charger_id, phase),
                        charger_max,
                        f"charger {charger_id} L{phase + 1}",
                        0,
                        root,
                    )
                )
        result = (tuple(ids), forbidden)
        self.memo[memo_key] = result
        return result

    def _rule_members(
        self,
        group: Group,
        number: int,
        rule: Rule,
        priority: int,
        phases: tuple[int, ...],
        ids: list[int],
        root: str,
    ) -> bool:
        quotas = rule.quotas
        k = len(quotas)
        band = None
        for i, (threshold, _amps) in enumerate(quotas):
            if threshold <= priority:
                band = i
        headroom = math.ceil(group.headroom_a - 1e-9)
        for phase in phases:
            ids.append(
                self.counter(
                    (group.id, number, phase, "total"), *_total(group.id, rule, phase), headroom, root
                )
            )
            if band is None:
                continue
            if self.mode == "cumulative":
                quota_range = range(band, k - 1)
            else:
                quota_range = range(band, band + 1) if band < k - 1 else range(0)
            for j in quota_range:
                ids.append(
                    self.counter(
                        (group.id, number, phase, j), *_quota(group.id, rule, phase, j), headroom, root
                    )
                )
        return band is None

    def revalued(self, rules: dict[str, tuple[Rule, ...]], site: Site) -> tuple[Counters, set[str]]:
        """These counters under ``rules`` of the same ``structure``: a copy (the previous plan keeps its
        own) with the limits and labels of the new amperes, and the roots of the trees whose counters
        changed. Memberships, and so every connector's facts, stay as they are."""
        limit, labels = list(self.limit), list(self.labels)
        roots: set[str] = set()
        for ident, k in self.index.items():
            if ident[0] == "charger":
                continue
            gid, number, phase, which = cast(tuple[str, int, int, int | str], ident)
            rule = rules[gid][number]
            found = _total(gid, rule, phase) if isinstance(which, str) else _quota(gid, rule, phase, which)
            if found != (limit[k], labels[k]):
                limit[k], labels[k] = found
                roots.add(site.paths[gid][-1])
        by_root = {root: list(ids) for root, ids in self.by_root.items()}
        copy = Counters(
            rules, self.mode, limit, list(self.headroom), labels, dict(self.index), by_root, dict(self.memo)
        )
        return copy, roots


def window_rules(
    site: Site, state: State, params: Params, start: datetime, end: datetime
) -> dict[str, tuple[Rule, ...]]:
    """Per constraining group, every limit in force at some instant of ``[start, end]`` (R5).

    An operator override (``events.set_group_override``) is one more limit of its group while it lasts.
    It only caps connectors that are controlled at all (under a group with a schedule or an external
    fallback): the set of controlled connectors belongs to the site, not to the live state.
    """
    rules: dict[str, tuple[Rule, ...]] = {}
    for group in site.groups:
        found: list[Rule] = []
        if group.schedule is not None:
            for slot in group.schedule.slots_during(start, end, site.tz):
                found.append(Rule(group.id, f'slot {slot.index} "{slot.text}"', slot.quotas, "slot"))
        if group.external_fallback_a is not None:
            found.extend(_external_rules(group, state, start, end))
        override = state.group(group.id).override
        if override is not None and (override.until is None or override.until > start):
            found.append(
                Rule(group.id, f"operator override {override.amps} A", ((0, override.amps),), "override")
            )
        if found:
            rules[group.id] = tuple(found)
    return rules


def _external_rules(group: Group, state: State, start: datetime, end: datetime) -> list[Rule]:
    external = state.group(group.id).external
    fallback_a = group.external_fallback_a or 0
    fallback = Rule(group.id, f"external fallback {fallback_a} A", ((0, fallback_a),), "fallback")
    if external is None or external.valid_until <= start:
        return [fallback]
    live = Rule(group.id, f"external limit {external.amps} A", ((0, external.amps),), "external")
    return [live, fallback] if external.valid_until <= end else [live]


def rules_at(site: Site, state: State, params: Params, instant: datetime) -> dict[str, tuple[Rule, ...]]:
    """The limits in force at exactly one instant (the checker's view of invariants S and Q)."""
    return window_rules(site, state, params, instant, instant)


def next_limit_change(site: Site, state: State, params: Params, now: datetime) -> datetime | None:
    """When the window next changes: a schedule boundary or external deadline − lead, or a limit leaving it
    (a boundary, an external deadline, an operator override's expiry)."""
    lead = timedelta(seconds=params.schedule_lead_s)
    earliest: datetime | None = None
    for group in site.groups:
        candidates = []
        if group.schedule is not None:
            boundary = group.schedule.next_boundary(now + lead, site.tz)
            if boundary is not None:
                candidates.append(boundary - lead)
            # the slot leaving the window also changes the constraint set: its end is a boundary after now
            leaving = group.schedule.next_boundary(now, site.tz)
            if leaving is not None:
                candidates.append(leaving)
        if group.external_fallback_a is not None:
            external = state.group(group.id).external
            if external is not None and external.valid_until > now:
                candidates.append(external.valid_until - lead)
                candidates.append(external.valid_until)
        override = state.group(group.id).override
        if override is not None and override.until is not None:
            # the cap leaves the window when it expires: the plan may increase then
            candidates.append(override.until)
        for candidate in candidates:
            if candidate > now and (earliest is None or candidate < earliest):
                earliest = candidate
    return earliest
