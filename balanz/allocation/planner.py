"""``plan()``: one allocator run (allocation.md §3), from site, state and ``now`` to a ``Plan``.

Order: build the window's counters (R5, R7, R8, R26); charge pinned exposures (R2, R17); compute each
active connector's want (R10–R14) and cap it for the start-up window (R4), suspended groups (R22) and
forbidden priorities (R7); hand out current (R15) → targets; diff against what each charger was last told
(R16); release increases only while every constraint still holds with every exposure (R17, R18); return
the earliest instant the plan could change without a new event (R3).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from balanz.allocation.constraints import Counters, next_limit_change, window_rules
from balanz.allocation.demand import Want, _earliest, want
from balanz.allocation.exposure import all_exposures, effective_priority, is_pinned, phases_loaded
from balanz.allocation.handout import Claim, hand_out
from balanz.allocation.model import Key, Params, Site
from balanz.allocation.state import ConnectorState, State

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """One offer change: ``value`` to send, ``previous`` what the charger was last told (None: unknown)."""

    key: Key
    value: int
    previous: int | None
    exposure: int
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The result of one run.

    ``reductions`` are to be sent at once; ``increases`` passed the exposure check and may be sent now,
    in this order; ``pending`` increases wait (for confirmations, settle time or capacity) and are
    re-evaluated by the next run. ``state`` carries what the run decided about sessions (learnt EV caps,
    suspensions) and must replace the shell's state. ``recovery`` names every constraint currently
    exceeded by exposures (the monitor shows it). ``next_instant``: run again then if no event came first.
    """

    now: datetime
    targets: dict[Key, int]
    wants: dict[Key, int]
    reductions: tuple[Change, ...]
    increases: tuple[Change, ...]
    pending: tuple[Change, ...]
    pinned: dict[Key, str]
    recovery: tuple[str, ...]
    next_instant: datetime | None
    state: State


