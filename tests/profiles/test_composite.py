"""The limit in force on a connector, against the 1.6 spec's examples and rules (edition 2 + errata v4.0)."""

from datetime import timedelta

import pytest
from profile_builders import DEFAULT, MAX, TX, installed, profile, spec_3_13_7_profile, utc, view

from balanz.profiles import (
    Capabilities,
    Electrics,
    Kind,
    Limit,
    ProfileStore,
    RateUnit,
    Recurrency,
    charger_limits,
    clear,
    end_transaction,
    install,
    limit_at,
)

T0 = utc(2025, 3, 4, 0)  # a Tuesday
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("hour", "watts"),
    [(0, 11000), (7.99, 11000), (8, 6000), (12, 6000), (19.99, 6000), (20, 11000), (23.9, 11000)],
)
def test_spec_3_13_7_daily_default_profile_in_watts(hour, watts):
    # W is the total; per phase current = W / (230 V × numberPhases) (ocpp-1.6-edition2.txt:4683-4691).
    store = installed(1, [(0, spec_3_13_7_profile())], utc(2013, 1, 1))
    limit = limit_at(view(store, {1: (1, T0)}), 1, T0 + timedelta(hours=hour))
    assert limit == Limit(pytest.approx(watts / 690), 3, DEFAULT)


def weekly_calendar_profile():
    """ocpp-1.6-edition2.txt §3.13.2 (:1212-1216): one week, full current on weekdays 23:00-06:00 and all
    weekend, reduced at other times. Full = 32 A, reduced = 10 A; the week starts Monday 2025-03-03 00:00."""
    periods = [(0, 32.0)]
    for day in range(5):  # Monday..Friday
        periods += [(day * 86400 + 6 * 3600, 10.0), (day * 86400 + 23 * 3600, 32.0)]
    return profile(
        1,
        DEFAULT,
        0,
        tuple(periods),
        kind=Kind.RECURRING,
        recurrency=Recurrency.WEEKLY,
        start=utc(2025, 3, 3),
    )


def holiday_profile():
    """The exception "for holidays" stacked on top (:1215-1216): Wednesday 2025-03-05 is a holiday, 25 A."""
    return profile(2, DEFAULT, 1, ((0, 25.0),), start=utc(2025, 3, 5), duration=86400)


@pytest.mark.parametrize(
    ("moment", "amps"),
    [
        (utc(2025, 3, 4, 5, 59), 32.0),  # Tuesday night
        (utc(2025, 3, 4, 6), 10.0),
        (utc(2025, 3, 4, 22, 59), 10.0),
        (utc(2025, 3, 4, 23), 32.0),
        (utc(2025, 3, 5, 12), 10.0),  # Wednesday, no holiday profile
        (utc(2025, 3, 8, 12), 32.0),  # Saturday
        (utc(2025, 3, 10, 5), 32.0),  # next Monday night, second cycle
        (utc(2025, 3, 10, 7), 10.0),
    ],
)
def test_spec_3_13_2_weekly_calendar(moment, amps):
    store = installed(1, [(0, weekly_calendar_profile())], utc(2025, 3, 1))
    assert limit_at(view(store), 1, moment).amps == amps


@pytest.mark.parametrize(
    ("moment", "amps"),
    [
        (utc(2025, 3, 4, 23, 59), 32.0),
        (utc(2025, 3, 5, 0), 25.0),  # holiday begins: higher stack level prevails
        (utc(2025, 3, 5, 12), 25.0),
        (utc(2025, 3, 5, 23, 59), 25.0),
        (utc(2025, 3, 6, 0, 0), 32.0),  # holiday duration over: falls back to level 0 (:3179-3185)
        (utc(2025, 3, 6, 12), 10.0),
    ],
)
def test_spec_3_13_2_holiday_exception_on_a_higher_stack_level(moment, amps):
    store = installed(1, [(0, weekly_calendar_profile()), (0, holiday_profile())], utc(2025, 3, 1))
    assert limit_at(view(store), 1, moment).amps == amps


