"""OCPP 1.6 ChargingProfile as frozen dataclasses, parsed from and rendered to the JSON payload shapes.

Parsing checks only what the 1.6 JSON schema checks (types, enums, required fields, no extra keys), so a
failure maps onto an OCPP-J CALLERROR code. Rules that make a well-formed profile unacceptable to a charger
(stack level, connector, first period at 0 …) are the store's business and answer `Rejected` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

_E = TypeVar("_E", bound=StrEnum)

DEFAULT_PHASES = 3
"""numberPhases when a period omits it (ocpp-1.6-edition2.txt:4756-4757, errata 3.68)."""


class Purpose(StrEnum):
    CHARGE_POINT_MAX = "ChargePointMaxProfile"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"


class Kind(StrEnum):
    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class Recurrency(StrEnum):
    DAILY = "Daily"
    WEEKLY = "Weekly"


class RateUnit(StrEnum):
    A = "A"
    W = "W"


class ProfileError(ValueError):
    """A payload the 1.6 schema would refuse; `code` is the OCPP-J CALLERROR code to answer with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_time(value: Any, field: str) -> datetime:
    """ISO 8601 with offset or fraction (ocpp-1.6-edition2.txt:1735-1739); a naive time is taken as UTC."""
    if not isinstance(value, str):
        raise ProfileError("TypeConstraintViolation", f"{field} must be an ISO 8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ProfileError(
            "PropertyConstraintViolation", f"{field} is not an ISO 8601 time: {value!r}"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    """UTC with a `Z` suffix, fraction only when there is one (senders may omit it, :1738-1739)."""
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(frozen=True)
class SchedulePeriod:
    start_period: int
    limit: float
    number_phases: int | None = None

    @classmethod
    def from_ocpp(cls, data: Any, field: str = "chargingSchedulePeriod") -> SchedulePeriod:
        obj = parse_object(data, field, required={"startPeriod", "limit"}, optional={"numberPhases"})
        return cls(
            start_period=parse_int(obj["startPeriod"], f"{field}.startPeriod"),
            limit=_number(obj["limit"], f"{field}.limit"),
            number_phases=_opt(obj, "numberPhases", parse_int, field),
        )

    def to_ocpp(self) -> dict[str, Any]:
        out: dict[str, Any] = {"startPeriod": self.start_period, "limit": self.limit}
        if self.number_phases is not None:
            out["numberPhases"] = self.number_phases
        return out


@dataclass(frozen=True)
class ChargingSchedule:
    rate_unit: RateUnit
    periods: tuple[SchedulePeriod, ...]
    duration: int | None = None
    start_schedule: datetime | None = None
    min_charging_rate: float | None = None

    @classmethod
    def from_ocpp(cls, data: Any, field: str = "chargingSchedule") -> ChargingSchedule:
        obj = parse_object(
            data,
            field,
            required={"chargingRateUnit", "chargingSchedulePeriod"},
            optional={"duration", "startSchedule", "minChargingRate"},
        )
        raw_periods = obj["chargingSchedulePeriod"]
        if not isinstance(raw_periods, list):
            raise ProfileError("TypeConstraintViolation", f"{field}.chargingSchedulePeriod must be an array")
        if not raw_periods:
            raise ProfileError("OccurenceConstraintViolation", f"{field}.chargingSchedulePeriod is empty")
        return cls(
            rate_unit=parse_enum(RateUnit, obj["chargingRateUnit"], f"{field}.chargingRateUnit"),
            periods=tuple(
                SchedulePeriod.from_ocpp(p, f"{field}.chargingSchedulePeriod[{i}]")
                for i, p in enumerate(raw_periods)
            ),
            duration=_opt(obj, "duration", parse_int, field),
            start_schedule=_opt(obj, "startSchedule", parse_time, field),
            min_charging_rate=_opt(obj, "minChargingRate", _number, field),
        )

    def to_ocpp(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.duration is not None:
            out["duration"] = self.duration
        if self.start_schedule is not None:
            out["startSchedule"] = format_time(self.start_schedule)
        out["chargingRateUnit"] = self.rate_unit.value
        out["chargingSchedulePeriod"] = [p.to_ocpp() for p in self.periods]
        if self.min_charging_rate is not None:
            out["minChargingRate"] = self.min_charging_rate
        return out


@dataclass(frozen=True)
class ChargingProfile:
    id: int
    stack_level: int
    purpose: Purpose
    kind: Kind
    schedule: ChargingSchedule
    recurrency: Recurrency | None = None
    transaction_id: int | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @classmethod
    def from_ocpp(cls, data: Any, field: str = "csChargingProfiles") -> ChargingProfile:
        """SetChargingProfile's `csChargingProfiles` (also RemoteStartTransaction's `chargingProfile`)."""
        obj = parse_object(
            data,
            field,
            required={
                "chargingProfileId",
                "stackLevel",
                "chargingProfilePurpose",
                "chargingProfileKind",
                "chargingSchedule",
            },
            optional={"transactionId", "recurrencyKind", "validFrom", "validTo"},
        )
        return cls(
            id=parse_int(obj["chargingProfileId"], f"{field}.chargingProfileId"),
            stack_level=parse_int(obj["stackLevel"], f"{field}.stackLevel"),
            purpose=parse_enum(Purpose, obj["chargingProfilePurpose"], f"{field}.chargingProfilePurpose"),
            kind=parse_enum(Kind, obj["chargingProfileKind"], f"{field}.chargingProfileKind"),
            schedule=ChargingSchedule.from_ocpp(obj["chargingSchedule"], f"{field}.chargingSchedule"),
            recurrency=_opt(obj, "recurrencyKind", lambda v, f: parse_enum(Recurrency, v, f), field),
            transaction_id=_opt(obj, "transactionId", parse_int, field),
            valid_from=_opt(obj, "validFrom", parse_time, field),
            valid_to=_opt(obj, "validTo", parse_time, field),
        )

    def to_ocpp(self) -> dict[str, Any]:
        out: dict[str, Any] = {"chargingProfileId": self.id}
        if self.transaction_id is not None:
            out["transactionId"] = self.transaction_id
        out["stackLevel"] = self.stack_level
        out["chargingProfilePurpose"] = self.purpose.value
        out["chargingProfileKind"] = self.kind.value
        if self.recurrency is not None:
            out["recurrencyKind"] = self.recurrency.value
        if self.valid_from is not None:
            out["validFrom"] = format_time(self.valid_from)
        if self.valid_to is not None:
            out["validTo"] = format_time(self.valid_to)
        out["chargingSchedule"] = self.schedule.to_ocpp()
        return out


def parse_object(data: Any, field: str, required: set[str], optional: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ProfileError("TypeConstraintViolation", f"{field} must be an object, got {type(data).__name__}")
    missing = sorted(required - data.keys())
    if missing:
        raise ProfileError("ProtocolError", f"{field} lacks required field(s) {', '.join(missing)}")
    extra = sorted(data.keys() - required - optional)
    if extra:
        raise ProfileError("FormationViolation", f"{field} has unknown field(s) {', '.join(map(str, extra))}")
    return data


def _opt(obj: Mapping[str, Any], key: str, parse: Any, field: str) -> Any:
    value = obj.get(key)
    return None if value is None else parse(value, f"{field}.{key}")


def parse_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError("TypeConstraintViolation", f"{field} must be an integer, got {value!r}")
    return value


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError("TypeConstraintViolation", f"{field} must be a number, got {value!r}")
    return float(value)


def parse_enum(enum: type[_E], value: Any, field: str) -> _E:
    try:
        return enum(value)
    except ValueError as exc:
        allowed = ", ".join(e.value for e in enum)
        raise ProfileError(
            "PropertyConstraintViolation", f"{field} must be one of {allowed}, got {value!r}"
        ) from exc
