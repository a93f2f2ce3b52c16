"""Payload builders and event-log readers shared by the simulator tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from balanz.profiles.model import format_time
from balanz.sim.eventlog import EventLog, Told


def profile(
    limit: float,
    *,
    profile_id: int = 1,
    purpose: str = "TxDefaultProfile",
    stack_level: int = 0,
    unit: str = "A",
    start: datetime | None = None,
    kind: str = "Absolute",
    transaction_id: int | None = None,
    periods: list[tuple[int, float]] | None = None,
) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": v} for s, v in (periods or [(0, limit)])],
    }
    if start is not None:
        schedule["startSchedule"] = format_time(start)
    body: dict[str, Any] = {"chargingProfileId": profile_id, "stackLevel": stack_level,
                            "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
                            "chargingSchedule": schedule}  # fmt: skip
    if transaction_id is not None:
        body["transactionId"] = transaction_id
    return body


def set_profile(connector_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"connectorId": connector_id, "csChargingProfiles": body}


def told(events: EventLog, action: str) -> list[Told]:
    return [r for r in events.of(Told) if r.action == action]


def sampled(meter_values: dict[str, Any], measurand: str, phase: str | None = None) -> float:
    for value in meter_values["meterValue"][0]["sampledValue"]:
        if value["measurand"] == measurand and value.get("phase") == phase:
            return float(value["value"])
    raise KeyError(f"{measurand} {phase} not in {meter_values}")
