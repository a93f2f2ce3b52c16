"""A charger for the cross-checks: the `balanz.profiles` engine (what 1.6 says a charger does with profiles)
plus the refusals real firmware adds (pitfalls P1, P5, P7, P9), and the loop that drives a ladder to the end.

Every payload that reaches it is first validated against the OCPP 1.6 JSON schema through the wire layer, so
a schema slip in `balanz.charging` fails the test that produced it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from balanz.charging import (
    Action,
    Answer,
    ConnectorPlan,
    Ladder,
    Outcome,
    ProbeResult,
    ProfilesSetup,
    Step,
    Strategy,
    Uncontrollable,
    choose,
    on_answer,
    reassert,
)
from balanz.charging.strategy import Decision
from balanz.profiles import (
    Capabilities,
    ChargerView,
    ChargingProfile,
    ConnectorState,
    Electrics,
    ProfileError,
    ProfileStore,
    Purpose,
    limit_at,
)
from balanz.profiles.messages import clear_charging_profile, set_charging_profile
from balanz.wire.validation import validate


@dataclass(frozen=True)
class Quirks:
    """Firmware refusals beyond the 1.6 rules the engine applies."""

    refuse_tx_profile: bool = False  # P7: TxProfiles rejected, TxDefault obeyed
    refuse_absolute: bool = False  # P5: Wallbox, Relative only
    refuse_zero: bool = False  # P9: 0 A rejected
    refuse_all: bool = False  # P17: smart charging disabled on the charger


@dataclass
class FakeCharger:
    connectors: int
    caps: Capabilities = field(default_factory=Capabilities)
    quirks: Quirks = field(default_factory=Quirks)
    electrics: Electrics = field(default_factory=Electrics)
    sessions: dict[int, tuple[int, datetime]] = field(default_factory=dict)
    store: ProfileStore = field(init=False)
    sent: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = ProfileStore(self.connectors)

    def transactions(self) -> dict[int, int]:
        return {n: tx for n, (tx, _) in self.sessions.items()}

    def _quirk_refusal(self, profile: ChargingProfile) -> bool:
        q = self.quirks
        limit = profile.schedule.periods[0].limit
        return (
            q.refuse_all
            or (q.refuse_tx_profile and profile.purpose is Purpose.TX)
            or (q.refuse_absolute and profile.kind.value == "Absolute")
            or (q.refuse_zero and limit == 0)
        )

    def call(self, step: Step, now: datetime) -> Answer:
        payload = step.as_dict()
        validate(2, step.action.value, payload)
        self.sent.append(step)
        if step.action is Action.TRIGGER:
            return Answer(status="Accepted")
        try:
            if step.action is Action.CLEAR:
                change = clear_charging_profile(self.store, payload)
            else:
                profile = ChargingProfile.from_ocpp(payload["csChargingProfiles"])
                if self._quirk_refusal(profile):
                    return Answer(status="Rejected")
                change = set_charging_profile(self.store, payload, now, self.transactions(), self.caps)
        except ProfileError as exc:
            return Answer(error_code=exc.code)
        self.store = change.store
        return Answer(status=change.status.value)

    def view(self) -> ChargerView:
        return ChargerView(
            self.store,
            self.electrics,
            {n: ConnectorState(tx, start) for n, (tx, start) in self.sessions.items()},
        )

    def limit(self, connector_id: int, at: datetime) -> float:
        return limit_at(self.view(), connector_id, at).amps

    def reboot(self) -> None:
        """P11: a charger that forgets its profiles (the session itself survives here)."""
        self.store = ProfileStore(self.connectors)


def run_steps(
    charger: FakeCharger, steps: list[Step], now: datetime, ladder: Ladder | None = None, profiles: Any = None
) -> Decision | None:
    """Send in order, as the shell will. The first SetChargingProfile not Accepted stops the run and its
    decision is returned; None when everything went through. Without a ladder any refusal fails the test.
    A refused station cap is passed over: with a ladder it comes back as `no_cap` at the end."""
    previous_accepted = True
    no_cap: Decision | None = None
    for step in steps:
        if step.only_if_accepted and not previous_accepted:
            continue
        answer = charger.call(step, now)
        previous_accepted = answer.status == "Accepted"
        if step.action is not Action.SET or previous_accepted:
            continue
        assert step.purpose is not None
        assert step.wire_limit is not None
        if ladder is None:
            raise AssertionError(f"{step.purpose} {dict(step.payload)} refused: {answer}")
        decision = on_answer(ladder, step.purpose, step.wire_limit, answer, profiles)
        if decision.outcome is not Outcome.NO_CAP:
            return decision
        no_cap = decision
        assert isinstance(decision.state, Ladder)
        ladder = decision.state
    return no_cap


def walk(
    charger: FakeCharger,
    state: Ladder | Uncontrollable,
    setup: ProfilesSetup,
    plans: list[ConnectorPlan],
    now: datetime,
    probe: ProbeResult,
    *,
    adoption: bool,
) -> Ladder | Uncontrollable:
    """Re-assert under the current rung until the charger accepts it or the ladder is exhausted."""
    for _ in range(200):
        if isinstance(state, Uncontrollable):
            return state
        steps = reassert(
            state.current,
            setup,
            plans,
            now,
            adoption=adoption,
            may_clear_foreign=True,
            max_stack_level=probe.max_stack_level,
        )
        decision = run_steps(charger, steps, now, state, setup.profiles)
        if decision is None:
            return state
        assert decision.outcome in (Outcome.NEXT, Outcome.UNCONTROLLABLE, Outcome.RETRY, Outcome.NO_CAP)
        if decision.outcome is Outcome.NO_CAP:
            return decision.state
        state = decision.state
    raise AssertionError("ladder did not terminate")


def adopt(
    charger: FakeCharger,
    probe: ProbeResult,
    setup: ProfilesSetup,
    plans: list[ConnectorPlan],
    now: datetime,
    **choose_args: Any,
) -> Ladder | Uncontrollable:
    """Adoption as the shell will run it: choose, re-assert, and walk the ladder on every refusal."""
    state = choose(probe, setup.profiles, charger.connectors, **choose_args)
    return walk(charger, state, setup, plans, now, probe, adoption=True)


def settle(
    charger: FakeCharger,
    state: Ladder,
    setup: ProfilesSetup,
    plans: list[ConnectorPlan],
    steps_for: Callable[[Strategy], list[Step]],
    now: datetime,
    probe: ProbeResult,
) -> Ladder | Uncontrollable:
    """Send `steps_for(strategy)`; on a refusal take the next rung, re-assert everything under it (with
    `plans`, the state after the change) and try again."""
    current: Ladder | Uncontrollable = state
    for _ in range(200):
        if isinstance(current, Uncontrollable):
            return current
        decision = run_steps(charger, steps_for(current.current), now, current, setup.profiles)
        if decision is None:
            return current
        if decision.outcome is Outcome.NO_CAP:
            return decision.state
        current = walk(charger, decision.state, setup, plans, now, probe, adoption=False)
    raise AssertionError("ladder did not terminate")
