"""The charger-side safety view of issue 6, checked against the `balanz.profiles` engine.

For every combination of charger capabilities, firmware refusals (P1, P5, P7, P9), probe quality and
`[profiles]` settings, adoption walks the ladder on a simulated charger and then:
(a) the charger accepts what the chosen strategy sends (or the ladder ends uncontrollable exactly when no
    rung can work),
(b) `limit_at` equals the intended offer (≤ offer, ≥ offer − 0.1 A) during a transaction and the idle limit
    (0 A by default) outside one — also after the transaction ends,
(c) after a reboot that forgets every profile, the re-assert steps alone restore (b), and never send more
    than balanz holds (min(target, exposure)).
Every payload is validated against the OCPP 1.6 JSON schema on its way in (tests/charging/charger.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from balanz.charging import (
    NOT_ANSWERED,
    ChargerSetup,
    ConnectorPlan,
    Ladder,
    ProbeResult,
    ProfilesSetup,
    Step,
    Strategy,
    Uncontrollable,
    reassert,
    start_transaction,
    stop_transaction,
)
from balanz.charging.build import effective_amps
from balanz.charging.sequences import default_amps, offer
from balanz.charging.strategy import preferred_unit
from balanz.config.schema import ProfilesConfig
from balanz.profiles import (
    Capabilities,
    ChargingProfile,
    ChargingSchedule,
    Electrics,
    Kind,
    Purpose,
    RateUnit,
    SchedulePeriod,
    end_transaction,
    install,
)
from tests.charging.charger import FakeCharger, Quirks, adopt, run_steps, settle

NOW = datetime(2025, 3, 4, 10, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
UNITS = [frozenset({RateUnit.A}), frozenset({RateUnit.W}), frozenset({RateUnit.A, RateUnit.W})]


@dataclass
class World:
    charger: FakeCharger
    probe: ProbeResult
    setup: ProfilesSetup
    plans: list[ConnectorPlan]
    probe_truthful: bool
    foreign: bool = False


@st.composite
def worlds(draw: st.DrawFn) -> World:
    connectors = draw(st.integers(1, 3))
    # W3: firmware applying the replacement rule across connectors needs per-connector levels.
    across = draw(st.booleans()) and connectors > 1
    real_max = draw(st.integers(connectors - 1 if across else 0, 4))
    units = draw(st.sampled_from(UNITS))
    quirks = Quirks(
        refuse_tx_profile=draw(st.booleans()),
        refuse_absolute=draw(st.booleans()),
        refuse_zero=draw(st.booleans()),
    )
    probe_kind = "truthful" if across else draw(st.sampled_from(["truthful", "inflated", "silent"]))
    if probe_kind == "silent":
        probe = NOT_ANSWERED
    else:
        advertised = real_max + (draw(st.integers(1, 4)) if probe_kind == "inflated" else 0)  # P1
        probe = ProbeResult(answered=True, max_stack_level=advertised, rate_units=units)
    phases = draw(st.sampled_from([1, 3]))
    profiles = ProfilesConfig(
        stack_level=draw(st.integers(0, real_max - (connectors - 1) if across else 3)),
        stack_level_per_connector=across or draw(st.booleans()),
        kind=draw(st.sampled_from(["absolute", "relative"])),
        rate_unit=draw(st.sampled_from(["auto", "auto", "A", "W"])),
        strategy=draw(st.sampled_from(["auto", "auto", "tx", "default_only"])),
        idle_limit_a=draw(st.sampled_from([0, 0, 6])),
        station_cap=draw(st.sampled_from(["off", "charger_max"])),
        clear_before_set=draw(st.booleans()),
        use_connector_zero=connectors == 1 and draw(st.booleans()),
    )
    plans = []
    for n in range(1, connectors + 1):
        if draw(st.booleans()):
            target = draw(st.sampled_from([0, 6, 7, 10, 13, 16, 32]))
            exposure = draw(st.one_of(st.none(), st.integers(0, 32)))
            plans.append(ConnectorPlan(n, target, transaction_id=1000 + n, exposure_a=exposure))
        else:
            plans.append(ConnectorPlan(n, draw(st.sampled_from([0, 6]))))
    charger = FakeCharger(
        connectors,
        # P3: strict like EVerest — an Absolute profile without startSchedule would be Rejected.
        Capabilities(
            max_stack_level=real_max,
            allowed_units=units,
            replace_across_connectors=across,
            accept_without_start_schedule=False,
        ),
        quirks,
        Electrics(voltage_v=230, phases=phases, connector_max_a=32),
        sessions={
            p.connector_id: (p.transaction_id, NOW - timedelta(minutes=10)) for p in plans if p.transaction_id
        },
    )
    setup = ProfilesSetup(ChargerSetup(connectors, phases=phases, charger_max_a=32 * connectors), profiles)
    foreign = draw(st.booleans())
    if foreign:
        plant_foreign(charger, real_max)
    return World(charger, probe, setup, plans, probe_kind == "truthful", foreign)


def plant_foreign(charger: FakeCharger, level: int) -> None:
    """P21: a previous CSMS / vendor app left a 32 A TxDefault on connector 0 and a 32 A TxProfile on every
    running transaction, at the highest level the charger takes."""
    unit = RateUnit.A if RateUnit.A in charger.caps.allowed_units else RateUnit.W
    placed = [(0, foreign_profile(1, Purpose.TX_DEFAULT, level, None, unit))]
    placed += [
        (n, foreign_profile(50 + n, Purpose.TX, level, tx, unit)) for n, (tx, _) in charger.sessions.items()
    ]
    for connector_id, profile in placed:
        change = install(charger.store, connector_id, profile, NOW, charger.transactions(), charger.caps)
        assert change.status.value == "Accepted", change.reason
        charger.store = change.store


def foreign_profile(
    profile_id: int, purpose: Purpose, level: int, transaction_id: int | None, unit: RateUnit
) -> ChargingProfile:
    return ChargingProfile(
        id=profile_id,
        stack_level=level,
        purpose=purpose,
        kind=Kind.ABSOLUTE,
        transaction_id=transaction_id,
        schedule=ChargingSchedule(
            unit,
            (SchedulePeriod(0, 32.0 if unit is RateUnit.A else 32.0 * 230 * 3),),
            start_schedule=NOW - timedelta(days=1),
        ),
    )


def controllable(world: World) -> bool:
    """Whether some rung of the ladder can work on this charger — computed from the world, not the ladder."""
    profiles, charger, probe = world.setup.profiles, world.charger, world.probe
    first, other = preferred_unit(probe, profiles)
    if first not in charger.caps.allowed_units and (other is None or other not in charger.caps.allowed_units):
        return False
    live = any(p.transaction_id is not None for p in world.plans)
    if charger.quirks.refuse_tx_profile and profiles.strategy == "tx" and live:
        return False
    per = (
        profiles.stack_level_per_connector
        and probe.max_stack_level is not None
        and min(profiles.stack_level, probe.max_stack_level) + charger.connectors - 1 <= probe.max_stack_level
    )
    return not (per and charger.connectors - 1 > charger.caps.max_stack_level)


def expected(strategy: Strategy, world: World, plan: ConnectorPlan) -> float:
    if plan.transaction_id is not None:
        return effective_amps(strategy, plan.live_amps)
    return effective_amps(strategy, max(plan.target_a, world.setup.profiles.idle_limit_a))


def assert_limits(world: World, strategy: Strategy, plans: list[ConnectorPlan]) -> None:
    for plan in plans:
        want = expected(strategy, world, plan)
        for at in (NOW, LATER):
            got = world.charger.limit(plan.connector_id, at)
            assert want - 0.1 - 1e-9 <= got <= want + 1e-9, (plan, strategy.text(), got, want)


@settings(max_examples=400)
@given(worlds())
def test_issue6_adoption_reboot_and_session_end_on_the_profile_engine(world: World) -> None:
    charger = world.charger
    state = adopt(charger, world.probe, world.setup, world.plans, NOW)
    # (a) accepted exactly when some rung can work
    assert isinstance(state, Ladder) == controllable(world), (
        state,
        world.probe,
        charger.caps,
        charger.quirks,
    )
    event("uncontrollable" if isinstance(state, Uncontrollable) else state.current.text().split("/")[0])
    if isinstance(state, Uncontrollable):
        return
    strategy = state.current
    event(f"floor {strategy.floor_a}, kind {strategy.kind.value}, unit {strategy.unit.value}")
    if charger.quirks.refuse_zero:
        assert strategy.floor_a == 6 or all(expected(strategy, world, p) > 0 for p in world.plans)
    # (b) offers during transactions, idle limit elsewhere — also over foreign profiles (P21), unless §5.3
    # postponed their clean-up (ChargeProfileMaxStackLevel unknown while a session runs)
    postponed = world.probe.max_stack_level is None and any(p.transaction_id for p in world.plans)
    event(f"foreign {world.foreign}, clean-up postponed {postponed}")
    if not (world.foreign and postponed):
        assert_limits(world, strategy, world.plans)

    # (c) reboot forgets everything; plain re-assertion alone restores (b), never above what balanz holds
    charger.reboot()
    for plan in world.plans:
        assert charger.limit(plan.connector_id, NOW) == 32  # what a forgetful charger would allow
    steps = reassert(strategy, world.setup, world.plans, NOW)
    for step in steps:
        plan = next((p for p in world.plans if p.connector_id == step.connector_id), None)
        if step.purpose is Purpose.TX and plan is not None:
            assert step.limit_a == effective_amps(strategy, plan.live_amps)
        elif step.purpose is Purpose.TX_DEFAULT and plan is not None:
            assert step.limit_a == effective_amps(strategy, default_amps(strategy, world.setup, plan))
    assert run_steps(charger, steps, NOW) is None
    assert_limits(world, strategy, world.plans)
    # …and the boot variant (foreign clean-up included: every clear now answers Unknown, harmlessly).
    charger.reboot()
    boot = reassert(
        strategy,
        world.setup,
        world.plans,
        NOW,
        adoption=True,
        may_clear_foreign=True,
        max_stack_level=world.probe.max_stack_level,
    )
    assert run_steps(charger, boot, NOW) is None
    assert_limits(world, strategy, world.plans)

    # A later offer change during each live transaction lands exactly (0 A pauses, clear_before_set quirk);
    # a charger refusing it mid-session moves the ladder and is re-asserted under the new rung.
    moved = list(world.plans)
    for i, plan in enumerate(world.plans):
        if plan.transaction_id is None:
            continue
        new = ConnectorPlan(plan.connector_id, 0 if plan.live_amps else 16, plan.transaction_id, None)
        moved[i] = new
        before = plan.live_amps

        def change(s: Strategy, new: ConnectorPlan = new, before: float = before) -> list[Step]:
            return offer(s, world.setup, new, before, NOW)

        state = settle(charger, state, world.setup, moved, change, NOW, world.probe)
        assert isinstance(state, Ladder), state
    strategy = state.current
    assert_limits(world, strategy, moved)

    # Session end: the default for the next session is the idle limit (fail-closed at 0 A).
    ended = list(moved)
    for i, plan in enumerate(moved):
        if plan.transaction_id is None:
            continue
        installed = effective_amps(state.current, default_amps(state.current, world.setup, plan))
        charger.store = end_transaction(charger.store, plan.connector_id, plan.transaction_id)
        del charger.sessions[plan.connector_id]
        ended[i] = ConnectorPlan(plan.connector_id)

        def stop(s: Strategy, n: int = plan.connector_id, installed: float = installed) -> list[Step]:
            return stop_transaction(s, world.setup, n, installed, NOW)

        state = settle(charger, state, world.setup, ended, stop, NOW, world.probe)
        assert isinstance(state, Ladder), state
    assert_limits(world, state.current, ended)


@settings(max_examples=200)
@given(worlds(), st.sampled_from([0, 6, 16]))
def test_r20_start_of_session_on_the_profile_engine(world: World, target: int) -> None:
    """A car plugged into an idle connector draws the idle limit until the start sequence lands the offer."""
    idle = [ConnectorPlan(p.connector_id) for p in world.plans]
    world.charger.sessions.clear()
    state = adopt(world.charger, world.probe, world.setup, idle, NOW)
    if isinstance(state, Uncontrollable):
        return
    strategy = state.current
    assert_limits(world, strategy, idle)
    plan = ConnectorPlan(1, target, transaction_id=77)
    world.charger.sessions[1] = (77, NOW)
    # Before the start sequence, the session runs on the idle default: nothing above the idle limit.
    assert world.charger.limit(1, NOW) <= expected(strategy, world, idle[0]) + 1e-9
    before = expected(strategy, world, idle[0])

    def start(s: Strategy) -> list[Step]:
        return start_transaction(s, world.setup, plan, before, NOW)

    after = [plan, *idle[1:]]
    state = settle(world.charger, state, world.setup, after, start, NOW, world.probe)
    if isinstance(state, Uncontrollable):
        # Only a charger whose TxProfiles were never tried at adoption can refuse here (P7), and only when
        # the configuration forbids TxDefault-only.
        assert world.charger.quirks.refuse_tx_profile
        assert world.setup.profiles.strategy == "tx"
        return
    assert_limits(world, state.current, after)


def test_w3_without_per_connector_levels_a_cross_replacing_charger_loses_a_default() -> None:
    """Why `stack_level_per_connector` exists: same level on two connectors, firmware replacing across
    connectors, connector 1 ends up without our TxDefault — unlimited (the engine shows 32 A)."""
    charger = FakeCharger(2, Capabilities(max_stack_level=3, replace_across_connectors=True))
    setup = ProfilesSetup(ChargerSetup(2))
    state = adopt(charger, NOT_ANSWERED, setup, [], NOW)
    assert isinstance(state, Ladder)
    assert charger.limit(1, NOW) == 32
    assert charger.limit(2, NOW) == 0
    quirk = ProfilesSetup(ChargerSetup(2), ProfilesConfig(stack_level_per_connector=True))
    probe = ProbeResult(answered=True, max_stack_level=3)
    fixed = FakeCharger(2, Capabilities(max_stack_level=3, replace_across_connectors=True))
    assert isinstance(adopt(fixed, probe, quirk, [], NOW), Ladder)
    assert fixed.limit(1, NOW) == 0
    assert fixed.limit(2, NOW) == 0