def test_5_16_4_periods_beyond_duration_are_not_executed_and_a_long_duration_keeps_the_last_period():
    # ocpp-1.6-edition2.txt:3162-3165
    cut = profile(1, DEFAULT, 1, ((0, 10.0), (3600, 20.0)), start=T0, duration=1800)
    long = profile(2, DEFAULT, 0, ((0, 6.0), (600, 7.0)), start=T0, duration=7200)
    store = installed(1, [(0, cut), (0, long)], T0)
    v = view(store)
    assert limit_at(v, 1, T0 + timedelta(minutes=29)).amps == 10.0
    assert limit_at(v, 1, T0 + timedelta(minutes=30)).amps == 7.0  # level 1 ended; its 20 A never runs
    assert limit_at(v, 1, T0 + timedelta(minutes=119)).amps == 7.0  # last period held until duration
    assert limit_at(v, 1, T0 + timedelta(minutes=120)) == Limit(32.0, 3, None)  # nothing left: unconstrained


def test_5_16_4_recurring_with_short_duration_falls_back_then_restarts():
    # ocpp-1.6-edition2.txt:3176-3185, errata 3.43: lower stack level, else no limit.
    night = profile(
        1, DEFAULT, 2, ((0, 0.0),), kind=Kind.RECURRING, start=utc(2025, 1, 1, 17), duration=3 * 3600
    )
    base = profile(2, DEFAULT, 0, ((0, 16.0),), start=utc(2025, 1, 1))
    store = installed(1, [(0, night), (0, base)], utc(2025, 1, 1))
    v = view(store)
    assert limit_at(v, 1, utc(2025, 3, 4, 16, 59)).amps == 16.0
    assert limit_at(v, 1, utc(2025, 3, 4, 17)).amps == 0.0
    assert limit_at(v, 1, utc(2025, 3, 4, 20)).amps == 16.0
    without_base = clear(store, profile_id=2).store
    assert limit_at(view(without_base), 1, utc(2025, 3, 4, 20)) == Limit(32.0, 3, None)


def test_5_16_4_periods_longer_than_the_recurrence_are_not_executed():
    # errata 3.44: a Daily profile's period at 25 h never runs; duration capped at 24 h.
    p = profile(
        1, DEFAULT, 0, ((0, 10.0), (90000, 20.0)), kind=Kind.RECURRING, start=utc(2025, 1, 1), duration=200000
    )
    store = installed(1, [(0, p)], utc(2025, 1, 1))
    assert {limit_at(view(store), 1, utc(2025, 1, d, h)).amps for d in (1, 2, 3) for h in (0, 1, 2, 23)} == {
        10.0
    }


def test_recurring_daily_across_midnight():
    p = profile(
        1, DEFAULT, 0, ((0, 6.0), (8 * 3600, 16.0)), kind=Kind.RECURRING, start=utc(2025, 1, 1, 22)
    )  # 22:00-06:00 at 6 A, then 16 A until 22:00
    store = installed(1, [(0, p)], utc(2025, 1, 1))
    v = view(store)
    assert [limit_at(v, 1, utc(2025, 3, 4, h)).amps for h in (21, 22, 23)] == [16.0, 6.0, 6.0]
    assert [limit_at(v, 1, utc(2025, 3, 5, h)).amps for h in (0, 3, 5)] == [6.0, 6.0, 6.0]
    assert limit_at(v, 1, utc(2025, 3, 5, 6)).amps == 16.0
    assert limit_at(v, 1, utc(2025, 1, 1, 21)) == Limit(32.0, 3, None)  # before startSchedule: no cycle yet


def test_highest_valid_stack_level_prevails_and_validity_windows_are_half_open():
    # ocpp-1.6-edition2.txt:1217-1219
    top = profile(1, DEFAULT, 3, ((0, 8.0),), start=T0, valid_from=T0 + 2 * HOUR, valid_to=T0 + 4 * HOUR)
    low = profile(2, DEFAULT, 0, ((0, 16.0),), start=T0)
    store = installed(1, [(0, top), (0, low)], T0)
    amps = [limit_at(view(store), 1, T0 + h * HOUR).amps for h in range(6)]
    assert amps == [16.0, 16.0, 8.0, 8.0, 16.0, 16.0]


