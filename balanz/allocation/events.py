"""State transitions: one pure function per thing that can happen, each returning a new ``State``.

The shell only moves messages: it turns an OCPP frame or an operator command into one of these calls,
keeps the returned state, and runs ``plan()``. Every transition marks the connectors it touched in
``State.changed``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from balanz.allocation.model import Key, Params, Site
from balanz.allocation.state import (
    ConnectorState,
    ExternalLimit,
    GroupOverride,
    GroupState,
    InFlight,
    Sample,
    Session,
    State,
)

logger = logging.getLogger(__name__)


def _put(state: State, key: Key, cs: ConnectorState) -> State:
    return replace(state, connectors={**state.connectors, key: cs}, changed=state.changed | {key})


def _touch(state: State, keys: Iterable[Key]) -> frozenset[Key]:
    return state.changed | frozenset(keys)


# --- offers (R16–R19) -------------------------------------------------------------------------------------


def offer_sent(state: State, key: Key, value: int, now: datetime) -> State:
    """An offer went on the wire: from now on it counts in the exposure (R17 item 2)."""
    cs = state.connector(key)
    return _put(state, key, replace(cs, in_flight=(*cs.in_flight, InFlight(value, now))))


def offer_accepted(state: State, key: Key, value: int, now: datetime, params: Params) -> State:
    """The charger accepted ``value``: it is the confirmed limit; a lowering settles first (R17 item 3).

    Answers arrive in order (one outstanding CALL), so the accepted offer and every older one leave the
    in-flight list. An unchanged value does not restart the ramp clock (R14: re-assertions). A reported
    ``Current.Offered`` sampled before ``now`` described the replaced profile and is forgotten; one sampled
    at ``now`` or later stays (R17 item 5).
    """
    cs = state.connector(key)
    position = next((i for i, f in enumerate(cs.in_flight) if f.value == value), None)
    in_flight = cs.in_flight[position + 1 :] if position is not None else cs.in_flight
    old = cs.acked
    settling = tuple((v, until) for v, until in cs.settling if until > now)
    changed_at = cs.changed_at
    offered_a, offered_at = cs.offered_a, cs.offered_at
    if offered_at is not None and offered_at < now:
        offered_a, offered_at = None, None
    if old is None or value != old:
        changed_at = now
        if old is not None and value < old:
            settling = (*settling, (old, now + timedelta(seconds=params.wait_after_reduce_s)))
    return _put(
        state,
        key,
        replace(
            cs,
            acked=value,
            changed_at=changed_at,
            in_flight=in_flight,
            settling=settling,
            offered_a=offered_a,
            offered_at=offered_at,
            accepted_at=now,
        ),
    )


def offer_rejected(state: State, key: Key, value: int, now: datetime) -> State:
    """Rejected (or a CALLERROR other than NotSupported): the old profile stays in force (R19)."""
    cs = state.connector(key)
    position = next((i for i, f in enumerate(cs.in_flight) if f.value == value), None)
    if position is None:
        return state
    in_flight = cs.in_flight[:position] + cs.in_flight[position + 1 :]
    return _put(state, key, replace(cs, in_flight=in_flight))


def offer_timed_out(state: State, key: Key, value: int, now: datetime) -> State:
    """No answer: the value stays counted and the connector is pinned until resolved (R19)."""
    cs = state.connector(key)
    in_flight = tuple(replace(f, timed_out=True) if f.value == value else f for f in cs.in_flight)
    return _put(state, key, replace(cs, in_flight=in_flight))


# --- charger and connector facts -----------------------------------------------------------------------


def status_changed(state: State, key: Key, status: str, now: datetime) -> State:
    """StatusNotification. SuspendedEV adds a 0 A sample (R9); leaving the active set ends R10–R13 memory."""
    cs = state.connector(key)
    samples = cs.samples
    if status == "SuspendedEV":
        samples = (*samples, Sample(now, (0.0,)))
    new = replace(cs, status=status, samples=samples)
    if not new.active and cs.session is not None:
        hold = _session_priority(cs)
        hold = hold if hold is not None else cs.priority_hold
        new = replace(new, session=_fresh_session(cs.session), priority_hold=hold)
    return _put(state, key, new)


def _session_priority(cs: ConnectorState) -> int | None:
    session = cs.session
    if session is None:
        return None
    return session.override_priority if session.override_priority is not None else session.tag_priority


def _fresh_session(session: Session) -> Session:
    """R21 for a connector that went idle without a StopTransaction yet: cap, suspension, override go."""
    return replace(
        session, ev_cap=None, ev_cap_at=None, suspend_until=None, override_priority=None, ev_phase=None
    )


def transaction_started(
    state: State,
    site: Site,
    key: Key,
    transaction_id: int | str,
    started_at: datetime,
    meter_start_wh: float,
    id_tag: str | None,
) -> State:
    """StartTransaction accepted: a new session; the tag's priority is looked up once, now (R6)."""
    tag_priority = site.tag_priorities.get(id_tag.upper()) if id_tag else None
    session = Session(transaction_id, started_at, meter_start_wh, 0.0, tag_priority)
    return _put(state, key, replace(state.connector(key), session=session, priority_hold=None))


