"""The allocator's view of the site, built from the configuration, and the CSMS events turned into the
allocation core's state transitions.

The core (``balanz.allocation``) depends on nothing else of balanz; this module is the only place that
knows both the config/CSMS types and the core's types, so a change on either side is fixed here once.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from balanz.allocation import events as tr
from balanz.allocation.model import Charger, Connector, Group, Key, Params, Site
from balanz.allocation.state import ConnectorState, State
from balanz.charging.verify import MISMATCH_SAMPLES, reduction_took_effect
from balanz.config.loader import group_schedule
from balanz.config.schema import ChargerConfig, Config, ProfilesConfig
from balanz.csms.meter_values import MeterSample
from balanz.events import (
    ChargerBooted,
    ChargerConnected,
    ChargerDisconnected,
    Event,
    MeterUpdated,
    StatusChanged,
    TransactionStarted,
    TransactionStopped,
)
from balanz.store.records import ConnectorState as StoredConnector

log = logging.getLogger(__name__)

_PHASE = {"L1": 0, "L2": 1, "L3": 2}


def _phase_map(text: str | None, phases: int) -> tuple[int, ...]:
    """``"L2,L3,L1"`` → (1, 2, 0); the loader has already validated the spelling."""
    if text is None:
        return tuple(range(phases))
    return tuple(_PHASE[p.strip().upper()] for p in text.split(","))


def _timezone(name: str) -> tzinfo:
    if not name:
        return datetime.now().astimezone().tzinfo or UTC
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        log.error("allocator.timezone %r is not a known zone; schedules are read in UTC", name)
        return UTC


def _charger(charger: ChargerConfig, default_max_a: int, strategy: str) -> Charger:
    """``strategy``: the global ``profiles.strategy``; the charger's own ``profile`` table may override it,
    and "off" takes it out of smart charging as ``smart_charging = false`` does."""
    overrides = {c.id: c for c in charger.connector}
    connectors = []
    for n in range(1, charger.connectors + 1):
        own = overrides.get(n)
        phases = own.phases if own is not None and own.phases is not None else charger.phases
        phase_map = own.phase_map if own is not None and own.phase_map is not None else charger.phase_map
        max_a = own.max_current_a if own is not None and own.max_current_a is not None else None
        connectors.append(
            Connector(
                charger.id,
                n,
                max_current_a=max_a or charger.max_current_a or default_max_a,
                priority=own.priority if own is not None else None,
                phases=phases,
                phase_map=_phase_map(phase_map, phases),
            )
        )
    return Charger(
        charger.id,
        charger.group,
        tuple(connectors),
        charger_max_a=charger.charger_max_a,
        priority=charger.priority,
        smart_charging=charger.smart_charging and charger.profile.get("strategy", strategy) != "off",
    )


def build_site(config: Config, runtime_chargers: Iterable[ChargerConfig] = ()) -> Site:
    """Groups, chargers (configured, then autoregistered ones the config does not name) and tag priorities."""
    groups = tuple(
        Group(
            g.id,
            parent=g.parent,
            schedule=group_schedule(g),
            headroom_a=g.headroom_a,
            external_fallback_a=g.external_fallback_a,
        )
        for g in config.group
    )
    named = {c.id for c in config.charger}
    chargers = [*config.charger, *(c for c in runtime_chargers if c.id not in named)]
    known = {g.id for g in groups}
    missing = sorted({c.group for c in chargers} - known)
    if missing:
        # The loader rejects such a config; a hand-built one (tests, autoregistration) gets groups without
        # a limit, so their chargers are simply not controlled (R25) instead of stopping the daemon.
        log.warning("groups %s are not configured: their chargers get no profiles", ", ".join(missing))
        groups = (*groups, *(Group(g) for g in missing))
    default_max = config.allocator.default_max_allocation_a
    return Site(
        groups=groups,
        chargers=tuple(_charger(c, default_max, config.profiles.strategy) for c in chargers),
        tag_priorities={t.id.upper(): t.priority for t in config.tag if t.priority is not None},
        tz=_timezone(config.allocator.timezone),
    )


def build_params(config: Config) -> Params:
    values = dataclasses.asdict(config.allocator)
    known = {f.name for f in dataclasses.fields(Params)}
    return Params(
        **{k: v for k, v in values.items() if k in known},
        verify_tolerance_a=config.profiles.verify_tolerance_a,
    )


def restored_state(
    site: Site, started_at: datetime, stored: Mapping[tuple[str, int], StoredConnector]
) -> State:
    """R23: after a restart every connector counts at what the store says it may draw until re-asserted."""
    connectors: dict[Key, ConnectorState] = {}
    for key, record in stored.items():
        if key not in site.connector_by_key:
            continue
        acked = record.acknowledged_a
        exposure = int(record.exposure_a)
        if acked is None or int(acked) != exposure:
            # What the charger may still apply is unconfirmed: count it at its higher value (R19).
            connectors[key] = ConnectorState(acked=None)
        else:
            connectors[key] = ConnectorState(acked=int(acked), changed_at=record.updated_at)
    return tr.restored(started_at, connectors)


def accepted(state: State, key: Key, value: int, at: datetime, params: Params) -> State:
    """An offer accepted at ``at``. The core forgets a Current.Offered sampled before ``at`` (it describes
    the old profile) and keeps one sampled at or after it (the charger may still be applying it)."""
    return tr.offer_accepted(state, key, value, at, params)


def withdrawn(state: State, key: Key, value: int) -> State:
    """An offer counted as sent that never left or was refused (replaced while queued, its charger went
    away first, a re-send Rejected): the newest in-flight entry of that value goes, so the exposure no
    longer includes it. An entry that timed out stays: that CALL did leave, and the charger may apply it
    whatever it answers to a later one (R19)."""
    cs = state.connector(key)
    position = next(
        (
            i
            for i in reversed(range(len(cs.in_flight)))
            if cs.in_flight[i].value == value and not cs.in_flight[i].timed_out
        ),
        None,
    )
    if position is None:
        return state
    in_flight = cs.in_flight[:position] + cs.in_flight[position + 1 :]
    return dataclasses.replace(
        state,
        connectors={**state.connectors, key: dataclasses.replace(cs, in_flight=in_flight)},
        changed=state.changed | {key},
    )


def retry_value(cs: ConnectorState) -> int | None:
    """What to re-send to a connector whose offer went unanswered (R19 "the current target"): the plan
    gives a pinned connector no target, so it is the newest offer sent, or 0 once the connector is idle
    (R21: never more than that). None: nothing unresolved."""
    if not cs.unresolved or cs.sent_value is None:
        return None
    return cs.sent_value if cs.active else 0


OFFERED_TRAIL = 8
"""Current.Offered samples kept per connector for R19's proof (besides the newest one before a send)."""


