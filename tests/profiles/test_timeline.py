"""GetCompositeSchedule answers and next_change_after."""

from datetime import timedelta

from profile_builders import DEFAULT, MAX, TX, installed, profile, spec_3_13_7_profile, utc, view

from balanz.profiles import Kind, ProfileStore, RateUnit, composite_schedule, next_change_after

T0 = utc(2025, 3, 4, 0)
HOUR = timedelta(hours=1)


def periods(result):
    return [(p.start_period, p.limit, p.number_phases) for p in result.schedule.periods]


def test_spec_3_13_7_profile_as_a_composite_schedule_in_watts():
    store = installed(1, [(0, spec_3_13_7_profile())], utc(2013, 1, 1))
    result = composite_schedule(view(store, {1: (7, T0)}), 1, T0, 86400, RateUnit.W)
    assert periods(result) == [(0, 11000.0, 3), (28800, 6000.0, 3), (72000, 11000.0, 3)]
    payload = result.to_ocpp()
    assert payload["status"] == "Accepted"
    assert payload["scheduleStart"] == "2025-03-04T00:00:00Z"
    assert payload["chargingSchedule"]["duration"] == 86400
    assert "startSchedule" not in payload["chargingSchedule"]  # errata 3.57


def test_spec_3_13_7_profile_in_amps_rounds_down_to_one_decimal():
    store = installed(1, [(0, spec_3_13_7_profile())], utc(2013, 1, 1))
    result = composite_schedule(view(store), 1, T0 + 6 * HOUR, 4 * 3600, RateUnit.A)
    assert periods(result) == [(0, 15.9, 3), (7200, 8.6, 3)]  # 15.94 A, 8.70 A per phase


def test_window_counts_from_the_request_and_merges_equal_periods():
    # Two stack levels giving the same value back to back merge into one period.
    top = profile(1, DEFAULT, 1, ((0, 10.0),), start=T0 + HOUR, duration=3600)
    low = profile(2, DEFAULT, 0, ((0, 10.0), (7200, 16.0)), start=T0)
    store = installed(1, [(0, top), (0, low)], T0)
    result = composite_schedule(view(store), 1, T0 + timedelta(minutes=30), 3 * 3600)
    assert periods(result) == [(0, 10.0, 3), (5400, 16.0, 3)]


def test_unlimited_stretches_report_the_hardware_rating():
    store = installed(1, [(0, profile(1, DEFAULT, 0, ((0, 6.0),), start=T0 + HOUR, duration=1800))], T0)
    assert periods(composite_schedule(view(store), 1, T0, 7200)) == [
        (0, 32.0, 3),
        (3600, 6.0, 3),
        (5400, 32.0, 3),
    ]


def test_connector_zero_reports_the_charger_total_capped_by_max():
    # ocpp-1.6-edition2.txt:2761-2762 (errata 3.30)
    base = profile(1, DEFAULT, 0, ((0, 16.0),), start=T0)
    cap = profile(2, MAX, 0, ((0, 40.0), (3600, 20.0)), start=T0)
    store = installed(3, [(0, base), (0, cap)], T0)
    assert periods(composite_schedule(view(store), 0, T0, 7200)) == [(0, 40.0, 3), (3600, 20.0, 3)]
    no_cap = installed(3, [(0, base)], T0)
    assert periods(composite_schedule(view(no_cap), 0, T0, 60)) == [(0, 48.0, 3)]
    in_watts = composite_schedule(view(store), 0, T0, 60, RateUnit.W)
    assert periods(in_watts) == [(0, 40.0 * 230 * 3, 3)]


def test_connector_composite_applies_the_max_share_of_running_sessions():
    store = installed(2, [(0, profile(1, MAX, 0, ((0, 20.0),), start=T0))], T0)
    v = view(store, {1: (1, T0), 2: (2, T0)})
    assert periods(composite_schedule(v, 1, T0, 60)) == [(0, 10.0, 3)]


def test_relative_profile_on_an_idle_connector_is_projected_from_the_window_start():
    rel = profile(1, DEFAULT, 0, ((0, 16.0), (3600, 8.0)), kind=Kind.RELATIVE)
    store = installed(1, [(0, rel)], T0)
    assert periods(composite_schedule(view(store), 1, T0 + 5 * HOUR, 7200)) == [(0, 16.0, 3), (3600, 8.0, 3)]


def test_unknown_connector_is_rejected():
    assert composite_schedule(view(ProfileStore(2)), 3, T0, 60) is None


def test_next_change_after_finds_the_next_real_change():
    store = installed(1, [(0, spec_3_13_7_profile())], utc(2013, 1, 1))
    v = view(store, {1: (1, T0)})
    assert next_change_after(v, T0 + 7 * HOUR) == T0 + 8 * HOUR
    assert next_change_after(v, T0 + 8 * HOUR) == T0 + 20 * HOUR
    # 20:00 → 08:00 next day: the midnight restart of the cycle changes nothing and is skipped.
    assert next_change_after(v, T0 + 20 * HOUR) == T0 + 32 * HOUR


def test_next_change_after_sees_validity_tx_profile_end_and_max():
    store = installed(
        1,
        [
            (0, profile(1, DEFAULT, 0, ((0, 16.0),), start=T0)),
            (0, profile(2, MAX, 0, ((0, 20.0),), start=T0, valid_from=T0 + 5 * HOUR)),
            (1, profile(3, TX, 0, ((0, 25.0),), kind=Kind.RELATIVE, duration=7200)),
        ],
        T0 + HOUR,
        {1: 9},
    )
    v = view(store, {1: (9, T0 + HOUR)})
    assert next_change_after(v, T0 + HOUR) == T0 + 3 * HOUR  # TxProfile runs out: 25 → 16
    assert next_change_after(v, T0 + 3 * HOUR) is None  # the Max at 20 A changes nothing at 16 A


def test_next_change_after_is_none_without_profiles_or_beyond_the_horizon():
    assert next_change_after(view(ProfileStore(2)), T0) is None
    later = installed(1, [(0, profile(1, DEFAULT, 0, ((0, 6.0),), start=T0 + timedelta(days=30)))], T0)
    assert next_change_after(view(later), T0) is None
    assert next_change_after(view(later), T0, horizon=timedelta(days=31)) == T0 + timedelta(days=30)


def test_zero_duration_still_reports_the_limit_in_force():
    store = installed(1, [(0, profile(1, DEFAULT, 0, ((0, 6.0),), start=T0))], T0)
    assert periods(composite_schedule(view(store), 1, T0, 0)) == [(0, 6.0, 3)]
