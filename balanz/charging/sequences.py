"""Which profile messages to send when (profiles.md §5.2-§5.4), as ordered lists of `Step`s.

Every function is pure: it gets the strategy, the charger's setup, what balanz wants on each connector and
`now`, and returns the CALLs in the order they must go out (one outstanding CALL per charger).

Readings and decisions (pinned by tests/charging/test_sequences.py):
- Fail-closed default (§5.4): every connector always holds our TxDefault — at `idle_limit_a` (0 A) when no
  offer exists, so a car plugged into a connector balanz has not offered to draws nothing. Nothing here ever
  clears our TxDefault while a charger is adopted (W4, P12); the only clear of our ids is `release`.
- Re-assertion (R24, P11): on every connection and boot, TxDefault for every connector at its current value,
  then TxProfile for every live transaction at min(target, exposure), then (adoption only) the foreign-profile
  clean-up, then the triggers. Re-assertion never raises anything: the values are what balanz already holds
  (exposure-bounded), so the allocator may release increases only after its steps are acknowledged.
- Foreign profiles (§5.3): ours first, then `ClearChargingProfile {purpose, stackLevel}` for every level
  0..M that is not ours when M ≤ 8 — per connector when our levels differ between connectors or our
  TxDefault sits on connector 0; with TxDefault-only every TxProfile is foreign (and would shadow our
  TxDefault for a whole session, P21). With M unknown or above 8: a purpose-wide TxDefault clear followed
  at once by our TxDefaults again, only while every connector is idle (otherwise postponed: the function
  returns None). ChargePointMaxProfiles are left alone. Purpose-wide clears answer Accepted or Unknown;
  both are fine.
- Start of a session (R20): TxProfile at the current target, then — only if Accepted and the TxDefault is
  above the idle limit — the TxDefault back to idle. TxDefault-only: the TxDefault carries the target.
- `clear_before_set` (P14): ClearChargingProfile {id} then Set, only for TxProfile increases; never for
  reductions and never for a TxDefault (clearing one leaves the connector without a limit, P12).
- `resume_resend` (P10): after a raise from 0 A, the SuspendedEVSE → Charging transition re-sends the same
  TxProfile once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from balanz.charging.build import (
    Action,
    ProfilesSetup,
    Step,
    clear_by_id,
    default_id,
    effective_amps,
    set_default,
    set_station_cap,
    set_tx,
    tx_id,
)
from balanz.charging.strategy import LiveVia, Strategy
from balanz.profiles import Purpose

logger = logging.getLogger(__name__)

FOREIGN_LEVELS_MAX = 8
"""Above this ChargeProfileMaxStackLevel per-level clears would be too many calls (§5.3 step 3)."""

VERIFY_TRIGGER_DELAY_S = 10
"""§7 `verify_trigger`: how long after an Accepted reduction the MeterValues trigger goes out."""

COMPOSITE_DURATION_S = 300
"""§7 `verify_composite`: the diagnostic window asked for."""


@dataclass(frozen=True)
class ConnectorPlan:
    """What balanz holds for one connector: its allocation target, its live transaction (if any) and
    its current exposure (None = no bound known beyond the target)."""

    connector_id: int
    target_a: float = 0
    transaction_id: int | None = None
    exposure_a: float | None = None

    @property
    def live_amps(self) -> float:
        """R24 item 3: a live transaction is re-asserted at min(target, exposure)."""
        if self.exposure_a is None:
            return self.target_a
        return min(self.target_a, self.exposure_a)


def idle_amps(setup: ProfilesSetup, target_a: float) -> float:
    """A connector without a transaction: its probe grant, never below the idle limit."""
    return max(float(target_a), float(setup.profiles.idle_limit_a))


def default_amps(strategy: Strategy, setup: ProfilesSetup, plan: ConnectorPlan) -> float:
    """What our TxDefault on this connector should say now."""
    if plan.transaction_id is not None and strategy.live is LiveVia.TX_DEFAULT:
        return plan.live_amps
    if plan.transaction_id is not None:
        return float(setup.profiles.idle_limit_a)
    return idle_amps(setup, plan.target_a)


def _defaults(
    strategy: Strategy, setup: ProfilesSetup, plans: Iterable[ConnectorPlan], now: datetime
) -> list[Step]:
    plans = list(plans)
    if strategy.default_on_zero:
        plan = next((p for p in plans if p.connector_id == 1), ConnectorPlan(1))
        return [set_default(strategy, setup, 1, default_amps(strategy, setup, plan), now, "re-assert")]
    return [
        set_default(strategy, setup, p.connector_id, default_amps(strategy, setup, p), now, "re-assert")
        for p in plans
    ]


def _complete(setup: ProfilesSetup, plans: Iterable[ConnectorPlan]) -> list[ConnectorPlan]:
    """One plan per connector 1..n (a connector balanz knows nothing about is idle)."""
    given = {p.connector_id: p for p in plans}
    return [given.get(n, ConnectorPlan(n)) for n in range(1, setup.charger.connectors + 1)]


def _kept_levels(strategy: Strategy, purpose: Purpose, connector_id: int) -> set[int]:
    """The levels where our own profile of `purpose` sits on `connector_id` (0 = the template slot)."""
    if purpose is Purpose.TX:
        return {strategy.level_for(connector_id)} if strategy.live is LiveVia.TX_PROFILE else set()
    on_zero = strategy.default_on_zero
    if connector_id == 0:
        return {strategy.stack_level} if on_zero else set()
    return set() if on_zero else {strategy.level_for(connector_id)}


def _clear_level(purpose: Purpose, level: int, connector_id: int | None) -> Step:
    payload: dict[str, object] = {"chargingProfilePurpose": purpose.value, "stackLevel": level}
    if connector_id is not None:
        payload["connectorId"] = connector_id
    return Step(Action.CLEAR, payload, connector_id=connector_id or 0, note="foreign clean-up")


def _level_clears(strategy: Strategy, setup: ProfilesSetup, top: int) -> list[Step]:
    """Every (purpose, level) slot that is not ours, 0..top. One charger-wide clear per level when ours sit
    at one level on every connector (a foreign template at our level is hidden by ours, :1194-1195);
    per connector otherwise (per-connector levels, TxDefault on connector 0)."""
    levels = range(top + 1)
    purposes = (Purpose.TX_DEFAULT, Purpose.TX)
    if not strategy.per_connector_levels and not strategy.default_on_zero:
        return [
            _clear_level(purpose, level, None)
            for purpose in purposes
            for level in levels
            if level not in _kept_levels(strategy, purpose, 1)
        ]
    slots = [(Purpose.TX_DEFAULT, 0)] + [
        (p, n) for p in purposes for n in range(1, setup.charger.connectors + 1)
    ]
    return [
        _clear_level(purpose, level, n)
        for purpose, n in slots
        for level in levels
        if level not in _kept_levels(strategy, purpose, n)
    ]


def foreign_clears(
    strategy: Strategy,
    setup: ProfilesSetup,
    plans: Iterable[ConnectorPlan],
    max_stack_level: int | None,
    now: datetime,
) -> list[Step] | None:
    """§5.3 steps 2-3 (ours are already in place). None = postponed to the next adoption."""
    plans = _complete(setup, plans)
    if max_stack_level is not None and max_stack_level <= FOREIGN_LEVELS_MAX:
        return _level_clears(strategy, setup, max_stack_level)
    if any(p.transaction_id is not None for p in plans):
        return None
    wipe = Step(
        Action.CLEAR, {"chargingProfilePurpose": Purpose.TX_DEFAULT.value}, note="foreign clean-up (all)"
    )
    return [wipe, *_defaults(strategy, setup, plans, now)]


def triggers(setup: ProfilesSetup) -> list[Step]:
    """StatusNotification per connector and MeterValues — never BootNotification (errata, W14)."""
    status = [
        Step(
            Action.TRIGGER,
            {"requestedMessage": "StatusNotification", "connectorId": n},
            connector_id=n,
            note="trigger",
        )
        for n in range(1, setup.charger.connectors + 1)
    ]
    return [*status, Step(Action.TRIGGER, {"requestedMessage": "MeterValues"}, note="trigger")]


def reassert(
    strategy: Strategy,
    setup: ProfilesSetup,
    plans: Iterable[ConnectorPlan],
    now: datetime,
    *,
    adoption: bool = False,
    may_clear_foreign: bool = False,
    max_stack_level: int | None = None,
) -> list[Step]:
    """Everything a charger must hold, after a (re)connection or boot, before any increase anywhere in its
    group (R24). `adoption`: first connection since balanz started, or a BootNotification; then the
    foreign clean-up runs when `may_clear_foreign` (see `foreign_clean_allowed`)."""
    plans = _complete(setup, plans)
    steps = _defaults(strategy, setup, plans, now)
    if strategy.live is LiveVia.TX_PROFILE:
        steps += [
            set_tx(strategy, setup, p.connector_id, p.transaction_id, p.live_amps, now, "re-assert")
            for p in plans
            if p.transaction_id is not None
        ]
    cap = set_station_cap(strategy, setup, now)
    if cap is not None:
        steps.append(cap)
    if adoption and may_clear_foreign:
        steps += foreign_clears(strategy, setup, plans, max_stack_level, now) or []
    return steps + triggers(setup)


def foreign_clean_allowed(setup: ProfilesSetup, mode: str, upstream_policy: str) -> bool:
    """§5.3: CSMS mode with `clear_foreign`; LC mode only when upstream profiles never reach the charger."""
    if not setup.profiles.clear_foreign:
        return False
    return mode == "csms" or upstream_policy in ("accept", "reject", "cap")


def idle_offer(
    strategy: Strategy, setup: ProfilesSetup, connector_id: int, target_a: float, now: datetime
) -> list[Step]:
    """Probe granted (6 A) or withdrawn (0 A) on a connector without a transaction."""
    return [set_default(strategy, setup, connector_id, idle_amps(setup, target_a), now, "idle offer")]


def start_transaction(
    strategy: Strategy,
    setup: ProfilesSetup,
    plan: ConnectorPlan,
    default_installed_a: float,
    now: datetime,
) -> list[Step]:
    """After StartTransaction.conf went out (R20 item 3); `default_installed_a` is what the connector's
    TxDefault says now (6 A after a probe, else the idle limit)."""
    if plan.transaction_id is None:
        raise ValueError(f"connector {plan.connector_id}: start_transaction needs the transaction id")
    if strategy.live is LiveVia.TX_DEFAULT:
        return offer(strategy, setup, plan, default_installed_a, now)
    steps = [set_tx(strategy, setup, plan.connector_id, plan.transaction_id, plan.target_a, now, "start")]
    idle = effective_amps(strategy, setup.profiles.idle_limit_a)
    if default_installed_a > idle:
        back = set_default(strategy, setup, plan.connector_id, idle, now, "start: default back to idle")
        steps.append(replace(back, only_if_accepted=True))
    return steps


def offer(
    strategy: Strategy, setup: ProfilesSetup, plan: ConnectorPlan, previous_a: float, now: datetime
) -> list[Step]:
    """A new target for a running transaction (0 A pauses, P9: in the TxProfile, which dies with it)."""
    if plan.transaction_id is None:
        raise ValueError(f"connector {plan.connector_id}: offer during a transaction needs its id")
    if strategy.live is LiveVia.TX_DEFAULT:
        return [set_default(strategy, setup, plan.connector_id, plan.target_a, now, "offer")]
    step = set_tx(strategy, setup, plan.connector_id, plan.transaction_id, plan.target_a, now, "offer")
    if setup.profiles.clear_before_set and step.limit_a is not None and step.limit_a > previous_a:
        return [clear_by_id(tx_id(setup.profiles, plan.connector_id), connector_id=plan.connector_id), step]
    return [step]


def stop_transaction(
    strategy: Strategy, setup: ProfilesSetup, connector_id: int, default_installed_a: float, now: datetime
) -> list[Step]:
    """R21: the default restored for the next session. With TxProfiles ours ends with the transaction and
    the TxDefault is normally idle already — unless the start swap never happened (its TxProfile was not
    Accepted), then it is lowered here; TxDefault-only always lowers it."""
    idle = effective_amps(strategy, setup.profiles.idle_limit_a)
    if strategy.live is LiveVia.TX_PROFILE and default_installed_a <= idle:
        return []
    return [set_default(strategy, setup, connector_id, idle, now, "stop: default back to idle")]


def should_resend_on_resume(
    setup: ProfilesSetup, old_status: str, new_status: str, raised_from_zero: bool, already_resent: bool
) -> bool:
    """P10: re-send the TxProfile once when a connector resumes after a raise from 0 A."""
    return (
        setup.profiles.resume_resend
        and raised_from_zero
        and not already_resent
        and old_status == "SuspendedEVSE"
        and new_status == "Charging"
    )


def release(strategy: Strategy, setup: ProfilesSetup) -> list[Step]:
    """Operator `release-profiles` (decommission): clear every id of ours; the charger then charges without
    limit, which the monitor must confirm first."""
    profiles = setup.profiles
    connectors = range(1, setup.charger.connectors + 1)
    defaults = [1] if strategy.default_on_zero else list(connectors)
    steps = [clear_by_id(default_id(profiles, n), connector_id=n, note="release") for n in defaults]
    if strategy.live is LiveVia.TX_PROFILE:
        steps += [clear_by_id(tx_id(profiles, n), connector_id=n, note="release") for n in connectors]
    if profiles.station_cap == "charger_max" and setup.charger.charger_max_a is not None:
        steps.append(clear_by_id(profiles.id_base, note="release"))
    return steps


def verify_trigger(setup: ProfilesSetup, connector_id: int) -> Step | None:
    """§7 `verify_trigger`: TriggerMessage MeterValues for the connector, sent VERIFY_TRIGGER_DELAY_S after
    an Accepted reduction (errata: the charger answers with current values)."""
    if not setup.profiles.verify_trigger:
        return None
    payload = {"requestedMessage": "MeterValues", "connectorId": connector_id}
    return Step(Action.TRIGGER, payload, connector_id=connector_id, note="verify trigger")


def composite_requests(setup: ProfilesSetup) -> list[Step]:
    """§7 `verify_composite`: GetCompositeSchedule per connector after adoption, for the monitor only —
    answers are often malformed (P23) and never feed a decision."""
    if not setup.profiles.verify_composite:
        return []
    return [
        Step(
            Action.GET_COMPOSITE,
            {"connectorId": n, "duration": COMPOSITE_DURATION_S, "chargingRateUnit": "A"},
            connector_id=n,
            note="diagnostic composite",
        )
        for n in range(1, setup.charger.connectors + 1)
    ]
