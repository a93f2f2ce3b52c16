"""Exposure (R17): the highest current a connector may be drawing right now, whatever balanz intends.

The safety invariant is stated over exposures, not over offers, because an offer is only a wish until
the charger has confirmed it and the EV has had time to follow. Also here: which supply phases a
connector loads (R26) and its effective priority (R6), the other two per-connector facts every
constraint needs.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from balanz.allocation.model import Charger, Connector, Key, Params, Site
from balanz.allocation.state import ChargerState, ConnectorState, State

logger = logging.getLogger(__name__)

ALL_PHASES = (0, 1, 2)


def connector_exposure(
    connector: Connector,
    cs: ConnectorState,
    charger: Charger,
    ch: ChargerState,
    params: Params,
    now: datetime,
) -> tuple[int, bool]:
    """R17 items 1–5 for one connector; the flag says the real limit is unknown (item 4).

    Every limit the charger holds is at least its floor (``ChargerState.floor_a``, profiles.md §5.4): an
    acknowledged 0 A on a charger that refuses 0 A is really its 6 A pause, and a connector with a non-zero
    idle limit keeps that TxDefault under any lower TxProfile (item 1 counts the larger of both).
    """
    if (
        not ch.connected
        and params.offline_release_after_s > 0
        and ch.since is not None
        and now - ch.since >= timedelta(seconds=params.offline_release_after_s)
    ):
        return max(params.offline_fallback_a, ch.floor_a), False
    unknown = cs.acked is None or ch.uncontrollable or not charger.smart_charging
    base = connector.max_current_a if unknown else cs.acked
    assert base is not None
    base = max(base, ch.floor_a)
    value = base
    for flight in cs.in_flight:
        value = max(value, flight.value)
    for old, until in cs.settling:
        if now < until:
            value = max(value, old)
    if cs.offered_a is not None and cs.offered_a > base:
        value = max(value, math.ceil(cs.offered_a - 1e-9))
    if cs.samples and cs.changed_at is not None:
        latest = cs.samples[-1]
        if (
            latest.at > cs.changed_at + timedelta(seconds=params.wait_after_reduce_s)
            and latest.max_a > base + params.verify_tolerance_a
        ):
            value = max(value, math.ceil(latest.max_a - 1e-9))
    if cs.over_a is not None:
        value = max(value, math.ceil(cs.over_a - 1e-9))
    return value, unknown


def charger_exposures(
    site: Site, state: State, charger: Charger, params: Params, now: datetime
) -> dict[Key, int]:
    """Exposures of one charger's connectors; unknown ones together count at most ``charger_max_a``."""
    ch = state.charger(charger.id)
    result: dict[Key, int] = {}
    unknown_budget = charger.charger_max_a
    for connector in charger.connectors:
        value, unknown = connector_exposure(
            connector, state.connector(connector.key), charger, ch, params, now
        )
        if unknown and unknown_budget is not None:
            value = min(value, unknown_budget)
            unknown_budget -= value
        result[connector.key] = value
    return result


def all_exposures(site: Site, state: State, params: Params, now: datetime) -> dict[Key, int]:
    result: dict[Key, int] = {}
    for charger in site.chargers:
        if charger.connectors and charger.connectors[0].key in site.roots:
            result.update(charger_exposures(site, state, charger, params, now))
    return result


def phases_loaded(connector: Connector, cs: ConnectorState, params: Params) -> tuple[int, ...]:
    """R26: supply phases this connector loads; one virtual phase when accounting is not phase aware."""
    if not params.phase_aware:
        return (0,)
    if connector.phases == 1:
        return (connector.phase_map[0],)
    if cs.session is not None and cs.session.ev_phase is not None:
        return (connector.phase_map[cs.session.ev_phase],)
    return tuple(sorted(set(connector.phase_map[:3])))


def effective_priority(site: Site, connector: Connector, cs: ConnectorState, params: Params) -> int:
    """R6: operator override, else tag, else connector/charger priority, else ``default_priority``."""
    session = cs.session
    if session is not None:
        if session.override_priority is not None:
            return session.override_priority
        if session.tag_priority is not None:
            return session.tag_priority
    elif cs.priority_hold is not None:
        return cs.priority_hold
    if connector.priority is not None:
        return connector.priority
    charger_priority = site.charger_by_id[connector.charger_id].priority
    return charger_priority if charger_priority is not None else params.default_priority


def is_pinned(charger: Charger, ch: ChargerState, cs: ConnectorState) -> str | None:
    """R2: why balanz cannot change this connector's offer right now, or None."""
    if not charger.smart_charging:
        return "smart charging is off for this charger"
    if ch.uncontrollable:
        return "charger is uncontrollable (R19)"
    if not ch.connected:
        return "charger is disconnected"
    if ch.reasserting:
        return "profiles not yet re-asserted since the charger connected (R24)"
    if cs.status is None:
        return "no status reported since the charger connected"
    if cs.unresolved:
        return "a profile send timed out and is unresolved (R19)"
    return None