def transaction_stopped(state: State, key: Key, now: datetime) -> State:
    """StopTransaction (R21): the session and everything learnt about the EV end with it — also the
    current it was seen taking above the limit (``over_a``): an idle connector would otherwise keep that
    room reserved until a next session's first report."""
    cs = state.connector(key)
    hold = _session_priority(cs)
    hold = hold if hold is not None else cs.priority_hold
    return _put(state, key, replace(cs, session=None, samples=(), priority_hold=hold, over_a=None))


def meter_values(
    state: State,
    key: Key,
    at: datetime,
    currents: tuple[float, ...],
    params: Params,
    register_wh: float | None = None,
    offered_a: float | None = None,
    offered_at: datetime | None = None,
) -> State:
    """MeterValues: a usage sample per charger phase, the energy register, ``Current.Offered`` (R9, R26).

    ``offered_at`` is when ``offered_a`` was sampled (default ``at``); a report sampled before the last
    accepted offer describes the replaced profile and is ignored (R17 item 5). Samples older than the
    usage window are dropped. A 3-phase charger whose EV draws on exactly one
    phase is recorded as a 1-phase EV (R26); a sample drawing on several phases clears that again.
    """
    cs = state.connector(key)
    oldest = at - timedelta(seconds=params.usage_monitoring_interval_s)
    samples = (*(s for s in cs.samples if s.at >= oldest), Sample(at, tuple(currents)))
    session = cs.session
    if session is not None:
        if register_wh is not None:
            session = replace(session, energy_wh=max(0.0, register_wh - session.meter_start_wh))
        drawing = [i for i, amps in enumerate(currents) if amps >= params.usage_threshold_a]
        if (
            len(currents) >= 2
            and len(drawing) == 1
            and all(amps < 1.0 for i, amps in enumerate(currents) if i != drawing[0])
        ):
            session = replace(session, ev_phase=drawing[0])
        elif len(drawing) > 1:
            session = replace(session, ev_phase=None)
    new = replace(cs, samples=samples, session=session)
    sampled = at if offered_at is None else offered_at
    if offered_a is not None and (cs.accepted_at is None or sampled >= cs.accepted_at):
        new = replace(new, offered_a=offered_a, offered_at=sampled)
    over = _overshoot(cs, at, max(currents, default=0.0), offered_a, sampled, params)
    if over != cs.over_a:
        new = replace(new, over_a=over)
    return _put(state, key, new)


def _overshoot(
    cs: ConnectorState,
    at: datetime,
    usage_a: float,
    offered_a: float | None,
    offered_at: datetime,
    params: Params,
) -> float | None:
    """``over_a`` after one MeterValues: the report's evidence against the limit in force, taken only once
    the charger had ``wait_after_reduce_s`` to apply it (before that the old limit may rightly show)."""
    if cs.acked is None or cs.changed_at is None:
        return None
    settled = cs.changed_at + timedelta(seconds=params.wait_after_reduce_s)
    allowed = cs.acked + params.verify_tolerance_a
    seen: list[float] = []
    if at > settled:
        seen.append(usage_a)
    if offered_a is not None and offered_at > settled:
        seen.append(offered_a)
    if not seen:
        return cs.over_a
    highest = max(seen)
    return highest if highest > allowed else None


def _keys(site: Site, charger_id: str) -> list[Key]:
    """The charger's connectors; none for a charger the site no longer has (forgotten while an answer or
    an operator command about it was still on its way), so such a transition changes nothing."""
    charger = site.charger_by_id.get(charger_id)
    return [c.key for c in charger.connectors] if charger is not None else []


def charger_connected(state: State, site: Site, charger_id: str, now: datetime, booted: bool) -> State:
    """A new connection (R24). Pinned until re-asserted; after a boot every limit is unknown (item 4)."""
    ch = replace(state.charger(charger_id), connected=True, since=now, reasserting=True)
    if booted:
        ch = replace(ch, uncontrollable=False)
    connectors = dict(state.connectors)
    keys = _keys(site, charger_id)
    for key in keys:
        cs = connectors.get(key, ConnectorState())
        cs = replace(cs, status=None)
        if booted:
            cs = replace(cs, acked=None, in_flight=(), settling=(), over_a=None)
        connectors[key] = cs
    return replace(
        state, chargers={**state.chargers, charger_id: ch}, connectors=connectors, changed=_touch(state, keys)
    )