def test_profile_expiring_mid_schedule_hands_over_to_the_lower_level():
    top = profile(1, DEFAULT, 1, ((0, 8.0), (7200, 12.0)), start=T0, valid_to=T0 + 3 * HOUR)
    low = profile(2, DEFAULT, 0, ((0, 20.0),), start=T0)
    store = installed(1, [(0, top), (0, low)], T0)
    assert [limit_at(view(store), 1, T0 + h * HOUR).amps for h in range(5)] == [8.0, 8.0, 12.0, 20.0, 20.0]


def test_future_valid_from_reverts_to_default_until_reached():
    # ocpp-1.6-edition2.txt:1226-1229: the update replaces the installed profile at once, then waits.
    store = installed(1, [(0, profile(1, DEFAULT, 0, ((0, 10.0),), start=T0))], T0)
    update = profile(5, DEFAULT, 0, ((0, 6.0),), start=T0, valid_from=T0 + 2 * HOUR)
    store = install(store, 0, update, T0 + HOUR, {}, Capabilities()).store
    assert [e.profile.id for e in store.installed] == [5]
    assert limit_at(view(store), 1, T0 + HOUR) == Limit(32.0, 3, None)
    assert limit_at(view(store), 1, T0 + 2 * HOUR).amps == 6.0


def test_no_duration_on_the_highest_level_never_falls_back():
    # errata 3.7 (ocpp-1.6-errata-sheet.txt:153-163)
    store = installed(
        1, [(0, profile(1, DEFAULT, 1, ((0, 9.0),), start=T0)), (0, profile(2, DEFAULT, 0, start=T0))], T0
    )
    assert limit_at(view(store), 1, T0 + timedelta(days=400)).amps == 9.0


def test_absolute_schedule_not_started_yet_yields_to_lower_level():
    later = profile(1, DEFAULT, 1, ((0, 9.0),), start=T0 + 2 * HOUR)
    store = installed(1, [(0, later), (0, profile(2, DEFAULT, 0, start=T0))], T0)
    assert limit_at(view(store), 1, T0 + HOUR).amps == 16.0
    assert limit_at(view(store), 1, T0 + 2 * HOUR).amps == 9.0


def test_absolute_without_start_schedule_counts_from_installation():
    p = profile(1, DEFAULT, 0, ((0, 10.0), (600, 12.0)))
    store = installed(1, [(0, p)], T0 + HOUR)
    v = view(store)
    assert limit_at(v, 1, T0 + HOUR + timedelta(minutes=9)).amps == 10.0
    assert limit_at(v, 1, T0 + HOUR + timedelta(minutes=10)).amps == 12.0
    assert limit_at(v, 1, T0) == Limit(32.0, 3, None)  # not valid before it was received (:4588-4590)


def test_tx_default_on_connector_zero_applies_to_every_connector_and_connector_n_replaces_it_there():
    # ocpp-1.6-edition2.txt:1190-1195; profiles.md §1 reference scheme (base 6 A on 0, blocking 0 A on N).
    base = profile(1, DEFAULT, 0, ((0, 6.0),), start=T0)
    blocking = profile(9101, DEFAULT, 0, ((0, 0.0),), start=T0)
    store = installed(3, [(0, base), (1, blocking)], T0)
    limits = charger_limits(view(store), T0)
    assert [limits[n].amps for n in (1, 2, 3)] == [0.0, 6.0, 6.0]


def test_connector_n_tx_default_stacks_with_the_template_at_other_levels():
    template_high = profile(1, DEFAULT, 1, ((0, 6.0),), start=T0)
    own_low = profile(2, DEFAULT, 0, ((0, 0.0),), start=T0)
    store = installed(2, [(0, template_high), (1, own_low)], T0)
    assert limit_at(view(store), 1, T0).amps == 6.0
    # The reference design: blocking at level 1 on the connector hides the base at level 0 on connector 0.
    store = installed(
        2, [(0, profile(1, DEFAULT, 0, ((0, 6.0),))), (1, profile(2, DEFAULT, 1, ((0, 0.0),)))], T0
    )
    assert [limit_at(view(store), n, T0).amps for n in (1, 2)] == [0.0, 6.0]


