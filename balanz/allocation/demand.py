"""What an active connector wants (R9–R14), before capacity is considered.

Each rule is its own function returning a ``Want`` (amperes, the rule's name, a reason a person can read,
the next instant at which the answer could change by time alone, and a session update the rule decided:
a learnt EV cap or a suspension). ``want()`` applies them in R14's order.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from balanz.allocation.model import Connector, Params
from balanz.allocation.state import ConnectorState, Sample, Session

logger = logging.getLogger(__name__)

TICK = timedelta(microseconds=1)
"""Rules written "more than N s since" become true one tick after N s: that tick is their wake-up."""


@dataclass(slots=True)
class Want:
    """Never changed after creation (not frozen: a frozen dataclass costs half a microsecond more to build,
    once per active connector and run)."""

    amps: int
    rule: str
    reason: str
    wake: datetime | None = None
    session: Session | None = None


def usage_window(cs: ConnectorState, params: Params, now: datetime) -> tuple[Sample, ...]:
    """R9: samples after the last offer change and not older than ``usage_monitoring_interval_s``."""
    samples = cs.samples
    if not samples:
        return samples
    oldest = now - timedelta(seconds=params.usage_monitoring_interval_s)
    changed = cs.changed_at
    if changed is not None and changed >= oldest:
        return tuple(s for s in samples if s.at > changed)
    return tuple(s for s in samples if s.at >= oldest)


def _since_change(cs: ConnectorState, now: datetime) -> float:
    return math.inf if cs.changed_at is None else (now - cs.changed_at).total_seconds()


def _after(cs: ConnectorState, seconds: float) -> datetime | None:
    return None if cs.changed_at is None else cs.changed_at + timedelta(seconds=seconds) + TICK


def r12_suspended(cs: ConnectorState, now: datetime) -> Want | None:
    """R12: while ``now < suspend_until`` the want is 0; at ``suspend_until`` the connector probes."""
    session = cs.session
    if session is not None and session.suspend_until is not None and now < session.suspend_until:
        return Want(0, "R12", f"suspended until {session.suspend_until.isoformat()}", session.suspend_until)
    return None


def r14_probe(cs: ConnectorState, params: Params) -> Want | None:
    """R14 step 2: a connector holding no offer asks for the minimum (a probe)."""
    if not cs.acked:
        return Want(params.min_allocation_a, "R14", "probe at the minimum offer")
    return None


def r10_low_usage(
    cs: ConnectorState, window: tuple[Sample, ...], params: Params, now: datetime
) -> Want | None:
    """R10: Charging but drawing < ``usage_threshold_a`` for a whole timeout: release for 6 h."""
    if cs.status != "Charging" or cs.session is None or len(window) < params.usage_min_samples:
        return None
    peak = max(s.max_a for s in window)
    if peak >= params.usage_threshold_a:
        return None
    if _since_change(cs, now) <= params.suspended_allocation_timeout_s:
        return Want(-1, "R10", "", _after(cs, params.suspended_allocation_timeout_s))
    until = now + timedelta(seconds=params.suspended_delayed_time_not_first_s)
    return Want(
        0,
        "R10",
        f"Charging but drawing {peak:.1f} A < {params.usage_threshold_a} A: released until "
        f"{until.isoformat()}",
        until,
        replace(cs.session, suspend_until=until),
    )


def r11_not_drawing(
    cs: ConnectorState, window: tuple[Sample, ...], params: Params, now: datetime, tz: tzinfo
) -> Want | None:
    """R11: an EV that does not draw holds the minimum for a timeout, then is released and suspended."""
    holding_offer = cs.acked is not None and cs.acked >= params.min_allocation_a
    if cs.session is None or not (
        cs.status == "SuspendedEV" or (cs.status == "SuspendedEVSE" and holding_offer)
    ):
        return None
    if any(s.max_a >= params.usage_threshold_a for s in window):
        return None
    if _since_change(cs, now) <= params.suspended_allocation_timeout_s:
        return Want(
            params.min_allocation_a,
            "R11",
            "EV not drawing: hold at the minimum",
            _after(cs, params.suspended_allocation_timeout_s),
        )
    until = suspension_end(cs.session, params, now, tz)
    return Want(
        0,
        "R11",
        f"EV not drawing for {params.suspended_allocation_timeout_s:g} s: released until {until.isoformat()}",
        until if until > now else None,
        replace(cs.session, suspend_until=until),
    )


def suspension_end(session: Session, params: Params, now: datetime, tz: tzinfo) -> datetime:
    """R11 release: 6 h after real charging, else just before the next local full hour, else 1 h."""
    if session.energy_wh >= params.energy_threshold_wh:
        return now + timedelta(seconds=params.suspended_delayed_time_not_first_s)
    if params.suspend_top_of_hour:
        local = now.astimezone(tz)
        hour_start = local.replace(minute=0, second=0, microsecond=0)
        next_hour = hour_start.astimezone(now.tzinfo) + timedelta(hours=1)
        return next_hour - timedelta(seconds=params.suspended_allocation_timeout_s / 2)
    return now + timedelta(seconds=params.suspended_delayed_time_s)


def r13_ev_cap(
    cs: ConnectorState, window: tuple[Sample, ...], params: Params, now: datetime
) -> tuple[Session | None, datetime | None]:
    """R13: learn the EV's own maximum when it draws clearly below a settled offer.

    Returns the session with the new (or dropped, ``ev_cap_reprobe_s``) cap, or None if unchanged, and
    the instant the rule could next fire by time alone.
    """
    session = cs.session
    if session is None:
        return None, None
    wake = None
    if session.ev_cap is not None and params.ev_cap_reprobe_s > 0 and session.ev_cap_at is not None:
        expiry = session.ev_cap_at + timedelta(seconds=params.ev_cap_reprobe_s)
        if now >= expiry:
            return replace(session, ev_cap=None, ev_cap_at=None), None
        wake = expiry
    acked = cs.acked or 0
    if cs.status != "Charging" or not window or acked < params.min_allocation_a:
        return None, wake
    peak = max(s.max_a for s in window)
    if peak > acked - params.margin_lower_a:
        return None, wake
    if session.ev_cap is not None and math.ceil(window[-1].max_a) >= session.ev_cap:
        return None, wake
    if _since_change(cs, now) <= params.usage_monitoring_interval_s:
        return None, _earliest(wake, _after(cs, params.usage_monitoring_interval_s))
    cap = max(math.ceil(peak), params.min_allocation_a)
    return replace(session, ev_cap=cap, ev_cap_at=now), wake


def r14_ramp(
    connector: Connector,
    cs: ConnectorState,
    session: Session | None,
    window: tuple[Sample, ...],
    params: Params,
    now: datetime,
) -> Want:
    """R14 step 4: keep the confirmed offer, +3 A once it has stood 115 s and the EV uses it fully."""
    acked = cs.acked or 0
    base = acked
    wake = None
    rule, reason = "R14", f"keep {acked} A"
    if window and acked - max(s.max_a for s in window) < params.margin_increase_a:
        if _since_change(cs, now) >= params.min_offer_increase_interval_s:
            base += params.max_offer_increase_a
            rule, reason = "R14", f"ramp +{params.max_offer_increase_a} A: EV uses its {acked} A offer"
        elif cs.changed_at is not None:
            wake = cs.changed_at + timedelta(seconds=params.min_offer_increase_interval_s)
    amps = min(base, connector.max_current_a)
    if session is not None and session.ev_cap is not None and session.ev_cap < amps:
        amps = session.ev_cap
        rule, reason = "R13", f"EV draws at most {session.ev_cap} A (learnt cap)"
    return Want(amps, rule, reason, wake)


def want(connector: Connector, cs: ConnectorState, params: Params, now: datetime, tz: tzinfo) -> Want:
    """R14: the want of an active connector, applying R12, the probe, R10/R11, R13 and the ramp in order."""
    suspended = r12_suspended(cs, now)
    if suspended is not None:
        return suspended
    probe = r14_probe(cs, params)
    if probe is not None:
        return probe
    window = usage_window(cs, params, now)
    wake: datetime | None = None
    if window:
        wake = window[0].at + timedelta(seconds=params.usage_monitoring_interval_s) + TICK
    for rule in (r10_low_usage(cs, window, params, now), r11_not_drawing(cs, window, params, now, tz)):
        if rule is not None and rule.amps >= 0:
            return Want(rule.amps, rule.rule, rule.reason, _earliest(rule.wake, wake), rule.session)
        if rule is not None:
            wake = _earliest(wake, rule.wake)
    session, cap_wake = r13_ev_cap(cs, window, params, now)
    ramp = r14_ramp(connector, cs, session or cs.session, window, params, now)
    rule, reason = ramp.rule, ramp.reason
    if (
        session is not None
        and session.ev_cap is not None
        and session.ev_cap != (cs.session and cs.session.ev_cap)
    ):
        rule, reason = "R13", f"EV draws at most {session.ev_cap} A: cap learnt"
    return Want(ramp.amps, rule, reason, _earliest(_earliest(ramp.wake, cap_wake), wake), session)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
