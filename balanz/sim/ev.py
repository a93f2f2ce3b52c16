"""A simulated electric vehicle on one connector: pure step functions, no clock, no I/O.

The charger simulator calls `step(spec, state, offer, now)` whenever the offer changes or the EV's own
`next_event_after` instant arrives. The draw decided at a step is held until the next step, and the energy
of that stretch is booked at the next step — so stepping at every reported instant keeps the record exact.

Behaviour (issue 4): the EV draws min(offer − `draw_margin_a`, its own maximum, its charge curve) per phase on
min(its phases, offered phases); it does not charge on an offer below `min_current_a` (IEC 61851-1 cannot
signal 1–5 A, smart-charging-digest §9); approaching `target_wh` the current tapers, and at the target it
stops for good (full); it can wait for a start time (delayed charging) and, like some real cars, give up for
the whole session if no usable offer is present at that moment; it pauses on its own in scripted windows; it
leaves (unplugs) at a scripted time.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from balanz.profiles import Limit

logger = logging.getLogger(__name__)

TAPER_STEP = timedelta(seconds=60)
"""How often to re-step while the current tapers (the curve is continuous, the draw held per step)."""

ENERGY_EPSILON_WH = 1e-6
"""Float slack when comparing booked energy with the taper start and the target."""


class EvStatus(StrEnum):
    """What the connector should report (ocpp-1.6-edition2.txt:4487-4493, errata 3.55/3.64)."""

    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    UNPLUGGED = "Unplugged"


@dataclass(frozen=True)
class EvSpec:
    max_current_a: float = 16.0
    phases: int = 3
    min_current_a: float = 6.0
    draw_margin_a: float = 0.2
    voltage_v: float = 230.0
    target_wh: float = 20_000.0
    taper_from: float = 0.8
    """Fraction of `target_wh` from which the curve falls linearly to `min_current_a` at the target."""
    start_at: datetime | None = None
    gives_up_without_offer: bool = False
    pauses: tuple[tuple[datetime, datetime], ...] = ()
    leave_at: datetime | None = None


@dataclass(frozen=True)
class EvState:
    since: datetime
    energy_wh: float = 0.0
    draw_a: float = 0.0
    phases: int = 0
    status: EvStatus = EvStatus.SUSPENDED_EV
    started: bool = False
    gave_up: bool = False


@dataclass(frozen=True)
class Draw:
    """Amps on the EV's L1, L2, L3 and the session energy so far."""

    per_phase: tuple[float, float, float]
    energy_wh: float


def plug_in(now: datetime) -> EvState:
    return EvState(since=now)


def curve_limit(spec: EvSpec, energy_wh: float) -> float:
    """The most the battery takes per phase at this state of charge."""
    fraction = energy_wh / spec.target_wh if spec.target_wh > 0 else 1.0
    if fraction <= spec.taper_from:
        return spec.max_current_a
    span = max(1e-9, 1.0 - spec.taper_from)
    return spec.max_current_a - (spec.max_current_a - spec.min_current_a) * min(
        1.0, (fraction - spec.taper_from) / span
    )


def _watts(amps: float, phases: int, voltage_v: float) -> float:
    return amps * phases * voltage_v


def step(spec: EvSpec, state: EvState, offer: Limit, now: datetime) -> tuple[EvState, Draw]:
    """Book the energy since the last step, then decide the draw from `now` under the offer in force now."""
    hours = max(0.0, (now - state.since).total_seconds()) / 3600
    energy = min(spec.target_wh, state.energy_wh + _watts(state.draw_a, state.phases, spec.voltage_v) * hours)
    state = replace(state, since=now, energy_wh=energy)
    if spec.start_at is not None and now >= spec.start_at:
        state = _start_or_give_up(spec, state, offer.amps, now)
    status, amps, phases = _decide(spec, state, offer, now)
    state = replace(state, draw_a=amps, phases=phases, status=status)
    per_phase = (amps, amps if phases > 1 else 0.0, amps if phases > 2 else 0.0)
    return state, Draw(per_phase, energy)


def _start_or_give_up(spec: EvSpec, state: EvState, offer_a: float, now: datetime) -> EvState:
    if state.started or state.gave_up:
        return state
    if spec.gives_up_without_offer and offer_a < spec.min_current_a:
        logger.debug("EV found no offer at its start time %s: it will not charge this session", now)
        return replace(state, gave_up=True)
    return replace(state, started=True)


def _decide(spec: EvSpec, state: EvState, offer: Limit, now: datetime) -> tuple[EvStatus, float, int]:
    if spec.leave_at is not None and now >= spec.leave_at:
        return EvStatus.UNPLUGGED, 0.0, 0
    if offer.amps <= 0:
        return EvStatus.SUSPENDED_EVSE, 0.0, 0
    waiting = spec.start_at is not None and now < spec.start_at and not state.started
    paused = any(start <= now < end for start, end in spec.pauses)
    full = state.energy_wh >= spec.target_wh - ENERGY_EPSILON_WH
    if waiting or paused or full or state.gave_up or offer.amps < spec.min_current_a:
        return EvStatus.SUSPENDED_EV, 0.0, 0
    amps = min(offer.amps - spec.draw_margin_a, spec.max_current_a, curve_limit(spec, state.energy_wh))
    return EvStatus.CHARGING, max(0.0, amps), min(spec.phases, offer.phases)


def next_event_after(spec: EvSpec, state: EvState, now: datetime) -> datetime | None:
    """When the EV next changes its draw by itself (start time, pause edge, leaving, taper, full)."""
    moments = [spec.start_at, spec.leave_at, *(edge for window in spec.pauses for edge in window)]
    if state.status is EvStatus.CHARGING and state.draw_a > 0:
        watts = _watts(state.draw_a, state.phases, spec.voltage_v)
        taper_wh = spec.taper_from * spec.target_wh
        tapering = state.energy_wh >= taper_wh - ENERGY_EPSILON_WH
        goal = spec.target_wh if tapering else taper_wh
        seconds = math.ceil((goal - state.energy_wh) / watts * 3600 * 1000) / 1000
        moments.append(now + timedelta(seconds=max(0.001, seconds)))
        if tapering:
            moments.append(now + TAPER_STEP)
    later = [m for m in moments if m is not None and m > now]
    return min(later, default=None)
