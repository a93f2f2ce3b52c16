"""``plan()``: one allocator run (allocation.md §3), from site, state and ``now`` to a ``Plan``.

Order: build the window's counters (R5, R7, R8, R26); charge pinned exposures (R2, R17); compute each
active connector's want (R10–R14) and cap it for the start-up window (R4), suspended groups (R22) and
forbidden priorities (R7); hand out current (R15) → targets; diff against what each charger was last told
(R16); release increases only while every constraint still holds with every exposure (R17, R18); return
the earliest instant the plan could change without a new event (R3).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from balanz.allocation.constraints import Counters, next_limit_change, window_rules
from balanz.allocation.demand import Want, _earliest, want
from balanz.allocation.exposure import charger_exposures, effective_priority, is_pinned, phases_loaded
from balanz.allocation.handout import Claim, hand_out
from balanz.allocation.model import Key, Params, Site
from balanz.allocation.state import ChargerState, ConnectorState, State

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
    memo: _Memo | None = field(default=None, repr=False, compare=False)


def _order_key(claim_state: ConnectorState, key: Key, quantum: float) -> tuple[object, ...]:
    session = claim_state.session
    energy = session.energy_wh if session is not None else 0.0
    started = session.started_at.timestamp() if session is not None else 0.0
    return (int(energy // quantum) if quantum > 0 else 0, -(claim_state.acked or 0), started, key[0], key[1])


@dataclass(slots=True)
class _Facts:
    """What one run learnt about one connector, reusable while ``cs``/``ch`` are the same objects and
    ``now < valid`` (every time-dependent rule reports the instant its answer could change)."""

    cs: ConnectorState
    ch: ChargerState
    valid: datetime | None
    ids: tuple[int, ...]
    priority: int
    pinned: str | None
    active: bool
    want: Want | None
    raw_wake: datetime | None
    order: tuple[object, ...]


@dataclass(slots=True)
class _Memo:
    """The previous run's work, for the next run: the incremental path (see ``plan``)."""

    site: Site
    params: Params
    signature: tuple[object, ...]
    flags: tuple[object, ...]
    counters: Counters
    facts: dict[Key, _Facts]
    exposures: dict[str, tuple[ChargerState, tuple[ConnectorState, ...], dict[Key, int], datetime | None]]
    claims: list[tuple[object, ...]]
    grants: dict[Key, int]
    grant_room: list[int]