def charger_reasserted(state: State, site: Site, charger_id: str, now: datetime) -> State:
    """Every re-assertion after a connection was acknowledged: the connectors are controllable again."""
    ch = replace(state.charger(charger_id), reasserting=False)
    keys = _keys(site, charger_id)
    return replace(state, chargers={**state.chargers, charger_id: ch}, changed=_touch(state, keys))


def charger_disconnected(state: State, site: Site, charger_id: str, now: datetime) -> State:
    """Connection lost: its connectors stay counted at their exposure (pinned, R19)."""
    ch = replace(state.charger(charger_id), connected=False, since=now)
    keys = _keys(site, charger_id)
    return replace(state, chargers={**state.chargers, charger_id: ch}, changed=_touch(state, keys))


def charger_uncontrollable(state: State, site: Site, charger_id: str, flag: bool) -> State:
    """R19: NotSupported, ladder exhausted or verification failures (True); operator reassert (False)."""
    ch = replace(state.charger(charger_id), uncontrollable=flag)
    keys = _keys(site, charger_id)
    return replace(state, chargers={**state.chargers, charger_id: ch}, changed=_touch(state, keys))


def charger_floor(state: State, site: Site, charger_id: str, amps: int) -> State:
    """The charger's floor (profiles.md §5.4): the shell learnt it refuses 0 A, or its idle limit is set."""
    if state.charger(charger_id).floor_a == amps:
        return state
    ch = replace(state.charger(charger_id), floor_a=amps)
    keys = _keys(site, charger_id)
    return replace(state, chargers={**state.chargers, charger_id: ch}, changed=_touch(state, keys))


def release_offline(state: State, site: Site, charger_id: str) -> State:
    """R27 ``release-offline``: the operator asserts an offline charger draws nothing."""
    connectors = dict(state.connectors)
    keys = _keys(site, charger_id)
    for key in keys:
        connectors[key] = replace(
            connectors.get(key, ConnectorState()), acked=0, in_flight=(), settling=(), over_a=None
        )
    return replace(state, connectors=connectors, changed=_touch(state, keys))


# --- operator and outside inputs -----------------------------------------------------------------------


def set_override(state: State, key: Key, priority: int | None) -> State:
    """R6/R27: a priority override for the running session (cleared when it ends)."""
    cs = state.connector(key)
    if cs.session is None:
        return state
    return _put(state, key, replace(cs, session=replace(cs.session, override_priority=priority)))


def set_group_suspended(state: State, group_id: str, suspended: bool) -> State:
    """R22: no probes, no increases in the group; reductions still happen."""
    gs = replace(state.group(group_id), suspended=suspended)
    return replace(state, groups={**state.groups, group_id: gs}, changed_all=True)


def set_external_limit(state: State, group_id: str, amps: int, valid_until: datetime) -> State:
    """An external limit for a group, valid until ``valid_until`` (then the group's fallback applies).

    Marks no connector: the planner sees the limits in force change, and a new value of a limit already
    in force only re-plays the hand-out of the group's tree."""
    gs = replace(state.group(group_id), external=ExternalLimit(amps, valid_until))
    return replace(state, groups={**state.groups, group_id: gs})


def suspend_connector(state: State, key: Key, suspended: bool) -> State:
    """R22 for one connector: while suspended its want is 0 (a reduction to 0 A); resuming lifts it.

    Kept on the connector, not the session, so it lasts across sessions until the operator resumes it.
    """
    cs = state.connector(key)
    if cs.suspended_by_operator == suspended:
        return state
    return _put(state, key, replace(cs, suspended_by_operator=suspended))


def set_group_override(state: State, group_id: str, amps: int | None, until: datetime | None) -> State:
    """An operator cap on a group's limit until ``until`` (None: until cleared); ``amps`` None clears it.

    The group's effective limit is the lowest of its schedule, its external limit and this override. A
    lowering takes effect at once: it cannot be anticipated, so the group is in recovery (reductions
    only) until the connectors have confirmed lower offers — as for an external limit lowered without
    notice. Its expiry only lifts the cap.
    """
    override = None if amps is None else GroupOverride(amps, until)
    gs = replace(state.group(group_id), override=override)
    return replace(state, groups={**state.groups, group_id: gs})


def restored(
    started_at: datetime, connectors: dict[Key, ConnectorState], groups: dict[str, GroupState] | None = None
) -> State:
    """R23: the state after a restart. Chargers start disconnected, so every connector is pinned at its
    persisted exposure (a connector without persisted state has an unknown limit: ``max_current_a``)."""
    return State(started_at=started_at, connectors=dict(connectors), chargers={}, groups=dict(groups or {}))
