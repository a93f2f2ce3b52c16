"""Schema violations map to the OCPP-J 1.6 Table 7 codes in 1.6 spelling."""

from __future__ import annotations

import pytest

from balanz.wire.errors import ErrorCode, PayloadInvalid
from balanz.wire.validation import CALL, CALLRESULT, known_actions, validate

BOOT = {"chargePointVendor": "Acme", "chargePointModel": "M1"}


def profile(limit):
    return {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            },
        },
    }


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("BootNotification", {"chargePointVendor": "A"}, ErrorCode.PROTOCOL_ERROR),
        ("BootNotification", {**BOOT, "chargePointModel": 1}, ErrorCode.TYPE_CONSTRAINT_VIOLATION),
        ("BootNotification", {**BOOT, "chargePointModel": "M" * 21}, ErrorCode.TYPE_CONSTRAINT_VIOLATION),
        ("BootNotification", {**BOOT, "extra": 1}, ErrorCode.FORMATION_VIOLATION),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Asleep"},
            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
        ),
        ("MeterValues", {"connectorId": 1, "meterValue": []}, ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION),
        ("SetChargingProfile", profile(10 / 3), ErrorCode.PROPERTY_CONSTRAINT_VIOLATION),
        ("Frobnicate", {}, ErrorCode.NOT_IMPLEMENTED),
    ],
)
def test_violation_codes(action, payload, code):
    with pytest.raises(PayloadInvalid) as bad:
        validate(CALL, action, payload)
    assert bad.value.code == code
    assert bad.value.action == action


def test_valid_payloads_pass_and_are_not_rewritten():
    validate(CALL, "BootNotification", BOOT)
    payload = profile(21.4)
    validate(CALL, "SetChargingProfile", payload)
    assert payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 21.4
    assert isinstance(
        payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"], float
    )
    validate(
        CALLRESULT,
        "BootNotification",
        {"status": "Accepted", "currentTime": "2026-01-01T00:00:00Z", "interval": 5},
    )


def test_known_actions_cover_both_directions():
    assert {
        "BootNotification",
        "SetChargingProfile",
        "GetCompositeSchedule",
        "DataTransfer",
    } <= known_actions()
    assert not any(a.endswith("Response") for a in known_actions())


def test_description_is_bounded():
    with pytest.raises(PayloadInvalid) as bad:
        validate(
            CALL, "StatusNotification", {"connectorId": 1, "errorCode": "X" * 500, "status": "Available"}
        )
    assert len(bad.value.description) <= 200