def _order_key(claim_state: ConnectorState, key: Key, quantum: float) -> tuple[object, ...]:
    session = claim_state.session
    energy = session.energy_wh if session is not None else 0.0
    started = session.started_at.timestamp() if session is not None else 0.0
    return (int(energy // quantum) if quantum > 0 else 0, -(claim_state.acked or 0), started, key[0], key[1])


def plan(site: Site, state: State, params: Params, now: datetime) -> Plan:
    """One full allocator run at ``now`` (timezone-aware)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"plan() needs a timezone-aware now, got {now!r}")
    now = now.astimezone(UTC)
    lead = timedelta(seconds=params.schedule_lead_s)
    counters = Counters(window_rules(site, state, params, now, now + lead), params.quota_mode)
    exposures = all_exposures(site, state, params, now)
    in_first_wait = now < state.started_at + timedelta(seconds=params.first_wait_s)
    suspended_groups = {gid for gid, gs in state.groups.items() if gs.suspended}

    claims: dict[Key, Claim] = {}
    wants: dict[Key, Want] = {}
    membership: dict[Key, tuple[int, ...]] = {}
    pinned: dict[Key, str] = {}
    priorities: dict[Key, int] = {}
    idle: list[Key] = []
    wake: datetime | None = None
    session_updates: dict[Key, ConnectorState] = {}

    for key in site.controlled:
        connector = site.connector_by_key[key]
        charger = site.charger_by_id[key[0]]
        cs = state.connector(key)
        priority = effective_priority(site, connector, cs, params)
        ids, forbidden = counters.members(
            site,
            charger.group,
            charger.id,
            charger.charger_max_a,
            priority,
            phases_loaded(connector, cs, params),
        )
        membership[key] = ids
        reason = is_pinned(charger, state.charger(charger.id), cs)
        if reason is not None:
            pinned[key] = reason
            continue
        if not cs.active:
            idle.append(key)
            continue
        w = want(connector, cs, params, now, site.tz)
        wake = _earliest(wake, w.wake)
        if w.session is not None:
            session_updates[key] = replace(cs, session=w.session)
        amps = w.amps
        if forbidden and amps > 0:
            w = Want(0, "R7", "priority below the lowest threshold of a slot in force within the look-ahead")
            amps = 0
        elif amps > (cs.sent_value or 0):
            path = site.paths[charger.group]
            if in_first_wait:
                amps = cs.sent_value or 0
                w = Want(amps, "R4", f"no increases until {params.first_wait_s:g} s after start")
            elif suspended_groups and any(g in suspended_groups for g in path):
                amps = cs.sent_value or 0
                w = Want(amps, "R22", "group suspended by the operator: no increases")
        wants[key] = w if w.amps == amps else Want(amps, w.rule, w.reason, w.wake, w.session)
        priorities[key] = priority
        claims[key] = Claim(key, amps, ids)

    grant_room = [limit - headroom for limit, headroom in zip(counters.limit, counters.headroom, strict=True)]
    for key in pinned:
        exposure = exposures[key]
        for k in membership[key]:
            grant_room[k] -= exposure

    levels: dict[int, list[Claim]] = {}
    for key, claim in claims.items():
        levels.setdefault(priorities[key], []).append(claim)
    quantum = params.fair_share_energy_quantum_wh
    ordered_levels = []
    for priority in sorted(levels, reverse=True):
        level = levels[priority]
        level.sort(key=lambda c: _order_key(state.connector(c.key), c.key, quantum))
        ordered_levels.append(level)
    hand_out(ordered_levels, grant_room, params.min_allocation_a)

    targets: dict[Key, int] = {key: 0 for key in idle}
    for key, claim in claims.items():
        targets[key] = claim.grant

    exposure_room = list(counters.limit)
    for key in site.controlled:
        exposure = exposures[key]
        if exposure:
            for k in membership[key]:
                exposure_room[k] -= exposure
    recovery = tuple(
        f"{counters.labels[k]}: exposures exceed the limit {counters.limit[k]} A by {-room} A"
        for k, room in enumerate(exposure_room)
        if room < 0
    )

    reductions: list[Change] = []
    increases: list[Change] = []
    pending: list[Change] = []
    for key in idle:
        cs = state.connector(key)
        if cs.sent_value != 0:
            reductions.append(
                Change(key, 0, cs.sent_value, exposures[key], "R21", f"connector idle (status {cs.status})")
            )
    for level in ordered_levels:
        for claim in level:
            key = claim.key
            cs = state.connector(key)
            target = claim.grant
            if target == cs.sent_value:
                continue
            exposure = exposures[key]
            rule, reason = _explain(wants[key], claim, grant_room, counters)
            change = Change(key, target, cs.sent_value, exposure, rule, reason)
            if target < exposure:
                reductions.append(change)
                continue
            extra = target - exposure
            ids = claim.counters
            if all(exposure_room[k] >= extra for k in ids):
                for k in ids:
                    exposure_room[k] -= extra
                increases.append(change)
            else:
                blocked = min(ids, key=lambda k: exposure_room[k])
                pending.append(
                    replace(
                        change,
                        reason=f"{reason}; waits: {counters.labels[blocked]} has {exposure_room[blocked]} A "
                        f"free counting unconfirmed and settling offers (R17)",
                    )
                )

    if pending:
        for key in site.controlled:
            for _old, until in state.connector(key).settling:
                if until > now:
                    wake = _earliest(wake, until)
    if in_first_wait:
        wake = _earliest(wake, state.started_at + timedelta(seconds=params.first_wait_s))
    wake = _earliest(wake, next_limit_change(site, state, params, now))
    if params.offline_release_after_s > 0:
        for ch in state.chargers.values():
            if not ch.connected and ch.since is not None:
                release = ch.since + timedelta(seconds=params.offline_release_after_s)
                if release > now:
                    wake = _earliest(wake, release)

    connectors = state.connectors
    if session_updates:
        connectors = {**connectors, **session_updates}
    new_state = replace(state, connectors=connectors, changed=frozenset(), changed_all=False)
    return Plan(
        now=now,
        targets=targets,
        wants={key: w.amps for key, w in wants.items()},
        reductions=tuple(reductions),
        increases=tuple(increases),
        pending=tuple(pending),
        pinned=pinned,
        recovery=recovery,
        next_instant=wake,
        state=new_state,
    )


def _explain(w: Want, claim: Claim, room: list[int], counters: Counters) -> tuple[str, str]:
    """The rule behind a target: the connector's own want, or the constraint that stopped it."""
    if claim.grant >= claim.want:
        return w.rule, w.reason
    if not claim.counters:
        return w.rule, w.reason
    binding = min(claim.counters, key=lambda k: room[k])
    label = counters.labels[binding]
    if label.startswith("charger "):
        rule = "R8"
    elif "quota" in label:
        rule = "R7"
    elif "external" in label:
        rule = "R5"
    else:
        rule = "R15"
    return rule, f"wants {claim.want} A, gets {claim.grant} A: {label} is full ({w.reason})"
