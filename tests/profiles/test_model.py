"""ChargingProfile payload parsing and rendering against the 1.6 JSON schema shapes."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from profile_builders import utc

from balanz.profiles import ChargingProfile, Kind, ProfileError, Purpose, RateUnit, Recurrency
from balanz.profiles.model import format_time, parse_time

# ocpp-1.6-edition2.txt §3.13.7 (lines 1633-1700): daily default profile, 6 kW 08:00-20:00, 11 kW otherwise.
SPEC_3_13_7 = {
    "chargingProfileId": 100,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Recurring",
    "recurrencyKind": "Daily",
    "chargingSchedule": {
        "duration": 86400,
        "startSchedule": "2013-01-01T00:00:00Z",
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 11000.0, "numberPhases": 3},
            {"startPeriod": 28800, "limit": 6000.0, "numberPhases": 3},
            {"startPeriod": 72000, "limit": 11000.0, "numberPhases": 3},
        ],
    },
}


def test_spec_3_13_7_example_parses_to_the_fields_the_spec_lists():
    p = ChargingProfile.from_ocpp(SPEC_3_13_7)
    assert (p.id, p.stack_level, p.purpose, p.kind, p.recurrency) == (
        100,
        0,
        Purpose.TX_DEFAULT,
        Kind.RECURRING,
        Recurrency.DAILY,
    )
    assert p.schedule.duration == 86400
    assert p.schedule.start_schedule == utc(2013, 1, 1)
    assert p.schedule.rate_unit is RateUnit.W
    assert [(q.start_period, q.limit, q.number_phases) for q in p.schedule.periods] == [
        (0, 11000.0, 3),
        (28800, 6000.0, 3),
        (72000, 11000.0, 3),
    ]


def test_spec_example_renders_back_to_the_same_payload():
    assert ChargingProfile.from_ocpp(SPEC_3_13_7).to_ocpp() == SPEC_3_13_7


def test_optional_fields_are_left_out_when_absent():
    payload = {
        "chargingProfileId": 9201,
        "transactionId": 1042,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 9}],
        },
    }
    p = ChargingProfile.from_ocpp(payload)
    assert p.schedule.periods[0].limit == 9.0
    out = p.to_ocpp()
    assert out["chargingSchedule"] == {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 9.0}],
    }
    assert "validFrom" not in out
    assert "recurrencyKind" not in out
    assert out["transactionId"] == 1042


def test_times_accept_offsets_and_fractions_and_come_back_as_utc_z():
    # ocpp-1.6-edition2.txt:1735-1739: receivers handle fractions and offsets.
    parsed = parse_time("2025-03-04T11:55:00.250+02:00", "startSchedule")
    assert parsed == datetime(2025, 3, 4, 9, 55, 0, 250000, tzinfo=UTC)
    assert format_time(parsed) == "2025-03-04T09:55:00.25Z"
    assert (
        format_time(datetime(2025, 3, 4, 9, 55, tzinfo=timezone(timedelta(hours=-5))))
        == "2025-03-04T14:55:00Z"
    )
    assert parse_time("2025-03-04T09:55:00", "validFrom").tzinfo is UTC


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d.pop("stackLevel"), "ProtocolError"),
        (lambda d: d.update(chargingProfilePurpose="Boost"), "PropertyConstraintViolation"),
        (lambda d: d["chargingSchedule"].update(chargingRateUnit="kW"), "PropertyConstraintViolation"),
        (lambda d: d.update(stackLevel="0"), "TypeConstraintViolation"),
        (lambda d: d.update(stackLevel=True), "TypeConstraintViolation"),
        (lambda d: d.update(colour="red"), "FormationViolation"),
        (lambda d: d["chargingSchedule"].update(chargingSchedulePeriod=[]), "OccurenceConstraintViolation"),
        (lambda d: d["chargingSchedule"].update(startSchedule="yesterday"), "PropertyConstraintViolation"),
        (
            lambda d: d["chargingSchedule"]["chargingSchedulePeriod"][0].update(limit="6"),
            "TypeConstraintViolation",
        ),
    ],
)
def test_schema_violations_name_the_callerror_code_and_the_field(mutate, code):
    payload = {**SPEC_3_13_7, "chargingSchedule": {**SPEC_3_13_7["chargingSchedule"]}}
    payload["chargingSchedule"]["chargingSchedulePeriod"] = [
        dict(p) for p in SPEC_3_13_7["chargingSchedule"]["chargingSchedulePeriod"]
    ]
    mutate(payload)
    with pytest.raises(ProfileError) as caught:
        ChargingProfile.from_ocpp(payload)
    assert caught.value.code == code
    assert "csChargingProfiles" in str(caught.value)