def test_tx_profile_overrides_tx_default_even_upwards_and_dies_with_the_transaction():
    # ocpp-1.6-edition2.txt:1199-1202
    start = T0 + HOUR
    store = installed(
        1,
        [(0, profile(1, DEFAULT, 5, ((0, 6.0),), start=T0)), (1, profile(3, TX, 0, ((0, 20.0),), start=T0))],
        start,
        {1: 42},
    )
    v = view(store, {1: (42, start)})
    assert limit_at(v, 1, start) == Limit(20.0, 3, TX)
    ended = end_transaction(store, 1, 42)
    assert limit_at(view(ended), 1, start).amps == 6.0


def test_tx_profile_of_another_transaction_does_not_apply():
    store = installed(1, [(1, profile(3, TX, 0, ((0, 20.0),), start=T0))], T0, {1: 42})
    assert limit_at(view(store, {1: (43, T0)}), 1, T0) == Limit(32.0, 3, None)


def test_tx_profile_whose_schedule_ended_falls_back_to_tx_default():
    store = installed(
        1,
        [
            (0, profile(1, DEFAULT, 0, ((0, 6.0),), start=T0)),
            (1, profile(3, TX, 0, ((0, 20.0),), start=T0, duration=600)),
        ],
        T0,
        {1: 42},
    )
    v = view(store, {1: (42, T0)})
    assert [limit_at(v, 1, T0 + timedelta(minutes=m)).amps for m in (0, 9, 10)] == [20.0, 20.0, 6.0]


def test_relative_profile_counts_from_transaction_start():
    rel = profile(3, TX, 0, ((0, 16.0), (3600, 8.0)), kind=Kind.RELATIVE)
    tx_start = T0 + timedelta(hours=10, minutes=7)
    store = installed(1, [(1, rel)], tx_start, {1: 42})
    v = view(store, {1: (42, tx_start)})
    assert limit_at(v, 1, tx_start + timedelta(minutes=59)).amps == 16.0
    assert limit_at(v, 1, tx_start + HOUR).amps == 8.0


def test_relative_default_without_transaction_offers_its_first_period():
    rel = profile(1, DEFAULT, 0, ((0, 16.0), (3600, 8.0)), kind=Kind.RELATIVE)
    store = installed(1, [(0, rel)], T0)
    assert {limit_at(view(store), 1, T0 + h * HOUR).amps for h in range(5)} == {16.0}
    # … and counts from the transaction once there is one.
    assert limit_at(view(store, {1: (1, T0 + HOUR)}), 1, T0 + 3 * HOUR).amps == 8.0


def test_new_tx_default_applies_to_a_running_transaction_and_removing_it_unconstrains():
    # errata 3.8 (ocpp-1.6-errata-sheet.txt:166-190)
    store = installed(1, [(0, profile(1, DEFAULT, 0, ((0, 6.0),), start=T0))], T0)
    sessions = {1: (42, T0)}
    assert limit_at(view(store, sessions), 1, T0 + HOUR).amps == 6.0
    store = installed(1, [(0, profile(1, DEFAULT, 0, ((0, 13.0),), start=T0))], T0)
    assert limit_at(view(store, sessions), 1, T0 + HOUR).amps == 13.0
    assert limit_at(view(clear(store).store, sessions), 1, T0 + HOUR) == Limit(32.0, 3, None)


@pytest.mark.parametrize(
    ("unit", "limit", "phases", "supply", "expected"),
    [
        (RateUnit.A, 16.0, None, 3, (16.0, 3)),
        (RateUnit.A, 16.0, 1, 3, (16.0, 1)),  # A is per phase (:4694-4697)
        (RateUnit.W, 11000.0, None, 3, (11000 / 690, 3)),  # numberPhases absent ⇒ 3 (:4691)
        (RateUnit.W, 7360.0, 1, 3, (32.0, 1)),
        (RateUnit.W, 11000.0, 3, 1, (11000 / 690, 1)),  # errata 3.34: not rescaled to the phases used
        (RateUnit.W, 4600.0, 2, 3, (10.0, 2)),
    ],
)
def test_watts_and_amps_with_number_phases(unit, limit, phases, supply, expected):
    p = profile(1, DEFAULT, 0, ((0, limit, phases) if phases else (0, limit),), unit=unit, start=T0)
    store = installed(1, [(0, p)], T0)
    got = limit_at(view(store, electrics=Electrics(phases=supply)), 1, T0)
    assert (got.amps, got.phases) == (pytest.approx(expected[0]), expected[1])