def offered_trail(
    trail: tuple[MeterSample, ...], samples: Iterable[MeterSample], cs: ConnectorState
) -> tuple[MeterSample, ...]:
    """The Current.Offered samples that can still prove an unanswered offer applied: the newest one taken
    before the oldest offer in flight (what the charger offered under the old limit) and the newest
    ``OFFERED_TRAIL`` taken since; with nothing in flight only the newest (the "before" of a next send)."""
    merged = sorted((*trail, *(s for s in samples if s.offered_a is not None)), key=lambda s: s.at)
    if not merged:
        return ()
    since = min((f.sent_at for f in cs.in_flight), default=None)
    if since is None:
        return (merged[-1],)
    before = [s for s in merged if s.at < since][-1:]
    after = [s for s in merged if s.at >= since][-OFFERED_TRAIL:]
    return (*before, *after)


def offered_proof(cs: ConnectorState, trail: Iterable[MeterSample], profiles: ProfilesConfig) -> int | None:
    """R19: the unanswered offer the charger's Current.Offered shows applied, or None.

    Two consecutive Current.Offered samples taken after the offer was first sent must match it within
    ``verify_tolerance_a``. For a reduction (or an unknown old limit) the stricter rule of
    ``verify.reduction_took_effect`` applies: if the charger already offered that little before the send,
    the EV or cable was below both limits and the samples prove nothing."""
    target = retry_value(cs)
    if target is None or target != cs.sent_value:
        return None
    sent_at = min(f.sent_at for f in cs.in_flight if f.value == target)
    if cs.acked is None or target < cs.acked:
        previous = math.inf if cs.acked is None else float(cs.acked)
        return target if reduction_took_effect(target, previous, sent_at, trail, profiles) else None
    run = 0
    for sample in sorted(trail, key=lambda s: s.at):
        if sample.at < sent_at or sample.offered_a is None:
            continue
        run = run + 1 if abs(sample.offered_a - target) <= profiles.verify_tolerance_a else 0
        if run >= MISMATCH_SAMPLES:
            return target
    return None


def apply_event(state: State, site: Site, params: Params, event: Event) -> State:
    """One CSMS event as the core's transition; events about chargers outside the site change nothing."""
    if isinstance(event, ChargerConnected | ChargerBooted | ChargerDisconnected):
        if event.charger_id not in site.charger_by_id:
            return state
        if isinstance(event, ChargerConnected):
            return tr.charger_connected(state, site, event.charger_id, event.at, booted=False)
        if isinstance(event, ChargerBooted):
            return tr.charger_connected(state, site, event.charger_id, event.at, booted=True)
        return tr.charger_disconnected(state, site, event.charger_id, event.at)
    key = (event.charger_id, event.connector_id)
    if key not in site.connector_by_key:
        return state
    if isinstance(event, StatusChanged):
        return tr.status_changed(state, key, event.status, event.at)
    if isinstance(event, TransactionStarted):
        tx = event.transaction
        return tr.transaction_started(
            state, site, key, tx.transaction_id, tx.start_time, tx.meter_start_wh or 0.0, tx.id_tag
        )
    if isinstance(event, TransactionStopped):
        return tr.transaction_stopped(state, key, event.at)
    if isinstance(event, MeterUpdated):
        meter = event.meter
        currents = tuple(a for a in meter.usage_phases_a if a is not None)
        if not currents and meter.usage_a is not None:
            currents = (meter.usage_a.value,)
        if not currents:
            return state
        register = meter.register_wh.value if meter.register_wh is not None else None
        # Only a Current.Offered sampled in this message (the remembered one may predate our last offer),
        # with its own sampling time: the core compares it with the last acceptance (R17 item 5). Samples
        # are always taken before the message is received, so the receive time cannot be the yardstick.
        sampled = [s for s in event.samples if s.offered_a is not None]
        newest = max(sampled, key=lambda s: s.at) if sampled else None
        offered = newest.offered_a if newest is not None else None
        offered_at = newest.at if newest is not None else None
        return tr.meter_values(state, key, event.at, currents, params, register, offered, offered_at)
    return state
