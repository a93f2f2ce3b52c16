"""The pure EV model: what it draws under an offer, its energy, and the instants it changes by itself."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from balanz.profiles import (
    Capabilities,
    ChargerView,
    ChargingProfile,
    ChargingSchedule,
    ConnectorState,
    Kind,
    Limit,
    ProfileStore,
    Purpose,
    RateUnit,
    SchedulePeriod,
    install,
    limit_at,
    next_change_after,
)
from balanz.sim.ev import EvSpec, EvStatus, curve_limit, next_event_after, plug_in, step

T0 = datetime(2025, 3, 4, 21, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)


def offer(amps: float, phases: int = 3) -> Limit:
    return Limit(amps, phases)


@pytest.mark.parametrize(
    ("spec", "limit", "per_phase"),
    [
        (EvSpec(), offer(10), (9.8, 9.8, 9.8)),  # offer minus 0.2 A (allocation.md §4 assumptions)
        (EvSpec(max_current_a=16), offer(32), (16.0, 16.0, 16.0)),  # the EV's own maximum
        (EvSpec(phases=1), offer(10), (9.8, 0.0, 0.0)),
        (EvSpec(phases=3), offer(10, phases=1), (9.8, 0.0, 0.0)),
        (EvSpec(), offer(6), (5.8, 5.8, 5.8)),  # EX1: usage 5.8 at a 6 A offer
    ],
)
def test_draw_is_the_least_of_offer_ev_maximum_and_curve(spec, limit, per_phase):
    state, draw = step(spec, plug_in(T0), limit, T0)
    assert draw.per_phase == pytest.approx(per_phase)
    assert state.status is EvStatus.CHARGING


def test_no_charging_below_six_amps_and_nothing_offered_is_suspended_evse():
    state, draw = step(EvSpec(), plug_in(T0), offer(5.9), T0)
    assert (state.status, draw.per_phase) == (EvStatus.SUSPENDED_EV, (0.0, 0.0, 0.0))
    state, draw = step(EvSpec(), state, offer(0), T0)
    assert (state.status, draw.per_phase) == (EvStatus.SUSPENDED_EVSE, (0.0, 0.0, 0.0))


def test_energy_is_booked_for_the_draw_held_since_the_last_step():
    spec = EvSpec(target_wh=100_000)
    state, _ = step(spec, plug_in(T0), offer(16.2), T0)
    state, draw = step(spec, state, offer(8.2), T0 + HOUR)
    assert draw.energy_wh == pytest.approx(16 * 3 * 230)
    _, draw = step(spec, state, offer(8.2), T0 + 2 * HOUR)
    assert draw.energy_wh == pytest.approx(16 * 3 * 230 + 8 * 3 * 230)


def test_current_tapers_near_the_target_and_stops_when_full():
    spec = EvSpec(target_wh=10_000, taper_from=0.8, max_current_a=16, min_current_a=6)
    assert curve_limit(spec, 8_000) == 16
    assert curve_limit(spec, 9_000) == pytest.approx(11)
    assert curve_limit(spec, 10_000) == pytest.approx(6)
    state = plug_in(T0)
    state, _ = step(spec, state, offer(32), T0)
    reach_taper = next_event_after(spec, state, T0)
    exact = T0 + timedelta(hours=8000 / (16 * 3 * 230))
    assert exact <= reach_taper <= exact + timedelta(milliseconds=1)  # rounded up to the millisecond
    state, draw = step(spec, state, offer(32), reach_taper)
    assert draw.energy_wh == pytest.approx(8_000)
    now = reach_taper
    while state.status is EvStatus.CHARGING:
        following = next_event_after(spec, state, now)
        assert following - now <= timedelta(seconds=60)
        now = following
        state, draw = step(spec, state, offer(32), now)
        if state.status is EvStatus.CHARGING:
            assert draw.per_phase[0] == pytest.approx(curve_limit(spec, draw.energy_wh))
    assert state.status is EvStatus.SUSPENDED_EV
    assert draw.energy_wh == pytest.approx(10_000)
    assert step(spec, state, offer(32), now + HOUR)[0].status is EvStatus.SUSPENDED_EV


def test_delayed_charging_waits_for_its_start_time():
    # allocation.md EX5: car programmed for 00:00 stays SuspendedEV on a 6 A probe, then draws 5.8 A.
    midnight = datetime(2025, 3, 5, tzinfo=UTC)
    spec = EvSpec(start_at=midnight)
    state, draw = step(spec, plug_in(T0), offer(6), T0)
    assert (state.status, draw.per_phase[0]) == (EvStatus.SUSPENDED_EV, 0.0)
    assert next_event_after(spec, state, T0) == midnight
    state, draw = step(spec, state, offer(6), midnight)
    assert (state.status, draw.per_phase[0]) == (EvStatus.CHARGING, pytest.approx(5.8))


def test_delayed_car_without_offer_at_its_start_time_never_starts():
    midnight = datetime(2025, 3, 5, tzinfo=UTC)
    picky = EvSpec(start_at=midnight, gives_up_without_offer=True)
    state, _ = step(picky, plug_in(T0), offer(0), midnight)
    assert state.gave_up
    state, draw = step(picky, state, offer(16), midnight + HOUR)
    assert (state.status, draw.per_phase[0]) == (EvStatus.SUSPENDED_EV, 0.0)
    patient = EvSpec(start_at=midnight)
    state, _ = step(patient, plug_in(T0), offer(0), midnight)
    state, draw = step(patient, state, offer(16), midnight + HOUR)
    assert state.status is EvStatus.CHARGING


def test_pauses_on_its_own_and_leaves_at_the_scripted_time():
    spec = EvSpec(pauses=((T0 + HOUR, T0 + 2 * HOUR),), leave_at=T0 + 3 * HOUR, target_wh=100_000)
    state, _ = step(spec, plug_in(T0), offer(16), T0)
    assert next_event_after(spec, state, T0) == T0 + HOUR
    state, draw = step(spec, state, offer(16), T0 + HOUR)
    assert (state.status, draw.per_phase[0]) == (EvStatus.SUSPENDED_EV, 0.0)
    state, _ = step(spec, state, offer(16), T0 + 2 * HOUR)
    assert state.status is EvStatus.CHARGING
    state, draw = step(spec, state, offer(16), T0 + 3 * HOUR)
    assert (state.status, draw.per_phase) == (EvStatus.UNPLUGGED, (0.0, 0.0, 0.0))
    assert draw.energy_wh == pytest.approx(2 * 15.8 * 3 * 230)


def test_ev_under_a_relative_tx_profile_with_the_profile_engine():
    """A simulator loop in miniature: step at every limit change and every EV event."""
    profile = ChargingProfile(
        3,
        0,
        Purpose.TX,
        Kind.RELATIVE,
        ChargingSchedule(RateUnit.A, (SchedulePeriod(0, 16.0), SchedulePeriod(3600, 8.0))),
    )
    store = install(ProfileStore(1), 1, profile, T0, {1: 7}, Capabilities()).store
    view = ChargerView(store, connectors={1: ConnectorState(7, T0)})
    spec = EvSpec(target_wh=100_000, leave_at=T0 + 2 * HOUR)
    state, now = plug_in(T0), T0
    while True:
        state, draw = step(spec, state, limit_at(view, 1, now), now)
        if state.status is EvStatus.UNPLUGGED:
            break
        candidates = [t for t in (next_change_after(view, now), next_event_after(spec, state, now)) if t]
        now = min(candidates)
    assert draw.energy_wh == pytest.approx((15.8 + 7.8) * 3 * 230)


@given(
    st.lists(st.tuples(st.integers(0, 400), st.sampled_from([1, 3]), st.integers(1, 7200)), max_size=15),
    st.integers(1, 32),
    st.sampled_from([1, 3]),
)
def test_draw_never_exceeds_offer_or_ev_maximum_and_energy_only_grows(steps, ev_max, ev_phases):
    spec = EvSpec(max_current_a=ev_max, phases=ev_phases, target_wh=30_000)
    state, now, energy = plug_in(T0), T0, 0.0
    for tenths, phases, seconds in steps:
        limit = offer(tenths / 10, phases)
        state, draw = step(spec, state, limit, now)
        assert max(draw.per_phase) <= min(limit.amps, ev_max) + 1e-9
        assert sum(1 for a in draw.per_phase if a > 0) <= min(phases, ev_phases)
        assert energy <= draw.energy_wh <= spec.target_wh
        energy = draw.energy_wh
        now += timedelta(seconds=seconds)
