"""A charger's answers to the three smart-charging requests, payload dict in, (store, payload dict) out.

Meant for the simulator and for tests that speak the wire shapes; ProfileError carries the CALLERROR code
for payloads the schema refuses (errata 3.24, 3.38, 3.39).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from balanz.profiles.composite import ChargerView
from balanz.profiles.model import (
    ChargingProfile,
    ProfileError,
    Purpose,
    RateUnit,
    parse_enum,
    parse_int,
    parse_object,
)
from balanz.profiles.store import Capabilities, ProfileStore, StoreChange, clear, install
from balanz.profiles.timeline import composite_schedule

logger = logging.getLogger(__name__)


def set_charging_profile(
    store: ProfileStore,
    payload: Mapping[str, Any],
    now: datetime,
    transactions: Mapping[int, int],
    capabilities: Capabilities,
) -> StoreChange:
    obj = parse_object(
        payload, "SetChargingProfile", required={"connectorId", "csChargingProfiles"}, optional=set()
    )
    connector_id = parse_int(obj["connectorId"], "connectorId")
    profile = ChargingProfile.from_ocpp(obj["csChargingProfiles"])
    return install(store, connector_id, profile, now, transactions, capabilities)


def clear_charging_profile(store: ProfileStore, payload: Mapping[str, Any]) -> StoreChange:
    obj = parse_object(
        payload,
        "ClearChargingProfile",
        required=set(),
        optional={"id", "connectorId", "chargingProfilePurpose", "stackLevel"},
    )
    purpose = obj.get("chargingProfilePurpose")
    return clear(
        store,
        profile_id=None if obj.get("id") is None else parse_int(obj["id"], "id"),
        connector_id=None if obj.get("connectorId") is None else parse_int(obj["connectorId"], "connectorId"),
        purpose=None if purpose is None else parse_enum(Purpose, purpose, "chargingProfilePurpose"),
        stack_level=None if obj.get("stackLevel") is None else parse_int(obj["stackLevel"], "stackLevel"),
    )


def get_composite_schedule(view: ChargerView, payload: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The GetCompositeSchedule.conf payload; without chargingRateUnit the charger answers in A."""
    obj = parse_object(
        payload, "GetCompositeSchedule", required={"connectorId", "duration"}, optional={"chargingRateUnit"}
    )
    connector_id = parse_int(obj["connectorId"], "connectorId")
    duration = parse_int(obj["duration"], "duration")
    if duration < 0:
        raise ProfileError("PropertyConstraintViolation", f"duration {duration} is negative")
    unit = (
        RateUnit.A
        if obj.get("chargingRateUnit") is None
        else parse_enum(RateUnit, obj["chargingRateUnit"], "chargingRateUnit")
    )
    result = composite_schedule(view, connector_id, now, duration, unit)
    return {"status": "Rejected"} if result is None else result.to_ocpp()
