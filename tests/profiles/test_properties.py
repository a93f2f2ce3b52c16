"""Hypothesis properties of the profile engine: payload round trip, Max never exceeded, clear undoes install,
next_change_after and composite_schedule agree with limit_at."""

import json
from datetime import timedelta
from functools import cache
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st
from profile_builders import utc

from balanz.profiles import (
    Capabilities,
    ChargerView,
    ChargingProfile,
    ChargingSchedule,
    ConnectorState,
    Electrics,
    Kind,
    ProfileStatus,
    ProfileStore,
    Purpose,
    RateUnit,
    Recurrency,
    SchedulePeriod,
    charger_limits,
    clear,
    composite_schedule,
    install,
    next_change_after,
)
from balanz.profiles.composite import _amps
from balanz.profiles.schedule import period_at
from balanz.profiles.timeline import in_unit

T0 = utc(2025, 3, 4)
TRANSACTIONS = {1: 11, 2: 12}
SMALL_IDS = st.integers(1, 8)


# Strategies are built once, not inside each draw: a strategy built per draw is validated and analysed
# again every time, which cost about a third of these tests' time. The values drawn are the same.
@cache
def instants(days: int = 3) -> st.SearchStrategy:
    return st.integers(-days * 86400, days * 86400).map(lambda s: T0 + timedelta(seconds=s))


STARTS = st.sets(st.integers(1, 2 * 86400), max_size=4)
TENTHS = {RateUnit.A: st.integers(0, 400), RateUnit.W: st.integers(0, 250000)}
PHASES = st.sampled_from([None, 1, 2, 3])
DURATIONS = st.none() | st.integers(1, 3 * 86400)
MAYBE_INSTANTS = st.none() | instants()
MIN_RATES = st.none() | st.integers(0, 100).map(lambda x: x / 10)
PURPOSES = st.sampled_from(Purpose)
KINDS = st.sampled_from(Kind)
RECURRENCIES = st.sampled_from(Recurrency)
UNITS = st.sampled_from(RateUnit)
STACK_LEVELS = st.integers(0, 3)
TRANSACTION_IDS = st.none() | st.sampled_from([11, 12])


@st.composite
def schedules(draw: st.DrawFn, unit: RateUnit) -> ChargingSchedule:
    starts = sorted(draw(STARTS))
    periods = tuple(SchedulePeriod(start, draw(TENTHS[unit]) / 10, draw(PHASES)) for start in [0, *starts])
    return ChargingSchedule(
        rate_unit=unit,
        periods=periods,
        duration=draw(DURATIONS),
        start_schedule=draw(MAYBE_INSTANTS),
        min_charging_rate=draw(MIN_RATES),
    )


SCHEDULES = {unit: schedules(unit) for unit in RateUnit}


@st.composite
def profiles(draw: st.DrawFn, profile_id: st.SearchStrategy = SMALL_IDS) -> ChargingProfile:
    purpose = draw(PURPOSES)
    kind = draw(KINDS)
    valid_from = draw(MAYBE_INSTANTS)
    valid_to = draw(MAYBE_INSTANTS)
    return ChargingProfile(
        id=draw(profile_id),
        stack_level=draw(STACK_LEVELS),
        purpose=purpose,
        kind=kind,
        recurrency=draw(RECURRENCIES) if kind is Kind.RECURRING else None,
        transaction_id=draw(TRANSACTION_IDS) if purpose is Purpose.TX else None,
        valid_from=valid_from,
        valid_to=valid_to,
        schedule=draw(SCHEDULES[draw(UNITS)]),
    )


CONNECTORS_FOR = {Purpose.CHARGE_POINT_MAX: st.just(0), Purpose.TX: st.sampled_from([1, 2])}
ANY_CONNECTOR = st.sampled_from([0, 1, 2])


def connector_for(purpose: Purpose) -> st.SearchStrategy:
    return CONNECTORS_FOR.get(purpose, ANY_CONNECTOR)


ANY_PROFILE = profiles()
INSTALL_COUNTS = st.integers(0, 7)
VOLTAGES = st.sampled_from([230.0, 110.0])
PHASE_COUNTS = st.sampled_from([1, 3])


@st.composite
def stores(draw: st.DrawFn) -> ProfileStore:
    store = ProfileStore(2)
    for _ in range(draw(INSTALL_COUNTS)):
        p = draw(ANY_PROFILE)
        at = draw(instants(1))
        store = install(store, draw(connector_for(p.purpose)), p, at, TRANSACTIONS, Capabilities()).store
    return store


ANY_STORE = stores()