def test_watts_use_the_nominal_voltage():
    p = profile(1, DEFAULT, 0, ((0, 3300.0, 1),), unit=RateUnit.W, start=T0)
    got = limit_at(view(installed(1, [(0, p)], T0), electrics=Electrics(voltage_v=110.0)), 1, T0)
    assert got.amps == pytest.approx(30.0)


def test_hardware_rating_caps_every_profile():
    store = installed(1, [(0, profile(1, DEFAULT, 0, ((0, 40.0),), start=T0))], T0)
    assert limit_at(view(store, electrics=Electrics(connector_max_a=16.0)), 1, T0) == Limit(16.0, 3, None)


def test_charge_point_max_caps_a_single_connector():
    # ocpp-1.6-edition2.txt:1236-1246: the minimum of the purposes in every time slice.
    store = installed(
        1,
        [
            (0, profile(1, MAX, 0, ((0, 20.0), (3600, 10.0)), start=T0)),
            (0, profile(2, DEFAULT, 0, ((0, 16.0),), start=T0)),
        ],
        T0,
    )
    assert limit_at(view(store), 1, T0) == Limit(16.0, 3, DEFAULT)
    assert limit_at(view(store), 1, T0 + HOUR) == Limit(10.0, 3, MAX)


def test_charge_point_max_in_watts_with_phases_limits_the_phase_count():
    store = installed(1, [(0, profile(1, MAX, 0, ((0, 3680.0, 1),), unit=RateUnit.W, start=T0))], T0)
    assert limit_at(view(store), 1, T0) == Limit(pytest.approx(16.0), 1, MAX)


def test_charge_point_max_is_shared_by_the_connectors_in_a_transaction():
    # ocpp-1.6-edition2.txt:1248-1250: the combined flow of all connectors stays within the Max.
    store = installed(
        3,
        [
            (0, profile(1, MAX, 0, ((0, 20.0),), start=T0)),
            (0, profile(2, DEFAULT, 0, ((0, 16.0),), start=T0)),
        ],
        T0,
    )
    both = charger_limits(view(store, {1: (1, T0), 2: (2, T0)}), T0)
    assert [both[n].amps for n in (1, 2)] == [10.0, 10.0]
    assert both[3] == Limit(16.0, 3, DEFAULT)  # idle: min(Max, own) until it starts
    assert charger_limits(view(store, {1: (1, T0)}), T0)[1].amps == 16.0


def test_sharing_gives_unused_current_to_the_others():
    store = installed(
        2,
        [
            (0, profile(1, MAX, 0, ((0, 20.0),), start=T0)),
            (1, profile(2, DEFAULT, 0, ((0, 6.0),), start=T0)),
            (2, profile(3, DEFAULT, 0, ((0, 32.0),), start=T0)),
        ],
        T0,
    )
    limits = charger_limits(view(store, {1: (1, T0), 2: (2, T0)}), T0)
    assert (limits[1], limits[2]) == (Limit(6.0, 3, DEFAULT), Limit(14.0, 3, MAX))


