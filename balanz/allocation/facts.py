"""What one run learns about one connector (R2, R4, R6, R7, R10–R14, R22, R26), and how long it holds.

Every time-dependent rule reports the instant its answer could change by time alone, so a ``Facts`` stays
valid until ``valid`` unless an event touches the connector or its charger: that is what lets the planner
skip every connector nothing happened to.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from balanz.allocation.constraints import Counters
from balanz.allocation.demand import Want, want
from balanz.allocation.exposure import effective_priority, is_pinned, phases_loaded
from balanz.allocation.model import Key, Params, Site
from balanz.allocation.state import ChargerState, ConnectorState

logger = logging.getLogger(__name__)

_SUSPENDED = Want(0, "R22", "connector suspended by the operator")


@dataclass(frozen=True, slots=True)
class Context:
    """The inputs every connector of one run shares."""

    site: Site
    params: Params
    now: datetime
    counters: Counters
    in_first_wait: bool
    suspended_groups: frozenset[str]


@dataclass(slots=True)
class Facts:
    """``valid``: the instant the answer could change by time alone (None: never). ``want`` is set exactly
    when ``active`` (an unpinned connector with an active status, R2). ``held``: what the connector holds
    whatever it is offered — its charger's floor (``ChargerState.floor_a``), or what it was seen taking
    above its limit (``ConnectorState.over_a``, pitfalls P8), whichever is higher. Never changed after
    creation (not frozen only because a frozen dataclass costs a microsecond more per connector and run)."""

    cs: ConnectorState
    valid: datetime | None
    ids: tuple[int, ...]
    priority: int
    pinned: str | None
    active: bool
    want: Want | None
    order: tuple[object, ...]
    held: int


def order_key(cs: ConnectorState, key: Key, quantum: float) -> tuple[object, ...]:
    """R15 order inside a priority level: less energy (in quanta) first, then higher offer, then earlier."""
    session = cs.session
    if session is None:
        return (0, -(cs.acked or 0), 0.0, key[0], key[1])
    band = int(session.energy_wh // quantum) if quantum > 0 else 0
    return (band, -(cs.acked or 0), session.started_at.timestamp(), key[0], key[1])


def connector_facts(ctx: Context, key: Key, cs: ConnectorState, ch: ChargerState) -> Facts:
    """Priority (R6), counters (R7/R8/R26), pinning (R2) and the capped want (R4, R7, R10–R14, R22)."""
    site, params = ctx.site, ctx.params
    held = ch.floor_a if cs.over_a is None else max(ch.floor_a, math.ceil(cs.over_a - 1e-9))
    connector = site.connector_by_key[key]
    charger = site.charger_by_id[key[0]]
    priority = effective_priority(site, connector, cs, params)
    phases = phases_loaded(connector, cs, params)
    ids, forbidden = ctx.counters.members(
        site, charger.group, charger.id, charger.charger_max_a, priority, phases
    )
    order = order_key(cs, key, params.fair_share_energy_quantum_wh)
    reason = is_pinned(charger, ch, cs)
    if reason is not None or not cs.active:
        return Facts(cs, None, ids, priority, reason, False, None, order, held)
    if cs.suspended_by_operator:
        # nothing is learnt about the EV while the operator holds it at 0 A: no rule runs, no wake-up
        return Facts(cs, None, ids, priority, None, True, _SUSPENDED, order, held)
    w = want(connector, cs, params, ctx.now, site.tz)
    wake = w.wake
    amps = w.amps
    sent = cs.sent_value or 0
    if forbidden and amps > 0:
        w = Want(0, "R7", "priority below the lowest threshold of a slot in force within the look-ahead")
    elif amps > sent and ctx.in_first_wait:
        w = Want(sent, "R4", f"no increases until {params.first_wait_s:g} s after start", session=w.session)
    elif (
        amps > sent
        and ctx.suspended_groups
        and any(g in ctx.suspended_groups for g in site.paths[charger.group])
    ):
        w = Want(sent, "R22", "group suspended by the operator: no increases", session=w.session)
    return Facts(cs, wake, ids, priority, None, True, w, order, held)
