"""The allocator's side of the monitor snapshot: limits in force, offers, exposures and why they changed.

``allocation_view`` is a pure function of the CSMS-built snapshot, the allocator's site, state, last plan and
parameters, and the time: it asks the allocation core (``rules_at``, ``window_rules``, exposures, effective
priority, the schedule) rather than repeating its rules, so the monitor shows exactly the limits and the
exposures the allocator decides with.

Phase values are per *supply* phase (L1, L2, L3) whatever ``phase_aware`` says: an operator compares them
with the feeder's breakers, and a three-phase car at 16 A loads all three phases with 16 A even when the
allocator counts it on one virtual phase.

What a single plan cannot say — the last change of a connector and its offer history — is remembered by
``AllocationHistory``, which sees every plan the allocator makes (``observe``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from balanz.allocation.constraints import rules_at, window_rules
from balanz.allocation.exposure import all_exposures, effective_priority, phases_loaded
from balanz.allocation.model import Key, Params, Site
from balanz.allocation.planner import Change, Plan
from balanz.allocation.schedule import Slot as CoreSlot
from balanz.allocation.state import ConnectorState, State
from balanz.control.protocol import Event
from balanz.control.site_snapshot import iso
from balanz.control.snapshot import Charger, Connector, External, Quota, Slot, SlotChange, Snapshot

logger = logging.getLogger(__name__)

HISTORY_DEPTH = 30


def describe_change(change: Change) -> str:
    before = "?" if change.previous is None else f"{change.previous}"
    return f"{before}→{change.value} A {change.rule}: {change.reason}"


@dataclass
class AllocationHistory:
    """Per connector: the last change the allocator decided (rule and reason), what it is waiting for, and
    the offers it decided, newest last (the detail pane's sparkline)."""

    depth: int = HISTORY_DEPTH
    changes: dict[Key, tuple[str, str]] = field(default_factory=dict)
    waiting: dict[Key, str] = field(default_factory=dict)
    offers: dict[Key, tuple[float, ...]] = field(default_factory=dict)
    seen: Plan | None = None

    def observe(self, plan: Plan) -> list[Event]:
        """Record ``plan``'s decisions; returns them as monitor events (nothing for a plan already seen)."""
        if plan is self.seen:
            return []
        self.seen = plan
        events = []
        at = iso(plan.now)
        for change in (*plan.reductions, *plan.increases):
            text = describe_change(change)
            self.changes[change.key] = (at, text)
            history = self.offers.get(change.key, ())
            if not history or history[-1] != change.value:
                self.offers[change.key] = (*history, float(change.value))[-self.depth :]
            charger_id, connector_id = change.key
            events.append(Event(at, "allocation", text, charger_id, connector_id, rule=change.rule))
        self.waiting = {c.key: f"{c.value} A waits ({c.rule}): {c.reason}" for c in plan.pending}
        return events

    def last_change(self, key: Key) -> tuple[str, str]:
        """(when, what): the last decided change and, if one waits, what it waits for."""
        at, text = self.changes.get(key, ("", ""))
        parts = [part for part in (text, self.waiting.get(key)) if part]
        return at, "; ".join(parts)


def allocation_view(
    snapshot: Snapshot,
    site: Site,
    state: State,
    plan: Plan | None,
    params: Params,
    now: datetime,
    history: AllocationHistory | None = None,
) -> Snapshot:
    """``snapshot`` with the allocation fields of every group and connector the allocator knows filled in."""
    history = history or AllocationHistory()
    exposures = all_exposures(site, state, params, now)
    targets = plan.targets if plan is not None else {}
    rules = rules_at(site, state, params, now)
    window = window_rules(site, state, params, now, now + timedelta(seconds=params.schedule_lead_s))
    per_group: dict[str, list[Key]] = {}
    for key in exposures:
        for gid in site.group_path(key):
            per_group.setdefault(gid, []).append(key)

    aware = replace(params, phase_aware=True)
    offers: dict[Key, float] = {}
    loads: dict[Key, tuple[int, ...]] = {}
    for key in exposures:
        cs = state.connector(key)
        target = targets.get(key)
        offers[key] = float(target if target is not None else cs.sent_value or 0)
        loads[key] = phases_loaded(site.connector_by_key[key], cs, aware)
    offered, physical = offers.__getitem__, loads.__getitem__

    priorities = {
        key: effective_priority(site, site.connector_by_key[key], state.connector(key), params)
        for key in exposures
    }
    groups = []
    for group in snapshot.groups:
        core = site.group_by_id.get(group.id)
        if core is None:
            groups.append(group)
            continue
        keys = per_group.get(group.id, [])
        in_force = rules.get(group.id, ())
        limit = min((rule.quotas[-1][1] for rule in in_force), default=None)
        offered_a = _phase_sums((offered(k), physical(k)) for k in keys)
        exposure_a = _phase_sums((exposures[k], physical(k)) for k in keys)
        slot = next_change = None
        if core.schedule is not None:
            current = core.schedule.slot_at(now, site.tz)
            slot = _slot(current, [(priorities[k], offered(k)) for k in keys], params.quota_mode)
            boundary = core.schedule.next_boundary(now, site.tz)
            if boundary is not None:
                upcoming = core.schedule.slot_at(boundary, site.tz)
                next_change = SlotChange(iso(boundary), _slot(upcoming, [], params.quota_mode))
        external = None
        if core.external_fallback_a is not None:
            live = state.group(group.id).external
            fresh = live is not None and live.valid_until > now
            external = External(
                fallback_a=float(core.external_fallback_a),
                limit_a=float(live.amps) if live is not None else None,
                until=iso(live.valid_until) if live is not None else "",
                stale=not fresh,
            )
        excess = max((v - limit for v in exposure_a), default=0.0) if limit is not None else 0.0
        groups.append(
            replace(
                group,
                allocation=group.allocation or bool(in_force),
                limit_a=float(limit) if limit is not None else None,
                offered_a=offered_a,
                exposure_a=exposure_a,
                slot=slot,
                next_change=next_change,
                suspended=state.group(group.id).suspended,
                recovery_excess_a=excess if excess > 0 else None,
                lookahead=len(window.get(group.id, ())) > len(in_force),
                rules=tuple(rule.name for rule in in_force),
                external=external,
            )
        )
    chargers = tuple(
        _charger(charger, site, state, plan, params, now, exposures, priorities, history)
        for charger in snapshot.chargers
    )
    return replace(snapshot, groups=tuple(groups), chargers=chargers)


def _phase_sums(items: Iterable[tuple[float, tuple[int, ...]]]) -> tuple[float, ...]:
    total = [0.0, 0.0, 0.0]
    for amps, phases in items:
        for phase in phases:
            total[phase] += amps
    return tuple(total)


def _slot(slot: CoreSlot, loads: list[tuple[int, float]], mode: str) -> Slot:
    """A schedule slot with each threshold's use: what the sessions of that priority (and, cumulatively,
    above) are offered — the same sets the quota counters hold (allocation.md R7)."""
    quotas = []
    for index, (threshold, amps) in enumerate(slot.quotas):
        used = 0.0
        for priority, offer in loads:
            band = slot.band(priority)
            if band is not None and (band == index or (mode == "cumulative" and band >= index)):
                used += offer
        quotas.append(Quota(threshold, float(amps), used))
    return Slot(label=slot.text, limit_a=float(slot.limit), quotas=tuple(quotas))


def _priority_source(site: Site, key: Key, cs: ConnectorState) -> str:
    session = cs.session
    if session is not None and session.override_priority is not None:
        return "operator"
    if session is not None and session.tag_priority is not None:
        return "tag"
    if session is None and cs.priority_hold is not None:
        return "held"
    if site.connector_by_key[key].priority is not None:
        return "connector"
    if site.charger_by_id[key[0]].priority is not None:
        return "charger"
    return "default"


def _charger(
    charger: Charger,
    site: Site,
    state: State,
    plan: Plan | None,
    params: Params,
    now: datetime,
    exposures: Mapping[Key, int],
    priorities: Mapping[Key, int],
    history: AllocationHistory,
) -> Charger:
    connectors = []
    for connector in charger.connectors:
        key = (charger.id, connector.id)
        if key not in exposures:
            connectors.append(connector)
            continue
        connectors.append(_connector(connector, key, site, state, plan, now, exposures, priorities, history))
    return replace(charger, connectors=tuple(connectors))


def _connector(
    connector: Connector,
    key: Key,
    site: Site,
    state: State,
    plan: Plan | None,
    now: datetime,
    exposures: Mapping[Key, int],
    priorities: Mapping[Key, int],
    history: AllocationHistory,
) -> Connector:
    cs = state.connector(key)
    session = cs.session
    pinned = plan.pinned.get(key, "") if plan is not None else ""
    target = plan.targets.get(key) if plan is not None else None
    want = plan.wants.get(key) if plan is not None else None
    suspended_until = session.suspend_until if session is not None else None
    if suspended_until is not None and suspended_until <= now:
        suspended_until = None
    priority, source = priorities[key], _priority_source(site, key, cs)
    changed_at, change = history.last_change(key)
    flags = set(connector.flags)
    if pinned:
        flags.add("pinned")
    if cs.unresolved:
        flags.add("unresolved")
    # what the connector holds whatever it is offered (the allocator keeps that room for it)
    floor = state.charger(key[0]).floor_a
    if floor:
        flags.add(f"floor {floor} A")
    if cs.over_a is not None:
        flags.add(f"seen {cs.over_a:.0f} A over its limit")
    return replace(
        connector,
        priority=priority,
        priority_source=source,
        target_a=None if target is None else float(target),
        want_a=None if want is None else float(want),
        sent_a=None if cs.sent_value is None else float(cs.sent_value),
        offer_a=None if cs.acked is None else float(cs.acked),
        exposure_a=float(exposures[key]),
        in_flight_a=float(cs.in_flight[-1].value) if cs.in_flight else None,
        pinned=pinned,
        ev_cap_a=None if session is None or session.ev_cap is None else float(session.ev_cap),
        suspended=connector.suspended or cs.suspended_by_operator or suspended_until is not None,
        suspended_until=iso(suspended_until) or connector.suspended_until,
        suspend_reason=connector.suspend_reason or _suspend_reason(cs.suspended_by_operator, suspended_until),
        last_change=change or connector.last_change,
        last_change_at=changed_at or connector.last_change_at,
        offer_history=history.offers.get(key, connector.offer_history),
        flags=tuple(sorted(flags)),
    )


def _suspend_reason(by_operator: bool, until: datetime | None) -> str:
    if by_operator:
        return "operator (R22)"
    return "EV did not draw, probed again then (R12)" if until is not None else ""
