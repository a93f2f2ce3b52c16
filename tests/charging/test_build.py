"""Payloads of our profile scheme, profiles.md §5.1 / §5.5, against the 1.6 JSON schema and the pitfalls."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from balanz.charging import (
    ChargerSetup,
    LiveVia,
    ProfilesSetup,
    Strategy,
    clear_by_id,
    set_default,
    set_station_cap,
    set_tx,
)
from balanz.charging.build import clear_succeeded, needs_reassert, round_down_tenth, wire_limit
from balanz.config.schema import ChargerConfig, ConnectorConfig, ProfilesConfig
from balanz.profiles import ChargingProfile, Kind, RateUnit
from balanz.wire.validation import validate

NOW = datetime(2025, 3, 4, 10, 0, 5, 250_000, tzinfo=UTC)
SETUP = ProfilesSetup(ChargerSetup(connectors=2))
TX = Strategy()


def valid(payload: object) -> dict:
    assert isinstance(payload, dict)
    validate(2, "SetChargingProfile" if "csChargingProfiles" in payload else "ClearChargingProfile", payload)
    return payload


def test_profiles_5_1_idle_blocking_default_matches_the_spec_example() -> None:
    step = set_default(TX, SETUP, 1, 0, NOW)
    assert valid(step.as_dict()) == {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 9101,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "startSchedule": "2025-03-04T09:55:05Z",
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 0.0}],
            },
        },
    }
    assert step.limit_a == 0.0


def test_profiles_5_1_tx_profile_matches_the_spec_example_p6() -> None:
    payload = valid(set_tx(TX, SETUP, 1, 1042, 9, NOW).as_dict())
    profile = payload["csChargingProfiles"]
    assert payload["connectorId"] == 1
    assert profile["chargingProfileId"] == 9201
    assert profile["transactionId"] == 1042
    assert profile["chargingProfilePurpose"] == "TxProfile"
    assert profile["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 9.0}]


def test_profiles_5_1_stable_distinct_ids_per_connector_w3() -> None:
    setup = ProfilesSetup(ChargerSetup(3), ProfilesConfig(id_base=500))
    ids = [
        set_default(TX, setup, n, 0, NOW).payload["csChargingProfiles"]["chargingProfileId"]
        for n in (1, 2, 3)
    ]
    ids += [
        set_tx(TX, setup, n, 7, 6, NOW).payload["csChargingProfiles"]["chargingProfileId"] for n in (1, 2, 3)
    ]
    assert ids == [501, 502, 503, 601, 602, 603]


def test_p3_absolute_always_has_start_schedule_relative_never() -> None:
    rel = Strategy(kind=Kind.RELATIVE)
    for strategy, expected in ((TX, True), (rel, False)):
        for step in (set_default(strategy, SETUP, 1, 0, NOW), set_tx(strategy, SETUP, 2, 5, 16, NOW)):
            profile = ChargingProfile.from_ocpp(valid(step.as_dict())["csChargingProfiles"])
            assert (profile.schedule.start_schedule is not None) is expected
            assert profile.kind is (Kind.ABSOLUTE if expected else Kind.RELATIVE)


def test_p4_start_schedule_backdated_whole_seconds_utc() -> None:
    setup = ProfilesSetup(ChargerSetup(1), ProfilesConfig(start_backdate_s=60))
    payload = set_default(TX, setup, 1, 0, NOW).payload
    assert payload["csChargingProfiles"]["chargingSchedule"]["startSchedule"] == "2025-03-04T09:59:05Z"


def test_profiles_5_1_one_period_no_duration_validity_recurrency_or_min_rate() -> None:
    profile = set_tx(TX, SETUP, 1, 3, 16, NOW).payload["csChargingProfiles"]
    assert set(profile) == {
        "chargingProfileId",
        "transactionId",
        "stackLevel",
        "chargingProfilePurpose",
        "chargingProfileKind",
        "chargingSchedule",
    }
    assert set(profile["chargingSchedule"]) == {"startSchedule", "chargingRateUnit", "chargingSchedulePeriod"}


def test_p15_watts_with_number_phases_spec_example() -> None:
    w = Strategy(unit=RateUnit.W)
    period = set_tx(w, SETUP, 1, 1042, 9, NOW).payload["csChargingProfiles"]["chargingSchedule"][
        "chargingSchedulePeriod"
    ]
    assert period == [{"startPeriod": 0, "limit": 6210.0, "numberPhases": 3}]
    one_phase = ProfilesSetup(ChargerSetup(1, phases=1))
    assert set_tx(w, one_phase, 1, 1, 16, NOW).wire_limit == 3680.0


def test_profiles_5_1_number_phases_in_amperes_only_when_not_three() -> None:
    one_phase = ProfilesSetup(ChargerSetup(2, connector_phases={2: 1}))
    assert (
        "numberPhases"
        not in set_tx(TX, one_phase, 1, 1, 9, NOW).payload["csChargingProfiles"]["chargingSchedule"][
            "chargingSchedulePeriod"
        ][0]
    )
    period = set_tx(TX, one_phase, 2, 1, 9, NOW).payload["csChargingProfiles"]["chargingSchedule"][
        "chargingSchedulePeriod"
    ][0]
    assert period == {"startPeriod": 0, "limit": 9.0, "numberPhases": 1}


@given(st.floats(min_value=0, max_value=80, allow_nan=False))
def test_p16_limits_rounded_down_to_a_tenth_and_schema_valid(amps: float) -> None:
    limit = wire_limit(amps, RateUnit.A, 3, 230)
    assert amps - 0.1 - 1e-9 <= limit <= amps
    assert round(limit * 10) == pytest.approx(limit * 10, abs=1e-9)
    valid(set_tx(TX, SETUP, 1, 1, amps, NOW).as_dict())


def test_p16_known_float_traps() -> None:
    assert [round_down_tenth(v) for v in (8.1, 9.1, 6.25, 21.400000000000002, 16)] == [
        8.1,
        9.1,
        6.2,
        21.4,
        16.0,
    ]


@given(
    st.integers(min_value=0, max_value=63),
    st.sampled_from([1, 2, 3]),
    st.sampled_from([220.0, 230.0, 231.5, 240.0]),
)
def test_p15_watts_round_down_to_whole_watt(amps: int, phases: int, voltage: float) -> None:
    limit = wire_limit(amps, RateUnit.W, phases, voltage)
    assert limit == int(limit)
    assert amps * voltage * phases - 1 < limit <= amps * voltage * phases + 1e-6


def test_profiles_5_4_floor_raises_zero_for_chargers_refusing_0a_p9() -> None:
    floored = Strategy(floor_a=6)
    step = set_default(floored, SETUP, 1, 0, NOW)
    assert step.wire_limit == 6.0
    assert step.limit_a == 6.0
    assert set_tx(floored, SETUP, 1, 1, 16, NOW).wire_limit == 16.0


def test_profiles_5_1_connector_zero_quirk_keeps_connector_one_id() -> None:
    zero = Strategy(LiveVia.TX_DEFAULT, default_on_zero=True)
    payload = valid(set_default(zero, ProfilesSetup(ChargerSetup(1)), 1, 0, NOW).as_dict())
    assert payload["connectorId"] == 0
    assert payload["csChargingProfiles"]["chargingProfileId"] == 9101


def test_profiles_5_1_per_connector_levels() -> None:
    per = Strategy(stack_level=1, per_connector_levels=True)
    levels = [set_default(per, SETUP, n, 0, NOW).payload["csChargingProfiles"]["stackLevel"] for n in (1, 2)]
    assert levels == [1, 2]


def test_profiles_5_5_station_cap_only_when_configured_p2() -> None:
    assert set_station_cap(TX, SETUP, NOW) is None
    on = ProfilesSetup(ChargerSetup(2, charger_max_a=20), ProfilesConfig(station_cap="charger_max"))
    assert set_station_cap(TX, ProfilesSetup(ChargerSetup(2), on.profiles), NOW) is None
    step = set_station_cap(Strategy(kind=Kind.RELATIVE, floor_a=6), on, NOW)
    assert step is not None
    payload = valid(step.as_dict())
    profile = payload["csChargingProfiles"]
    assert payload["connectorId"] == 0
    assert profile["chargingProfileId"] == 9100
    assert profile["chargingProfilePurpose"] == "ChargePointMaxProfile"
    assert profile["chargingProfileKind"] == "Absolute"
    assert "startSchedule" in profile["chargingSchedule"]
    assert step.wire_limit == 20.0


def test_p13_clear_by_id_unknown_counts_as_cleared() -> None:
    step = clear_by_id(9101, expect_match=True)
    assert valid(step.as_dict()) == {"id": 9101}
    assert clear_succeeded("Accepted")
    assert clear_succeeded("Unknown")
    assert needs_reassert(step, "Unknown")
    assert not needs_reassert(step, "Accepted")
    assert not needs_reassert(clear_by_id(9101), "Unknown")


def test_setup_from_config_merges_the_charger_profile_table() -> None:
    charger = ChargerConfig(
        id="CP1",
        group="g",
        connectors=2,
        phases=3,
        charger_max_a=24,
        profile={"kind": "relative", "stack_level": 2},
        connector=(ConnectorConfig(id=2, phases=1),),
    )
    setup = ProfilesSetup.from_config(charger, ProfilesConfig(id_base=700))
    assert setup.profiles.kind == "relative"
    assert setup.profiles.stack_level == 2
    assert setup.profiles.id_base == 700
    assert setup.charger.phases_for(1) == 3
    assert setup.charger.phases_for(2) == 1
    assert setup.charger.charger_max_a == 24


def test_p2_no_station_cap_once_refused() -> None:
    on = ProfilesSetup(ChargerSetup(2, charger_max_a=20), ProfilesConfig(station_cap="charger_max"))
    assert set_station_cap(Strategy(no_cap=True), on, NOW) is None