def test_min_charging_rate_stops_a_connector_rather_than_splitting_below_it():
    # ocpp-1.6-edition2.txt:1273-1275: charging below minChargingRate is inefficient.
    store = installed(
        2,
        [
            (0, profile(1, MAX, 0, ((0, 10.0),), start=T0)),
            (0, profile(2, DEFAULT, 0, ((0, 16.0),), start=T0, min_rate=6.0)),
        ],
        T0,
    )
    limits = charger_limits(view(store, {1: (1, T0), 2: (2, T0)}), T0)
    assert (limits[1].amps, limits[2].amps) == (10.0, 0.0)
    roomy = installed(
        2,
        [
            (0, profile(1, MAX, 0, ((0, 12.0),), start=T0)),
            (0, profile(2, DEFAULT, 0, ((0, 16.0),), start=T0, min_rate=6.0)),
        ],
        T0,
    )
    limits = charger_limits(view(roomy, {1: (1, T0), 2: (2, T0)}), T0)
    assert (limits[1].amps, limits[2].amps) == (6.0, 6.0)


def test_relative_charge_point_max_counts_from_installation():
    store = installed(1, [(0, profile(1, MAX, 0, ((0, 20.0), (3600, 8.0)), kind=Kind.RELATIVE))], T0 + HOUR)
    assert limit_at(view(store), 1, T0 + HOUR).amps == 20.0
    assert limit_at(view(store), 1, T0 + 2 * HOUR).amps == 8.0


def test_limit_at_connector_zero_is_the_grid_limit_and_unknown_connectors_are_named():
    store = installed(2, [(0, profile(1, DEFAULT, 0, ((0, 10.0),), start=T0))], T0)
    assert limit_at(view(store), 0, T0) == Limit(20.0, 3, None)
    with pytest.raises(ValueError, match="connector 3 does not exist"):
        limit_at(view(store), 3, T0)


def test_view_lists_running_transactions_for_install():
    v = view(ProfileStore(3), {1: (41, T0), 3: (43, T0)})
    assert v.transactions() == {1: 41, 3: 43}


def test_min_charging_rate_does_not_stop_a_connector_its_own_profile_keeps_low():
    # Only a share cut by the Max is judged against minChargingRate; the profile's own 5 A stands.
    store = installed(
        2,
        [
            (0, profile(1, MAX, 0, ((0, 30.0),), start=T0)),
            (1, profile(2, DEFAULT, 0, ((0, 5.0),), start=T0, min_rate=6.0)),
        ],
        T0,
    )
    limits = charger_limits(view(store, {1: (1, T0), 2: (2, T0)}), T0)
    assert (limits[1].amps, limits[2].amps) == (5.0, 25.0)


def test_3_13_1_policy_that_prevents_charging_during_the_day():
    # ocpp-1.6-edition2.txt:1186-1187: a TxDefaultProfile policy "that prevents charging during the day";
    # a TxProfile still overrules it for its transaction (:1199-1200).
    day_stop = profile(
        1, DEFAULT, 0, ((0, 0.0),), kind=Kind.RECURRING, start=utc(2025, 1, 1, 7), duration=16 * 3600
    )
    store = installed(2, [(0, day_stop)], utc(2025, 1, 1))
    v = view(store)
    assert [limit_at(v, 1, utc(2025, 3, 4, h)).amps for h in (6, 7, 12, 22, 23)] == [
        32.0,
        0.0,
        0.0,
        0.0,
        32.0,
    ]
    store = installed(
        2, [(0, day_stop), (2, profile(9, TX, 0, ((0, 11.0),), start=T0))], utc(2025, 3, 4), {2: 5}
    )
    limits = charger_limits(view(store, {2: (5, T0)}), utc(2025, 3, 4, 12))
    assert (limits[1].amps, limits[2].amps) == (0.0, 11.0)


def test_3_13_4_local_controller_presets_a_group_limit_with_a_validity_window():
    # ocpp-1.6-edition2.txt:1475-1498 (Figure 10): ChargePointMaxProfile, connector 0, Absolute, validFrom/To.
    group = profile(1, MAX, 0, ((0, 20.0),), start=T0, valid_from=T0 + HOUR, valid_to=T0 + 3 * HOUR)
    store = installed(2, [(0, group)], T0)
    sessions = {1: (1, T0), 2: (2, T0)}
    amps = [
        tuple(lim.amps for lim in charger_limits(view(store, sessions), T0 + h * HOUR).values())
        for h in range(4)
    ]
    assert amps == [(32.0, 32.0), (10.0, 10.0), (10.0, 10.0), (32.0, 32.0)]