def plan(site: Site, state: State, params: Params, now: datetime, previous: Plan | None = None) -> Plan:
    """One allocator run at ``now`` (timezone-aware).

    Pass the previous plan as ``previous`` to take the incremental path: per-connector facts (priority,
    counters, want, exposure) are reused for every connector whose state objects are unchanged and whose
    time-dependent rules have not reached their next instant, and the hand-out is skipped when no claim
    changed. The result is identical to a full run (the property tests compare both).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"plan() needs a timezone-aware now, got {now!r}")
    now = now.astimezone(UTC)
    lead = timedelta(seconds=params.schedule_lead_s)
    rules = window_rules(site, state, params, now, now + lead)
    signature = tuple((gid, tuple(rule.name for rule in group_rules)) for gid, group_rules in rules.items())
    in_first_wait = now < state.started_at + timedelta(seconds=params.first_wait_s)
    suspended_groups = frozenset(gid for gid, gs in state.groups.items() if gs.suspended)
    flags = (in_first_wait, suspended_groups)
    memo = previous.memo if previous is not None else None
    if memo is None or memo.site is not site or memo.params is not params or memo.signature != signature:
        memo = None
    elif memo.flags != flags:
        memo = _Memo(site, params, signature, flags, memo.counters, {}, memo.exposures, [], {}, [])
    counters = memo.counters if memo is not None else Counters(rules, params.quota_mode)
    old_facts = memo.facts if memo is not None else {}
    exposures, exposure_memo = _exposures(site, state, params, now, memo)

    facts: dict[Key, _Facts] = {}
    wake: datetime | None = None
    session_updates: dict[Key, ConnectorState] = {}
    quantum = params.fair_share_energy_quantum_wh
    chargers = state.chargers
    for key in site.controlled:
        cs = state.connectors.get(key) or state.connector(key)
        ch = chargers.get(key[0]) or state.charger(key[0])
        f = old_facts.get(key)
        if f is None or f.cs is not cs or f.ch is not ch or (f.valid is not None and now >= f.valid):
            f = _facts(site, key, cs, ch, params, now, counters, in_first_wait, suspended_groups, quantum)
            if f.want is not None and f.want.session is not None:
                session_updates[key] = replace(cs, session=f.want.session)
        facts[key] = f
        if f.raw_wake is not None and (wake is None or f.raw_wake < wake):
            wake = f.raw_wake

    claim_list = [
        (f.priority, f.order, key, f.want.amps, f.ids)
        for key, f in facts.items()
        if f.active and f.want is not None
    ]
    claim_list.sort(key=lambda c: (-c[0], c[1]))
    # A pinned connector's counters belong in the signature with its exposure: its priority (hence its
    # quota band) can change while it stays pinned at the same amperes, moving its charge to other counters.
    pinned_list = [(key, exposures[key], f.ids) for key, f in facts.items() if f.pinned is not None]
    claim_signature = [*claim_list, *pinned_list]
    if memo is not None and memo.claims == claim_signature and memo.grant_room:
        grants, grant_room = memo.grants, memo.grant_room
    else:
        grant_room = [
            limit - headroom for limit, headroom in zip(counters.limit, counters.headroom, strict=True)
        ]
        for _key, exposure, ids in pinned_list:
            for k in ids:
                grant_room[k] -= exposure
        levels: list[list[Claim]] = []
        last_priority = None
        for priority, _order, key, amps, ids in claim_list:
            if priority != last_priority:
                levels.append([])
                last_priority = priority
            levels[-1].append(Claim(key, amps, ids))
        hand_out(levels, grant_room, params.min_allocation_a)
        grants = {claim.key: claim.grant for level in levels for claim in level}

    targets: dict[Key, int] = {key: 0 for key, f in facts.items() if f.pinned is None and not f.active}
    targets.update(grants)

    exposure_room = list(counters.limit)
    for key, f in facts.items():
        exposure = exposures[key]
        if exposure:
            for k in f.ids:
                exposure_room[k] -= exposure
    recovery = tuple(
        f"{counters.labels[k]}: exposures exceed the limit {counters.limit[k]} A by {-room} A"
        for k, room in enumerate(exposure_room)
        if room < 0
    )

    reductions: list[Change] = []
    increases: list[Change] = []
    pending: list[Change] = []
    for key, f in facts.items():
        if f.pinned is None and not f.active and f.cs.sent_value != 0:
            reason = f"connector idle (status {f.cs.status})"
            reductions.append(Change(key, 0, f.cs.sent_value, exposures[key], "R21", reason))
    for _priority, _order, key, amps, ids in claim_list:
        f = facts[key]
        target = grants[key]
        sent = f.cs.sent_value
        if target == sent:
            continue
        exposure = exposures[key]
        assert f.want is not None
        rule, reason = _explain(f.want, amps, target, ids, grant_room, counters)
        change = Change(key, target, sent, exposure, rule, reason)
        if target < exposure:
            reductions.append(change)
            continue
        extra = target - exposure
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
        for _ch, _css, _values, valid in exposure_memo.values():
            if valid is not None and valid > now:
                wake = _earliest(wake, valid)
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
    new_memo = _Memo(
        site, params, signature, flags, counters, facts, exposure_memo, claim_signature, grants, grant_room
    )
    return Plan(
        now=now,
        targets=targets,
        wants={key: f.want.amps for key, f in facts.items() if f.active and f.want is not None},
        reductions=tuple(reductions),
        increases=tuple(increases),
        pending=tuple(pending),
        pinned={key: f.pinned for key, f in facts.items() if f.pinned is not None},
        recovery=recovery,
        next_instant=wake,
        state=new_state,
        memo=new_memo,
    )


def _facts(
    site: Site,
    key: Key,
    cs: ConnectorState,
    ch: ChargerState,
    params: Params,
    now: datetime,
    counters: Counters,
    in_first_wait: bool,
    suspended_groups: frozenset[str],
    quantum: float,
) -> _Facts:
    """Priority (R6), counters (R7/R8/R26), pinning (R2) and the capped want (R4, R7, R10–R14, R22)."""
    connector = site.connector_by_key[key]
    charger = site.charger_by_id[key[0]]
    priority = effective_priority(site, connector, cs, params)
    phases = phases_loaded(connector, cs, params)
    ids, forbidden = counters.members(
        site, charger.group, charger.id, charger.charger_max_a, priority, phases
    )
    order = _order_key(cs, key, quantum)
    reason = is_pinned(charger, ch, cs)
    if reason is not None or not cs.active:
        return _Facts(cs, ch, None, ids, priority, reason, False, None, None, order)
    if cs.suspended_by_operator:
        # nothing is learnt about the EV while the operator holds it at 0 A: no rule runs, no wake-up
        w = Want(0, "R22", "connector suspended by the operator")
        return _Facts(cs, ch, None, ids, priority, None, True, w, None, order)
    w = want(connector, cs, params, now, site.tz)
    wake = w.wake
    amps = w.amps
    sent = cs.sent_value or 0
    if forbidden and amps > 0:
        w = Want(0, "R7", "priority below the lowest threshold of a slot in force within the look-ahead")
    elif amps > sent and in_first_wait:
        w = Want(sent, "R4", f"no increases until {params.first_wait_s:g} s after start", session=w.session)
    elif amps > sent and suspended_groups and any(g in suspended_groups for g in site.paths[charger.group]):
        w = Want(sent, "R22", "group suspended by the operator: no increases", session=w.session)
    return _Facts(cs, ch, wake, ids, priority, None, True, w, wake, order)


def _exposures(
    site: Site, state: State, params: Params, now: datetime, memo: _Memo | None
) -> tuple[
    dict[Key, int],
    dict[str, tuple[ChargerState, tuple[ConnectorState, ...], dict[Key, int], datetime | None]],
]:
    """R17 exposures per charger, reusing a charger's values while nothing it depends on changed."""
    old = memo.exposures if memo is not None else {}
    exposures: dict[Key, int] = {}
    result = {}
    offline_after = timedelta(seconds=params.offline_release_after_s)
    for charger in site.chargers:
        if not charger.connectors or charger.connectors[0].key not in site.roots:
            continue
        ch = state.charger(charger.id)
        css = tuple(state.connector(c.key) for c in charger.connectors)
        entry = old.get(charger.id)
        if (
            entry is not None
            and entry[0] is ch
            and all(a is b for a, b in zip(entry[1], css, strict=True))
            and (entry[3] is None or now < entry[3])
        ):
            values, valid = entry[2], entry[3]
        else:
            values = charger_exposures(site, state, charger, params, now)
            valid = None
            for cs in css:
                for _old, until in cs.settling:
                    if until > now and (valid is None or until < valid):
                        valid = until
            if params.offline_release_after_s > 0 and not ch.connected and ch.since is not None:
                release = ch.since + offline_after
                if release > now and (valid is None or release < valid):
                    valid = release
        exposures.update(values)
        result[charger.id] = (ch, css, values, valid)
    return exposures, result


def _explain(
    w: Want, want_amps: int, grant: int, ids: tuple[int, ...], room: list[int], counters: Counters
) -> tuple[str, str]:
    """The rule behind a target: the connector's own want, or the constraint that stopped it."""
    if grant >= want_amps or not ids:
        return w.rule, w.reason
    # Ties go by label: counter indexes depend on the order counters were created, which differs between a
    # full and an incremental run, while labels name the constraint itself.
    binding = min(ids, key=lambda k: (room[k], counters.labels[k]))
    label = counters.labels[binding]
    if label.startswith("charger "):
        rule = "R8"
    elif "quota" in label:
        rule = "R7"
    elif "external" in label:
        rule = "R5"
    elif "override" in label:
        rule = "R22"
    else:
        rule = "R15"
    return rule, f"wants {want_amps} A, gets {grant} A: {label} is full ({w.reason})"
