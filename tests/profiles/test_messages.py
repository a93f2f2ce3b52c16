"""The three smart-charging requests answered from payload dicts, as a simulated charger would."""

import pytest
from profile_builders import utc, view

from balanz.profiles import Capabilities, ProfileError, ProfileStore
from balanz.profiles.messages import clear_charging_profile, get_composite_schedule, set_charging_profile

NOW = utc(2025, 3, 4, 10)

# profiles.md §2: the reference's base profile, verbatim.
BASE = {
    "connectorId": 0,
    "csChargingProfiles": {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}],
        },
    },
}


def test_set_then_composite_then_clear():
    change = set_charging_profile(ProfileStore(2), BASE, NOW, {}, Capabilities())
    assert change.status == "Accepted"
    answer = get_composite_schedule(view(change.store), {"connectorId": 1, "duration": 600}, NOW)
    assert answer == {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": "2025-03-04T10:00:00Z",
        "chargingSchedule": {
            "duration": 600,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0, "numberPhases": 3}],
        },
    }
    cleared = clear_charging_profile(change.store, {"chargingProfilePurpose": "TxDefaultProfile"})
    assert (cleared.status, cleared.store.installed) == ("Accepted", ())
    assert clear_charging_profile(cleared.store, {"id": 1}).status == "Unknown"


def test_composite_for_unknown_connector_is_rejected():
    assert get_composite_schedule(view(ProfileStore(1)), {"connectorId": 2, "duration": 60}, NOW) == {
        "status": "Rejected"
    }


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (
            lambda: set_charging_profile(
                ProfileStore(1), {**BASE, "connectorId": 5}, NOW, {}, Capabilities()
            ),
            "PropertyConstraintViolation",
        ),
        (
            lambda: set_charging_profile(ProfileStore(1), {"connectorId": 1}, NOW, {}, Capabilities()),
            "ProtocolError",
        ),
        (
            lambda: clear_charging_profile(ProfileStore(1), {"chargingProfilePurpose": "Max"}),
            "PropertyConstraintViolation",
        ),
        # errata 3.24: a chargingRateUnit other than A or W is a PropertyConstraintViolation.
        (
            lambda: get_composite_schedule(
                view(ProfileStore(1)), {"connectorId": 1, "duration": 60, "chargingRateUnit": "kW"}, NOW
            ),
            "PropertyConstraintViolation",
        ),
    ],
)
def test_malformed_requests_raise_the_callerror_code(call, code):
    with pytest.raises(ProfileError) as caught:
        call()
    assert caught.value.code == code