@st.composite
def views(draw: st.DrawFn, all_in_session: bool = False) -> ChargerView:
    sessions = {}
    for n in (1, 2):
        if all_in_session or draw(st.booleans()):
            sessions[n] = ConnectorState(TRANSACTIONS[n], draw(instants(1)))
    electrics = Electrics(voltage_v=draw(VOLTAGES), phases=draw(PHASE_COUNTS))
    return ChargerView(draw(ANY_STORE), electrics, sessions)


@given(profiles(profile_id=st.integers(-(2**31), 2**31 - 1)))
def test_to_ocpp_from_ocpp_round_trip(p):
    payload = json.loads(json.dumps(p.to_ocpp()))
    assert ChargingProfile.from_ocpp(payload) == p
    assert ChargingProfile.from_ocpp(payload).to_ocpp() == payload


def prevailing_max_amps(v: ChargerView, at) -> float | None:
    entries = [e for e in v.store.installed if e.profile.purpose is Purpose.CHARGE_POINT_MAX]
    for entry in sorted(entries, key=lambda e: -e.profile.stack_level):
        period = period_at(entry, at, entry.installed_at)
        if period is not None:
            return _amps(period, entry.profile.schedule.rate_unit, v.electrics)[0]
    return None


@given(views(), instants())
def test_limits_never_exceed_the_charge_point_max_alone_or_combined(v, at):
    limits = charger_limits(v, at)
    assert all(0 <= limit.amps <= v.electrics.connector_max_a for limit in limits.values())
    cap = prevailing_max_amps(v, at)
    if cap is not None:
        assert all(limit.amps <= cap + 1e-9 for limit in limits.values())
        assert sum(limits[n].amps for n in v.connectors) <= cap + 1e-9


@given(views(), profiles(profile_id=st.just(1000)), st.data())
def test_install_then_clear_by_id_restores_the_composite(v, p, data):
    connector = data.draw(connector_for(p.purpose))
    used = {e.profile.stack_level for e in v.store.on_connector(connector, p.purpose)}
    if p.stack_level in used:
        return
    at = data.draw(instants(1))
    change = install(v.store, connector, p, at, TRANSACTIONS, Capabilities())
    if change.status is not ProfileStatus.ACCEPTED:
        return
    restored = clear(change.store, profile_id=1000).store
    assert restored == v.store
    after = ChargerView(restored, v.electrics, v.connectors)
    probes = data.draw(st.lists(instants(), min_size=1, max_size=5))
    assert [charger_limits(after, t) for t in probes] == [charger_limits(v, t) for t in probes]
    assert composite_schedule(after, 1, T0, 86400) == composite_schedule(v, 1, T0, 86400)


@given(views(), instants(2), st.data())
def test_next_change_after_is_exactly_the_first_change(v, at, data):
    horizon = timedelta(days=2)
    change = next_change_after(v, at, horizon)
    before = charger_limits(v, at)
    end = change or at + horizon
    span = int((end - at).total_seconds())
    if span > 1:
        offsets = data.draw(st.lists(st.integers(1, span - 1), max_size=20))
        for offset in offsets:
            assert charger_limits(v, at + timedelta(seconds=offset)) == before
    if change is not None:
        assert charger_limits(v, change) != before


@given(views(all_in_session=True), instants(1), st.sampled_from([1, 2]), st.data())
def test_composite_schedule_agrees_with_limit_at(v, start, connector, data):
    duration = 2 * 86400
    result = composite_schedule(v, connector, start, duration)
    ps = result.schedule.periods
    assert ps[0].start_period == 0
    assert all(a.start_period < b.start_period for a, b in pairwise(ps))
    for offset in data.draw(st.lists(st.integers(0, duration - 1), max_size=20)):
        at = start + timedelta(seconds=offset)
        limit = charger_limits(v, at)[connector]
        current = [p for p in ps if p.start_period <= offset][-1]
        if offset - current.start_period >= 1:  # inside the period, away from its rounded-up start
            assert (current.limit, current.number_phases) == (in_unit(limit, RateUnit.A, 230.0), limit.phases)


@given(st.lists(profiles(), max_size=12), st.integers(1, 6), st.data())
def test_store_keeps_ids_unique_one_profile_per_slot_and_the_cap(ops, cap, data):
    caps = Capabilities(max_profiles=cap)
    store = ProfileStore(2)
    for p in ops:
        store = install(store, data.draw(connector_for(p.purpose)), p, T0, TRANSACTIONS, caps).store
        ids = [e.profile.id for e in store.installed]
        slots = [(e.connector_id, e.profile.purpose, e.profile.stack_level) for e in store.installed]
        assert len(ids) == len(set(ids))
        assert len(slots) == len(set(slots))
        assert len(store.installed) <= cap
